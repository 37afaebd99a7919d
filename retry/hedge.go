package retry

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/retrykit/retrykit/hooks"
)

// Hedge calls fn under p as Do does, and when p has a hedge option (HedgeAfter,
// HedgeAtQuantile) it also hedges: it starts another attempt when the latest one is slow,
// and the first success ends the call. On a policy without a hedge option it is Do.
//
// Attempt 1 starts at once. The next one starts at the earlier of two moments: the hedge
// delay after the latest attempt started, if that attempt is still in flight then (a
// hedge, with hooks.Attempt.Hedged set), and the pause after a retryable failure (a
// retry, announced by OnRetry, as in Do; a delay hint lengthens it). Starting an attempt,
// hedge or retry, serves a pending retry: one failure earns one attempt. At most
// MaxTries attempts start in all.
//
// Every attempt gets a context derived from ctx that carries its deadline (the earlier of
// its AttemptTimeout and the call deadline) and that the engine cancels when the call
// ends without it. fn must be safe for concurrent calls, and its effect idempotent: hedge
// only what may be sent twice.
//
// After each failed attempt the rules of Do apply, in Do's order, with these differences
// that overlapping attempts make:
//
//   - the first success ends the call, and so does a non-retryable error (Permanent),
//     GiveUp (GaveUp), the caller's cancellation (Canceled) and the call deadline
//     (Deadline), whichever attempt they come from;
//   - a failure after the last attempt allowed has started ends the call (Exhausted) only
//     once no other attempt is in flight;
//   - every attempt after the first needs the permission of the budget (Throttle): a
//     refused hedge is not started; a refused retry ends the call (Throttled) when
//     nothing is in flight, and otherwise waits for the attempts in flight;
//   - a pause that would end at or after the call deadline (rule 7) ends the call when
//     nothing is in flight, and otherwise waits for the attempts in flight;
//   - once the caller's context is done or the call deadline has passed no attempt
//     starts; the attempts in flight end through their contexts, and the first of them
//     to report applies rule 1 or 2.
//
// When the call ends, the attempts still in flight are superseded: their contexts are
// canceled, Hedge waits until every attempt it started has returned, so that no fn
// outlives the call, and their results are dropped (their OnAttemptEnd carries
// hooks.Attempt.Superseded and what fn returned). The error is a *Error as for Do; its
// Last is the error of the last attempt that reported before the call ended.
//
// The first attempt runs fn on the caller's goroutine, with nothing but a timer for its
// hedge: a call that succeeds before its hedge delay starts no goroutine. If the hedge
// falls due while it runs, the timer's goroutine takes over the call (it starts the
// hedge, receives the attempts' results and runs the hooks) and the caller, once its fn
// returned, hands it the result and waits for the end of the call. Every later attempt
// runs fn on a goroutine of its own.
//
// Hooks of one call are never called concurrently, but not always on the caller's
// goroutine: on the one that coordinates the call at the time. Attempts overlap, so an
// attempt's OnAttempt may come between another's OnAttempt and OnAttemptEnd; each event
// carries its attempt's Number. OnRetry fires for retries, not for hedges, and OnDone
// comes last, after every OnAttemptEnd. hooks.Call.Hedging is true.
//
// A panic in fn (or runtime.Goexit), in any attempt, even one already superseded, goes
// on to the caller of Hedge on the caller's goroutine once the other attempts were
// canceled and returned, after OnAttemptEnd of every attempt and OnDone with Outcome
// Panicked; the panic value is the one fn panicked with (raised again, unless it
// happened on the caller's goroutine in the first attempt, where it just goes on). A
// panic in the policy's own code closes the hooks as in Do, a panic in a hook gets no
// further hooks; both go on to the caller after the attempts in flight were canceled and
// returned.
//
// Hedge panics if p, ctx or fn is nil.
func (p *Policy) Hedge(ctx context.Context, fn func(context.Context) error) error {
	if p == nil {
		panic("retry: Hedge called on a nil *Policy (build one with retry.New)")
	}
	if p.hedge == nil {
		return p.Do(ctx, fn)
	}
	if ctx == nil {
		panic("retry: Hedge called with a nil context.Context (use context.Background())")
	}
	if fn == nil {
		panic("retry: Hedge called with a nil function")
	}
	h := hedgePool.Get().(*hedgeCall[struct{}])
	_, err := hedgeRun(h, p, ctx, fn, nil)
	if h.reusable {
		*h = hedgeCall[struct{}]{}
		hedgePool.Put(h)
	}
	return err
}

