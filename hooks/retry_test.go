package hooks_test

import (
	"context"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
)

// failing returns an fn that sleeps d on each attempt and fails its first n attempts
// with errFail (n < 0: every attempt).
func failing(n int, d time.Duration) func() func(context.Context) error {
	return func() func(context.Context) error {
		calls := 0
		return func(ctx context.Context) error {
			calls++
			time.Sleep(d)
			if n < 0 || calls <= n {
				return errFail
			}
			return nil
		}
	}
}

// blocking returns an fn that waits for its context and returns its error.
func blocking() func(context.Context) error {
	return func(ctx context.Context) error {
		<-ctx.Done()
		return ctx.Err()
	}
}

// retryScenarios are real calls through retry.Do, with the snapshot they must leave.
// Times are exact: the calls run in a synctest bubble.
var retryScenarios = []struct {
	name    string
	opts    []retry.Option
	ctx     func(context.Context) (context.Context, context.CancelFunc) // nil: unchanged
	fn      func() func(context.Context) error
	outcome hooks.Outcome
	want    hooks.StatsSnapshot
}{
	{
		"success at once",
		[]retry.Option{retry.MaxTries(3)}, nil, failing(0, 10*ms),
		hooks.Success,
		hooks.StatsSnapshot{Calls: 1, Attempts: 1, Done: 1, SumTime: 10 * ms, Successes: 1},
	},
	{
		"two failures then success, pauses counted",
		[]retry.Option{retry.MaxTries(5), retry.Pause(100 * ms)}, nil, failing(2, 20*ms),
		hooks.Success,
		hooks.StatsSnapshot{Calls: 1, Attempts: 3, Done: 3, Errors: 2, SumTime: 3*20*ms + 2*100*ms, Successes: 1},
	},
	{
		"exhausted",
		[]retry.Option{retry.MaxTries(3), retry.Pause(50 * ms)}, nil, failing(-1, 10*ms),
		hooks.Exhausted,
		hooks.StatsSnapshot{Calls: 1, Attempts: 3, Done: 3, Errors: 3, SumTime: 3*10*ms + 2*50*ms, Giveups: 1},
	},
	{
		"attempt timeouts, zero pause",
		[]retry.Option{retry.MaxTries(2), retry.AttemptTimeout(100 * ms)}, nil,
		func() func(context.Context) error { return blocking() },
		hooks.Exhausted,
		hooks.StatsSnapshot{Calls: 1, Attempts: 2, Done: 2, Errors: 2, SumTime: 200 * ms, Giveups: 1},
	},
	{
		// attempt 0-50ms, pause to 150ms, attempt to 200ms; a pause to 300ms would pass the
		// 250ms deadline, so it is neither taken nor counted.
		"deadline: the next pause would overrun it",
		[]retry.Option{retry.Deadline(250 * ms), retry.Pause(100 * ms)}, nil, failing(-1, 50*ms),
		hooks.Deadline,
		hooks.StatsSnapshot{Calls: 1, Attempts: 2, Done: 2, Errors: 2, SumTime: 200 * ms, Deadlines: 1},
	},
	{
		"deadline during an attempt",
		[]retry.Option{retry.Deadline(120 * ms)}, nil,
		func() func(context.Context) error { return blocking() },
		hooks.Deadline,
		hooks.StatsSnapshot{Calls: 1, Attempts: 1, Done: 1, Errors: 1, SumTime: 120 * ms, Deadlines: 1},
	},
	{
		"caller's context deadline",
		[]retry.Option{retry.Pause(10 * ms)},
		func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, 75*ms)
		},
		failing(-1, 30*ms),
		hooks.Deadline,
		// 0-30 attempt, 30-40 pause, 40-70 attempt, 70-80 pause would pass 75: not taken.
		hooks.StatsSnapshot{Calls: 1, Attempts: 2, Done: 2, Errors: 2, SumTime: 70 * ms, Deadlines: 1},
	},
	{
		"canceled during a pause: the scheduled pause counts in full",
		[]retry.Option{retry.Pause(100 * ms)},
		func(ctx context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(ctx)
			time.AfterFunc(30*ms, cancel)
			return ctx, cancel
		},
		failing(-1, 10*ms),
		hooks.Canceled,
		hooks.StatsSnapshot{Calls: 1, Attempts: 1, Done: 1, Errors: 1, Cancels: 1, SumTime: 110 * ms, Giveups: 1},
	},
	{
		"canceled during an attempt",
		nil,
		func(ctx context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(ctx)
			time.AfterFunc(40*ms, cancel)
			return ctx, cancel
		},
		func() func(context.Context) error { return blocking() },
		hooks.Canceled,
		hooks.StatsSnapshot{Calls: 1, Attempts: 1, Done: 1, Errors: 1, Cancels: 1, SumTime: 40 * ms, Giveups: 1},
	},
	{
		"canceled before the call",
		nil,
		func(ctx context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(ctx)
			cancel()
			return ctx, cancel
		},
		failing(0, 0),
		hooks.Canceled,
		hooks.StatsSnapshot{Calls: 1, Cancels: 1, Giveups: 1},
	},
	{
		"permanent error",
		nil, nil,
		func() func(context.Context) error {
			return func(context.Context) error { time.Sleep(5 * ms); return retry.Permanent(errFail) }
		},
		hooks.Permanent,
		hooks.StatsSnapshot{Calls: 1, Attempts: 1, Done: 1, Errors: 1, SumTime: 5 * ms, Giveups: 1},
	},
	{
		"not retryable by the filter: still an error for Stats (unlike aiomisc)",
		[]retry.Option{retry.On(context.DeadlineExceeded)}, nil, failing(-1, 5*ms),
		hooks.Permanent,
		hooks.StatsSnapshot{Calls: 1, Attempts: 1, Done: 1, Errors: 1, SumTime: 5 * ms, Giveups: 1},
	},
	{
		"gave up",
		[]retry.Option{retry.Pause(ms), retry.GiveUp(func(error) bool { return true })}, nil, failing(-1, 5*ms),
		hooks.GaveUp,
		hooks.StatsSnapshot{Calls: 1, Attempts: 1, Done: 1, Errors: 1, SumTime: 5 * ms, Giveups: 1},
	},
}

