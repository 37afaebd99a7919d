package retry

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"runtime/debug"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/hooks"
)

// hedgeNum is the context key under which the hedge log's OnAttempt puts the attempt's
// number, so that a scripted fn knows which attempt it runs.
type hedgeNum struct{}

// hedgeLog records the hooks of hedged calls as lines "@<offset> <event>", and fails the
// test if two hooks of a call ever run at once.
type hedgeLog struct {
	t      *testing.T
	start  time.Time
	busy   atomic.Bool
	lines  []string
	hedged []bool // per attempt, what OnAttempt saw
}

func newHedgeLog(t *testing.T) *hedgeLog { return &hedgeLog{t: t, start: time.Now()} }

func (l *hedgeLog) add(format string, args ...any) {
	if !l.busy.CompareAndSwap(false, true) {
		l.t.Error("two hooks of one call ran at once")
	}
	// A hook that takes a moment makes an overlap visible to the race detector and to
	// the flag above.
	runtime.Gosched()
	l.lines = append(l.lines, fmt.Sprintf("@%v ", time.Since(l.start))+fmt.Sprintf(format, args...))
	l.busy.Store(false)
}

func (l *hedgeLog) String() string { return strings.Join(l.lines, "; ") }

// attemptFlags prints what an attempt event carries; Hedged only at OnAttempt, where
// it is set (the later events carry it too: checked apart).
func attemptFlags(a hooks.Attempt, start bool) string {
	s := ""
	if a.Hedged && start {
		s += " hedged"
	}
	if a.TimedOut {
		s += " timedout"
	}
	if a.Superseded {
		s += " superseded"
	}
	if a.Err != nil {
		s += " err=" + a.Err.Error()
	}
	return s
}

func (l *hedgeLog) hooks() hooks.Hooks {
	return hooks.Hooks{
		OnStart: func(ctx context.Context, c hooks.Call) context.Context {
			if !c.Hedging {
				l.t.Error("OnStart: Call.Hedging is false in a hedged call")
			}
			l.add("start")
			return nil
		},
		OnAttempt: func(ctx context.Context, a hooks.Attempt) context.Context {
			l.hedged = append(l.hedged, a.Hedged)
			l.add("attempt %d%s", a.Number, attemptFlags(a, true))
			return context.WithValue(ctx, hedgeNum{}, a.Number)
		},
		OnTimeout: func(ctx context.Context, a hooks.Attempt) { l.add("timeout %d", a.Number) },
		OnAttemptEnd: func(ctx context.Context, a hooks.Attempt) {
			if ctx.Value(hedgeNum{}) != a.Number {
				l.t.Errorf("OnAttemptEnd %d: not the context OnAttempt returned", a.Number)
			}
			if a.Hedged != l.hedged[a.Number-1] {
				l.t.Errorf("OnAttemptEnd %d: Hedged %v, OnAttempt said %v", a.Number, a.Hedged, !a.Hedged)
			}
			l.add("end %d (%v)%s", a.Number, a.Duration, attemptFlags(a, false))
		},
		OnRetry: func(ctx context.Context, a hooks.Attempt, d time.Duration) {
			l.add("retry %d after %v", a.Number, d)
		},
		OnGiveup:   func(ctx context.Context, r hooks.Result) { l.add("giveup %v", r.Outcome) },
		OnDeadline: func(ctx context.Context, r hooks.Result) { l.add("deadline %v", r.Outcome) },
		OnDone: func(ctx context.Context, r hooks.Result) {
			l.add("done %v %d (%v)", r.Outcome, r.Attempts, r.Duration)
		},
	}
}

// hstep is what a scripted attempt does: run d (until its context is done, unless deaf),
// then panic with pnc if set, else return err. The value is the attempt's number.
type hstep struct {
	d    time.Duration
	err  error
	deaf bool
	pnc  any
}

// hscript returns a fn that plays step n for attempt n (read from the hedge log's
// context value); attempts past the script succeed at once.
func hscript(steps ...hstep) func(context.Context) (int, error) {
	return func(ctx context.Context) (int, error) {
		n := ctx.Value(hedgeNum{}).(int)
		if n > len(steps) {
			return n, nil
		}
		st := steps[n-1]
		switch {
		case st.deaf:
			time.Sleep(st.d)
		case st.d > 0:
			t := time.NewTimer(st.d)
			defer t.Stop()
			select {
			case <-t.C:
			case <-ctx.Done():
				return n, ctx.Err()
			}
		}
		if st.pnc != nil {
			panic(st.pnc)
		}
		return n, st.err
	}
}

var (
	errH1 = errors.New("h1")
	errH2 = errors.New("h2")
	errH3 = errors.New("h3")
)

