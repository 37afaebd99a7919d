package retry

import (
	"context"
	"errors"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/hooks"
)

// TestConcurrentCalls: one Policy serves many calls at once, each with its own state
// (aiomisc's bug #22 kept attempt counts across calls).
func TestConcurrentCalls(t *testing.T) {
	const ms = time.Millisecond
	synctest.Test(t, func(t *testing.T) {
		stats := hooks.NewStats()
		p := MustNew(MaxTries(4), AttemptTimeout(20*ms), Deadline(200*ms), Pause(5*ms), Hooks(stats.Hooks()))
		const calls = 200
		var wg sync.WaitGroup
		for i := range calls {
			fails := i % 5 // 0..3 failures then success; 4: exhausted
			wg.Go(func() {
				n := 0
				start := time.Now()
				err := p.Do(t.Context(), func(ctx context.Context) error {
					n++
					if n <= fails {
						return work(ctx, time.Duration(i%3)*ms, errValue)
					}
					return work(ctx, ms, nil)
				})
				wantN, wantErr := fails+1, fails < 4
				if fails == 4 {
					wantN = 4
				}
				if n != wantN || (err == nil) != wantErr {
					t.Errorf("call %d: %d attempts, err %v", i, n, err)
				}
				if fails == 4 && !errors.Is(err, ErrExhausted) {
					t.Errorf("call %d: err %v, want exhausted", i, err)
				}
				// Each failed attempt took i%3 ms and a 5ms pause.
				want := time.Duration(min(fails, 4))*(time.Duration(i%3)*ms+5*ms) + ms
				if fails == 4 {
					want = 4*time.Duration(i%3)*ms + 3*5*ms
				}
				if el := time.Since(start); el != want {
					t.Errorf("call %d took %v, want %v", i, el, want)
				}
			})
		}
		wg.Wait()
		s := stats.Snapshot()
		// Per 5 calls: 1+2+3+4+4 attempts, 4 successes, 1 exhausted.
		if s.Calls != calls || s.Attempts != calls/5*14 || s.Successes != calls/5*4 || s.Giveups != calls/5 {
			t.Errorf("stats %+v", s)
		}
	})
}

// TestAllocations: the hot paths allocate nothing, and the timed path no more than one
// context.WithTimeout.
func TestAllocations(t *testing.T) {
	ctx := context.Background()
	ok := func(context.Context) error { return nil }
	n := 0
	twoFailures := func(context.Context) error {
		if n++; n%3 != 0 {
			return errValue
		}
		return nil
	}
	withTimeout := testing.AllocsPerRun(100, func() {
		c, cancel := context.WithTimeout(ctx, time.Second)
		_ = ok(c)
		cancel()
	})
	tests := []struct {
		name string
		p    *Policy
		fn   func(context.Context) error
		max  float64
	}{
		{"first try", MustNew(), ok, 0},
		{"first try, empty hooks", MustNew(Hooks(hooks.Hooks{})), ok, 0},
		{"two failures, zero pause", MustNew(MaxTries(3)), twoFailures, 0},
		{"two failures, filters and GiveUp", MustNew(MaxTries(3), On(errValue), GiveUp(func(error) bool { return false })), twoFailures, 0},
		{"attempt timeout and deadline", MustNew(AttemptTimeout(time.Second), Deadline(time.Minute)), ok, withTimeout},
	}
	for _, tc := range tests {
		if got := testing.AllocsPerRun(100, func() {
			if err := tc.p.Do(ctx, tc.fn); err != nil {
				t.Fatal(err)
			}
		}); got > tc.max {
			t.Errorf("%s: %v allocs per call, want at most %v", tc.name, got, tc.max)
		}
	}
	i := 0
	if got := testing.AllocsPerRun(100, func() {
		i++
		v, err := DoValue(ctx, tests[0].p, func(context.Context) (int, error) { return i, nil })
		if v != i || err != nil {
			t.Fatal(v, err)
		}
	}); got != 0 {
		t.Errorf("DoValue with a closure: %v allocs per call, want 0", got)
	}
}
