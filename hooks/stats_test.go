package hooks_test

import (
	"context"
	"errors"
	"math"
	"sync"
	"testing"
	"time"

	"github.com/retrykit/retrykit/hooks"
)

// A script is the sequence of events of one call, in the engine's order.
type script []func(context.Context, hooks.Hooks)

func start() func(context.Context, hooks.Hooks) {
	return func(ctx context.Context, h hooks.Hooks) { h.OnStart(ctx, hooks.Call{Name: "op"}) }
}

// attempt is OnAttempt, [OnTimeout,] OnAttemptEnd of an attempt that ran for d and
// returned err.
func attempt(n int, d time.Duration, err error, timedOut bool) func(context.Context, hooks.Hooks) {
	return func(ctx context.Context, h hooks.Hooks) {
		a := hooks.Attempt{Call: hooks.Call{Name: "op"}, Number: n}
		h.OnAttempt(ctx, a)
		a.Duration, a.Err, a.TimedOut = d, err, timedOut
		if timedOut && h.OnTimeout != nil {
			h.OnTimeout(ctx, a)
		}
		h.OnAttemptEnd(ctx, a)
	}
}

func retryAfter(n int, delay time.Duration) func(context.Context, hooks.Hooks) {
	return func(ctx context.Context, h hooks.Hooks) {
		h.OnRetry(ctx, hooks.Attempt{Number: n, Err: errFail}, delay)
	}
}

// end is OnGiveup or OnDeadline as the outcome asks, then OnDone.
func end(o hooks.Outcome, attempts int) func(context.Context, hooks.Hooks) {
	return func(ctx context.Context, h hooks.Hooks) {
		r := hooks.Result{Call: hooks.Call{Name: "op"}, Outcome: o, Attempts: attempts}
		switch o {
		case hooks.Success, hooks.Panicked:
		case hooks.Deadline:
			r.Err = errFail
			h.OnDeadline(ctx, r)
		default:
			r.Err = errFail
			h.OnGiveup(ctx, r)
		}
		h.OnDone(ctx, r)
	}
}

var errFail = errors.New("fail")

const ms = time.Millisecond

var statsScripts = []struct {
	name   string
	script script
	want   hooks.StatsSnapshot
}{
	{
		"success at once",
		script{start(), attempt(1, 10*ms, nil, false), end(hooks.Success, 1)},
		hooks.StatsSnapshot{Calls: 1, Attempts: 1, Done: 1, SumTime: 10 * ms, Successes: 1},
	},
	{
		"two failures then success",
		script{
			start(),
			attempt(1, 10*ms, errFail, false), retryAfter(1, 100*ms),
			attempt(2, 20*ms, errFail, false), retryAfter(2, 0),
			attempt(3, 30*ms, nil, false), end(hooks.Success, 3),
		},
		hooks.StatsSnapshot{Calls: 1, Attempts: 3, Done: 3, Errors: 2, SumTime: 160 * ms, Successes: 1},
	},
	{
		"exhausted",
		script{
			start(),
			attempt(1, 5*ms, errFail, false), retryAfter(1, 50*ms),
			attempt(2, 5*ms, errFail, false), end(hooks.Exhausted, 2),
		},
		hooks.StatsSnapshot{Calls: 1, Attempts: 2, Done: 2, Errors: 2, SumTime: 60 * ms, Giveups: 1},
	},
	{
		"attempt timeout then success; the timed-out attempt returned nil late",
		script{
			start(),
			attempt(1, 100*ms, context.DeadlineExceeded, true), retryAfter(1, 0),
			attempt(2, 100*ms, nil, true), end(hooks.Success, 2),
		},
		hooks.StatsSnapshot{Calls: 1, Attempts: 2, Done: 2, Errors: 1, SumTime: 200 * ms, Successes: 1},
	},
	{
		"deadline: the pause would overrun it, so none is scheduled",
		script{start(), attempt(1, 40*ms, errFail, false), end(hooks.Deadline, 1)},
		hooks.StatsSnapshot{Calls: 1, Attempts: 1, Done: 1, Errors: 1, SumTime: 40 * ms, Deadlines: 1},
	},
	{
		"canceled during an attempt",
		script{start(), attempt(1, 7*ms, context.Canceled, false), end(hooks.Canceled, 1)},
		hooks.StatsSnapshot{Calls: 1, Attempts: 1, Done: 1, Errors: 1, Cancels: 1, SumTime: 7 * ms, Giveups: 1},
	},
	{
		"canceled during a pause: the scheduled pause counts in full",
		script{start(), attempt(1, 7*ms, errFail, false), retryAfter(1, time.Second), end(hooks.Canceled, 1)},
		hooks.StatsSnapshot{Calls: 1, Attempts: 1, Done: 1, Errors: 1, Cancels: 1, SumTime: time.Second + 7*ms, Giveups: 1},
	},
	{
		"canceled before the first attempt",
		script{start(), end(hooks.Canceled, 0)},
		hooks.StatsSnapshot{Calls: 1, Cancels: 1, Giveups: 1},
	},
	{
		"deadline before the first attempt",
		script{start(), end(hooks.Deadline, 0)},
		hooks.StatsSnapshot{Calls: 1, Deadlines: 1},
	},
	{
		"gave up",
		script{start(), attempt(1, ms, errFail, false), end(hooks.GaveUp, 1)},
		hooks.StatsSnapshot{Calls: 1, Attempts: 1, Done: 1, Errors: 1, SumTime: ms, Giveups: 1},
	},
	{
		"permanent",
		script{start(), attempt(1, ms, errFail, false), end(hooks.Permanent, 1)},
		hooks.StatsSnapshot{Calls: 1, Attempts: 1, Done: 1, Errors: 1, SumTime: ms, Giveups: 1},
	},
	{
		"throttled",
		script{start(), attempt(1, ms, errFail, false), end(hooks.Throttled, 1)},
		hooks.StatsSnapshot{Calls: 1, Attempts: 1, Done: 1, Errors: 1, SumTime: ms, Giveups: 1},
	},
	{
		"panicked: counted as a call and an ended attempt, no outcome counter",
		script{start(), attempt(1, 3*ms, nil, false), end(hooks.Panicked, 1)},
		hooks.StatsSnapshot{Calls: 1, Attempts: 1, Done: 1, SumTime: 3 * ms},
	},
}