// TestHedgeTiming checks the timing rules of hedged calls, event by event, on the
// bubble's exact clock.
func TestHedgeTiming(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name    string
		opts    []Option
		ctx     func(context.Context) (context.Context, context.CancelFunc)
		steps   []hstep
		want    string // the hook log
		value   int    // the value Hedge returns; 0: an error
		outcome hooks.Outcome
		elapsed time.Duration
	}{
		{
			name:  "the hedge delay comes before the pause: a hedge wins, the first attempt is superseded",
			opts:  []Option{HedgeAfter(10 * ms), MaxTries(3), Pause(50 * ms)},
			steps: []hstep{{d: 30 * ms}, {d: 5 * ms}},
			want: "@0s start; @0s attempt 1; @10ms attempt 2 hedged; @15ms end 2 (5ms); " +
				"@15ms end 1 (15ms) superseded err=context canceled; @15ms done success 2 (15ms)",
			value: 2, elapsed: 15 * ms,
		},
		{
			name:  "the pause after a failure comes before the hedge delay: a retry, not a hedge",
			opts:  []Option{HedgeAfter(50 * ms), MaxTries(3), Pause(5 * ms)},
			steps: []hstep{{d: 10 * ms, err: errH1}, {d: 5 * ms}},
			want: "@0s start; @0s attempt 1; @10ms end 1 (10ms) err=h1; @10ms retry 1 after 5ms; " +
				"@15ms attempt 2; @20ms end 2 (5ms); @20ms done success 2 (20ms)",
			value: 2, elapsed: 20 * ms,
		},
		{
			name:  "a failed hedge earns a retry after its pause; no hedge for an attempt no longer in flight",
			opts:  []Option{HedgeAfter(10 * ms), MaxTries(4), Pause(20 * ms)},
			steps: []hstep{{d: 100 * ms}, {d: 2 * ms, err: errH2}, {d: 3 * ms}},
			want: "@0s start; @0s attempt 1; @10ms attempt 2 hedged; @12ms end 2 (2ms) err=h2; @12ms retry 2 after 20ms; " +
				"@32ms attempt 3; @35ms end 3 (3ms); @35ms end 1 (35ms) superseded err=context canceled; @35ms done success 3 (35ms)",
			value: 3, elapsed: 35 * ms,
		},
		{
			name:  "a hedge due before a pending retry starts first and serves it",
			opts:  []Option{HedgeAfter(10 * ms), MaxTries(4), Pause(30 * ms)},
			steps: []hstep{{d: 15 * ms, err: errH1}, {d: 100 * ms}, {d: 5 * ms}},
			want: "@0s start; @0s attempt 1; @10ms attempt 2 hedged; @15ms end 1 (15ms) err=h1; @15ms retry 1 after 30ms; " +
				"@20ms attempt 3 hedged; @25ms end 3 (5ms); @25ms end 2 (15ms) superseded err=context canceled; @25ms done success 3 (25ms)",
			value: 3, elapsed: 25 * ms,
		},
		{
			name:  "a zero pause: the retry starts at once",
			opts:  []Option{HedgeAfter(10 * ms), MaxTries(3)},
			steps: []hstep{{d: 5 * ms, err: errH1}, {d: 5 * ms}},
			want: "@0s start; @0s attempt 1; @5ms end 1 (5ms) err=h1; @5ms retry 1 after 0s; " +
				"@5ms attempt 2; @10ms end 2 (5ms); @10ms done success 2 (10ms)",
			value: 2, elapsed: 10 * ms,
		},
		{
			name:  "late results are dropped: Hedge waits for a deaf superseded attempt and returns the winner's value",
			opts:  []Option{HedgeAfter(10 * ms), MaxTries(2)},
			steps: []hstep{{d: 30 * ms, deaf: true}, {d: 5 * ms}},
			want: "@0s start; @0s attempt 1; @10ms attempt 2 hedged; @15ms end 2 (5ms); " +
				"@30ms end 1 (30ms) superseded; @30ms done success 2 (30ms)",
			value: 2, elapsed: 30 * ms,
		},
		{
			name:  "MaxTries counts hedges: the last failure ends the call once nothing is in flight",
			opts:  []Option{HedgeAfter(10 * ms), MaxTries(3), Pause(ms)},
			steps: []hstep{{d: 100 * ms, err: errH1}, {d: 100 * ms, err: errH2}, {d: 100 * ms, err: errH3}},
			want: "@0s start; @0s attempt 1; @10ms attempt 2 hedged; @20ms attempt 3 hedged; " +
				"@100ms end 1 (100ms) err=h1; @110ms end 2 (100ms) err=h2; @120ms end 3 (100ms) err=h3; " +
				"@120ms giveup exhausted; @120ms done exhausted 3 (120ms)",
			outcome: hooks.Exhausted, elapsed: 120 * ms,
		},
		{
			name:  "a Permanent error ends the call with an attempt in flight",
			opts:  []Option{HedgeAfter(10 * ms), MaxTries(3)},
			steps: []hstep{{d: 50 * ms}, {d: 2 * ms, err: Permanent(errH2)}},
			want: "@0s start; @0s attempt 1; @10ms attempt 2 hedged; @12ms end 2 (2ms) err=h2; " +
				"@12ms end 1 (12ms) superseded err=context canceled; @12ms giveup permanent; @12ms done permanent 2 (12ms)",
			outcome: hooks.Permanent, elapsed: 12 * ms,
		},
		{
			name:  "GiveUp ends the call with an attempt in flight",
			opts:  []Option{HedgeAfter(10 * ms), MaxTries(3), GiveUp(func(err error) bool { return errors.Is(err, errH2) })},
			steps: []hstep{{d: 50 * ms}, {d: 2 * ms, err: errH2}},
			want: "@0s start; @0s attempt 1; @10ms attempt 2 hedged; @12ms end 2 (2ms) err=h2; " +
				"@12ms end 1 (12ms) superseded err=context canceled; @12ms giveup gave_up; @12ms done gave_up 2 (12ms)",
			outcome: hooks.GaveUp, elapsed: 12 * ms,
		},
		{
			name:  "the call deadline with attempts in flight: the first to report decides, the deaf one is waited for",
			opts:  []Option{HedgeAfter(10 * ms), MaxTries(2), Deadline(25 * ms)},
			steps: []hstep{{d: 100 * ms}, {d: 40 * ms, deaf: true}},
			want: "@0s start; @0s attempt 1; @10ms attempt 2 hedged; @25ms end 1 (25ms) err=context deadline exceeded; " +
				"@50ms end 2 (40ms) superseded; @50ms deadline deadline; @50ms done deadline 2 (50ms)",
			outcome: hooks.Deadline, elapsed: 50 * ms,
		},
		{
			name: "the caller's cancellation with attempts in flight",
			opts: []Option{HedgeAfter(10 * ms), MaxTries(2)},
			ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(ctx)
				time.AfterFunc(25*ms, cancel)
				return ctx, cancel
			},
			steps: []hstep{{d: 100 * ms}, {d: 20 * ms, deaf: true}},
			want: "@0s start; @0s attempt 1; @10ms attempt 2 hedged; @25ms end 1 (25ms) err=context canceled; " +
				"@30ms end 2 (20ms) superseded; @30ms giveup canceled; @30ms done canceled 2 (30ms)",
			outcome: hooks.Canceled, elapsed: 30 * ms,
		},
		{
			name: "the caller's cancellation cuts a pause short",
			opts: []Option{HedgeAfter(10 * ms), MaxTries(3), Pause(50 * ms)},
			ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(ctx)
				time.AfterFunc(20*ms, cancel)
				return ctx, cancel
			},
			steps: []hstep{{d: 5 * ms, err: errH1}},
			want: "@0s start; @0s attempt 1; @5ms end 1 (5ms) err=h1; @5ms retry 1 after 50ms; " +
				"@20ms giveup canceled; @20ms done canceled 1 (20ms)",
			outcome: hooks.Canceled, elapsed: 20 * ms,
		},
		{
			name:    "no hedge at or after the call deadline; rule 7 with nothing in flight",
			opts:    []Option{HedgeAfter(30 * ms), MaxTries(3), Deadline(30 * ms), Pause(10 * ms)},
			steps:   []hstep{{d: 25 * ms, err: errH1}},
			want:    "@0s start; @0s attempt 1; @25ms end 1 (25ms) err=h1; @25ms deadline deadline; @25ms done deadline 1 (25ms)",
			outcome: hooks.Deadline, elapsed: 25 * ms,
		},
		{
			name:  "rule 7 with an attempt in flight: wait for it",
			opts:  []Option{HedgeAfter(10 * ms), MaxTries(3), Deadline(40 * ms), Pause(30 * ms)},
			steps: []hstep{{d: 35 * ms}, {d: 5 * ms, err: errH2}},
			want: "@0s start; @0s attempt 1; @10ms attempt 2 hedged; @15ms end 2 (5ms) err=h2; " +
				"@35ms end 1 (35ms); @35ms done success 2 (35ms)",
			value: 1, elapsed: 35 * ms,
		},
		{
			name:  "attempt timeouts apply to each attempt; a timed-out attempt is retried",
			opts:  []Option{HedgeAfter(10 * ms), MaxTries(3), AttemptTimeout(15 * ms)},
			steps: []hstep{{d: 100 * ms}, {d: 100 * ms}, {d: 5 * ms}},
			want: "@0s start; @0s attempt 1; @10ms attempt 2 hedged; @15ms timeout 1; " +
				"@15ms end 1 (15ms) timedout err=context deadline exceeded; @15ms retry 1 after 0s; @15ms attempt 3; " +
				"@20ms end 3 (5ms); @20ms end 2 (10ms) superseded err=context canceled; @20ms done success 3 (20ms)",
			value: 3, elapsed: 20 * ms,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				log := newHedgeLog(t)
				p := MustNew(append(tt.opts, Hooks(log.hooks()))...)
				ctx := context.Background()
				if tt.ctx != nil {
					var cancel context.CancelFunc
					ctx, cancel = tt.ctx(ctx)
					defer cancel()
				}
				start := time.Now()
				v, err := HedgeValue(ctx, p, hscript(tt.steps...))
				if elapsed := time.Since(start); elapsed != tt.elapsed {
					t.Errorf("Hedge returned after %v, want %v", elapsed, tt.elapsed)
				}
				if v != tt.value {
					t.Errorf("value %d, want %d (err %v)", v, tt.value, err)
				}
				if tt.value == 0 {
					if re, ok := errors.AsType[*Error](err); !ok || re.Outcome != tt.outcome {
						t.Errorf("err %v, want outcome %v", err, tt.outcome)
					}
				} else if err != nil {
					t.Errorf("err %v", err)
				}
				if got := log.String(); got != tt.want {
					t.Errorf("hooks:\n got %s\nwant %s", got, tt.want)
				}
			})
		})
	}
}