// hedgePool recycles the state of Hedge calls that ended without a goroutine ever
// touching it (the first attempt succeeded or failed for good before its hedge delay,
// the common case), which halves the bytes a first-try success allocates.
var hedgePool = sync.Pool{New: func() any { return new(hedgeCall[struct{}]) }}

// HedgeValue is Hedge for a function that returns a value: it returns the value of the
// attempt that succeeded first, or the zero T with the error Hedge would return. The
// values of superseded attempts are dropped. On a policy without a hedge option it is
// DoValue.
func HedgeValue[T any](ctx context.Context, p *Policy, fn func(context.Context) (T, error)) (T, error) {
	if p == nil {
		panic("retry: HedgeValue called with a nil *Policy (build one with retry.New)")
	}
	if fn == nil {
		panic("retry: HedgeValue called with a nil function")
	}
	if p.hedge == nil {
		return DoValue(ctx, p, fn)
	}
	if ctx == nil {
		panic("retry: HedgeValue called with a nil context.Context (use context.Background())")
	}
	pool := valuePool[T]()
	h := pool.Get().(*hedgeCall[T])
	v, err := hedgeRun(h, p, ctx, nil, fn)
	if h.reusable {
		*h = hedgeCall[T]{}
		pool.Put(h)
	}
	return v, err
}

// valuePools holds HedgeValue's pools of call states, one per value type, keyed by a nil
// *T.
var valuePools sync.Map

func valuePool[T any]() *sync.Pool {
	key := any((*T)(nil))
	if p, ok := valuePools.Load(key); ok {
		return p.(*sync.Pool)
	}
	p, _ := valuePools.LoadOrStore(key, &sync.Pool{New: func() any { return new(hedgeCall[T]) }})
	return p.(*sync.Pool)
}

// hedgeResult is what an attempt's goroutine reports to the caller's.
type hedgeResult[T any] struct {
	n      int
	v      T
	err    error
	end    time.Time
	fault  bool // fn panicked (with pval) or called runtime.Goexit (goexit)
	goexit bool
	pval   any
	// The fault happened on the caller's goroutine (the first attempt, or a hook of
	// the caller's), which is unwinding already: it is not raised again.
	onCaller bool
}

// hedgeAttempt is the caller's record of one attempt.
type hedgeAttempt struct {
	a          hooks.Attempt // for the hooks; Start is always set
	adl        time.Time     // the attempt's deadline, if any
	own        bool          // adl is its own timeout, earlier than the call deadline
	actx       context.Context
	fctx       context.Context
	cancel     context.CancelFunc
	running    bool // fn has not reported yet
	open       bool // OnAttempt ran and OnAttemptEnd has not
	superseded bool
}

// hedgeCall is the state of one hedged call. The caller's goroutine owns it; the
// attempts' goroutines only send on results.
type hedgeCall[T any] struct {
	p        *Policy
	ctx      context.Context
	done     bool
	dl       time.Time
	hasDL    bool
	ctxDL    time.Time
	hasCtxDL bool
	call     hooks.Call
	delay    time.Duration // the hedge delay

	fnErr func(context.Context) error
	fnVal func(context.Context) (T, error)

	results  chan hedgeResult[T]
	atts     []hedgeAttempt
	atts0    [1]hedgeAttempt // atts' first backing array: a call that needs no second attempt allocates none
	attempts int             // started
	inflight int
	latest   int // the number of the latest attempt started

	last     error
	earlier  error
	timedOut bool
	prev     time.Duration

	retryPending bool // a retry was granted and announced, and no attempt has started since
	retryAt      time.Time
	hedgeOff     bool // the latest attempt's hedge was made or refused
	stopping     bool // the caller's context is done or the deadline passed, attempts in flight

	timer  *time.Timer
	inHook bool
	fault  *hedgeResult[T] // a panic or runtime.Goexit to raise on the caller's goroutine
	value  T
	err    error
	closed bool // the hooks were closed and the attempts awaited: nothing left to clean up
	// No goroutine but the caller's ever saw this state: Hedge may recycle it.
	reusable bool

	// The first attempt runs on the caller's goroutine. If its hedge falls due while it
	// runs, takeOver, on the hedge timer's goroutine, becomes the coordinator of the call
	// (phase helped) and the caller hands it the first attempt's result and waits.
	mu       sync.Mutex
	phase    uint8
	takeover *time.Timer
	finished chan struct{} // closed when the coordinating goroutine is done
}

