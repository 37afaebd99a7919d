package retry

import (
	"context"
	"errors"
	"math"
	"slices"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/hooks"
)

// Time spent in user code between attempts (hooks, filters, GiveUp, a Backoff) counts
// against the deadline and must not eat into the next attempt's timeout.
func TestUserCodeTimeCounts(t *testing.T) {
	const ms = time.Millisecond
	slow := func(d time.Duration) func(error) bool {
		return func(error) bool { time.Sleep(d); return false }
	}
	tests := []struct {
		name     string
		opts     []Option
		fn       func(ctx context.Context, n int) error
		wantOut  hooks.Outcome
		wantN    int
		wantTime time.Duration // when Do returns
		// the deadline each attempt's context carried, relative to the attempt's own start
		wantAttemptBudget time.Duration
	}{
		{
			name: "slow GiveUp past the deadline: no second attempt",
			opts: []Option{Deadline(100 * ms), GiveUp(slow(150 * ms))},
			fn:   func(ctx context.Context, n int) error { return errValue },
			// The first attempt fails at 0; GiveUp returns at 150ms, past the deadline:
			// rule 7 on the fresh clock ends the call there, with no attempt 2.
			wantOut: hooks.Deadline, wantN: 1, wantTime: 150 * ms,
		},
		{
			name:    "slow filter past the deadline",
			opts:    []Option{Deadline(100 * ms), If(func(error) bool { time.Sleep(120 * ms); return true })},
			fn:      func(ctx context.Context, n int) error { return errValue },
			wantOut: hooks.Deadline, wantN: 1, wantTime: 120 * ms,
		},
		{
			name: "slow Backoff past the deadline",
			opts: []Option{Deadline(100 * ms), PauseWith(BackoffFunc(func(int, time.Duration) time.Duration {
				time.Sleep(90 * ms)
				return 20 * ms // 90+20 >= 100
			}))},
			fn:      func(ctx context.Context, n int) error { return errValue },
			wantOut: hooks.Deadline, wantN: 1, wantTime: 90 * ms,
		},
		{
			name: "slow OnAttemptEnd leaves the next attempt its full timeout",
			opts: []Option{AttemptTimeout(100 * ms), MaxTries(2), Hooks(hooks.Hooks{
				OnAttemptEnd: func(context.Context, hooks.Attempt) { time.Sleep(80 * ms) },
			})},
			fn: func(ctx context.Context, n int) error { return work(ctx, time.Hour, errValue) },
			// attempt 1: 0-100 (timeout), hook until 180; attempt 2: 180-280, hook until 360.
			wantOut: hooks.Exhausted, wantN: 2, wantTime: 360 * ms, wantAttemptBudget: 100 * ms,
		},
		{
			name: "slow OnRetry: the pause is not slept past the deadline",
			opts: []Option{Deadline(300 * ms), Pause(200 * ms), Hooks(hooks.Hooks{
				OnRetry: func(context.Context, hooks.Attempt, time.Duration) { time.Sleep(250 * ms) },
			})},
			fn: func(ctx context.Context, n int) error { return errValue },
			// OnRetry returns at 250ms; a 200ms pause would end at 450ms, past 300ms.
			wantOut: hooks.Deadline, wantN: 1, wantTime: 250 * ms,
		},
		{
			name: "slow OnStart counts against the deadline",
			opts: []Option{Deadline(100 * ms), Hooks(hooks.Hooks{
				OnStart: func(context.Context, hooks.Call) context.Context { time.Sleep(100 * ms); return nil },
			})},
			fn:      func(ctx context.Context, n int) error { return nil },
			wantOut: hooks.Deadline, wantN: 0, wantTime: 100 * ms,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var starts []time.Duration
				var budgets []time.Duration
				begin := time.Now()
				opts := append([]Option{Hooks(hooks.Hooks{OnAttempt: func(ctx context.Context, a hooks.Attempt) context.Context {
					starts = append(starts, a.Start.Sub(begin))
					return nil
				}})}, tt.opts...)
				p := MustNew(opts...)
				n := 0
				err := p.Do(context.Background(), func(ctx context.Context) error {
					n++
					if dl, ok := ctx.Deadline(); ok {
						budgets = append(budgets, time.Until(dl))
					}
					return tt.fn(ctx, n)
				})
				elapsed := time.Since(begin)
				var e *Error
				if !errors.As(err, &e) {
					if tt.wantOut != hooks.Success || err != nil {
						t.Fatalf("Do = %v, want outcome %v", err, tt.wantOut)
					}
				} else if e.Outcome != tt.wantOut {
					t.Errorf("outcome %v, want %v (%v)", e.Outcome, tt.wantOut, err)
				}
				if n != tt.wantN {
					t.Errorf("%d attempts, want %d", n, tt.wantN)
				}
				if elapsed != tt.wantTime {
					t.Errorf("Do returned after %v, want %v", elapsed, tt.wantTime)
				}
				if tt.wantAttemptBudget > 0 {
					for i, b := range budgets {
						if b != tt.wantAttemptBudget {
							t.Errorf("attempt %d got %v of its timeout, want %v (attempt starts %v)", i+1, b, tt.wantAttemptBudget, starts)
						}
					}
				}
			})
		})
	}
}

