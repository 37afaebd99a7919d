package retry_test

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
)

// This file checks retry.Do against a small reference model of its documented rules: random scripts of
// policy settings, caller contexts and attempt behaviours are run both through propModel
// (a pure function written from the contract alone) and through the engine inside a
// synctest bubble, where time is exact, and every observable must agree: the attempts
// (start, end, the deadline fn sees, the error fn returned), the elapsed time, the outcome,
// the *retry.Error fields, the errors.Is matrix of the package's Errors table, and the hook
// event sequence.
//
// Ties: when two timers fire at the same instant (an attempt's duration ending exactly at
// its context's deadline, a cancellation exactly at the end of a pause), which goroutine
// runs first is not specified, so the model flags the script and it is skipped (about 2%).
// Coincidences that the rules settle by arithmetic (a pause ending exactly at the deadline,
// an attempt timeout equal to the time left) are not ties and are generated on purpose.
//
// Where the documentation leaves room the model reads it so: an attempt's error is caused by the
// deadline or the cancellation when rule 1 or 2 decides on it, that is when the attempt
// ended at or after the call deadline or once the caller's context was done. So the error
// of a "deaf" attempt (one that ignores its context) that returns after the deadline is
// not carried by the Deadline error; the one before it is.

// The base errors of the attempt errors a script returns. Each attempt returns an error of
// its own (a fresh value wrapping one of these), so that the checks can tell which
// attempt's error the returned error carries.
var (
	propErrTransient = errors.New("prop: transient") // retryable under every filter
	propErrFatal     = errors.New("prop: fatal")     // not matched by the filters
	propErrStop      = errors.New("prop: stop")      // retryable, but GiveUp says stop
)

// propRetryableErr is the type of the errors the filters accept (OnType uses it).
type propRetryableErr struct {
	n    int
	base error
}

func (e *propRetryableErr) Error() string { return fmt.Sprintf("attempt %d: %v", e.n, e.base) }
func (e *propRetryableErr) Unwrap() error { return e.base }

// propFatalErr is the type of the errors no filter accepts.
type propFatalErr struct{ n int }

func (e *propFatalErr) Error() string { return fmt.Sprintf("attempt %d: %v", e.n, propErrFatal) }
func (e *propFatalErr) Unwrap() error { return propErrFatal }

// propPanicValue is what a panicking attempt panics with.
type propPanicValue struct{ n int }

// Context keys the hooks set, to check that OnStart's and OnAttempt's contexts reach fn.
type (
	propKeyStart   struct{}
	propKeyAttempt struct{}
)

// propKind is what an attempt does once its duration has passed (if its context did not
// end it first).
type propKind uint8

const (
	propOK          propKind = iota // return nil
	propTransient                   // return a retryable error
	propFatal                       // return an error the filters reject
	propStop                        // return an error GiveUp stops on
	propPerm                        // return retry.Permanent(retryable error)
	propPermWrapped                 // return fmt.Errorf("...%w", retry.Permanent(retryable error))
	propPanic                       // panic
)

var propKindNames = [...]string{"ok", "transient", "fatal", "stop", "perm", "permWrapped", "panic"}

func (k propKind) String() string { return propKindNames[k] }

type propStep struct {
	d    time.Duration // 0: returns at once, without looking at its context
	kind propKind
	deaf bool // sleeps d ignoring its context (not cooperative), then does kind
}

// propCtxMode is the caller's context.
type propCtxMode uint8

const (
	propCtxBackground     propCtxMode = iota // context.Background(): Done() is nil
	propCtxCancelable                        // WithCancel, canceled at cancelAt if > 0
	propCtxCanceledBefore                    // canceled before Do is called
	propCtxDeadline                          // WithDeadline(start+ctxDL), canceled at cancelAt if > 0
)

var propCtxNames = [...]string{"background", "cancelable", "canceledBefore", "deadline"}

// Filters of the retryable errors.
const (
	propFilterNone = iota
	propFilterOn
	propFilterIf
	propFilterOnType
	propFilterCount
)

var propFilterNames = [...]string{"none", "On", "If", "OnType"}

// propScript is one generated scenario.
type propScript struct {
	hasAT    bool
	at       time.Duration
	hasDL    bool
	dl       time.Duration
	hasPause bool
	pause    time.Duration
	maxTries int // 0: unset
	filter   int
	giveUp   bool
	hooks    bool
	rawCtx   bool // an interrupted attempt returns ctx.Err() itself rather than wrapping it
	ctxMode  propCtxMode
	ctxDL    time.Duration // propCtxDeadline: offset of the caller's deadline (may be <= 0)
	cancelAt time.Duration // propCtxCancelable, propCtxDeadline: cancel at this offset if > 0
	steps    []propStep    // attempts past the script succeed at once
}

func (s *propScript) step(n int) propStep {
	if n <= len(s.steps) {
		return s.steps[n-1]
	}
	return propStep{}
}

// String prints the script in a form that can be pasted into a reproducer.
func (s *propScript) String() string {
	var b strings.Builder
	opt := func(set bool, name string, v any) {
		if set {
			fmt.Fprintf(&b, "%s(%v) ", name, v)
		}
	}
	opt(s.hasAT, "AttemptTimeout", s.at)
	opt(s.hasDL, "Deadline", s.dl)
	opt(s.hasPause, "Pause", s.pause)
	opt(s.maxTries > 0, "MaxTries", s.maxTries)
	fmt.Fprintf(&b, "filter=%s giveUp=%v hooks=%v rawCtxErr=%v ctx=%s", propFilterNames[s.filter], s.giveUp, s.hooks, s.rawCtx, propCtxNames[s.ctxMode])
	if s.ctxMode == propCtxDeadline {
		fmt.Fprintf(&b, "(%v)", s.ctxDL)
	}
	if s.cancelAt > 0 {
		fmt.Fprintf(&b, " cancelAt=%v", s.cancelAt)
	}
	b.WriteString(" steps=[")
	for i, st := range s.steps {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%v:%v", st.d, st.kind)
		if st.deaf {
			b.WriteString(":deaf")
		}
	}
	b.WriteString("]")
	return b.String()
}