// The phases of a call whose first attempt runs on the caller's goroutine.
const (
	phaseInline = iota // the first attempt runs; its hedge timer is armed
	phaseOwn           // the caller coordinates the call (the first attempt returned)
	phaseHelped        // takeOver coordinates the call
)

// hedgeRun is Hedge and HedgeValue past their argument checks, on the zero state h;
// exactly one of fnErr and fnVal is set.
func hedgeRun[T any](h *hedgeCall[T], p *Policy, ctx context.Context, fnErr func(context.Context) error, fnVal func(context.Context) (T, error)) (T, error) {
	h.p, h.ctx, h.done, h.fnErr, h.fnVal = p, ctx, ctx.Done() != nil, fnErr, fnVal
	h.atts = h.atts0[:0]
	h.ctxDL, h.hasCtxDL = ctx.Deadline()
	now := time.Now()
	h.dl, h.hasDL = h.ctxDL, h.hasCtxDL
	if p.hasDeadline {
		if d := now.Add(p.deadline); !h.hasDL || d.Before(h.dl) {
			h.dl, h.hasDL = d, true
		}
	}
	h.call = hooks.Call{Name: p.name, MaxTries: p.maxTries, Start: now, Deadline: h.dl, Hedging: true}

	var zero T
	if f := p.hooks.OnStart; f != nil {
		h.inHook = true
		if nctx := f(ctx, h.call); nctx != nil {
			h.ctx, h.done = nctx, nctx.Done() != nil
		}
		h.inHook = false
		now = time.Now()
	}
	if err := h.ctx.Err(); err != nil {
		h.reusable = true
		return zero, h.end(ctxOutcome(err), now)
	}
	if h.hasDL && !now.Before(h.dl) {
		h.reusable = true
		return zero, h.end(hooks.Deadline, now)
	}
	if p.budget != nil {
		p.budget.onCall()
	}
	h.delay = p.hedge.delay()

	panicking := true
	defer func() {
		if panicking && !h.closed {
			h.panicked()
		}
	}()
	err := h.first(now)
	panicking = false
	if f := h.fault; f != nil && !f.onCaller {
		if f.goexit {
			runtime.Goexit()
		}
		panic(f.pval)
	}
	if err != nil {
		return zero, err
	}
	return h.value, nil
}

// newResults makes the channel on which attempts' goroutines report. Sends never wait for
// the first attempts; later ones may wait for the coordinator to read, which it always
// does before the call ends.
func (h *hedgeCall[T]) newResults() {
	h.results = make(chan hedgeResult[T], min(h.p.maxTries, 4))
}

// first runs the first attempt on the caller's goroutine, with the hedge timer armed,
// and the rest of the call.
func (h *hedgeCall[T]) first(now time.Time) error {
	h.open(now, false)
	fctx := h.atts[0].fctx // read before a coordinating goroutine may grow atts
	if at, ok := h.next(); ok {
		// Under the lock, so that takeOver, which takes it, sees the call as it is now.
		h.mu.Lock()
		h.phase = phaseInline
		h.mu.Unlock()
		h.takeover = time.AfterFunc(at.Sub(now), h.takeOver)
	}
	r := h.inline(fctx)
	if h.takeover != nil {
		if h.handOver(r) {
			return h.err
		}
		// A timer that fired all the same has a takeOver on its way, which will find the
		// call taken: it must not find the state recycled for another call.
		h.reusable = h.takeover.Stop()
	} else {
		h.reusable = true
	}
	now, err, end := h.result(&r)
	if !end {
		err = h.loop(now)
	}
	// Attempts' goroutines have returned, but the state is only recycled when there was
	// none: they send their results as their last act, not as the goroutine's.
	h.reusable = h.reusable && h.results == nil && h.fault == nil
	return err
}