// TestHedgeErrors checks what the error of a hedged call carries: Last is the last
// attempt that reported, and the errors.Is matrix of Do holds.
func TestHedgeErrors(t *testing.T) {
	const ms = time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		log := newHedgeLog(t)
		p := MustNew(HedgeAfter(10*ms), MaxTries(2), Hooks(log.hooks()))
		_, err := HedgeValue(context.Background(), p, hscript(hstep{d: 50 * ms, err: errH1}, hstep{d: 20 * ms, err: errH2}))
		re, ok := errors.AsType[*Error](err)
		// The hedge failed first (at 30ms), the first attempt last (at 50ms).
		if !ok || re.Outcome != hooks.Exhausted || re.Attempts != 2 || re.Last != errH1 {
			t.Fatalf("err %#v", err)
		}
		if !errors.Is(err, ErrExhausted) || !errors.Is(err, errH1) || errors.Is(err, errH2) {
			t.Errorf("errors.Is matrix wrong for %v", err)
		}
	})
}

// TestHedgeBudget: every attempt after the first needs the budget's permission.
func TestHedgeBudget(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name    string
		left    int // retries the budget still allows
		steps   []hstep
		want    string
		outcome hooks.Outcome
	}{
		{
			name:  "a refused hedge is simply not started",
			left:  0,
			steps: []hstep{{d: 50 * ms}},
			want:  "@0s start; @0s attempt 1; @50ms end 1 (50ms); @50ms done success 1 (50ms)",
		},
		{
			name:  "a refused retry with an attempt in flight waits for it",
			left:  1,
			steps: []hstep{{d: 50 * ms}, {d: 2 * ms, err: errH2}},
			want: "@0s start; @0s attempt 1; @10ms attempt 2 hedged; @12ms end 2 (2ms) err=h2; " +
				"@50ms end 1 (50ms); @50ms done success 2 (50ms)",
		},
		{
			name:  "a refused retry with nothing in flight ends the call",
			left:  1,
			steps: []hstep{{d: 50 * ms, err: errH1}, {d: 2 * ms, err: errH2}},
			want: "@0s start; @0s attempt 1; @10ms attempt 2 hedged; @12ms end 2 (2ms) err=h2; " +
				"@50ms end 1 (50ms) err=h1; @50ms giveup throttled; @50ms done throttled 2 (50ms)",
			outcome: hooks.Throttled,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				b := NewBudget(0, 1) // 10 retries in the window
				if n := drain(b, 10-tt.left); n != 10-tt.left {
					t.Fatalf("drained %d", n)
				}
				log := newHedgeLog(t)
				p := MustNew(HedgeAfter(10*ms), MaxTries(5), Throttle(b), Hooks(log.hooks()))
				_, err := HedgeValue(context.Background(), p, hscript(tt.steps...))
				if o := outcomeOf(err); o != tt.outcome {
					t.Errorf("outcome %v (%v), want %v", o, err, tt.outcome)
				}
				if tt.outcome == hooks.Throttled && (!errors.Is(err, ErrThrottled) || !errors.Is(err, errH1)) {
					t.Errorf("err %v: want ErrThrottled and the last error", err)
				}
				if got := log.String(); got != tt.want {
					t.Errorf("hooks:\n got %s\nwant %s", got, tt.want)
				}
				if n := drain(b, 10); n != 0 {
					t.Errorf("the budget allows %d more retries, want 0: every attempt after the first is charged", n)
				}
			})
		})
	}
}