// propSource is what the generator draws from: a PCG for the property test, the fuzzer's
// bytes for FuzzScript.
type propSource interface{ IntN(n int) int }

// propGen draws a script. Durations are whole milliseconds, half of them on a 5 ms grid,
// so that limits often coincide (a pause ending exactly at the deadline, an attempt
// timeout equal to the remaining time), which is where the rules are subtle.
func propGen(r propSource) *propScript {
	ms := time.Millisecond
	dur := func(max int) time.Duration {
		if r.IntN(2) == 0 {
			return time.Duration(5*(1+r.IntN(max/5))) * ms
		}
		return time.Duration(1+r.IntN(max)) * ms
	}
	s := &propScript{}
	if r.IntN(2) == 0 {
		s.hasAT = true
		if r.IntN(5) != 0 {
			s.at = dur(60)
		}
	}
	if r.IntN(2) == 0 {
		s.hasDL = true
		if r.IntN(10) != 0 {
			s.dl = dur(250)
		}
	}
	if r.IntN(5) < 3 {
		s.hasPause = true
		if r.IntN(3) != 0 {
			s.pause = dur(40)
		}
	}
	if r.IntN(5) >= 2 {
		s.maxTries = 1 + r.IntN(6)
	}
	s.filter = r.IntN(propFilterCount)
	s.giveUp = r.IntN(2) == 0
	s.hooks = r.IntN(4) != 0
	s.rawCtx = r.IntN(3) == 0
	switch v := r.IntN(20); {
	case v < 8:
		s.ctxMode = propCtxBackground
	case v < 12:
		s.ctxMode = propCtxCancelable
	case v < 13:
		s.ctxMode = propCtxCanceledBefore
	default:
		s.ctxMode = propCtxDeadline
		if r.IntN(10) == 0 {
			s.ctxDL = -time.Duration(r.IntN(3)) * ms
		} else {
			s.ctxDL = dur(250)
		}
	}
	if (s.ctxMode == propCtxCancelable || s.ctxMode == propCtxDeadline) && r.IntN(2) == 0 {
		s.cancelAt = dur(250)
	}
	n := r.IntN(9)
	for range n {
		var st propStep
		if r.IntN(4) != 0 {
			st.d = dur(60)
			st.deaf = r.IntN(8) == 0
		}
		switch v := r.IntN(100); {
		case v < 8:
			st.kind = propOK
		case v < 50:
			st.kind = propTransient
		case v < 63:
			st.kind = propFatal
		case v < 76:
			st.kind = propStop
		case v < 85:
			st.kind = propPerm
		case v < 95:
			st.kind = propPermWrapped
		default:
			st.kind = propPanic
		}
		s.steps = append(s.steps, st)
	}
	return s
}

// propAttempt is the model's (or the run's) view of one attempt. Times are offsets from
// the start of the call.
type propAttempt struct {
	start, end  time.Duration
	deadline    time.Duration // the attempt context's deadline, if hasDeadline
	hasDeadline bool
	interrupted error // context.DeadlineExceeded or context.Canceled when the context ended fn
	timedOut    bool
	giveUpAsked bool // the GiveUp predicate was consulted on this attempt's error
	retry       bool // another attempt was scheduled (OnRetry fired)
	delay       time.Duration
}

// propExpect is what the model predicts.
type propExpect struct {
	attempts  []propAttempt
	outcome   hooks.Outcome
	elapsed   time.Duration
	earlier   int  // Deadline, Canceled: index of the attempt whose error the result carries; -1: none
	timedOut  bool // Exhausted: the last attempt timed out
	callDL    time.Duration
	hasCallDL bool
	tie       string // non-empty: two timers fire at the same instant; the run is not deterministic
	panicAt   int    // Panicked: the attempt number that panicked
}