// handOver ends the inline phase once the first attempt returned (or panicked) on the
// caller's goroutine. If a hedge fell due while fn ran, takeOver coordinates the call: the
// first attempt's result r goes to it, the caller waits until the call is done, and
// handOver reports true (the call is closed: hedgeRun's cleanup must not run again).
// Otherwise the caller goes on coordinating the call itself.
func (h *hedgeCall[T]) handOver(r hedgeResult[T]) bool {
	h.mu.Lock()
	helped := h.phase == phaseHelped
	h.phase = phaseOwn
	h.mu.Unlock()
	if !helped {
		return false
	}
	h.results <- r
	<-h.finished
	h.closed = true
	return true
}

// inline runs the first attempt's fn on the caller's goroutine. A panic or
// runtime.Goexit of fn goes on from here unchanged, once the call is closed.
func (h *hedgeCall[T]) inline(ctx context.Context) (r hedgeResult[T]) {
	r.n = 1
	returned := false
	defer func() {
		if !returned {
			h.inlineFault()
		}
	}()
	if h.fnVal != nil {
		r.v, r.err = h.fnVal(ctx)
	} else {
		r.err = h.fnErr(ctx)
	}
	r.end = time.Now()
	returned = true
	return r
}

// inlineFault closes the call whose first attempt panicked on the caller's goroutine:
// the other attempts are canceled and awaited, the hooks closed (OnAttemptEnd, OnDone
// with Outcome Panicked), and the panic goes on when this returns.
func (h *hedgeCall[T]) inlineFault() {
	f := hedgeResult[T]{n: 1, end: time.Now(), fault: true, onCaller: true}
	if h.takeover != nil {
		if h.handOver(f) {
			return
		}
		h.takeover.Stop()
	}
	h.closed = true
	h.result(&f)
}

// takeOver runs when the first attempt's hedge falls due: unless that attempt has
// returned, this goroutine becomes the call's coordinator, starts the hedge and sees the
// call to its end, while the caller waits. A panic here (a hook, the policy's code) is
// not left to crash the program: it is handed to the caller, which raises it.
func (h *hedgeCall[T]) takeOver() {
	h.mu.Lock()
	if h.phase != phaseInline {
		h.mu.Unlock()
		return
	}
	h.newResults()
	h.finished = make(chan struct{})
	h.phase = phaseHelped
	h.mu.Unlock()
	defer close(h.finished)
	returned := false
	defer func() {
		if returned {
			return
		}
		v := recover()
		goexit := v == nil // runtime.Goexit in a hook: recover has nothing to return
		func() {
			defer func() {
				// A hook that panics while the hooks are closed replaces the panic, as it
				// would on the caller's goroutine.
				if v2 := recover(); v2 != nil {
					v, goexit = v2, false
				}
			}()
			if !h.closed {
				h.panicked()
			}
		}()
		h.closed = true
		h.fault = &hedgeResult[T]{fault: true, pval: v, goexit: goexit}
	}()
	now, err, end := h.trigger(time.Now())
	if !end {
		err = h.loop(now)
	}
	h.err = err
	returned = true
}

