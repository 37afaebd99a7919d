package retry

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/hooks"
)

type ctxKey string

// recorder records hook events as short strings, and checks on the way that the contexts
// returned by OnStart and OnAttempt reach where the contract says.
type recorder struct {
	t      *testing.T
	events []string
}

func (r *recorder) add(format string, args ...any) {
	r.events = append(r.events, fmt.Sprintf(format, args...))
}

func (r *recorder) hooks() hooks.Hooks {
	return hooks.Hooks{
		OnStart: func(ctx context.Context, c hooks.Call) context.Context {
			r.add("start")
			return context.WithValue(ctx, ctxKey("call"), "c")
		},
		OnAttempt: func(ctx context.Context, a hooks.Attempt) context.Context {
			r.needValue(ctx, "call", "OnAttempt")
			r.add("attempt %d", a.Number)
			return context.WithValue(ctx, ctxKey("attempt"), a.Number)
		},
		OnTimeout: func(ctx context.Context, a hooks.Attempt) {
			r.needValue(ctx, "attempt", "OnTimeout")
			r.add("timeout %d", a.Number)
		},
		OnAttemptEnd: func(ctx context.Context, a hooks.Attempt) {
			r.needValue(ctx, "attempt", "OnAttemptEnd")
			r.add("end %d", a.Number)
		},
		OnRetry: func(ctx context.Context, a hooks.Attempt, d time.Duration) {
			r.needValue(ctx, "attempt", "OnRetry")
			r.add("retry %d %v", a.Number, d)
		},
		OnGiveup: func(ctx context.Context, res hooks.Result) {
			r.needValue(ctx, "call", "OnGiveup")
			r.add("giveup %v", res.Outcome)
		},
		OnDeadline: func(ctx context.Context, res hooks.Result) {
			r.needValue(ctx, "call", "OnDeadline")
			r.add("deadline %v", res.Outcome)
		},
		OnDone: func(ctx context.Context, res hooks.Result) {
			r.needValue(ctx, "call", "OnDone")
			r.add("done %v %d", res.Outcome, res.Attempts)
		},
	}
}

func (r *recorder) needValue(ctx context.Context, key, where string) {
	if ctx.Value(ctxKey(key)) == nil {
		r.t.Errorf("%s: context lacks the value set by the %s hook", where, key)
	}
}