func (s script) run(ctx context.Context, h hooks.Hooks) {
	for _, ev := range s {
		ev(ctx, h)
	}
}

func TestStatsCounters(t *testing.T) {
	for _, tt := range statsScripts {
		t.Run(tt.name, func(t *testing.T) {
			s := hooks.NewStats()
			if got := s.Snapshot(); got != (hooks.StatsSnapshot{}) {
				t.Fatalf("new Stats: %+v, want zero", got)
			}
			tt.script.run(context.Background(), s.Hooks())
			if got := s.Snapshot(); got != tt.want {
				t.Errorf("snapshot\n got %+v\nwant %+v", got, tt.want)
			}
			// A second call adds up.
			tt.script.run(context.Background(), s.Hooks())
			if got, want := s.Snapshot(), scale(tt.want, 2); got != want {
				t.Errorf("after two calls\n got %+v\nwant %+v", got, want)
			}
		})
	}
}

func TestStatsZeroValueAndSharedHooks(t *testing.T) {
	var s hooks.Stats // ready to use
	a, b := s.Hooks(), s.Hooks()
	h := hooks.Compose(a, b) // the same Stats twice: every event counts twice
	if h.OnTimeout != nil {
		t.Error("Stats observes OnTimeout, which none of its counters needs")
	}
	ctx := context.Background()
	for _, f := range []func(context.Context, hooks.Hooks){start(), attempt(1, ms, errFail, false), end(hooks.Exhausted, 1)} {
		f(ctx, h)
	}
	want := hooks.StatsSnapshot{Calls: 2, Attempts: 2, Done: 2, Errors: 2, SumTime: 2 * ms, Giveups: 2}
	if got := s.Snapshot(); got != want {
		t.Errorf("snapshot\n got %+v\nwant %+v", got, want)
	}
	if got := a.OnStart(ctx, hooks.Call{}); got != nil {
		t.Errorf("OnStart returned %v, want nil (context unchanged)", got)
	}
	if got := a.OnAttempt(ctx, hooks.Attempt{}); got != nil {
		t.Errorf("OnAttempt returned %v, want nil (context unchanged)", got)
	}
}

func scale(s hooks.StatsSnapshot, n int64) hooks.StatsSnapshot {
	return hooks.StatsSnapshot{
		Calls: s.Calls * n, Attempts: s.Attempts * n, Done: s.Done * n, Errors: s.Errors * n,
		Cancels: s.Cancels * n, SumTime: s.SumTime * time.Duration(n), Successes: s.Successes * n,
		Giveups: s.Giveups * n, Deadlines: s.Deadlines * n,
	}
}

func add(a, b hooks.StatsSnapshot) hooks.StatsSnapshot {
	return hooks.StatsSnapshot{
		Calls: a.Calls + b.Calls, Attempts: a.Attempts + b.Attempts, Done: a.Done + b.Done,
		Errors: a.Errors + b.Errors, Cancels: a.Cancels + b.Cancels, SumTime: a.SumTime + b.SumTime,
		Successes: a.Successes + b.Successes, Giveups: a.Giveups + b.Giveups, Deadlines: a.Deadlines + b.Deadlines,
	}
}

// checkOrder reports a snapshot that shows more of an event than of the one that
// precedes it in every call.
func checkOrder(t *testing.T, s hooks.StatsSnapshot) {
	t.Helper()
	if s.Errors > s.Done || s.Done > s.Attempts || s.Cancels > s.Giveups || s.Successes+s.Giveups+s.Deadlines > s.Calls {
		t.Errorf("inconsistent snapshot: %+v", s)
	}
}