// loop starts attempts and receives their results until the call ends; the first
// attempt was started.
func (h *hedgeCall[T]) loop(now time.Time) error {
	for {
		at, has := h.next()
		if has && !at.After(now) {
			// Due already (a zero pause): no timer.
			var err error
			var end bool
			if now, err, end = h.trigger(now); end {
				return err
			}
			continue
		}
		var tc <-chan time.Time
		if has {
			if h.timer == nil {
				h.timer = time.NewTimer(at.Sub(now))
			} else {
				h.timer.Reset(at.Sub(now))
			}
			tc = h.timer.C
		}
		var dc <-chan struct{}
		if h.inflight == 0 {
			if !has {
				panic("retry: internal error: a hedged call with nothing to wait for")
			}
			if h.done {
				dc = h.ctx.Done() // cuts a pause short, as in Do
			}
		}
		var err error
		var end bool
		select {
		case r := <-h.results:
			if has {
				h.timer.Stop()
			}
			now, err, end = h.result(&r)
		case <-tc:
			now, err, end = h.trigger(time.Now())
		case <-dc:
			now = time.Now()
			return h.end(ctxOutcome(h.ctx.Err()), now)
		}
		if end {
			return err
		}
	}
}

// next returns when the next attempt is due, if one is: the pending retry's time, or
// the hedge delay after the latest attempt started if it is still in flight, whichever
// is earlier. A hedge due at or after the call deadline is not waited for.
func (h *hedgeCall[T]) next() (time.Time, bool) {
	if h.stopping {
		return time.Time{}, false
	}
	at, has := h.retryAt, h.retryPending
	if !h.hedgeOff && h.attempts < h.p.maxTries && h.atts[h.latest-1].running {
		t := h.atts[h.latest-1].a.Start.Add(h.delay)
		if (!h.hasDL || t.Before(h.dl)) && (!has || t.Before(at)) {
			at, has = t, true
		}
	}
	return at, has
}

// trigger starts the attempt that is due now, a retry or a hedge, if the rules let it.
func (h *hedgeCall[T]) trigger(now time.Time) (time.Time, error, bool) {
	if h.done {
		if err := h.ctx.Err(); err != nil {
			if h.inflight == 0 {
				return now, h.end(ctxOutcome(err), now), true
			}
			h.stopping = true
			return now, nil, false
		}
	}
	if h.hasDL && !now.Before(h.dl) {
		if h.inflight == 0 {
			return now, h.end(hooks.Deadline, now), true
		}
		h.stopping = true
		return now, nil, false
	}
	retry := h.retryPending && !now.Before(h.retryAt)
	if h.retryPending {
		// The retry's permission was granted when it was scheduled; whichever attempt
		// starts first uses it.
		h.retryPending = false
	} else if b := h.p.budget; b != nil && !b.allowRetry() {
		h.hedgeOff = true // a refused hedge is simply not made
		return now, nil, false
	}
	h.start(now, !retry)
	return time.Now(), nil, false
}

// start opens a new attempt and starts fn on a goroutine of its own.
func (h *hedgeCall[T]) start(now time.Time, hedged bool) {
	if h.results == nil {
		h.newResults()
	}
	h.open(now, hedged)
	go h.run(h.attempts, h.atts[h.attempts-1].fctx)
}

// open counts a new attempt, runs its OnAttempt on the coordinating goroutine and makes
// its context.
func (h *hedgeCall[T]) open(now time.Time, hedged bool) {
	p := h.p
	h.attempts++
	n := h.attempts
	var adl time.Time
	hasADL, own := h.hasDL, false
	if p.hasAttemptTimeout {
		adl, hasADL, own = now.Add(p.attemptTimeout), true, true
		if h.hasDL && !adl.Before(h.dl) {
			adl, own = h.dl, false // when both limits coincide the call deadline wins
		}
	} else if h.hasDL {
		adl = h.dl
	}
	h.atts = append(h.atts, hedgeAttempt{adl: adl, own: own})
	at := &h.atts[n-1]
	at.a = hooks.Attempt{Call: h.call, Number: n, Start: now, Deadline: adl, Hedged: hedged}
	at.actx = h.ctx
	if p.hasHooks {
		if f := p.hooks.OnAttempt; f != nil {
			h.inHook = true
			if actx := f(h.ctx, at.a); actx != nil {
				at.actx = actx
			}
			h.inHook = false
		}
		at.open = true
	}
	if hasADL && (!h.hasCtxDL || adl.Before(h.ctxDL)) {
		at.fctx, at.cancel = context.WithDeadline(at.actx, adl)
	} else {
		at.fctx, at.cancel = context.WithCancel(at.actx) // to supersede it
	}
	at.running = true
	h.inflight++
	h.latest = n
	h.hedgeOff = false
}