// propModel computes what the documentation says Do does with the script. It knows nothing of the
// engine: it only follows the rules, in their order, over a timeline of offsets.
func propModel(s *propScript) propExpect {
	e := propExpect{earlier: -1}
	var ties []string
	tie := func(format string, args ...any) { ties = append(ties, fmt.Sprintf(format, args...)) }

	// The call deadline is the earlier of the caller's context deadline and start + Deadline.
	if s.hasDL {
		e.callDL, e.hasCallDL = s.dl, true
	}
	if s.ctxMode == propCtxDeadline && (!e.hasCallDL || s.ctxDL < e.callDL) {
		e.callDL, e.hasCallDL = s.ctxDL, true
	}
	hasCancel := s.cancelAt > 0 && (s.ctxMode == propCtxCancelable || s.ctxMode == propCtxDeadline)
	if hasCancel && s.ctxMode == propCtxDeadline && s.cancelAt == s.ctxDL {
		tie("cancel at the caller's deadline %v", s.cancelAt)
	}
	// callerErr is the caller context's error at offset t.
	callerErr := func(t time.Duration) error {
		switch s.ctxMode {
		case propCtxCanceledBefore:
			return context.Canceled
		case propCtxDeadline:
			if s.ctxDL <= t && (!hasCancel || s.ctxDL < s.cancelAt) {
				return context.DeadlineExceeded
			}
		}
		if hasCancel && s.cancelAt <= t {
			return context.Canceled
		}
		return nil
	}
	ctxOutcome := func(err error) hooks.Outcome {
		if err == context.DeadlineExceeded {
			return hooks.Deadline
		}
		return hooks.Canceled
	}
	finish := func(o hooks.Outcome, at time.Duration) propExpect {
		e.outcome, e.elapsed = o, at
		if len(ties) > 0 {
			e.tie = strings.Join(ties, "; ")
		}
		return e
	}

	now := time.Duration(0)
	for n := 1; ; n++ {
		// No attempt starts once the caller's context is done or the call deadline passed.
		if err := callerErr(now); err != nil {
			return finish(ctxOutcome(err), now)
		}
		if e.hasCallDL && now >= e.callDL {
			return finish(hooks.Deadline, now)
		}
		if n > 1000 {
			panic("propModel: runaway script")
		}
		a := propAttempt{start: now}
		// The attempt's deadline: min(now + AttemptTimeout, call deadline); when both
		// coincide the call deadline wins, and the timeout is not the attempt's own.
		own := false
		switch {
		case s.hasAT && (!e.hasCallDL || now+s.at < e.callDL):
			a.deadline, a.hasDeadline, own = now+s.at, true, true
		case e.hasCallDL:
			a.deadline, a.hasDeadline = e.callDL, true
		}
		st := s.step(n)
		switch {
		case st.d == 0:
			a.end = now
		case st.deaf:
			// fn ignores its context: it returns after st.d whatever happened meanwhile.
			a.end = now + st.d
			if hasCancel && s.cancelAt == a.end {
				tie("attempt %d: a deaf attempt ends at the cancellation %v", n, a.end)
			}
		default:
			// A cooperative fn: it ends at the first of its own duration, its deadline and
			// the caller's cancellation.
			natural := now + st.d
			a.end = natural
			if a.hasDeadline && a.deadline <= a.end {
				a.end = a.deadline
			}
			if hasCancel && s.cancelAt <= a.end {
				a.end = s.cancelAt
			}
			hits := 0
			if natural == a.end {
				hits++
			}
			if a.hasDeadline && a.deadline == a.end {
				hits++
				a.interrupted = context.DeadlineExceeded
			}
			if hasCancel && s.cancelAt == a.end {
				hits++
				a.interrupted = context.Canceled
			}
			if hits > 1 {
				tie("attempt %d: its end, its deadline or the cancellation coincide at %v", n, a.end)
			}
			if natural == a.end {
				a.interrupted = nil
			}
		}
		failed := a.interrupted != nil || st.kind != propOK
		// An attempt's own timeout fired: it failed and ran until its own deadline or past it.
		a.timedOut = own && failed && a.end >= a.deadline && !(a.interrupted == nil && st.kind == propPanic)
		if a.interrupted == nil && st.kind == propPanic {
			e.attempts = append(e.attempts, a)
			e.panicAt = n
			return finish(hooks.Panicked, a.end)
		}
		e.attempts = append(e.attempts, a)
		now = a.end
		if !failed {
			return finish(hooks.Success, now)
		}
		last := &e.attempts[len(e.attempts)-1]
		// Rule 1: the caller's context is done.
		if err := callerErr(now); err != nil {
			return finish(ctxOutcome(err), now)
		}
		// Rule 2: the call deadline has passed (reaching it counts).
		if e.hasCallDL && now >= e.callDL {
			return finish(hooks.Deadline, now)
		}
		// The deadline did not cause this error, nor did a cancellation.
		e.earlier = n - 1
		// Rule 3: not retryable. A timed-out attempt is retryable unless fn returned a
		// Permanent error.
		kind := st.kind
		if a.interrupted != nil {
			kind = propTransient // only an own timeout gets here; it is retryable anyway
		}
		perm := kind == propPerm || kind == propPermWrapped
		passes := s.filter == propFilterNone || kind == propTransient || kind == propStop
		if perm || !a.timedOut && !passes {
			return finish(hooks.Permanent, now)
		}
		// Rule 4: MaxTries reached; GiveUp is not consulted.
		if s.maxTries > 0 && n >= s.maxTries {
			e.timedOut = a.timedOut
			return finish(hooks.Exhausted, now)
		}
		// Rule 5: GiveUp.
		last.giveUpAsked = s.giveUp
		if s.giveUp && kind == propStop {
			return finish(hooks.GaveUp, now)
		}
		// Rule 7: a pause that would end at or after the call deadline is not slept.
		var delay time.Duration
		if s.hasPause {
			delay = s.pause
		}
		if e.hasCallDL && now+delay >= e.callDL {
			return finish(hooks.Deadline, now)
		}
		// Rule 8: OnRetry, then the pause, which the caller's cancellation cuts short.
		last.retry, last.delay = true, delay
		if delay > 0 {
			end := now + delay
			if hasCancel && s.cancelAt == end {
				tie("pause after attempt %d ends at the cancellation %v", n, end)
			}
			if hasCancel && s.cancelAt > now && s.cancelAt < end {
				end = s.cancelAt
			}
			now = end
		}
	}
}

// propEvent is one recorded hook call.
type propEvent struct {
	name  string
	at    time.Duration
	a     hooks.Attempt
	r     hooks.Result
	c     hooks.Call
	delay time.Duration
	ctxOK bool // the hook got the context it should have (values of OnStart/OnAttempt)
}

// propRun is what the engine did with a script.
type propRun struct {
	attempts []propAttempt
	errs     []error // what each attempt returned
	ctxOK    []bool  // fn saw the values of OnStart's and OnAttempt's contexts
	giveUps  []error // the errors GiveUp was given
	err      error
	panicVal any
	panicked bool
	elapsed  time.Duration
	events   []propEvent
}

