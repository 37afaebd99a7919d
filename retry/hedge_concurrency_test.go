package retry

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/hooks"
)

// hedgeCallKey carries a call's hedgeCallState from OnStart to its other hooks.
type hedgeCallKey struct{}

// hedgeCallState checks the hooks of one call: never two at once, every OnAttempt
// closed by one OnAttemptEnd before OnDone, OnDone once and last.
type hedgeCallState struct {
	busy    atomic.Bool
	started int
	open    map[int]bool
	done    bool
}

// hedgeChecker is a Hooks that checks every call it sees and counts the violations.
type hedgeChecker struct {
	mu   sync.Mutex
	bad  []string
	seen atomic.Int64 // OnDone events
}

func (c *hedgeChecker) fail(format string, args ...any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.bad) < 20 {
		c.bad = append(c.bad, fmt.Sprintf(format, args...))
	}
}

func (c *hedgeChecker) enter(ctx context.Context, event string) *hedgeCallState {
	s := ctx.Value(hedgeCallKey{}).(*hedgeCallState)
	if !s.busy.CompareAndSwap(false, true) {
		c.fail("%s: another hook of the call is running", event)
	}
	if s.done {
		c.fail("%s after OnDone", event)
	}
	return s
}

func (c *hedgeChecker) hooks() hooks.Hooks {
	return hooks.Hooks{
		OnStart: func(ctx context.Context, _ hooks.Call) context.Context {
			return context.WithValue(ctx, hedgeCallKey{}, &hedgeCallState{open: map[int]bool{}})
		},
		OnAttempt: func(ctx context.Context, a hooks.Attempt) context.Context {
			s := c.enter(ctx, "OnAttempt")
			s.started++
			if a.Number != s.started || s.open[a.Number] {
				c.fail("OnAttempt %d after %d attempts", a.Number, s.started-1)
			}
			s.open[a.Number] = true
			s.busy.Store(false)
			return nil
		},
		OnAttemptEnd: func(ctx context.Context, a hooks.Attempt) {
			s := c.enter(ctx, "OnAttemptEnd")
			if !s.open[a.Number] {
				c.fail("OnAttemptEnd %d without its OnAttempt", a.Number)
			}
			delete(s.open, a.Number)
			s.busy.Store(false)
		},
		OnRetry: func(ctx context.Context, a hooks.Attempt, _ time.Duration) {
			s := c.enter(ctx, "OnRetry")
			s.busy.Store(false)
		},
		OnGiveup: func(ctx context.Context, _ hooks.Result) {
			s := c.enter(ctx, "OnGiveup")
			s.busy.Store(false)
		},
		OnDone: func(ctx context.Context, r hooks.Result) {
			s := c.enter(ctx, "OnDone")
			if len(s.open) != 0 || r.Attempts != s.started {
				c.fail("OnDone with attempts %v open, %d started, Result says %d", s.open, s.started, r.Attempts)
			}
			s.done = true
			c.seen.Add(1)
			s.busy.Store(false)
		},
	}
}

// TestHedgeConcurrentCalls runs hundreds of hedged calls at once on one policy (run it
// with -race): hooks serialized per call, every attempt closed, the counters of
// hooks.Stats exact, the adaptive delay shared safely, and no goroutine left behind.
func TestHedgeConcurrentCalls(t *testing.T) {
	const ms = time.Millisecond
	const calls = 400
	synctest.Test(t, func(t *testing.T) {
		stats := hooks.NewStats()
		var checker hedgeChecker
		budget := NewBudget(0.5, 10)
		p := MustNew(MaxTries(3), HedgeAtQuantile(0.9, 5*ms), Pause(ms), Deadline(80*ms),
			Throttle(budget), Hooks(stats.Hooks(), checker.hooks()))
		var attempts, successes, failures atomic.Int64
		var wg sync.WaitGroup
		for i := range calls {
			r := rand.New(rand.NewPCG(uint64(i), 7))
			d := []time.Duration{time.Duration(1+r.IntN(20)) * ms, time.Duration(1+r.IntN(40)) * ms, time.Duration(1+r.IntN(60)) * ms}
			fail := r.IntN(5) == 0
			wg.Go(func() {
				time.Sleep(time.Duration(i%50) * ms)
				v, err := HedgeValue(context.Background(), p, func(ctx context.Context) (int, error) {
					n := int(attempts.Add(1))
					err := work(ctx, d[n%3], nil)
					if err == nil && fail && n%2 == 0 {
						err = errValue
					}
					return n, err
				})
				if err == nil {
					successes.Add(1)
					if v == 0 {
						t.Error("a success without its value")
					}
				} else {
					failures.Add(1)
					if _, ok := errors.AsType[*Error](err); !ok {
						t.Errorf("error %v is not a *Error", err)
					}
				}
			})
		}
		wg.Wait()
		checker.mu.Lock()
		for _, b := range checker.bad {
			t.Error(b)
		}
		checker.mu.Unlock()
		s := stats.Snapshot()
		if s.Calls != calls || checker.seen.Load() != calls {
			t.Errorf("Stats.Calls %d, OnDone %d; want %d", s.Calls, checker.seen.Load(), calls)
		}
		if s.Attempts != attempts.Load() || s.Done != s.Attempts {
			t.Errorf("Stats: %d attempts, %d done; fn ran %d times", s.Attempts, s.Done, attempts.Load())
		}
		if s.Successes != successes.Load() || s.Giveups+s.Deadlines != failures.Load() {
			t.Errorf("Stats: %d successes, %d failures; calls returned %d and %d", s.Successes, s.Giveups+s.Deadlines, successes.Load(), failures.Load())
		}
		if attempts.Load() <= calls {
			t.Errorf("%d attempts for %d calls: nothing hedged", attempts.Load(), calls)
		}
	})
}

// TestHedgeRealClockRaces runs hedged calls on the real clock with a hedge delay close to
// the attempts' durations, so that the first attempt's return races its hedge timer (who
// coordinates the call is decided under the lock): run it with -race.
func TestHedgeRealClockRaces(t *testing.T) {
	var checker hedgeChecker
	p := MustNew(MaxTries(3), HedgeAfter(30*time.Microsecond), Hooks(checker.hooks()))
	var wg sync.WaitGroup
	var won [4]atomic.Int64
	for i := range 300 {
		wg.Go(func() {
			v, err := HedgeValue(context.Background(), p, func(ctx context.Context) (int, error) {
				if err := work(ctx, time.Duration(i%7)*10*time.Microsecond, nil); err != nil {
					return 0, err
				}
				if i%11 == 0 {
					return 0, errValue
				}
				return 1 + i%3, nil
			})
			switch {
			case err == nil:
				won[v].Add(1)
			case !errors.Is(err, errValue):
				t.Errorf("call %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	checker.mu.Lock()
	defer checker.mu.Unlock()
	for _, b := range checker.bad {
		t.Error(b)
	}
	if checker.seen.Load() != 300 {
		t.Errorf("OnDone %d times for 300 calls", checker.seen.Load())
	}
}