// run is an attempt's goroutine: it calls fn and reports how it returned, a panic or
// runtime.Goexit included.
func (h *hedgeCall[T]) run(n int, ctx context.Context) {
	r := hedgeResult[T]{n: n}
	returned := false
	defer func() {
		if !returned {
			r.end, r.fault = time.Now(), true
			if r.pval = recover(); r.pval == nil {
				r.goexit = true
			}
		}
		h.results <- r
	}()
	if h.fnVal != nil {
		r.v, r.err = h.fnVal(ctx)
	} else {
		r.err = h.fnErr(ctx)
	}
	r.end = time.Now()
	returned = true
}

// result handles the report of an attempt: its hooks, then success, a panic, or the
// rules for a failure.
func (h *hedgeCall[T]) result(r *hedgeResult[T]) (time.Time, error, bool) {
	p := h.p
	h.inflight--
	at := &h.atts[r.n-1]
	at.running = false
	timedOut := !r.fault && at.own && r.err != nil &&
		(at.fctx.Err() == context.DeadlineExceeded || !r.end.Before(at.adl))
	at.cancel()
	if r.fault {
		f := *r
		h.fault = &f
		r.err = nil // a panic is not an error value, as in Do
	} else {
		h.last, h.timedOut = r.err, timedOut
	}
	if p.hasHooks {
		at.a.Duration, at.a.Err, at.a.TimedOut = r.end.Sub(at.a.Start), r.err, timedOut
		at.open = false
		f := &p.hooks
		h.inHook = true
		if timedOut && f.OnTimeout != nil {
			f.OnTimeout(at.actx, at.a)
		}
		if f.OnAttemptEnd != nil {
			f.OnAttemptEnd(at.actx, at.a)
		}
		h.inHook = false
	}
	now := r.end
	if p.hasHooks {
		now = time.Now() // the hooks' time counts
	}
	if r.fault {
		return now, h.end(hooks.Panicked, now), true
	}
	if r.err == nil {
		h.value = r.v
		if est := p.hedge.est; est != nil {
			est.record(r.end.Sub(at.a.Start))
		}
		return now, h.end(hooks.Success, now), true
	}
	return h.decide(r.n, r.err, timedOut, now)
}

// decide applies Do's rules to a failed attempt, in Do's order (judge holds rules 3 to
// 5), with the differences that attempts in flight make.
func (h *hedgeCall[T]) decide(n int, err error, timedOut bool, now time.Time) (time.Time, error, bool) {
	p := h.p
	if h.done {
		if cerr := h.ctx.Err(); cerr != nil {
			return now, h.end(ctxOutcome(cerr), now), true
		}
	}
	if h.hasDL && !now.Before(h.dl) {
		return now, h.end(hooks.Deadline, now), true
	}
	h.earlier = err
	o, stop, delay := p.judge(err, h.attempts, timedOut, h.prev)
	if stop {
		if o == hooks.Exhausted && h.inflight > 0 {
			return now, nil, false // the attempts in flight may still succeed
		}
		return now, h.end(o, now), true
	}
	now = time.Now() // the policy's code ran: the rules after it judge the time after it
	if h.retryPending || h.stopping {
		return now, nil, false // a retry is already due; one failure earns one attempt
	}
	if p.budget != nil && !p.budget.allowRetry() {
		if h.inflight > 0 {
			return now, nil, false
		}
		return now, h.end(hooks.Throttled, now), true
	}
	if h.hasDL && !now.Add(delay).Before(h.dl) {
		return h.noRetry(now)
	}
	h.prev = delay
	if f := p.hooks.OnRetry; f != nil {
		at := &h.atts[n-1]
		h.inHook = true
		f(at.actx, at.a, delay)
		h.inHook = false
		now = time.Now()
		if h.hasDL && !now.Add(delay).Before(h.dl) {
			return h.noRetry(now)
		}
	}
	h.retryPending, h.retryAt = true, now.Add(delay)
	return now, nil, false
}

