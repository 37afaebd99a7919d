package retry

import (
	"context"
	"errors"
	"time"

	"github.com/retrykit/retrykit/hooks"
)

// Do calls fn until it succeeds or the policy says stop, and returns nil or a *Error
// telling why it stopped. Each attempt gets a context derived from ctx that carries the
// attempt's deadline: the earlier of its AttemptTimeout and the call's deadline.
//
// After a failed attempt, the first rule that applies decides:
//
//  1. ctx was canceled: outcome Canceled;
//  2. the call deadline has passed (reaching it counts): Deadline;
//  3. the error is not retryable (filters, Permanent): Permanent. An attempt whose own
//     timeout fired is retryable whatever fn returned, unless fn returned a Permanent error;
//  4. this attempt reached MaxTries: Exhausted (GiveUp is not consulted);
//  5. GiveUp says stop: GaveUp;
//  6. the budget refuses the retry: Throttled;
//  7. the pause would end at or after the call deadline: Deadline, at once, not slept;
//  8. otherwise the pause is taken and fn is called again.
//
// A ctx already canceled or past its deadline ends the call before any attempt. A panic in
// fn, or in the policy's own code (a filter, GiveUp, a Backoff, an error's methods), goes
// on to the caller unchanged, after OnAttemptEnd (if an attempt was under way) and OnDone
// ran with Outcome Panicked; a panic in a hook goes on at once, with no further hooks.
//
// Time spent in user code between attempts counts: hooks, filters, GiveUp and the Backoff
// run on the call's clock, so the deadline checks and rule 7 judge the time after them
// (rule 7 is checked again after OnRetry), and the next attempt's timeout starts when the
// attempt does. OnAttempt runs inside its attempt: its time is part of the attempt's.
//
// An error whose Unwrap chain is cyclic makes Do loop forever or overflow the stack, as it
// does errors.Is: the engine walks the chain to find Permanent marks and delay hints.
//
// Do panics if p, ctx or fn is nil: those are programming errors, not failures to retry.
// It also panics, at once and before calling fn, if p has a hedge option (HedgeAfter,
// HedgeAtQuantile): hedged attempts overlap and run on goroutines of their own, which Do
// never starts, so such a policy is called with Hedge or HedgeValue. DoValue, Wrap and
// WrapArg call Do and panic the same way.
func (p *Policy) Do(ctx context.Context, fn func(context.Context) error) error {
	if p == nil {
		panic("retry: Do called on a nil *Policy (build one with retry.New)")
	}
	if ctx == nil {
		panic("retry: Do called with a nil context.Context (use context.Background())")
	}
	if fn == nil {
		panic("retry: Do called with a nil function")
	}
	if p.bare && ctx.Done() == nil {
		// Nothing to time, observe or cancel: the first attempt needs no bookkeeping.
		err := fn(ctx)
		if err == nil {
			return nil
		}
		return p.runBare(ctx, fn, err)
	}
	return p.run(ctx, fn)
}