// TestHedgePanic: a panic in one attempt while another runs reaches the caller of Hedge,
// on its goroutine, after the other attempt was canceled and returned and the hooks
// were closed.
func TestHedgePanic(t *testing.T) {
	const ms = time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		log := newHedgeLog(t)
		p := MustNew(HedgeAfter(10*ms), MaxTries(3), Hooks(log.hooks()))
		var returned atomic.Bool
		steps := []hstep{{d: 100 * ms}, {d: 2 * ms, pnc: "boom"}}
		fn := hscript(steps...)
		v := func() (v any) {
			defer func() { v = recover() }()
			_, _ = HedgeValue(context.Background(), p, func(ctx context.Context) (int, error) {
				n, err := fn(ctx)
				if n == 1 {
					returned.Store(true)
				}
				return n, err
			})
			return nil
		}()
		if v != "boom" {
			t.Errorf("recovered %v, want the panic value", v)
		}
		if !returned.Load() {
			t.Error("the panic reached the caller before the other attempt returned")
		}
		want := "@0s start; @0s attempt 1; @10ms attempt 2 hedged; @12ms end 2 (2ms); " +
			"@12ms end 1 (12ms) superseded err=context canceled; @12ms done panicked 2 (12ms)"
		if got := log.String(); got != want {
			t.Errorf("hooks:\n got %s\nwant %s", got, want)
		}
	})
}