// propErrFor builds the error a scripted attempt returns.
func propErrFor(n int, k propKind) error {
	switch k {
	case propTransient:
		return &propRetryableErr{n, propErrTransient}
	case propFatal:
		return &propFatalErr{n}
	case propStop:
		return &propRetryableErr{n, propErrStop}
	case propPerm:
		return retry.Permanent(&propRetryableErr{n, propErrTransient})
	case propPermWrapped:
		return fmt.Errorf("attempt %d wrapped: %w", n, retry.Permanent(&propRetryableErr{n, propErrTransient}))
	}
	return nil
}

// propExecute runs the script through retry.Do. It must run inside a synctest bubble.
func propExecute(t *testing.T, s *propScript) *propRun {
	run := &propRun{}
	start := time.Now()
	since := func() time.Duration { return time.Since(start) }

	opts := []retry.Option{retry.Name("prop")}
	if s.hasAT {
		opts = append(opts, retry.AttemptTimeout(s.at))
	}
	if s.hasDL {
		opts = append(opts, retry.Deadline(s.dl))
	}
	if s.hasPause {
		opts = append(opts, retry.Pause(s.pause))
	}
	if s.maxTries > 0 {
		opts = append(opts, retry.MaxTries(s.maxTries))
	}
	switch s.filter {
	case propFilterOn:
		opts = append(opts, retry.On(propErrTransient, propErrStop))
	case propFilterIf:
		opts = append(opts, retry.If(func(err error) bool {
			return errors.Is(err, propErrTransient) || errors.Is(err, propErrStop)
		}))
	case propFilterOnType:
		opts = append(opts, retry.OnType[*propRetryableErr]())
	}
	if s.giveUp {
		opts = append(opts, retry.GiveUp(func(err error) bool {
			run.giveUps = append(run.giveUps, err)
			return errors.Is(err, propErrStop)
		}))
	}
	if s.hooks {
		startVal := new(int)
		attemptOK := func(ctx context.Context, n int) bool {
			v, _ := ctx.Value(propKeyAttempt{}).(int)
			return ctx.Value(propKeyStart{}) == startVal && v == n
		}
		rec := func(ev propEvent) { ev.at = since(); run.events = append(run.events, ev) }
		opts = append(opts, retry.Hooks(hooks.Hooks{
			OnStart: func(ctx context.Context, c hooks.Call) context.Context {
				rec(propEvent{name: "start", c: c, ctxOK: true})
				return context.WithValue(ctx, propKeyStart{}, startVal)
			},
			OnAttempt: func(ctx context.Context, a hooks.Attempt) context.Context {
				rec(propEvent{name: "attempt", a: a, c: a.Call, ctxOK: ctx.Value(propKeyStart{}) == startVal})
				return context.WithValue(ctx, propKeyAttempt{}, a.Number)
			},
			OnTimeout: func(ctx context.Context, a hooks.Attempt) {
				rec(propEvent{name: "timeout", a: a, c: a.Call, ctxOK: attemptOK(ctx, a.Number)})
			},
			OnAttemptEnd: func(ctx context.Context, a hooks.Attempt) {
				rec(propEvent{name: "end", a: a, c: a.Call, ctxOK: attemptOK(ctx, a.Number)})
			},
			OnRetry: func(ctx context.Context, a hooks.Attempt, d time.Duration) {
				rec(propEvent{name: "retry", a: a, c: a.Call, delay: d, ctxOK: attemptOK(ctx, a.Number)})
			},
			OnGiveup: func(ctx context.Context, r hooks.Result) {
				rec(propEvent{name: "giveup", r: r, c: r.Call, ctxOK: ctx.Value(propKeyStart{}) == startVal})
			},
			OnDeadline: func(ctx context.Context, r hooks.Result) {
				rec(propEvent{name: "deadline", r: r, c: r.Call, ctxOK: ctx.Value(propKeyStart{}) == startVal})
			},
			OnDone: func(ctx context.Context, r hooks.Result) {
				rec(propEvent{name: "done", r: r, c: r.Call, ctxOK: ctx.Value(propKeyStart{}) == startVal})
			},
		}))
	}
	p, err := retry.New(opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}

	ctx := context.Background()
	var cancel context.CancelFunc = func() {}
	switch s.ctxMode {
	case propCtxCancelable:
		ctx, cancel = context.WithCancel(ctx)
	case propCtxCanceledBefore:
		ctx, cancel = context.WithCancel(ctx)
		cancel()
	case propCtxDeadline:
		ctx, cancel = context.WithDeadline(ctx, start.Add(s.ctxDL))
	}
	defer cancel()
	if s.cancelAt > 0 && (s.ctxMode == propCtxCancelable || s.ctxMode == propCtxDeadline) {
		timer := time.AfterFunc(s.cancelAt, cancel)
		defer timer.Stop()
	}

	fn := func(ctx context.Context) error {
		n := len(run.attempts) + 1
		a := propAttempt{start: since()}
		if dl, ok := ctx.Deadline(); ok {
			a.deadline, a.hasDeadline = dl.Sub(start), true
		}
		if s.hooks {
			v, _ := ctx.Value(propKeyAttempt{}).(int)
			run.ctxOK = append(run.ctxOK, ctx.Value(propKeyStart{}) != nil && v == n)
		}
		st := s.step(n)
		if st.deaf {
			time.Sleep(st.d)
		} else if st.d > 0 {
			select {
			case <-time.After(st.d):
			case <-ctx.Done():
				a.end, a.interrupted = since(), ctx.Err()
				err := ctx.Err()
				if !s.rawCtx {
					err = fmt.Errorf("attempt %d interrupted: %w", n, err)
				}
				run.attempts, run.errs = append(run.attempts, a), append(run.errs, err)
				return err
			}
		}
		a.end = since()
		err := propErrFor(n, st.kind)
		run.attempts, run.errs = append(run.attempts, a), append(run.errs, err)
		if st.kind == propPanic {
			panic(propPanicValue{n})
		}
		return err
	}

	func() {
		defer func() {
			if v := recover(); v != nil {
				run.panicked, run.panicVal = true, v
			}
		}()
		run.err = p.Do(ctx, fn)
	}()
	run.elapsed = since()
	return run
}