// noRetry handles a retry that the budget allowed but whose pause would end at or after
// the call deadline (rule 7): the call ends with Deadline unless attempts are in flight.
func (h *hedgeCall[T]) noRetry(now time.Time) (time.Time, error, bool) {
	if h.p.budget != nil {
		h.p.budget.refundRetry()
	}
	if h.inflight > 0 {
		return now, nil, false
	}
	return now, h.end(hooks.Deadline, now), true
}

// supersede cancels the attempts in flight and waits for each to return, running its
// OnAttemptEnd with Superseded set unless hooks are off. A panic of a superseded attempt
// is kept for the caller unless one is already.
func (h *hedgeCall[T]) supersede(hooksOn bool) {
	for i := range h.atts {
		if at := &h.atts[i]; at.running {
			at.superseded = true
			at.cancel()
		}
	}
	for h.inflight > 0 {
		r := <-h.results
		h.inflight--
		at := &h.atts[r.n-1]
		at.running = false
		if r.fault {
			if h.fault == nil {
				f := r
				h.fault = &f
			}
			r.err = nil
		}
		if hooksOn && at.open {
			at.a.Duration, at.a.Err, at.a.TimedOut, at.a.Superseded = r.end.Sub(at.a.Start), r.err, false, true
			at.open = false
			if f := h.p.hooks.OnAttemptEnd; f != nil {
				h.inHook = true
				f(at.actx, at.a)
				h.inHook = false
			}
		}
	}
	if h.timer != nil {
		h.timer.Stop()
	}
	if h.retryPending {
		h.retryPending = false
		if h.p.budget != nil {
			h.p.budget.refundRetry() // granted, announced, never made
		}
	}
}

// end supersedes the attempts in flight, builds the call's result, runs the closing hooks
// and returns what Hedge returns.
func (h *hedgeCall[T]) end(o hooks.Outcome, now time.Time) error {
	if h.inflight > 0 {
		h.supersede(h.p.hasHooks)
		now = time.Now()
	} else {
		h.supersede(false) // the timer and a pending retry
	}
	if h.fault != nil {
		o = hooks.Panicked
	}
	h.closed = true
	var err error
	if o != hooks.Success && o != hooks.Panicked {
		err = &Error{
			Outcome:  o,
			Attempts: h.attempts,
			Last:     h.last,
			name:     h.p.name,
			timedOut: h.timedOut && o == hooks.Exhausted,
			earlier:  h.earlier,
		}
	}
	if h.p.hasHooks {
		f := &h.p.hooks
		r := hooks.Result{Call: h.call, Outcome: o, Attempts: h.attempts, Duration: now.Sub(h.call.Start), Err: err}
		h.inHook = true
		switch {
		case o == hooks.Deadline:
			if f.OnDeadline != nil {
				f.OnDeadline(h.ctx, r)
			}
		case o != hooks.Success && o != hooks.Panicked:
			if f.OnGiveup != nil {
				f.OnGiveup(h.ctx, r)
			}
		}
		if f.OnDone != nil {
			f.OnDone(h.ctx, r)
		}
	}
	return err
}

// panicked runs while a panic of the caller's goroutine (a hook, or the policy's own
// code) unwinds through Hedge: it cancels the attempts in flight and waits for them, so
// that none outlives the call, and unless a hook panicked it closes what the hooks opened
// (OnAttemptEnd, OnDone with Outcome Panicked). The panic goes on unchanged.
func (h *hedgeCall[T]) panicked() {
	hooksOn := h.p.hasHooks && !h.inHook
	defer h.supersede(false) // what a hook's panic below leaves in flight is still awaited
	h.supersede(hooksOn)
	if !hooksOn {
		return
	}
	if f := h.p.hooks.OnDone; f != nil {
		h.inHook = true
		f(h.ctx, hooks.Result{Call: h.call, Outcome: hooks.Panicked, Attempts: h.attempts, Duration: time.Since(h.call.Start)})
	}
}