// TestHookSequence checks the exact event sequence for every outcome.
func TestHookSequence(t *testing.T) {
	const ms = time.Millisecond
	budget := NewBudget(0, 0)
	tests := []struct {
		name   string
		opts   []Option
		ctx    func(context.Context) (context.Context, context.CancelFunc)
		fn     func(ctx context.Context, n int) error
		events string
	}{
		{
			name:   "success first try",
			fn:     func(context.Context, int) error { return nil },
			events: "start|attempt 1|end 1|done success 1",
		},
		{
			name: "success after retries",
			opts: []Option{Pause(10 * ms)},
			fn: func(_ context.Context, n int) error {
				if n < 3 {
					return errValue
				}
				return nil
			},
			events: "start|attempt 1|end 1|retry 1 10ms|attempt 2|end 2|retry 2 10ms|attempt 3|end 3|done success 3",
		},
		{
			name:   "exhausted",
			opts:   []Option{MaxTries(2)},
			fn:     func(context.Context, int) error { return errValue },
			events: "start|attempt 1|end 1|retry 1 0s|attempt 2|end 2|giveup exhausted|done exhausted 2",
		},
		{
			name:   "attempt timeouts",
			opts:   []Option{MaxTries(2), AttemptTimeout(5 * ms)},
			fn:     func(ctx context.Context, _ int) error { return work(ctx, time.Hour, nil) },
			events: "start|attempt 1|timeout 1|end 1|retry 1 0s|attempt 2|timeout 2|end 2|giveup exhausted|done exhausted 2",
		},
		{
			name:   "deadline during an attempt",
			opts:   []Option{Deadline(50 * ms), AttemptTimeout(30 * ms)},
			fn:     func(ctx context.Context, _ int) error { return work(ctx, time.Hour, nil) },
			events: "start|attempt 1|timeout 1|end 1|retry 1 0s|attempt 2|end 2|deadline deadline|done deadline 2",
		},
		{
			name:   "deadline before a pause",
			opts:   []Option{Deadline(50 * ms), Pause(50 * ms)},
			fn:     func(context.Context, int) error { return errValue },
			events: "start|attempt 1|end 1|deadline deadline|done deadline 1",
		},
		{
			name:   "deadline already passed",
			opts:   []Option{Deadline(0)},
			fn:     func(context.Context, int) error { return nil },
			events: "start|deadline deadline|done deadline 0",
		},
		{
			name: "caller's deadline",
			ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
				return context.WithTimeout(ctx, 20*ms)
			},
			opts:   []Option{Pause(15 * ms)},
			fn:     func(ctx context.Context, _ int) error { return work(ctx, 10*ms, errValue) },
			events: "start|attempt 1|end 1|deadline deadline|done deadline 1",
		},
		{
			name: "canceled during an attempt",
			ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(ctx)
				time.AfterFunc(25*ms, cancel)
				return ctx, cancel
			},
			opts:   []Option{Pause(10 * ms)},
			fn:     func(ctx context.Context, _ int) error { return work(ctx, 10*ms, errValue) },
			events: "start|attempt 1|end 1|retry 1 10ms|attempt 2|end 2|giveup canceled|done canceled 2",
		},
		{
			name: "canceled during a pause",
			ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(ctx)
				time.AfterFunc(15*ms, cancel)
				return ctx, cancel
			},
			opts:   []Option{Pause(10 * ms)},
			fn:     func(ctx context.Context, _ int) error { return work(ctx, 10*ms, errValue) },
			events: "start|attempt 1|end 1|retry 1 10ms|giveup canceled|done canceled 1",
		},
		{
			name: "canceled before the call",
			ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(ctx)
				cancel()
				return ctx, cancel
			},
			fn:     func(context.Context, int) error { return nil },
			events: "start|giveup canceled|done canceled 0",
		},
		{
			name:   "gave up",
			opts:   []Option{GiveUp(func(error) bool { return true })},
			fn:     func(context.Context, int) error { return errValue },
			events: "start|attempt 1|end 1|giveup gave_up|done gave_up 1",
		},
		{
			name:   "permanent",
			fn:     func(context.Context, int) error { return Permanent(errValue) },
			events: "start|attempt 1|end 1|giveup permanent|done permanent 1",
		},
		{
			name:   "throttled",
			opts:   []Option{Throttle(budget)},
			fn:     func(context.Context, int) error { return errValue },
			events: "start|attempt 1|end 1|giveup throttled|done throttled 1",
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				r := &recorder{t: t}
				p := MustNew(append(tc.opts, Hooks(r.hooks()))...)
				ctx := t.Context()
				if tc.ctx != nil {
					var cancel context.CancelFunc
					ctx, cancel = tc.ctx(ctx)
					defer cancel()
				}
				n := 0
				_ = p.Do(ctx, func(ctx context.Context) error {
					if ctx.Value(ctxKey("attempt")) == nil || ctx.Value(ctxKey("call")) == nil {
						t.Error("fn's context lacks the values set by OnStart and OnAttempt")
					}
					n++
					return tc.fn(ctx, n)
				})
				if got := strings.Join(r.events, "|"); got != tc.events {
					t.Errorf("events:\n got %s\nwant %s", got, tc.events)
				}
			})
		})
	}
}