// TestHedgePanicSuperseded: a superseded attempt that panics is not swallowed.
func TestHedgePanicSuperseded(t *testing.T) {
	const ms = time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		log := newHedgeLog(t)
		p := MustNew(HedgeAfter(10*ms), MaxTries(3), Hooks(log.hooks()))
		v := func() (v any) {
			defer func() { v = recover() }()
			_, _ = HedgeValue(context.Background(), p, hscript(hstep{d: 20 * ms, deaf: true, pnc: "late"}, hstep{d: 2 * ms}))
			return nil
		}()
		if v != "late" {
			t.Errorf("recovered %v, want the superseded attempt's panic", v)
		}
		want := "@0s start; @0s attempt 1; @10ms attempt 2 hedged; @12ms end 2 (2ms); " +
			"@20ms end 1 (20ms) superseded; @20ms done panicked 2 (20ms)"
		if got := log.String(); got != want {
			t.Errorf("hooks:\n got %s\nwant %s", got, want)
		}
	})
}

// TestHedgeGoexit: runtime.Goexit in an attempt ends the caller's goroutine, as it does
// through Do, after the hooks were closed.
func TestHedgeGoexit(t *testing.T) {
	const ms = time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		log := newHedgeLog(t)
		p := MustNew(HedgeAfter(10*ms), MaxTries(3), Hooks(log.hooks()))
		after, deferred := false, false
		done := make(chan struct{})
		go func() {
			defer close(done)
			defer func() { deferred = true }()
			_ = p.Hedge(context.Background(), func(ctx context.Context) error {
				if ctx.Value(hedgeNum{}) == 2 {
					goexitNow()
				}
				return work(ctx, 50*ms, nil)
			})
			after = true
		}()
		<-done
		if after || !deferred {
			t.Errorf("after Hedge: %v, deferred ran: %v; want false, true", after, deferred)
		}
		want := "@0s start; @0s attempt 1; @10ms attempt 2 hedged; @10ms end 2 (0s); " +
			"@10ms end 1 (10ms) superseded err=context canceled; @10ms done panicked 2 (10ms)"
		if got := log.String(); got != want {
			t.Errorf("hooks:\n got %s\nwant %s", got, want)
		}
	})
}

// TestHedgePolicyPanic: a panic of the policy's own code (here GiveUp) with an attempt in
// flight cancels and awaits that attempt and closes the hooks; a panic in a hook gets no
// more hooks but still awaits the attempts.
func TestHedgePolicyPanic(t *testing.T) {
	const ms = time.Millisecond
	for _, where := range []string{"GiveUp", "OnRetry", "OnAttempt"} {
		t.Run(where, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				log := newHedgeLog(t)
				h := log.hooks()
				onAttempt := h.OnAttempt
				h.OnAttempt = func(ctx context.Context, a hooks.Attempt) context.Context {
					ctx = onAttempt(ctx, a)
					if where == "OnAttempt" && a.Number == 2 {
						panic(where) // on the goroutine that took the call over
					}
					return ctx
				}
				onRetry := h.OnRetry
				h.OnRetry = func(ctx context.Context, a hooks.Attempt, d time.Duration) {
					onRetry(ctx, a, d)
					if where == "OnRetry" {
						panic(where)
					}
				}
				p := MustNew(HedgeAfter(10*ms), MaxTries(3), Hooks(h), GiveUp(func(error) bool {
					if where == "GiveUp" {
						panic(where)
					}
					return false
				}))
				var returned atomic.Bool
				fn := hscript(hstep{d: 100 * ms}, hstep{d: 2 * ms, err: errH2})
				v := func() (v any) {
					defer func() { v = recover() }()
					_, _ = HedgeValue(context.Background(), p, func(ctx context.Context) (int, error) {
						n, err := fn(ctx)
						if n == 1 {
							returned.Store(true)
						}
						return n, err
					})
					return nil
				}()
				if v != where || !returned.Load() {
					t.Errorf("recovered %v (want %q), attempt 1 returned first: %v", v, where, returned.Load())
				}
				want := "@0s start; @0s attempt 1; @10ms attempt 2 hedged"
				switch where {
				case "GiveUp":
					want += "; @12ms end 2 (2ms) err=h2; @12ms end 1 (12ms) superseded err=context canceled; @12ms done panicked 2 (12ms)"
				case "OnRetry":
					want += "; @12ms end 2 (2ms) err=h2; @12ms retry 2 after 0s"
				}
				if got := log.String(); got != want {
					t.Errorf("hooks:\n got %s\nwant %s", got, want)
				}
			})
		})
	}
}