// propCheck compares the run with the model and checks the invariants of the hook events.
// It returns the discrepancies, one line each.
func propCheck(s *propScript, e *propExpect, run *propRun) []string {
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }

	// Attempts as fn saw them.
	if len(run.attempts) != len(e.attempts) {
		fail("attempts: got %d, model %d", len(run.attempts), len(e.attempts))
	}
	for i := range min(len(run.attempts), len(e.attempts)) {
		g, w := run.attempts[i], e.attempts[i]
		if g.start != w.start || g.end != w.end {
			fail("attempt %d: ran %v..%v, model %v..%v", i+1, g.start, g.end, w.start, w.end)
		}
		if g.hasDeadline != w.hasDeadline || g.deadline != w.deadline {
			fail("attempt %d: ctx deadline %v (set %v), model %v (set %v)", i+1, g.deadline, g.hasDeadline, w.deadline, w.hasDeadline)
		}
		if g.interrupted != w.interrupted {
			fail("attempt %d: interrupted by %v, model %v", i+1, g.interrupted, w.interrupted)
		}
	}
	// GiveUp is consulted exactly when rules 1 to 4 let the error through, with the very
	// error the attempt returned.
	var asked []error
	for i, a := range e.attempts {
		if a.giveUpAsked && i < len(run.errs) {
			asked = append(asked, run.errs[i])
		}
	}
	if fmt.Sprint(asked) != fmt.Sprint(run.giveUps) {
		fail("GiveUp was given %v, model %v", run.giveUps, asked)
	} else {
		for i := range asked {
			if asked[i] != run.giveUps[i] {
				fail("GiveUp was given %v, not the attempt's own error value", run.giveUps[i])
			}
		}
	}
	for i, ok := range run.ctxOK {
		if !ok {
			fail("attempt %d: fn's context lacks the values of OnStart/OnAttempt", i+1)
		}
	}
	if run.elapsed != e.elapsed {
		fail("elapsed: got %v, model %v", run.elapsed, e.elapsed)
	}

	// The returned error.
	switch e.outcome {
	case hooks.Success:
		if run.err != nil || run.panicked {
			fail("got err=%v panic=%v, model success", run.err, run.panicVal)
		}
	case hooks.Panicked:
		if run.panicVal != (propPanicValue{e.panicAt}) {
			fail("got err=%v panic=%v, model panic %v", run.err, run.panicVal, propPanicValue{e.panicAt})
		}
	default:
		if run.panicked {
			fail("got panic %v, model %v", run.panicVal, e.outcome)
			break
		}
		re, ok := run.err.(*retry.Error)
		if !ok {
			fail("got %T %v, model a *retry.Error with outcome %v", run.err, run.err, e.outcome)
			break
		}
		if re.Outcome != e.outcome || re.Attempts != len(e.attempts) {
			fail("got Outcome=%v Attempts=%d (%v), model Outcome=%v Attempts=%d", re.Outcome, re.Attempts, re, e.outcome, len(e.attempts))
		}
		var last error
		if len(run.errs) > 0 {
			last = run.errs[len(run.errs)-1]
		}
		if re.Last != last {
			fail("Last = %v, want the last attempt's error %v", re.Last, last)
		}
		bad = append(bad, propCheckIs(e, run, re)...)
	}
	if s.hooks {
		bad = append(bad, propCheckEvents(run)...)
		want := propWantEvents(s, e)
		got := propGotEvents(run)
		if want != got {
			fail("hook events differ from the model:\n  got:   %s\n  model: %s", got, want)
		}
	} else if len(run.events) > 0 {
		fail("hooks fired without Hooks: %v", propGotEvents(run))
	}
	return bad
}

// propCheckIs checks the errors.Is matrix of the package's Errors table, both ways: what the
// error must match, and that it matches nothing else among the sentinels, the context
// errors and the attempts' own errors.
func propCheckIs(e *propExpect, run *propRun, re *retry.Error) []string {
	var bad []string
	var sentinels []error
	var carried []error // the attempt errors the result must match
	var last []error
	if len(run.errs) > 0 {
		last = run.errs[len(run.errs)-1:]
	}
	switch e.outcome {
	case hooks.Exhausted:
		sentinels = []error{retry.ErrExhausted}
		if e.timedOut {
			sentinels = append(sentinels, retry.ErrAttemptTimeout, context.DeadlineExceeded)
		}
		carried = last
	case hooks.Deadline:
		sentinels = []error{retry.ErrDeadline, context.DeadlineExceeded}
		if e.earlier >= 0 {
			carried = run.errs[e.earlier : e.earlier+1]
		}
	case hooks.Canceled:
		sentinels = []error{context.Canceled}
		if e.earlier >= 0 {
			carried = run.errs[e.earlier : e.earlier+1]
		}
	case hooks.GaveUp:
		sentinels, carried = []error{retry.ErrGaveUp}, last
	case hooks.Permanent:
		sentinels, carried = []error{retry.ErrPermanent}, last
	}
	probes := []error{retry.ErrExhausted, retry.ErrDeadline, retry.ErrAttemptTimeout, retry.ErrGaveUp,
		retry.ErrPermanent, retry.ErrThrottled, context.Canceled, context.DeadlineExceeded}
	probes = append(probes, run.errs...)
	for i, probe := range probes {
		if probe == nil {
			continue
		}
		want := false
		for _, x := range sentinels {
			want = want || x == probe
		}
		for _, x := range carried {
			want = want || errors.Is(x, probe)
		}
		if got := errors.Is(re, probe); got != want {
			name := fmt.Sprint(probe)
			if i >= 8 {
				name = fmt.Sprintf("attempt %d's error %q", i-7, probe)
			}
			bad = append(bad, fmt.Sprintf("errors.Is(err, %s) = %v, want %v (err: %v)", name, got, want, re))
		}
	}
	return bad
}