// The attempt's Start seen by the hooks is when it really started, after slow hooks of
// the attempt before.
func TestAttemptStartAfterSlowHook(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		begin := time.Now()
		var starts []time.Duration
		p := MustNew(MaxTries(2), Hooks(hooks.Hooks{
			OnAttempt: func(ctx context.Context, a hooks.Attempt) context.Context {
				starts = append(starts, a.Start.Sub(begin))
				return nil
			},
			OnAttemptEnd: func(context.Context, hooks.Attempt) { time.Sleep(80 * time.Millisecond) },
		}))
		_ = p.Do(context.Background(), func(context.Context) error { return errValue })
		if len(starts) != 2 || starts[0] != 0 || starts[1] != 80*time.Millisecond {
			t.Errorf("attempt starts %v, want [0s 80ms]", starts)
		}
	})
}

// A retry announced by OnRetry but ended by the deadline is given back to the budget.
func TestSlowOnRetryRefundsBudget(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(0, 1) // 10 retries in the window
		p := MustNew(Deadline(300*time.Millisecond), Pause(200*time.Millisecond), Throttle(b), Hooks(hooks.Hooks{
			OnRetry: func(context.Context, hooks.Attempt, time.Duration) { time.Sleep(250 * time.Millisecond) },
		}))
		_ = p.Do(context.Background(), func(context.Context) error { return errValue })
		// All 10 retries are still there: a bare policy on the same budget makes 11 attempts.
		q := MustNew(Throttle(b))
		err := q.Do(context.Background(), func(context.Context) error { return errValue })
		var e *Error
		if !errors.As(err, &e) || e.Attempts != 11 {
			t.Errorf("after a refunded retry: %v, want 11 attempts", err)
		}
	})
}

// A panic in the policy's own code ends the call as a panic in fn does: the hooks see
// OnDone with Panicked (and OnAttemptEnd of an attempt under way), and the panic goes on.
func TestPanicInPolicyCode(t *testing.T) {
	type boom struct{ where string }
	panicky := &panicUnwrapError{}
	tests := []struct {
		name string
		opts []Option
		err  error
	}{
		{"If", []Option{If(func(error) bool { panic(boom{"If"}) })}, errValue},
		{"On through an Is method", []Option{On(errOther)}, isPanicError{}},
		{"GiveUp", []Option{GiveUp(func(error) bool { panic(boom{"GiveUp"}) })}, errValue},
		{"Backoff", []Option{PauseWith(BackoffFunc(func(int, time.Duration) time.Duration { panic(boom{"Backoff"}) }))}, errValue},
		{"Unwrap of the attempt error", nil, panicky},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for _, withDeadline := range []bool{false, true} {
				var events []string
				h := hooks.Hooks{
					OnAttempt: func(ctx context.Context, a hooks.Attempt) context.Context {
						events = append(events, "attempt")
						return nil
					},
					OnAttemptEnd: func(context.Context, hooks.Attempt) { events = append(events, "end") },
					OnGiveup:     func(context.Context, hooks.Result) { events = append(events, "giveup") },
					OnDone: func(_ context.Context, r hooks.Result) {
						events = append(events, "done "+r.Outcome.String())
					},
				}
				opts := append([]Option{MaxTries(3), Hooks(h)}, tt.opts...)
				if withDeadline {
					opts = append(opts, Deadline(time.Hour))
				}
				p := MustNew(opts...)
				got := func() (r any) {
					defer func() { r = recover() }()
					_ = p.Do(context.Background(), func(context.Context) error { return tt.err })
					return nil
				}()
				if got == nil {
					t.Fatal("the panic did not reach the caller")
				}
				want := []string{"attempt", "end", "done panicked"}
				if !slices.Equal(events, want) {
					t.Errorf("deadline %v: events %q, want %q", withDeadline, events, want)
				}
			}
		})
	}
}