// TestHedgeQuantileWarmUp: the adaptive delay is floor until half the window is filled,
// then the q-quantile of the recent successful attempts, never below floor.
func TestHedgeQuantileWarmUp(t *testing.T) {
	const ms = time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		// q = 0.5: a window of 64, the estimate from the 32nd success on.
		p := MustNew(HedgeAtQuantile(0.5, 10*ms), MaxTries(2))
		var attempts atomic.Int64
		call := func(d time.Duration) {
			t.Helper()
			if err := p.Hedge(context.Background(), func(ctx context.Context) error {
				attempts.Add(1)
				return work(ctx, d, nil)
			}); err != nil {
				t.Fatal(err)
			}
		}
		for range 31 {
			call(20 * ms) // each hedges at floor, and the first attempt wins at 20ms
		}
		if d := p.hedge.delay(); d != 10*ms {
			t.Fatalf("after 31 samples the delay is %v, want the floor 10ms", d)
		}
		if n := attempts.Load(); n != 62 {
			t.Fatalf("%d attempts for 31 calls slower than the floor, want 62", n)
		}
		call(20 * ms)
		if d := p.hedge.delay(); d != 20*ms {
			t.Fatalf("after 32 samples the delay is %v, want their median 20ms", d)
		}
		attempts.Store(0)
		call(15 * ms)
		if n := attempts.Load(); n != 1 {
			t.Errorf("a 15ms call made %d attempts under a 20ms hedge delay, want 1", n)
		}
		// Fast answers never take the delay below the floor.
		for range 64 {
			call(ms)
		}
		if d := p.hedge.delay(); d != 10*ms {
			t.Errorf("after fast answers the delay is %v, want the floor 10ms", d)
		}
		// A policy derived with With learns on its own.
		q, err := p.With(Name("derived"))
		if err != nil {
			t.Fatal(err)
		}
		if q.hedge.est == p.hedge.est || q.hedge.delay() != 10*ms {
			t.Error("a derived policy shares the estimator or does not start at the floor")
		}
	})
}

// TestHedgeOnPlainPolicy: Hedge on a policy without a hedge option is Do; Do on a hedging
// policy panics before calling fn.
func TestHedgeOnPlainPolicy(t *testing.T) {
	const ms = time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		var log recorder
		log.t = t
		p := MustNew(MaxTries(3), Pause(5*ms), Hooks(log.hooks()))
		n := 0
		err := p.Hedge(context.Background(), func(ctx context.Context) error {
			n++ // no hedging: attempts never overlap, a plain counter is safe
			if n < 3 {
				return errH1
			}
			return nil
		})
		if err != nil || n != 3 {
			t.Errorf("Hedge on a plain policy: %v after %d attempts", err, n)
		}
		want := "start attempt 1 end 1 retry 1 5ms attempt 2 end 2 retry 2 5ms attempt 3 end 3 done success 3"
		if got := strings.Join(log.events, " "); got != want {
			t.Errorf("hooks: %s\nwant %s", got, want)
		}
		v, err := HedgeValue(context.Background(), p, func(context.Context) (int, error) { return 7, nil })
		if v != 7 || err != nil {
			t.Errorf("HedgeValue on a plain policy: %v, %v", v, err)
		}
	})

	h := MustNew(HedgeAfter(time.Millisecond), MaxTries(2))
	for name, call := range map[string]func(fn func(context.Context) error){
		"Do": func(fn func(context.Context) error) { _ = h.Do(context.Background(), fn) },
		"DoValue": func(fn func(context.Context) error) {
			_, _ = DoValue(context.Background(), h, func(ctx context.Context) (int, error) { return 0, fn(ctx) })
		},
		"Wrap": func(fn func(context.Context) error) {
			_, _ = Wrap(h, func(ctx context.Context) (int, error) { return 0, fn(ctx) })(context.Background())
		},
	} {
		called := false
		v := func() (v any) {
			defer func() { v = recover() }()
			call(func(context.Context) error { called = true; return nil })
			return nil
		}()
		if s, _ := v.(string); !strings.Contains(s, "Hedge") || called {
			t.Errorf("%s on a hedging policy: panic %v, fn called %v; want a panic naming Hedge, fn not called", name, v, called)
		}
	}
}