// DoValue is Do for a function that returns a value: it returns the value of the
// successful attempt, or the zero T with the error Do would return.
func DoValue[T any](ctx context.Context, p *Policy, fn func(context.Context) (T, error)) (T, error) {
	if fn == nil {
		panic("retry: DoValue called with a nil function")
	}
	var v T
	err := p.Do(ctx, func(ctx context.Context) error {
		r, err := fn(ctx)
		if err == nil {
			v = r
		}
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return v, nil
}

// Wrap is the decorator: it returns a function that calls fn under p, as aiomisc's
// @asyncbackoff does to a coroutine.
func Wrap[T any](p *Policy, fn func(context.Context) (T, error)) func(context.Context) (T, error) {
	if p == nil || fn == nil {
		panic("retry: Wrap needs a non-nil *Policy and function")
	}
	return func(ctx context.Context) (T, error) { return DoValue(ctx, p, fn) }
}

// WrapArg is the decorator for a function of one argument (aiomisc's
// db_save(data) example): the
// returned function calls fn(ctx, arg) under p, with the same arg on every attempt.
func WrapArg[A, T any](p *Policy, fn func(context.Context, A) (T, error)) func(context.Context, A) (T, error) {
	if p == nil || fn == nil {
		panic("retry: WrapArg needs a non-nil *Policy and function")
	}
	return func(ctx context.Context, arg A) (T, error) {
		return DoValue(ctx, p, func(ctx context.Context) (T, error) { return fn(ctx, arg) })
	}
}

// call is the state of one call of Do; it lives on the caller's stack.
type call struct {
	p     *Policy
	ctx   context.Context // the caller's, or what OnStart returned
	done  bool            // ctx can be done (its Done channel is not nil)
	clock bool            // whether anything needs the time: hooks, timeouts, deadlines

	dl       time.Time // call deadline, valid if hasDL
	hasDL    bool
	ctxDL    time.Time // the caller's context deadline, valid if hasCtxDL
	hasCtxDL bool

	attempts int
	last     error // what the last attempt returned
	earlier  error // the most recent attempt error that no deadline or cancellation caused
	timedOut bool  // the last attempt's own timeout fired
	prev     time.Duration

	// The attempt under way, for the hooks and the panic path; a.Call describes the call.
	// Only filled in when there are hooks: copying it costs more than the bare loop.
	a      hooks.Attempt
	actx   context.Context // the attempt's hook context (OnAttempt's result)
	cancel context.CancelFunc

	// For the panic path: a panic in a hook gets no further hooks; any other panic (fn, a
	// filter, GiveUp, a Backoff, an error's methods) closes what the hooks opened.
	inHook      bool
	attemptOpen bool // OnAttempt ran and OnAttemptEnd has not
}

// runBare is the rest of a call whose first attempt failed, for a bare policy (no hooks,
// attempt timeout, deadline or budget) and a context that can never be done: rules 1, 2,
// 6 and 7 cannot apply and nothing needs the clock, so the retries need none of the call
// state either, which halves their cost.
func (p *Policy) runBare(ctx context.Context, fn func(context.Context) error, err error) error {
	attempts := 1
	var prev time.Duration
	for {
		o, stop, delay := p.judge(err, attempts, false, prev)
		if stop {
			return &Error{Outcome: o, Attempts: attempts, Last: err, name: p.name, earlier: err}
		}
		if delay > 0 {
			time.Sleep(delay) // ctx can never be done: nothing can cut the pause short
		}
		prev = delay
		attempts++
		if err = fn(ctx); err == nil {
			return nil
		}
	}
}

// run is Do past its argument checks, for every policy and context.
func (p *Policy) run(ctx context.Context, fn func(context.Context) error) error {
	if p.hedge != nil {
		// Checked here rather than first in Do: a bare policy never hedges, so the fast
		// path pays nothing for it.
		panic("retry: Do called on a hedging policy (HedgeAfter, HedgeAtQuantile): call its Hedge method or retry.HedgeValue instead")
	}
	c := call{p: p, ctx: ctx, done: ctx.Done() != nil}
	c.ctxDL, c.hasCtxDL = ctx.Deadline()
	c.clock = p.hasHooks || p.hasAttemptTimeout || p.hasDeadline || c.hasCtxDL
	var now time.Time
	if c.clock {
		now = time.Now()
	}
	c.dl, c.hasDL = c.ctxDL, c.hasCtxDL
	if p.hasDeadline {
		if d := now.Add(p.deadline); !c.hasDL || d.Before(c.dl) {
			c.dl, c.hasDL = d, true
		}
	}
	if p.hasHooks {
		c.a.Call = hooks.Call{Name: p.name, MaxTries: p.maxTries, Start: now, Deadline: c.dl}
	}

	if h := p.hooks.OnStart; h != nil {
		c.inHook = true
		if nctx := h(ctx, c.a.Call); nctx != nil {
			c.ctx, c.done = nctx, nctx.Done() != nil
		}
		c.inHook = false
		if c.hasDL || p.hasAttemptTimeout {
			// The hook's time counts against the deadline, and the first attempt's
			// timeout starts after it. Without either, the first attempt's Start is the
			// call's: a clock read saved on every observed call.
			now = time.Now()
		}
	}
	if err := c.ctx.Err(); err != nil {
		return c.end(ctxOutcome(err), now)
	}
	if c.hasDL && !now.Before(c.dl) {
		return c.end(hooks.Deadline, now)
	}
	if p.budget != nil {
		p.budget.onCall()
	}

	panicking := true
	defer func() {
		if panicking {
			c.panicked()
		}
	}()
	err := c.loop(fn, now)
	panicking = false
	return err
}

// loop makes attempts until one of the rules ends the call.
func (c *call) loop(fn func(context.Context) error, now time.Time) error {
	for {
		if c.done {
			if err := c.ctx.Err(); err != nil {
				return c.end(ctxOutcome(err), now)
			}
		}
		if c.hasDL && !now.Before(c.dl) {
			return c.end(hooks.Deadline, now)
		}
		c.attempts++
		var err error
		now, err = c.attempt(fn, now)
		if err == nil {
			return c.end(hooks.Success, now)
		}
		o, stop := hooks.Outcome(0), false
		if now, o, stop = c.decide(err, now); stop {
			return c.end(o, now)
		}
		if now, stop = c.pause(now); stop {
			return c.end(hooks.Deadline, now)
		}
	}
}

// attempt runs fn once with the attempt's context and hooks, and returns its error and
// the time it ended.
func (c *call) attempt(fn func(context.Context) error, now time.Time) (time.Time, error) {
	p := c.p
	var adl time.Time
	hasADL, own := c.hasDL, false
	if p.hasAttemptTimeout {
		adl, hasADL, own = now.Add(p.attemptTimeout), true, true
		if c.hasDL && !adl.Before(c.dl) {
			// When both limits coincide the call deadline wins.
			adl, own = c.dl, false
		}
	} else if c.hasDL {
		adl = c.dl
	}

	c.actx = c.ctx
	if p.hasHooks {
		c.a = hooks.Attempt{Call: c.a.Call, Number: c.attempts, Start: now, Deadline: adl}
		if h := p.hooks.OnAttempt; h != nil {
			c.inHook = true
			if actx := h(c.ctx, c.a); actx != nil {
				c.actx = actx
			}
			c.inHook = false
		}
		c.attemptOpen = true
	}
	fctx := c.actx
	if hasADL && (!c.hasCtxDL || adl.Before(c.ctxDL)) {
		fctx, c.cancel = context.WithDeadline(c.actx, adl)
	}

	err := fn(fctx)

	if c.clock && (err != nil || p.hasHooks) {
		// A success that nobody observes needs no end time.
		now = time.Now()
	}
	// The own timeout fired if the attempt ran to its deadline: the context says so once
	// its timer ran, the clock says so even before that.
	timedOut := own && err != nil && (fctx.Err() == context.DeadlineExceeded || !now.Before(adl))
	if c.cancel != nil {
		c.cancel()
		c.cancel = nil
	}
	c.last, c.timedOut = err, timedOut
	if p.hasHooks {
		c.a.Duration, c.a.Err, c.a.TimedOut = now.Sub(c.a.Start), err, timedOut
		c.attemptOpen = false
		h := &p.hooks
		if (timedOut && h.OnTimeout != nil) || h.OnAttemptEnd != nil {
			c.inHook = true
			if timedOut && h.OnTimeout != nil {
				h.OnTimeout(c.actx, c.a)
			}
			if h.OnAttemptEnd != nil {
				h.OnAttemptEnd(c.actx, c.a)
			}
			c.inHook = false
			if err != nil {
				// The rules that follow judge the time after the hooks ran; a success
				// needs no second clock read.
				now = time.Now()
			}
		}
	}
	return now, err
}

// decide applies rules 1 to 7 to a failed attempt. It returns the time after the
// policy's own code ran (filters, GiveUp, the Backoff: the rules after them judge that
// time), and the outcome and true if the call ends; otherwise it has set c.prev to the
// pause to take next.
func (c *call) decide(err error, now time.Time) (time.Time, hooks.Outcome, bool) {
	p := c.p
	if c.done {
		if cerr := c.ctx.Err(); cerr != nil {
			return now, ctxOutcome(cerr), true
		}
	}
	if c.hasDL && !now.Before(c.dl) {
		return now, hooks.Deadline, true
	}
	// Neither the deadline nor a cancellation caused this error.
	c.earlier = err
	o, stop, delay := p.judge(err, c.attempts, c.timedOut, c.prev)
	if stop {
		return now, o, true
	}
	if c.clock {
		now = time.Now()
	}
	if p.budget != nil && !p.budget.allowRetry() {
		return now, hooks.Throttled, true
	}
	if c.hasDL && !now.Add(delay).Before(c.dl) {
		if p.budget != nil {
			p.budget.refundRetry() // allowed by rule 6 but never made
		}
		return now, hooks.Deadline, true
	}
	c.prev = delay
	return now, 0, false
}

// judge applies the rules that depend only on the policy and the error (3 to 5) and
// chooses the pause before the next attempt: the backoff's, or the error's delay hint if
// that is longer. stop reports that outcome o ends the call.
func (p *Policy) judge(err error, attempts int, timedOut bool, prev time.Duration) (o hooks.Outcome, stop bool, delay time.Duration) {
	permanent, hint, hasHint := classify(err)
	if permanent || !timedOut && !p.retryable(err) {
		return hooks.Permanent, true, 0
	}
	if p.maxTries > 0 && attempts >= p.maxTries {
		return hooks.Exhausted, true, 0
	}
	if len(p.giveUps) > 0 && p.givesUp(err) {
		return hooks.GaveUp, true, 0
	}
	if p.backoff != nil {
		delay = max(p.backoff.Delay(attempts, prev), 0)
	}
	if hasHint && hint > delay {
		delay = hint
	}
	return 0, false, delay
}

// pause announces the retry and waits c.prev, or until the caller's context is done (the
// loop then sees it). It returns the time after the pause (zero when the clock is off),
// and true if the call must end with Deadline instead: OnRetry took so long that the
// pause would now end at or after the call deadline (rule 7 again, on the fresh clock).
func (c *call) pause(now time.Time) (time.Time, bool) {
	if h := c.p.hooks.OnRetry; h != nil {
		c.inHook = true
		h(c.actx, c.a, c.prev)
		c.inHook = false
		now = time.Now()
		if c.hasDL && !now.Add(c.prev).Before(c.dl) {
			if c.p.budget != nil {
				c.p.budget.refundRetry() // allowed, announced, but never made
			}
			return now, true
		}
	}
	if c.prev <= 0 {
		return now, false
	}
	t := time.NewTimer(c.prev)
	select {
	case <-t.C:
	case <-c.ctx.Done():
		t.Stop()
	}
	if c.clock {
		return time.Now(), false
	}
	return now, false
}

// end builds the call's result, runs the closing hooks and returns what Do returns.
func (c *call) end(o hooks.Outcome, now time.Time) error {
	var err error
	if o != hooks.Success {
		err = &Error{
			Outcome:  o,
			Attempts: c.attempts,
			Last:     c.last,
			name:     c.p.name,
			timedOut: c.timedOut && o == hooks.Exhausted,
			earlier:  c.earlier,
		}
	}
	if c.p.hasHooks {
		h := &c.p.hooks
		r := hooks.Result{Call: c.a.Call, Outcome: o, Attempts: c.attempts, Duration: now.Sub(c.a.Call.Start), Err: err}
		c.inHook = true // the closing hooks are the last: a panic in them gets no more
		switch {
		case o == hooks.Deadline:
			if h.OnDeadline != nil {
				h.OnDeadline(c.ctx, r)
			}
		case o != hooks.Success:
			if h.OnGiveup != nil {
				h.OnGiveup(c.ctx, r)
			}
		}
		if h.OnDone != nil {
			h.OnDone(c.ctx, r)
		}
	}
	return err
}

// panicked runs while a panic unwinds through Do. A panic of fn, or of the policy's own
// code (a filter, GiveUp, a Backoff, an error's methods), gets the OnAttemptEnd of an
// attempt under way and OnDone (Outcome Panicked), so that no span stays open; a panic of
// a hook gets no more hooks. The panic itself is not recovered: it goes on unchanged.
func (c *call) panicked() {
	if c.cancel != nil {
		c.cancel()
	}
	if c.inHook || !c.p.hasHooks {
		return
	}
	now := time.Now()
	h := &c.p.hooks
	if c.attemptOpen {
		c.attemptOpen = false
		c.a.Duration, c.a.Err, c.a.TimedOut = now.Sub(c.a.Start), nil, false
		c.inHook = true
		if h.OnAttemptEnd != nil {
			h.OnAttemptEnd(c.actx, c.a)
		}
		c.inHook = false
	}
	if h.OnDone != nil {
		h.OnDone(c.ctx, hooks.Result{Call: c.a.Call, Outcome: hooks.Panicked, Attempts: c.attempts, Duration: now.Sub(c.a.Call.Start)})
	}
}

// ctxOutcome maps the error of a done caller context to the call's outcome.
func ctxOutcome(err error) hooks.Outcome {
	if errors.Is(err, context.DeadlineExceeded) {
		return hooks.Deadline
	}
	return hooks.Canceled
}