// propWantEvents is the model's hook sequence, one token per event.
func propWantEvents(s *propScript, e *propExpect) string {
	var b strings.Builder
	b.WriteString("start@0s")
	for i, a := range e.attempts {
		n := i + 1
		fmt.Fprintf(&b, " attempt#%d@%v", n, a.start)
		if a.hasDeadline {
			fmt.Fprintf(&b, "(dl %v)", a.deadline)
		}
		if a.timedOut {
			fmt.Fprintf(&b, " timeout#%d@%v", n, a.end)
		}
		failed := a.interrupted != nil || s.step(n).kind != propOK && !(e.outcome == hooks.Panicked && n == len(e.attempts))
		fmt.Fprintf(&b, " end#%d@%v(dur %v, err %v, timedOut %v)", n, a.end, a.end-a.start, failed, a.timedOut)
		if a.retry {
			fmt.Fprintf(&b, " retry#%d@%v(delay %v)", n, a.end, a.delay)
		}
	}
	switch e.outcome {
	case hooks.Success, hooks.Panicked:
	case hooks.Deadline:
		fmt.Fprintf(&b, " deadline@%v", e.elapsed)
	default:
		fmt.Fprintf(&b, " giveup@%v", e.elapsed)
	}
	fmt.Fprintf(&b, " done@%v(%v, %d attempts)", e.elapsed, e.outcome, len(e.attempts))
	return b.String()
}

// propGotEvents prints the recorded hook sequence in propWantEvents's form.
func propGotEvents(run *propRun) string {
	var b strings.Builder
	start := run.events[0].c.Start
	for i, ev := range run.events {
		if i > 0 {
			b.WriteString(" ")
		}
		switch ev.name {
		case "start":
			fmt.Fprintf(&b, "start@%v", ev.at)
		case "attempt":
			fmt.Fprintf(&b, "attempt#%d@%v", ev.a.Number, ev.a.Start.Sub(start))
			if !ev.a.Deadline.IsZero() {
				fmt.Fprintf(&b, "(dl %v)", ev.a.Deadline.Sub(start))
			}
		case "timeout":
			fmt.Fprintf(&b, "timeout#%d@%v", ev.a.Number, ev.at)
		case "end":
			fmt.Fprintf(&b, "end#%d@%v(dur %v, err %v, timedOut %v)", ev.a.Number, ev.at, ev.a.Duration, ev.a.Err != nil, ev.a.TimedOut)
		case "retry":
			fmt.Fprintf(&b, "retry#%d@%v(delay %v)", ev.a.Number, ev.at, ev.delay)
		case "deadline", "giveup":
			fmt.Fprintf(&b, "%s@%v", ev.name, ev.at)
		case "done":
			fmt.Fprintf(&b, "done@%v(%v, %d attempts)", ev.r.Duration, ev.r.Outcome, ev.r.Attempts)
		}
	}
	return b.String()
}