// TestHedgeOptionErrors: bad hedge options are errors from New that name the option.
func TestHedgeOptionErrors(t *testing.T) {
	tests := []struct {
		opts []Option
		want string
	}{
		{[]Option{HedgeAfter(time.Millisecond)}, "retry: HedgeAfter(1ms): needs MaxTries"},
		{[]Option{HedgeAtQuantile(0.9, time.Millisecond)}, "retry: HedgeAtQuantile(0.9, 1ms): needs MaxTries"},
		{[]Option{MaxTries(2), HedgeAfter(time.Millisecond), HedgeAtQuantile(0.9, time.Millisecond)}, "retry: HedgeAfter and HedgeAtQuantile: give only one hedge option"},
		{[]Option{MaxTries(2), HedgeAfter(0)}, "retry: HedgeAfter(0s): must be positive"},
		{[]Option{MaxTries(2), HedgeAfter(-time.Second)}, "retry: HedgeAfter(-1s): must be positive"},
		{[]Option{MaxTries(2), HedgeAtQuantile(0.9, 0)}, "retry: HedgeAtQuantile(0.9, 0s): floor must be positive"},
		{[]Option{MaxTries(2), HedgeAtQuantile(0, time.Millisecond)}, "retry: HedgeAtQuantile(0, 1ms): q must be between 0 and 1, both excluded"},
		{[]Option{MaxTries(2), HedgeAtQuantile(1, time.Millisecond)}, "retry: HedgeAtQuantile(1, 1ms): q must be between 0 and 1, both excluded"},
		{[]Option{MaxTries(2), HedgeAtQuantile(-0.5, time.Millisecond)}, "retry: HedgeAtQuantile(-0.5, 1ms): q must be between 0 and 1, both excluded"},
		{[]Option{MaxTries(2), HedgeAtQuantile(math.NaN(), time.Millisecond)}, "retry: HedgeAtQuantile(NaN, 1ms): q must be between 0 and 1, both excluded"},
	}
	for _, tt := range tests {
		p, err := New(tt.opts...)
		if err == nil || err.Error() != tt.want {
			t.Errorf("New: %v, %v; want error %q", p, err, tt.want)
		}
	}
	// With replaces a hedge option rather than adding one, and keeps the MaxTries rule.
	base := MustNew(MaxTries(2), HedgeAfter(time.Millisecond))
	if q, err := base.With(HedgeAtQuantile(0.9, time.Millisecond)); err != nil || q.hedge.q != 0.9 || q.hedge.after != 0 {
		t.Errorf("With(HedgeAtQuantile) on a HedgeAfter policy: %v", err)
	}
	if _, err := MustNew(HedgeAfter(time.Millisecond), MaxTries(2)).With(HedgeAfter(0)); err == nil {
		t.Error("With(HedgeAfter(0)): no error")
	}
}

// TestHedgeBeforeStart: a caller context done before the call, or a zero deadline, ends
// a hedged call before any attempt, as in Do.
func TestHedgeBeforeStart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		called := false
		fn := func(context.Context) error { called = true; return nil }
		p := MustNew(HedgeAfter(time.Millisecond), MaxTries(2))
		if err := p.Hedge(ctx, fn); !errors.Is(err, context.Canceled) || outcomeOf(err) != hooks.Canceled {
			t.Errorf("canceled before: %v", err)
		}
		q := MustNew(HedgeAfter(time.Millisecond), MaxTries(2), Deadline(0))
		if err := q.Hedge(context.Background(), fn); !errors.Is(err, ErrDeadline) {
			t.Errorf("Deadline(0): %v", err)
		}
		if called {
			t.Error("fn was called")
		}
	})
}

// TestEstimatorQuantile: the estimate is the nearest-rank quantile of the latest window
// of samples: older samples leave it as the window slides.
func TestEstimatorQuantile(t *testing.T) {
	const ms = time.Millisecond
	e := newEstimator(0.9, ms) // a window of 256, the estimate from 128 samples on
	if len(e.ring) != 256 || e.warm != 128 || e.every != 32 {
		t.Fatalf("window %d, warm-up %d, update every %d", len(e.ring), e.warm, e.every)
	}
	for i := range 127 {
		e.record(time.Duration(100+i) * ms)
	}
	if e.delay() != ms {
		t.Fatalf("before the warm-up ends: %v, want the floor", e.delay())
	}
	e.record(227 * ms) // samples 100ms..227ms: the 0.9 quantile is the 116th smallest, 215ms
	if e.delay() != 215*ms {
		t.Fatalf("after the warm-up: %v, want 215ms", e.delay())
	}
	// 256 samples of 50ms replace the whole window.
	for range 256 {
		e.record(50 * ms)
	}
	if e.delay() != 50*ms {
		t.Fatalf("after a full window of 50ms: %v", e.delay())
	}
	for _, tt := range []struct {
		q    float64
		size int
	}{{0.5, 64}, {0.95, 512}, {0.99, 2048}, {0.999, 4096}} {
		if n := len(newEstimator(tt.q, ms).ring); n != tt.size {
			t.Errorf("q=%v: window %d, want %d", tt.q, n, tt.size)
		}
	}
}