// TestHookPanic: a panic in fn goes on to the caller unchanged, after OnAttemptEnd and
// OnDone, and neither OnGiveup nor OnDeadline fires.
func TestHookPanic(t *testing.T) {
	for _, opts := range [][]Option{nil, {AttemptTimeout(time.Second), Deadline(time.Minute)}} {
		r := &recorder{t: t}
		p := MustNew(append(opts, Hooks(r.hooks()))...)
		boom := errors.New("boom")
		var got any
		func() {
			defer func() { got = recover() }()
			n := 0
			_ = p.Do(context.Background(), func(context.Context) error {
				if n++; n == 2 {
					panic(boom)
				}
				return errValue
			})
		}()
		if got != boom {
			t.Errorf("recovered %v, want the panic value itself", got)
		}
		if want := "start|attempt 1|end 1|retry 1 0s|attempt 2|end 2|done panicked 2"; strings.Join(r.events, "|") != want {
			t.Errorf("events:\n got %s\nwant %s", strings.Join(r.events, "|"), want)
		}
	}
}

// TestHookFields checks what the hooks are told: the call, the attempts' deadlines,
// durations, errors and timeout flags, and the result.
func TestHookFields(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const ms = time.Millisecond
		var calls []hooks.Call
		var ends []hooks.Attempt
		var done hooks.Result
		h := hooks.Hooks{
			OnStart:      func(ctx context.Context, c hooks.Call) context.Context { calls = append(calls, c); return nil },
			OnAttemptEnd: func(_ context.Context, a hooks.Attempt) { ends = append(ends, a) },
			OnDone:       func(_ context.Context, r hooks.Result) { done = r },
		}
		p := MustNew(Name("db.fetch"), MaxTries(3), AttemptTimeout(30*ms), Deadline(100*ms), Pause(10*ms), Hooks(h))
		start := time.Now()
		n := 0
		err := p.Do(t.Context(), func(ctx context.Context) error {
			n++
			switch n {
			case 1:
				return work(ctx, time.Hour, nil) // times out at 30ms
			case 2:
				return work(ctx, 5*ms, errValue) // 40ms..45ms
			}
			return work(ctx, time.Hour, nil) // 55ms..85ms: times out
		})
		if !errors.Is(err, ErrExhausted) || !errors.Is(err, ErrAttemptTimeout) {
			t.Fatalf("err = %v, want exhausted after a timed-out attempt", err)
		}
		wantCall := hooks.Call{Name: "db.fetch", MaxTries: 3, Start: start, Deadline: start.Add(100 * ms)}
		if len(calls) != 1 || calls[0] != wantCall {
			t.Errorf("OnStart got %+v, want %+v", calls, wantCall)
		}
		want := []struct {
			start, dur time.Duration
			err        error
			timedOut   bool
		}{
			{0, 30 * ms, context.DeadlineExceeded, true},
			{40 * ms, 5 * ms, errValue, false},
			{55 * ms, 30 * ms, context.DeadlineExceeded, true},
		}
		if len(ends) != len(want) {
			t.Fatalf("%d attempts, want %d", len(ends), len(want))
		}
		for i, w := range want {
			a := ends[i]
			if a.Number != i+1 || a.Start != start.Add(w.start) || a.Duration != w.dur || a.Err != w.err ||
				a.TimedOut != w.timedOut || a.Deadline != a.Start.Add(30*ms) || a.Call != wantCall {
				t.Errorf("attempt %d: %+v, want start +%v, duration %v, err %v, timed out %v", i+1, a, w.start, w.dur, w.err, w.timedOut)
			}
		}
		if done.Outcome != hooks.Exhausted || done.Attempts != 3 || done.Duration != 85*ms || done.Err != err || done.Call != wantCall {
			t.Errorf("OnDone got %+v", done)
		}
	})
}

// TestHooksCompose: several Hooks options add up, in the order given.
func TestHooksCompose(t *testing.T) {
	var order []string
	mk := func(name string) hooks.Hooks {
		return hooks.Hooks{OnDone: func(context.Context, hooks.Result) { order = append(order, name) }}
	}
	p := MustNew(Hooks(mk("a"), mk("b")), Hooks(mk("c")))
	_ = p.Do(context.Background(), func(context.Context) error { return nil })
	if got := strings.Join(order, ""); got != "abc" {
		t.Errorf("hooks ran in order %q, want abc", got)
	}
}