func TestStatsConcurrent(t *testing.T) {
	const (
		goroutines = 16
		calls      = 500 // per goroutine
	)
	s := hooks.NewStats()
	var want hooks.StatsSnapshot
	for g := range goroutines {
		for i := range calls {
			want = add(want, statsScripts[(g+i)%len(statsScripts)].want)
		}
	}

	var writers sync.WaitGroup
	stop := make(chan struct{})
	reader := make(chan int)
	go func() { // snapshots taken while the calls run must be consistent
		n := 0
		for {
			select {
			case <-stop:
				reader <- n
				return
			default:
				checkOrder(t, s.Snapshot())
				n++
			}
		}
	}()
	for g := range goroutines {
		writers.Go(func() {
			h := s.Hooks() // as if each goroutine had its own policy
			ctx := context.Background()
			for i := range calls {
				statsScripts[(g+i)%len(statsScripts)].script.run(ctx, h)
			}
		})
	}
	writers.Wait()
	close(stop)
	if n := <-reader; n == 0 {
		t.Error("the reader took no snapshot")
	}
	got := s.Snapshot()
	if got != want {
		t.Errorf("after %d concurrent calls\n got %+v\nwant %+v", goroutines*calls, got, want)
	}
	checkOrder(t, got)
}

func TestStatsAllocatesNothing(t *testing.T) {
	s := hooks.NewStats()
	h := s.Hooks()
	ctx := context.Background()
	if n := testing.AllocsPerRun(100, func() { fire(ctx, h) }); n != 0 {
		t.Errorf("%v allocations for one of each event, want 0", n)
	}
	if n := testing.AllocsPerRun(100, func() { _ = s.Snapshot() }); n != 0 {
		t.Errorf("%v allocations for Snapshot, want 0", n)
	}
}

func BenchmarkStatsHooks(b *testing.B) {
	ctx := context.Background()
	a := hooks.Attempt{Number: 1, Duration: ms}
	r := hooks.Result{Outcome: hooks.Success, Attempts: 1}
	b.Run("event", func(b *testing.B) {
		h := hooks.NewStats().Hooks()
		b.ReportAllocs()
		for b.Loop() {
			h.OnAttemptEnd(ctx, a)
		}
	})
	// The four events of a call that succeeds at once.
	call := func(h hooks.Hooks) {
		h.OnStart(ctx, a.Call)
		h.OnAttempt(ctx, a)
		h.OnAttemptEnd(ctx, a)
		h.OnDone(ctx, r)
	}
	b.Run("call", func(b *testing.B) {
		h := hooks.NewStats().Hooks()
		b.ReportAllocs()
		for b.Loop() {
			call(h)
		}
	})
	b.Run("call-parallel", func(b *testing.B) {
		h := hooks.NewStats().Hooks()
		b.ReportAllocs()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				call(h)
			}
		})
	})
}

// TestStatsSumTimeSaturates adds durations whose sum overflows a Duration: SumTime stops
// at the largest Duration instead of wrapping around to a negative one.
func TestStatsSumTimeSaturates(t *testing.T) {
	const maxDuration = time.Duration(math.MaxInt64)
	for _, tt := range []struct {
		name   string
		script script
		want   time.Duration
	}{
		{"the longest pause after an attempt", script{start(), attempt(1, ms, errFail, false), retryAfter(1, maxDuration), end(hooks.Canceled, 1)}, maxDuration},
		{"two attempts of half the range and more", script{start(), attempt(1, maxDuration/2+ms, errFail, false), attempt(2, maxDuration/2+ms, errFail, false), end(hooks.Exhausted, 2)}, maxDuration},
		{"just below the limit", script{start(), attempt(1, maxDuration-ms, errFail, false), retryAfter(1, ms), end(hooks.Canceled, 1)}, maxDuration},
		{"saturated, then more", script{start(), attempt(1, maxDuration, errFail, false), retryAfter(1, maxDuration), attempt(2, ms, nil, false), end(hooks.Success, 2)}, maxDuration},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := hooks.NewStats()
			tt.script.run(context.Background(), s.Hooks())
			if got := s.Snapshot().SumTime; got != tt.want {
				t.Errorf("SumTime = %v, want %v", got, tt.want)
			}
			// Once saturated it stays there, whatever is added.
			tt.script.run(context.Background(), s.Hooks())
			if got := s.Snapshot().SumTime; got != maxDuration {
				t.Errorf("SumTime after a second call = %v, want %v", got, maxDuration)
			}
		})
	}
}

// TestStatsSumTimeSaturatesConcurrently adds from many goroutines across the limit: the
// sum ends at the limit and never passes it.
func TestStatsSumTimeSaturatesConcurrently(t *testing.T) {
	s := hooks.NewStats()
	h := s.Hooks()
	quarter := time.Duration(math.MaxInt64 / 4)
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 4 {
				h.OnRetry(context.Background(), hooks.Attempt{Number: 1}, quarter)
				if got := s.Snapshot().SumTime; got < 0 {
					t.Errorf("SumTime = %v: wrapped", got)
				}
			}
		})
	}
	wg.Wait()
	if got := s.Snapshot().SumTime; got != time.Duration(math.MaxInt64) {
		t.Errorf("SumTime = %v, want %v", got, time.Duration(math.MaxInt64))
	}
}
