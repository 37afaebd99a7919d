package retry

import (
	"context"
	"errors"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/hooks"
)

// drain counts how many retries b allows now, up to limit.
func drain(b *Budget, limit int) int {
	n := 0
	for n < limit && b.allowRetry() {
		n++
	}
	return n
}

func TestBudgetAllowance(t *testing.T) {
	tests := []struct {
		ratio        float64
		minPerSecond int
		calls        int
		want         int // retries allowed in the window
	}{
		{0, 0, 0, 0},
		{0, 0, 1000, 0},
		{0.1, 0, 0, 0},
		{0.1, 0, 9, 0},
		{0.1, 0, 10, 1},
		{0.1, 0, 100, 10},
		{0.1, 0, 109, 10},
		{0.29, 0, 100, 29}, // 0.29 × 100 is 28.999999999999996 in float64
		{0.7, 0, 10, 7},    // 0.7 × 10 is 7.000000000000001
		{0.5, 0, 3, 1},
		{1, 0, 5, 5},
		{2.5, 0, 4, 10},
		{0, 1, 0, 10},
		{0, 5, 1000, 50},
		{0.1, 10, 0, 100},
		{0.1, 10, 55, 105},
		{1.5, 2, 4, 26},
	}
	for _, tt := range tests {
		synctest.Test(t, func(t *testing.T) {
			b := NewBudget(tt.ratio, tt.minPerSecond)
			for range tt.calls {
				b.onCall()
			}
			if got := drain(b, 10*tt.want+10); got != tt.want {
				t.Errorf("%v after %d calls allows %d retries, want %d", b, tt.calls, got, tt.want)
			}
		})
	}
}

// TestBudgetWindowSlides checks the granularity the documentation gives: an event counts
// for the rest of its one-second bucket and the 9 buckets after it.
func TestBudgetWindowSlides(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(0.5, 0)
		time.Sleep(300 * time.Millisecond) // inside bucket 0
		for range 4 {
			b.onCall()
		}
		if got := drain(b, 10); got != 2 {
			t.Fatalf("at 0.3s: %d retries, want 2", got)
		}
		time.Sleep(9*time.Second + 699*time.Millisecond) // 9.999s: bucket 9, still in the window
		if got := drain(b, 10); got != 0 {
			t.Fatalf("at 9.999s: %d retries, want 0 (the budget is spent)", got)
		}
		b.onCall()
		b.onCall() // bucket 9: 6 calls in the window now, 3 retries
		if got := drain(b, 10); got != 1 {
			t.Fatalf("at 9.999s with 2 more calls: %d retries, want 1", got)
		}
		time.Sleep(time.Millisecond) // 10s: bucket 0 has left the window
		// In the window: 2 calls (bucket 9) and 1 retry: allowance 1, spent.
		if got := drain(b, 10); got != 0 {
			t.Fatalf("at 10s: %d retries, want 0", got)
		}
		b.onCall()
		b.onCall() // 4 calls: 2 retries, 1 taken
		if got := drain(b, 10); got != 1 {
			t.Fatalf("at 10s with 2 more calls: %d retries, want 1", got)
		}
		time.Sleep(10 * time.Second) // 20s: everything has left the window
		if got := drain(b, 10); got != 0 {
			t.Fatalf("at 20s without calls: %d retries, want 0", got)
		}
		for range 10 {
			b.onCall()
		}
		if got := drain(b, 10); got != 5 {
			t.Fatalf("at 20s after 10 calls: %d retries, want 5", got)
		}
	})
}

// TestBudgetReserveRefills checks the reserve alone: minPerSecond × 10 retries per
// window, available again once the window has passed the retries taken.
func TestBudgetReserveRefills(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(0, 2)
		if got := drain(b, 100); got != 20 {
			t.Fatalf("at 0s: %d retries, want 20", got)
		}
		time.Sleep(5 * time.Second)
		if got := drain(b, 100); got != 0 {
			t.Fatalf("at 5s: %d retries, want 0", got)
		}
		time.Sleep(5 * time.Second)
		if got := drain(b, 100); got != 20 {
			t.Fatalf("at 10s: %d retries, want 20", got)
		}
		time.Sleep(24 * 365 * time.Hour) // a long idle period: the buckets are stale, not wrong
		if got := drain(b, 100); got != 20 {
			t.Fatalf("a year later: %d retries, want 20", got)
		}
	})
}

func TestBudgetRefund(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(0, 1) // 10 retries per window
		if got := drain(b, 100); got != 10 {
			t.Fatalf("%d retries, want 10", got)
		}
		b.refundRetry()
		b.refundRetry()
		if got := drain(b, 100); got != 2 {
			t.Errorf("after 2 refunds: %d retries, want 2", got)
		}
		// Nothing to give back once a new bucket began: the refund is lost, not taken
		// from the retries of another second.
		time.Sleep(time.Second)
		b.refundRetry()
		if got := drain(b, 100); got != 0 {
			t.Errorf("after a refund in an empty bucket: %d retries, want 0", got)
		}
		time.Sleep(9 * time.Second) // the first bucket left the window
		if got := drain(b, 100); got != 10 {
			t.Errorf("after the window slid: %d retries, want 10", got)
		}
	})
}