// propCheckEvents checks the hook contract on the recorded events alone, without the
// model: order, pairing, one closing event, and agreement with what Do returned and what
// fn saw.
func propCheckEvents(run *propRun) []string {
	var bad []string
	fail := func(format string, args ...any) { bad = append(bad, fmt.Sprintf(format, args...)) }
	evs := run.events
	if len(evs) < 2 || evs[0].name != "start" || evs[len(evs)-1].name != "done" {
		fail("events must begin with OnStart and end with OnDone: %s", propGotEvents(run))
		return bad
	}
	call := evs[0].c
	done := evs[len(evs)-1].r
	attempts := 0
	state := "start" // what the previous event was
	var cur hooks.Attempt
	var lastEnd, lastRetry *propEvent
	for i := 1; i < len(evs); i++ {
		ev := &evs[i]
		if ev.c != call {
			fail("event %d (%s): Call %+v differs from OnStart's %+v", i, ev.name, ev.c, call)
		}
		if !ev.ctxOK {
			fail("event %d (%s): its context does not carry OnStart's (and OnAttempt's) values", i, ev.name)
		}
		if ev.name == "start" {
			fail("second OnStart")
		}
		switch ev.name {
		case "attempt":
			if state != "start" && state != "retry" {
				fail("OnAttempt after %s", state)
			}
			attempts++
			cur = ev.a
			if ev.a.Number != attempts {
				fail("OnAttempt number %d, want %d", ev.a.Number, attempts)
			}
			if ev.a.Start != call.Start.Add(ev.at) {
				fail("attempt %d: Start %v is not the time of OnAttempt", attempts, ev.a.Start.Sub(call.Start))
			}
			if lastRetry != nil && ev.at-lastRetry.at != lastRetry.delay {
				fail("attempt %d started %v after OnRetry, which announced %v", attempts, ev.at-lastRetry.at, lastRetry.delay)
			}
		case "timeout":
			if state != "attempt" {
				fail("OnTimeout after %s", state)
			}
			if !ev.a.TimedOut {
				fail("OnTimeout with TimedOut false")
			}
		case "end":
			if state != "attempt" && state != "timeout" {
				fail("OnAttemptEnd after %s", state)
			}
			if ev.a.Number != cur.Number || ev.a.Start != cur.Start || ev.a.Deadline != cur.Deadline {
				fail("OnAttemptEnd %+v does not pair with OnAttempt %+v", ev.a, cur)
			}
			if ev.a.TimedOut != (state == "timeout") {
				fail("attempt %d: TimedOut %v but OnTimeout fired: %v", ev.a.Number, ev.a.TimedOut, state == "timeout")
			}
			if ev.a.TimedOut && ev.a.Err == nil {
				fail("attempt %d: TimedOut with a nil error", ev.a.Number)
			}
			if ev.a.Duration != ev.at-ev.a.Start.Sub(call.Start) {
				fail("attempt %d: Duration %v, but it ran until %v", ev.a.Number, ev.a.Duration, ev.at)
			}
			if n := ev.a.Number; n <= len(run.errs) && !(run.panicked && n == len(run.errs)) && ev.a.Err != run.errs[n-1] {
				fail("attempt %d: OnAttemptEnd's Err %v is not what fn returned (%v)", n, ev.a.Err, run.errs[n-1])
			}
			lastEnd = ev
		case "retry":
			if state != "end" {
				fail("OnRetry after %s", state)
			}
			if ev.a.Number != cur.Number || ev.at != lastEnd.at {
				fail("OnRetry for attempt %d at %v does not follow its OnAttemptEnd", ev.a.Number, ev.at)
			}
			lastRetry = ev
		case "giveup", "deadline":
			// A cancellation can cut a pause short: the call then ends right after OnRetry.
			if state != "start" && state != "end" && !(state == "retry" && done.Outcome == hooks.Canceled) {
				fail("%s after %s (outcome %v)", ev.name, state, done.Outcome)
			}
			if i != len(evs)-2 {
				fail("%s is not the event before OnDone", ev.name)
			}
			if ev.r != done {
				fail("%s's Result %+v differs from OnDone's %+v", ev.name, ev.r, done)
			}
			if (ev.name == "deadline") != (done.Outcome == hooks.Deadline) {
				fail("%s for outcome %v", ev.name, done.Outcome)
			}
		case "done":
			if ok := state == "end" || state == "giveup" || state == "deadline"; !ok {
				fail("OnDone after %s", state)
			}
		}
		state = ev.name
	}
	// One closing event exactly on failure, none on success or panic.
	closing := evs[len(evs)-2].name
	failed := done.Outcome != hooks.Success && done.Outcome != hooks.Panicked
	if failed != (closing == "giveup" || closing == "deadline") {
		fail("outcome %v closed by %s", done.Outcome, closing)
	}
	if done.Attempts != attempts || done.Attempts != len(run.attempts) {
		fail("Result.Attempts %d, OnAttempt fired %d times, fn ran %d times", done.Attempts, attempts, len(run.attempts))
	}
	if done.Duration != run.elapsed || evs[len(evs)-1].at != run.elapsed {
		fail("Result.Duration %v, OnDone at %v, Do returned after %v", done.Duration, evs[len(evs)-1].at, run.elapsed)
	}
	if done.Err != run.err {
		fail("Result.Err %v is not what Do returned (%v)", done.Err, run.err)
	}
	switch {
	case run.panicked:
		if done.Outcome != hooks.Panicked {
			fail("fn panicked, Result.Outcome %v", done.Outcome)
		}
	case run.err == nil:
		if done.Outcome != hooks.Success {
			fail("Do returned nil, Result.Outcome %v", done.Outcome)
		}
	default:
		if re, ok := run.err.(*retry.Error); ok && (re.Outcome != done.Outcome || re.Attempts != done.Attempts) {
			fail("Do returned %v/%d attempts, Result says %v/%d", re.Outcome, re.Attempts, done.Outcome, done.Attempts)
		}
	}
	return bad
}

// propRunScript runs one script in its own bubble and reports discrepancies with how to
// reproduce them. It returns false when the script was skipped for a timer tie.
func propRunScript(t *testing.T, s *propScript, repro string) bool {
	t.Helper()
	e := propModel(s)
	if e.tie != "" {
		return false
	}
	synctest.Test(t, func(t *testing.T) {
		run := propExecute(t, s)
		if bad := propCheck(s, &e, run); len(bad) > 0 {
			t.Errorf("%s\nscript: %v\n  %s", repro, s, strings.Join(bad, "\n  "))
		}
	})
	return true
}

var (
	propScripts = flag.Uint64("prop.scripts", 4000, "number of random scripts TestPropertyModel checks")
	propSeed    = flag.Uint64("prop.seed", 0, "run only this seed of TestPropertyModel")
)

// TestPropertyModel runs random scripts through the engine and the model. Each script has
// its own PCG seed, printed on failure; -prop.seed=N reruns one alone, -prop.scripts=N
// checks more of them.
func TestPropertyModel(t *testing.T) {
	checked, skipped := 0, 0
	outcomes := map[hooks.Outcome]int{}
	first, last := uint64(1), *propScripts
	if *propSeed != 0 {
		first, last = *propSeed, *propSeed
	}
	for seed := first; seed <= last; seed++ {
		s := propGen(rand.New(rand.NewPCG(seed, 0x7265747279)))
		if !propRunScript(t, s, fmt.Sprintf("seed %d (rerun: go test -run TestPropertyModel -prop.seed=%d ./retry)", seed, seed)) {
			skipped++
			continue
		}
		checked++
		outcomes[propModel(s).outcome]++
		if t.Failed() && checked > 20 {
			t.Fatalf("stopping after failures; %d scripts checked", checked)
		}
	}
	t.Logf("%d scripts checked, %d skipped for timer ties; outcomes %v", checked, skipped, outcomes)
	// Every outcome the scripts can reach must be reached, or the generator has gone blind.
	for _, o := range []hooks.Outcome{hooks.Success, hooks.Exhausted, hooks.Deadline, hooks.Canceled, hooks.GaveUp, hooks.Permanent, hooks.Panicked} {
		if *propSeed == 0 && *propScripts >= 4000 && outcomes[o] < 20 {
			t.Errorf("outcome %v reached by only %d scripts", o, outcomes[o])
		}
	}
}