// runScenario makes one call of scenario i with the given hooks, and checks its outcome.
func runScenario(t *testing.T, i int, hs ...hooks.Hooks) {
	t.Helper()
	sc := retryScenarios[i]
	p, err := retry.New(append(slices.Clip(sc.opts), retry.Name("op"), retry.Hooks(hs...))...)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if sc.ctx != nil {
		var cancel context.CancelFunc
		ctx, cancel = sc.ctx(ctx)
		defer cancel()
	}
	err = p.Do(ctx, sc.fn())
	var re *retry.Error
	switch {
	case sc.outcome == hooks.Success && err != nil:
		t.Errorf("%s: Do = %v, want nil", sc.name, err)
	case sc.outcome != hooks.Success && (!errors.As(err, &re) || re.Outcome != sc.outcome):
		t.Errorf("%s: Do = %v, want outcome %v", sc.name, err, sc.outcome)
	}
}

func TestStatsWithRetry(t *testing.T) {
	for i, sc := range retryScenarios {
		t.Run(sc.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				s := hooks.NewStats()
				runScenario(t, i, s.Hooks())
				if got := s.Snapshot(); got != sc.want {
					t.Errorf("snapshot\n got %+v\nwant %+v", got, sc.want)
				}
			})
		})
	}
}

func TestStatsWithRetryPanic(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := hooks.NewStats()
		p := retry.MustNew(retry.Hooks(s.Hooks()))
		func() {
			defer func() {
				if r := recover(); r != "boom" {
					t.Errorf("recovered %v, want the panic of fn", r)
				}
			}()
			_ = p.Do(context.Background(), func(context.Context) error {
				time.Sleep(15 * ms)
				panic("boom")
			})
		}()
		// The attempt ended (with a nil Err: a panic is no error value) and the call
		// counts, but under no outcome.
		want := hooks.StatsSnapshot{Calls: 1, Attempts: 1, Done: 1, SumTime: 15 * ms}
		if got := s.Snapshot(); got != want {
			t.Errorf("snapshot\n got %+v\nwant %+v", got, want)
		}
	})
}

// TestStatsWithRetryConcurrent runs every scenario many times at once, through one
// policy per scenario and one Stats shared by all of them.
func TestStatsWithRetryConcurrent(t *testing.T) {
	const perScenario = 20
	synctest.Test(t, func(t *testing.T) {
		s := hooks.NewStats()
		var want hooks.StatsSnapshot
		var wg sync.WaitGroup
		for i, sc := range retryScenarios {
			want = add(want, scale(sc.want, perScenario))
			for range perScenario {
				wg.Go(func() { runScenario(t, i, s.Hooks()) })
			}
		}
		wg.Wait()
		if got := s.Snapshot(); got != want {
			t.Errorf("snapshot\n got %+v\nwant %+v", got, want)
		}
	})
}

func TestLogWithRetry(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l, buf := jsonLogger(slog.LevelDebug)
		s := hooks.NewStats()
		p := retry.MustNew(retry.Name("db.fetch"), retry.MaxTries(3), retry.Pause(100*ms), retry.AttemptTimeout(time.Second),
			retry.Hooks(hooks.Log(l), s.Hooks()))
		if err := p.Do(context.Background(), failing(1, 20*ms)()); err != nil {
			t.Fatal(err)
		}
		// The bubble's clock starts at 2000-01-01 00:00:00 UTC.
		want := []map[string]any{
			{"level": "DEBUG", "msg": "retry start", "op": "db.fetch", "max_tries": 3.0},
			{"level": "DEBUG", "msg": "retry attempt", "op": "db.fetch", "attempt": 1.0, "deadline": "2000-01-01T00:00:01Z"},
			{"level": "DEBUG", "msg": "retry attempt end", "op": "db.fetch", "attempt": 1.0, "duration": float64(20 * ms), "timed_out": false, "error": "fail"},
			{"level": "INFO", "msg": "retry scheduled", "op": "db.fetch", "attempt": 1.0, "delay": float64(100 * ms), "error": "fail"},
			{"level": "DEBUG", "msg": "retry attempt", "op": "db.fetch", "attempt": 2.0, "deadline": "2000-01-01T00:00:01.12Z"},
			{"level": "DEBUG", "msg": "retry attempt end", "op": "db.fetch", "attempt": 2.0, "duration": float64(20 * ms), "timed_out": false},
			{"level": "DEBUG", "msg": "retry done", "op": "db.fetch", "outcome": "success", "attempts": 2.0, "duration": float64(140 * ms)},
		}
		got := records(t, buf)
		if !slices.EqualFunc(got, want, maps.Equal) {
			t.Errorf("records:\n got %v\nwant %v", got, want)
		}
		if got, want := s.Snapshot(), (hooks.StatsSnapshot{Calls: 1, Attempts: 2, Done: 2, Errors: 1, SumTime: 140 * ms, Successes: 1}); got != want {
			t.Errorf("snapshot of the Stats composed with Log\n got %+v\nwant %+v", got, want)
		}
	})
}