func TestThrottleChecks(t *testing.T) {
	tests := []struct {
		b    *Budget
		want string // "" for a valid budget
		is   error
	}{
		{NewBudget(0.1, 10), "", nil},
		{NewBudget(0, 0), "", nil},
		{NewBudget(3, 0), "", nil},
		{NewBudget(-0.1, 10), "retry: Throttle(NewBudget(-0.1, 10)): ratio must not be negative", errRatioNegative},
		{NewBudget(math.NaN(), 10), "retry: Throttle(NewBudget(NaN, 10)): ratio must be a number", errRatioNaN},
		{NewBudget(math.Inf(1), 10), "retry: Throttle(NewBudget(+Inf, 10)): ratio must be finite", errRatioInfinite},
		{NewBudget(math.Inf(-1), 10), "retry: Throttle(NewBudget(-Inf, 10)): ratio must not be negative", errRatioNegative},
		{NewBudget(0.1, -1), "retry: Throttle(NewBudget(0.1, -1)): minPerSecond must not be negative", errMinPerSecNegative},
		{&Budget{}, "retry: Throttle(Budget{}): budget must be made by NewBudget", errBudgetZero},
	}
	for _, tt := range tests {
		p, err := New(Throttle(tt.b))
		if tt.want == "" {
			if err != nil || p == nil {
				t.Errorf("New(Throttle(%v)) = %v, %v; want a policy", tt.b, p, err)
			}
			continue
		}
		if err == nil || err.Error() != tt.want {
			t.Errorf("New(Throttle(%v)) error\n got %v\nwant %s", tt.b, err, tt.want)
		}
		if !errors.Is(err, tt.is) {
			t.Errorf("New(Throttle(%v)) error %v does not wrap %v", tt.b, err, tt.is)
		}
	}
}

// budgetRun counts what the hooks of many concurrent calls saw.
type budgetRun struct {
	retries  atomic.Int64
	mu       sync.Mutex
	outcomes map[hooks.Outcome]int
	giveups  atomic.Int64
}

func (r *budgetRun) hooks() hooks.Hooks {
	r.outcomes = map[hooks.Outcome]int{}
	return hooks.Hooks{
		OnRetry:  func(context.Context, hooks.Attempt, time.Duration) { r.retries.Add(1) },
		OnGiveup: func(context.Context, hooks.Result) { r.giveups.Add(1) },
		OnDone: func(_ context.Context, res hooks.Result) {
			r.mu.Lock()
			r.outcomes[res.Outcome]++
			r.mu.Unlock()
		},
	}
}

// burst runs n concurrent calls of p that fail until the budget stops them, and returns
// how many attempts they made.
func burst(t *testing.T, p *Policy, n int, fail error) int64 {
	t.Helper()
	var attempts atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			err := p.Do(context.Background(), func(context.Context) error {
				attempts.Add(1)
				return fail
			})
			var rerr *Error
			if !errors.As(err, &rerr) || rerr.Outcome != hooks.Throttled ||
				!errors.Is(err, ErrThrottled) || !errors.Is(err, fail) || rerr.Last != fail {
				t.Errorf("Do = %v; want a *Error with outcome throttled matching ErrThrottled and the last error", err)
			}
		})
	}
	wg.Wait()
	return attempts.Load()
}

// TestBudgetBurst is the scenario a budget is for: a dependency fails every request, many
// goroutines call it at once, and the retries they make together are exactly the
// allowance, ratio × calls + minPerSecond × 10, not a retry more. Then the window slides
// and a call may retry again; and when the dependency recovers, its successful calls
// widen the allowance.
func TestBudgetBurst(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		start := time.Now()
		fail := errors.New("dependency down")
		b := NewBudget(0.1, 1) // 10% of the calls plus 10 per window
		var run budgetRun
		// No MaxTries: the budget alone stops the calls. The pause spreads the retries
		// over time, within the window.
		p := MustNew(Throttle(b), Pause(50*time.Millisecond), Hooks(run.hooks()))
		const calls = 200
		attempts := burst(t, p, calls, fail)
		const allowed = calls/10 + 10
		if got := run.retries.Load(); got != allowed {
			t.Errorf("%d calls made %d retries, want exactly %d", calls, got, allowed)
		}
		if attempts != calls+allowed {
			t.Errorf("%d attempts, want %d", attempts, calls+allowed)
		}
		if run.outcomes[hooks.Throttled] != calls || run.giveups.Load() != calls {
			t.Errorf("outcomes %v, %d OnGiveup; want %d throttled calls, each with OnGiveup", run.outcomes, run.giveups.Load(), calls)
		}
		if elapsed := time.Since(start); elapsed >= 9*time.Second {
			t.Fatalf("the burst took %v: it must stay inside the window for the count to be exact", elapsed)
		}

		// Still inside the window: a new call gets no retry.
		single := func(want int) {
			t.Helper()
			before := run.retries.Load()
			if got := burst(t, p, 1, fail); got != int64(want)+1 {
				t.Errorf("at %v: a call made %d attempts, want %d", time.Since(start), got, want+1)
			}
			if got := run.retries.Load() - before; got != int64(want) {
				t.Errorf("at %v: %d retries, want %d", time.Since(start), got, want)
			}
		}
		single(0)

		// The dependency recovers: 100 successful calls widen the allowance by 10.
		for range 100 {
			if err := p.Do(context.Background(), func(context.Context) error { return nil }); err != nil {
				t.Fatal(err)
			}
		}
		single(10) // 301 calls + 1: allowance 40, 30 taken

		// Once the burst has left the window, a lone caller has the reserve again.
		time.Sleep(20 * time.Second)
		single(10)
	})
}