// TestPropModelExamples pins the reference model to cases worked out by hand from the documentation,
// so that the model is not only consistent with the engine but right.
func TestPropModelExamples(t *testing.T) {
	ms := time.Millisecond
	tr := func(d time.Duration) propStep { return propStep{d: d, kind: propTransient} }
	tests := []struct {
		name     string
		s        propScript
		outcome  hooks.Outcome
		attempts int
		elapsed  time.Duration
		earlier  int    // Deadline, Canceled: the attempt whose error is carried; -1: none
		timedOut string // per attempt: T timed out, - not
	}{
		{"deadline cuts the second attempt; the first's error is carried",
			propScript{hasDL: true, dl: 100 * ms, hasPause: true, pause: 30 * ms, steps: []propStep{tr(40 * ms), tr(40 * ms)}},
			hooks.Deadline, 2, 100 * ms, 0, "--"},
		{"attempt timeout then the call deadline: when both coincide the deadline wins",
			propScript{hasAT: true, at: 50 * ms, hasDL: true, dl: 100 * ms, steps: []propStep{tr(60 * ms), tr(60 * ms)}},
			hooks.Deadline, 2, 100 * ms, 0, "T-"},
		{"a pause ending exactly at the deadline is not slept",
			propScript{hasDL: true, dl: 50 * ms, hasPause: true, pause: 25 * ms, steps: []propStep{tr(25 * ms)}},
			hooks.Deadline, 1, 25 * ms, 0, "-"},
		{"GiveUp stops",
			propScript{maxTries: 3, giveUp: true, hasPause: true, pause: 10 * ms, steps: []propStep{{kind: propStop}}},
			hooks.GaveUp, 1, 0, -1, "-"},
		{"GiveUp is not consulted after the last try",
			propScript{maxTries: 1, giveUp: true, steps: []propStep{{kind: propStop}}},
			hooks.Exhausted, 1, 0, -1, "-"},
		{"a timed-out attempt is retryable whatever the filter says",
			propScript{hasAT: true, filter: propFilterOn, steps: []propStep{{kind: propFatal}}},
			hooks.Success, 2, 0, -1, "T-"},
		{"but not when fn returned a Permanent error",
			propScript{hasAT: true, steps: []propStep{{kind: propPermWrapped}}},
			hooks.Permanent, 1, 0, -1, "T"},
		{"the filter rejects",
			propScript{filter: propFilterOnType, steps: []propStep{tr(5 * ms), {d: 5 * ms, kind: propFatal}}},
			hooks.Permanent, 2, 10 * ms, -1, "--"},
		{"a cancellation cuts the pause short",
			propScript{ctxMode: propCtxCancelable, cancelAt: 30 * ms, hasPause: true, pause: 50 * ms, steps: []propStep{tr(10 * ms)}},
			hooks.Canceled, 1, 30 * ms, 0, "-"},
		{"a cancellation ends an attempt",
			propScript{ctxMode: propCtxDeadline, ctxDL: 90 * ms, cancelAt: 30 * ms, steps: []propStep{tr(10 * ms), tr(40 * ms)}},
			hooks.Canceled, 2, 30 * ms, 0, "--"},
		{"a deaf attempt succeeds after its timeout",
			propScript{hasAT: true, at: 10 * ms, steps: []propStep{{d: 30 * ms, deaf: true}}},
			hooks.Success, 1, 30 * ms, -1, "-"},
		{"a deaf attempt's late error: exhausted and timed out",
			propScript{hasAT: true, at: 10 * ms, maxTries: 1, steps: []propStep{{d: 30 * ms, kind: propTransient, deaf: true}}},
			hooks.Exhausted, 1, 30 * ms, -1, "T"},
		{"a caller deadline already passed",
			propScript{ctxMode: propCtxDeadline, ctxDL: -ms},
			hooks.Deadline, 0, 0, -1, ""},
		{"Deadline(0)",
			propScript{hasDL: true},
			hooks.Deadline, 0, 0, -1, ""},
		{"canceled before the call beats Deadline(0)",
			propScript{hasDL: true, ctxMode: propCtxCanceledBefore},
			hooks.Canceled, 0, 0, -1, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := propModel(&tt.s)
			carries := tt.outcome == hooks.Deadline || tt.outcome == hooks.Canceled // the only outcomes that use earlier
			var timedOut strings.Builder
			for _, a := range e.attempts {
				if a.timedOut {
					timedOut.WriteString("T")
				} else {
					timedOut.WriteString("-")
				}
			}
			if e.tie != "" || e.outcome != tt.outcome || len(e.attempts) != tt.attempts || e.elapsed != tt.elapsed ||
				carries && e.earlier != tt.earlier || timedOut.String() != tt.timedOut {
				t.Errorf("model: %v after %d attempts in %v, earlier %d, timed out %q, tie %q; want %v after %d in %v, earlier %d, timed out %q",
					e.outcome, len(e.attempts), e.elapsed, e.earlier, timedOut.String(), e.tie,
					tt.outcome, tt.attempts, tt.elapsed, tt.earlier, tt.timedOut)
			}
			// And the engine agrees with the model on it.
			propRunScript(t, &tt.s, tt.name)
		})
	}
}