// TestSelectKth checks the selection against sorting.
func TestSelectKth(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for range 2000 {
		n := 1 + r.IntN(300)
		s := make([]int64, n)
		for i := range s {
			s[i] = int64(r.IntN(1 + r.IntN(50))) // many duplicates
		}
		sorted := slices.Clone(s)
		slices.Sort(sorted)
		k := r.IntN(n)
		if got := selectKth(slices.Clone(s), k); got != sorted[k] {
			t.Fatalf("selectKth(%v, %d) = %d, want %d", s, k, got, sorted[k])
		}
	}
}

// TestHedgePanicInline: the first attempt runs fn on the caller's goroutine, so its panic
// goes on from there, unchanged: before its hedge, or while the hedge runs (the engine's
// goroutine coordinates the call then: it cancels the hedge, waits for it and closes the
// hooks before the panic goes on).
func TestHedgePanicInline(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name  string
		steps []hstep
		want  string
	}{
		{
			name:  "before the hedge",
			steps: []hstep{{d: 5 * ms, pnc: "first"}},
			want:  "@0s start; @0s attempt 1; @5ms end 1 (5ms); @5ms done panicked 1 (5ms)",
		},
		{
			name:  "while the hedge runs",
			steps: []hstep{{d: 20 * ms, pnc: "first"}, {d: 100 * ms}},
			want: "@0s start; @0s attempt 1; @10ms attempt 2 hedged; @20ms end 1 (20ms); " +
				"@20ms end 2 (10ms) superseded err=context canceled; @20ms done panicked 2 (20ms)",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				log := newHedgeLog(t)
				p := MustNew(HedgeAfter(10*ms), MaxTries(2), Hooks(log.hooks()))
				var stack string
				v := func() (v any) {
					defer func() {
						v = recover()
						stack = string(debug.Stack())
					}()
					_, _ = HedgeValue(context.Background(), p, hscript(tt.steps...))
					return nil
				}()
				if v != "first" {
					t.Errorf("recovered %v", v)
				}
				// Unchanged: the stack still holds the panicking script, not a re-panic.
				if !strings.Contains(stack, "hscript") {
					t.Errorf("the panic was raised again rather than going on:\n%s", stack)
				}
				if got := log.String(); got != tt.want {
					t.Errorf("hooks:\n got %s\nwant %s", got, tt.want)
				}
			})
		})
	}
}

// TestHedgeNoHooks: without hooks the engine keeps no attempt records for them, and
// still hedges, supersedes and returns the winner's value.
func TestHedgeNoHooks(t *testing.T) {
	const ms = time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		p := MustNew(HedgeAfter(10*ms), MaxTries(3))
		var n atomic.Int64
		canceled := make(chan error, 1)
		start := time.Now()
		v, err := HedgeValue(context.Background(), p, func(ctx context.Context) (int64, error) {
			i := n.Add(1)
			if i == 1 {
				err := work(ctx, time.Second, nil)
				canceled <- err
				return i, err
			}
			return i, work(ctx, 5*ms, nil)
		})
		if v != 2 || err != nil || time.Since(start) != 15*ms || n.Load() != 2 {
			t.Errorf("value %d, err %v after %v and %d attempts; want 2, nil, 15ms, 2", v, err, time.Since(start), n.Load())
		}
		select {
		case err := <-canceled:
			if !errors.Is(err, context.Canceled) {
				t.Errorf("the superseded attempt returned %v", err)
			}
		default:
			t.Error("HedgeValue returned before the superseded attempt")
		}
	})
}

// TestHedgeHookPanicWhileClosing: a hook that panics while a panic closes the call
// replaces the panic, as on the caller's goroutine, and the attempts still in flight are
// awaited all the same. Here GiveUp panics on the goroutine that took the call over, and
// the OnAttemptEnd of the first superseded attempt panics in turn.
func TestHedgeHookPanicWhileClosing(t *testing.T) {
	const ms = time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		var returned atomic.Int64
		p := MustNew(HedgeAfter(10*ms), MaxTries(4),
			GiveUp(func(error) bool { panic("GiveUp") }),
			Hooks(hooks.Hooks{
				OnAttemptEnd: func(ctx context.Context, a hooks.Attempt) {
					if a.Superseded {
						panic("OnAttemptEnd")
					}
				},
			}))
		var n atomic.Int64
		start := time.Now()
		v := func() (v any) {
			defer func() { v = recover() }()
			_ = p.Hedge(context.Background(), func(ctx context.Context) error {
				defer returned.Add(1)
				switch n.Add(1) {
				case 2:
					time.Sleep(50 * ms) // deaf to its cancellation: returns at 60ms
					return nil
				case 3:
					return work(ctx, 2*ms, errValue)
				}
				return work(ctx, time.Second, nil)
			})
			return nil
		}()
		if v != "OnAttemptEnd" || returned.Load() != 3 || time.Since(start) != 60*ms {
			t.Errorf("recovered %v after %v with %d attempts returned; want OnAttemptEnd after 60ms, 3",
				v, time.Since(start), returned.Load())
		}
	})
}