// TestBudgetSharedByPolicies: the calls of one policy widen the allowance of another
// sharing the budget, and a budget that allows nothing still lets every call make its
// first attempt.
func TestBudgetSharedByPolicies(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		fail := errors.New("down")
		b := NewBudget(0.5, 0)
		reads := MustNew(Name("read"), Throttle(b))
		writes := MustNew(Name("write"), Throttle(b))
		for range 6 {
			_ = reads.Do(context.Background(), func(context.Context) error { return nil })
		}
		// 6 successful reads and this call: 3.5, so 3 retries.
		if got := burst(t, writes, 1, fail); got != 4 {
			t.Errorf("the write made %d attempts, want 4", got)
		}

		none := MustNew(Throttle(NewBudget(0, 0)))
		if got := burst(t, none, 5, fail); got != 5 {
			t.Errorf("NewBudget(0, 0): %d attempts for 5 calls, want 5 (each first attempt, no retry)", got)
		}
	})
}

// TestBudgetConcurrentExact: goroutines drawing on one budget at the same instant take
// exactly the allowance between them.
func TestBudgetConcurrentExact(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := NewBudget(0.25, 3) // 30 + 0.25 × 400 = 130
		var wg sync.WaitGroup
		for range 8 {
			wg.Go(func() {
				for range 50 {
					b.onCall()
				}
			})
		}
		wg.Wait()
		var allowed atomic.Int64
		for range 8 {
			wg.Go(func() {
				for range 100 {
					if b.allowRetry() {
						allowed.Add(1)
					}
				}
			})
		}
		wg.Wait()
		if got := allowed.Load(); got != 130 {
			t.Errorf("%d retries allowed, want 130", got)
		}
	})
}

func TestBudgetStripes(t *testing.T) {
	for _, stripes := range []int{1, 2, 64} {
		synctest.Test(t, func(t *testing.T) {
			b := newBudget(0.1, 0, stripes)
			for range 1000 {
				b.onCall()
			}
			if got := drain(b, 1000); got != 100 {
				t.Errorf("%d stripes: %d retries after 1000 calls, want 100", stripes, got)
			}
		})
	}
	if b := NewBudget(0.1, 0); len(b.calls) < 1 || len(b.calls)&(len(b.calls)-1) != 0 || len(b.calls) > maxStripes {
		t.Errorf("NewBudget made %d stripes: want a power of two up to %d", len(b.calls), maxStripes)
	}
}

func TestBudgetAllocatesNothing(t *testing.T) {
	b := NewBudget(0.1, 10)
	if allocs := testing.AllocsPerRun(1000, b.onCall); allocs != 0 {
		t.Errorf("onCall: %v allocs, want 0", allocs)
	}
	if allocs := testing.AllocsPerRun(1000, func() { b.allowRetry() }); allocs != 0 {
		t.Errorf("allowRetry: %v allocs, want 0", allocs)
	}
}

func BenchmarkBudgetOnCall(b *testing.B) {
	budget := NewBudget(0.1, 10)
	b.ReportAllocs()
	for b.Loop() {
		budget.onCall()
	}
}

// BenchmarkBudgetOnCallParallel counts calls from every core at once; stripes=1 shows
// what the striping saves.
func BenchmarkBudgetOnCallParallel(b *testing.B) {
	for _, bc := range []struct {
		name   string
		budget *Budget
	}{
		{"striped", NewBudget(0.1, 10)},
		{"stripes=1", newBudget(0.1, 10, 1)},
	} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					bc.budget.onCall()
				}
			})
		})
	}
}

func BenchmarkBudgetAllowRetry(b *testing.B) {
	budget := NewBudget(1e9, 0) // never refuses
	budget.onCall()
	b.ReportAllocs()
	for b.Loop() {
		budget.allowRetry()
	}
}