// A panic in a hook gets no further hooks, wherever the hook runs.
func TestPanicInHookGetsNoMoreHooks(t *testing.T) {
	for _, where := range []string{"OnStart", "OnAttempt", "OnTimeout", "OnAttemptEnd", "OnRetry", "OnGiveup", "OnDone"} {
		t.Run(where, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var after []string
				h := hooks.Hooks{
					OnStart: func(context.Context, hooks.Call) context.Context { maybePanic(where, "OnStart"); return nil },
					OnAttempt: func(context.Context, hooks.Attempt) context.Context {
						maybePanic(where, "OnAttempt")
						return nil
					},
					OnTimeout:    func(context.Context, hooks.Attempt) { maybePanic(where, "OnTimeout") },
					OnAttemptEnd: func(context.Context, hooks.Attempt) { maybePanic(where, "OnAttemptEnd") },
					OnRetry:      func(context.Context, hooks.Attempt, time.Duration) { maybePanic(where, "OnRetry") },
					OnGiveup:     func(context.Context, hooks.Result) { maybePanic(where, "OnGiveup") },
					OnDone:       func(context.Context, hooks.Result) { maybePanic(where, "OnDone") },
				}
				seen := false
				record := func(name string) {
					if seen {
						after = append(after, name)
					}
				}
				rec := hooks.Hooks{
					OnStart:      func(context.Context, hooks.Call) context.Context { record("OnStart"); return nil },
					OnAttempt:    func(context.Context, hooks.Attempt) context.Context { record("OnAttempt"); return nil },
					OnTimeout:    func(context.Context, hooks.Attempt) { record("OnTimeout") },
					OnAttemptEnd: func(context.Context, hooks.Attempt) { record("OnAttemptEnd") },
					OnRetry:      func(context.Context, hooks.Attempt, time.Duration) { record("OnRetry") },
					OnGiveup:     func(context.Context, hooks.Result) { record("OnGiveup") },
					OnDone:       func(context.Context, hooks.Result) { record("OnDone") },
				}
				p := MustNew(MaxTries(2), AttemptTimeout(time.Millisecond), Hooks(h, rec))
				r := func() (r any) {
					defer func() { r = recover() }()
					_ = p.Do(context.Background(), func(ctx context.Context) error {
						<-ctx.Done()
						return ctx.Err()
					})
					return nil
				}()
				if r == nil {
					t.Fatal("no panic")
				}
				seen = true
				if len(after) != 0 {
					t.Errorf("hooks after the panic in %s: %q", where, after)
				}
			})
		})
	}
}

// maybePanic panics when the hook that calls it is the one chosen; it is called from
// the first hook set, so the second set records whatever runs after the panic.
func maybePanic(chosen, here string) {
	if chosen == here {
		panic("hook " + here)
	}
}

type panicUnwrapError struct{}

func (*panicUnwrapError) Error() string { return "unwrap panics" }
func (*panicUnwrapError) Unwrap() error { panic("Unwrap") }

type isPanicError struct{}

func (isPanicError) Error() string { return "Is panics" }
func (isPanicError) Is(error) bool { panic("Is") }

// The bare fast path (no hooks, no timeouts, a context that is never done) must hand
// Decorrelated its previous pause: with the random source at its maximum and MaxTries 4,
// the pauses are 10ms, then 30ms, then 90ms: 130ms in all.
func TestBarePathKeepsPrevPause(t *testing.T) {
	defer setRand(func(n int64) int64 { return n - 1 })()
	synctest.Test(t, func(t *testing.T) {
		p := MustNew(MaxTries(4), PauseWith(Decorrelated(10*time.Millisecond, time.Hour)))
		if !p.bare {
			t.Fatal("the policy does not take the bare path")
		}
		start := time.Now()
		_ = p.Do(context.Background(), func(context.Context) error { return errValue })
		if got := time.Since(start); got != 130*time.Millisecond {
			t.Errorf("pauses took %v, want 130ms", got)
		}
	})
}

// Decorrelated's 3*prev must not overflow into a negative bound.
func TestDecorrelatedHugePrev(t *testing.T) {
	defer setRand(func(n int64) int64 { return n - 1 })()
	got := Decorrelated(time.Second, math.MaxInt64).Delay(2, math.MaxInt64/2)
	if got != math.MaxInt64-1 {
		t.Errorf("Delay(2, MaxInt64/2) = %v, want the clamp MaxInt64-1", got)
	}
}

// setRand replaces the random source of the jitters and returns the restore function.
func setRand(f func(int64) int64) func() {
	old := randInt64N
	randInt64N = f
	return func() { randInt64N = old }
}
