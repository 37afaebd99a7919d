package retry

import (
	"errors"
	"math"
	"math/rand/v2"
	"testing"
	"time"
)

// seedRand makes the jitters draw from a seeded generator until the test ends, so that
// a distribution test sees the same samples on every run. Tests that use it must not run
// in parallel with others that draw jitter.
func seedRand(t testing.TB, seed uint64) {
	t.Helper()
	old := randInt64N
	randInt64N = rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)).Int64N
	t.Cleanup(func() { randInt64N = old })
}

func TestConstantDelay(t *testing.T) {
	for _, d := range []time.Duration{0, time.Nanosecond, 250 * time.Millisecond, math.MaxInt64} {
		b := Constant(d)
		for _, attempt := range []int{1, 2, 10, math.MaxInt} {
			for _, prev := range []time.Duration{0, d, time.Hour} {
				if got := b.Delay(attempt, prev); got != d {
					t.Errorf("Constant(%v).Delay(%d, %v) = %v, want %v", d, attempt, prev, got, d)
				}
			}
		}
	}
}

func TestExponentialExact(t *testing.T) {
	const ms = time.Millisecond
	tests := []struct {
		name   string
		b      Backoff
		delays []time.Duration // for attempts 1, 2, 3, ...
	}{
		{"doubling to a cap", Exponential(100*ms, 2, 10*time.Second),
			[]time.Duration{100 * ms, 200 * ms, 400 * ms, 800 * ms, 1600 * ms, 3200 * ms, 6400 * ms, 10 * time.Second, 10 * time.Second}},
		{"factor 1.5", Exponential(time.Second, 1.5, time.Minute),
			[]time.Duration{time.Second, 1500 * ms, 2250 * ms, 3375 * ms, 5062500 * time.Microsecond}},
		{"factor 1 is constant", Exponential(300*ms, 1, time.Second),
			[]time.Duration{300 * ms, 300 * ms, 300 * ms}},
		{"max equal to base", Exponential(time.Second, 3, time.Second),
			[]time.Duration{time.Second, time.Second, time.Second}},
		{"cap reached exactly", Exponential(ms, 10, time.Second),
			[]time.Duration{ms, 10 * ms, 100 * ms, time.Second, time.Second}},
		{"powers of ten up to the largest Duration", Exponential(1, 10, math.MaxInt64),
			[]time.Duration{1, 10, 100, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11, 1e12, 1e13,
				1e14, 1e15, 1e16, 1e17, 1e18, math.MaxInt64, math.MaxInt64}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for i, want := range tt.delays {
				if got := tt.b.Delay(i+1, 0); got != want {
					t.Errorf("%v.Delay(%d, 0) = %v, want %v", tt.b, i+1, got, want)
				}
			}
		})
	}
}

func TestExponentialSaturatesWithoutOverflow(t *testing.T) {
	tests := []struct {
		b   Backoff
		max time.Duration
	}{
		{Exponential(time.Millisecond, 2, time.Minute), time.Minute},
		{Exponential(time.Millisecond, 1.0000001, time.Hour), time.Hour},
		{Exponential(time.Hour, 1e300, math.MaxInt64), math.MaxInt64},
		{Exponential(math.MaxInt64, 2, math.MaxInt64), math.MaxInt64},
	}
	for _, tt := range tests {
		prevDelay := time.Duration(0)
		for _, attempt := range []int{1, 2, 60, 63, 64, 1000, 1 << 20, math.MaxInt32, math.MaxInt} {
			got := tt.b.Delay(attempt, 0)
			if got <= 0 || got > tt.max || got < prevDelay {
				t.Errorf("%v.Delay(%d, 0) = %v: want a positive, non-decreasing pause of at most %v (previous %v)",
					tt.b, attempt, got, tt.max, prevDelay)
			}
			prevDelay = got
		}
		if got := tt.b.Delay(math.MaxInt, 0); got != tt.max {
			t.Errorf("%v.Delay(MaxInt, 0) = %v, want the cap %v", tt.b, got, tt.max)
		}
	}
}

func TestExponentialAttemptBelowOneIsTheFirst(t *testing.T) {
	b := Exponential(time.Second, 2, time.Minute)
	for _, attempt := range []int{1, 0, -1, math.MinInt} {
		if got := b.Delay(attempt, 0); got != time.Second {
			t.Errorf("Delay(%d, 0) = %v, want the base 1s", attempt, got)
		}
	}
}

// TestPauseWithChecks covers the parameter checks through New, as users meet them: the
// message names the strategy as written in Go and the problem, and wraps it.
func TestPauseWithChecks(t *testing.T) {
	const s = time.Second
	tests := []struct {
		b    Backoff
		want string // "" for a valid strategy
		is   error
	}{
		{Constant(0), "", nil},
		{Constant(s), "", nil},
		{Constant(-s), "retry: PauseWith(Constant(-1s)): pause must not be negative", errNegativePause},
		{Exponential(100*time.Millisecond, 2, 10*s), "", nil},
		{Exponential(s, 1, s), "", nil},
		{Exponential(-s, 2, 10*s), "retry: PauseWith(Exponential(-1s, 2, 10s)): base must not be negative", errNegativeBase},
		{Exponential(0, 2, 10*s), "retry: PauseWith(Exponential(0s, 2, 10s)): base must not be zero: the pause would never grow", errZeroBase},
		{Exponential(s, 0.5, 10*s), "retry: PauseWith(Exponential(1s, 0.5, 10s)): factor must be at least 1", errFactor},
		{Exponential(s, -2, 10*s), "retry: PauseWith(Exponential(1s, -2, 10s)): factor must be at least 1", errFactor},
		{Exponential(s, math.NaN(), 10*s), "retry: PauseWith(Exponential(1s, NaN, 10s)): factor must be at least 1", errFactor},
		{Exponential(s, math.Inf(1), 10*s), "retry: PauseWith(Exponential(1s, +Inf, 10s)): factor must be finite", errInfiniteFactor},
		{Exponential(s, 2, 500*time.Millisecond), "retry: PauseWith(Exponential(1s, 2, 500ms)): max must not be less than base", errMaxBelowBase},
		{Exponential(s, 2, -s), "retry: PauseWith(Exponential(1s, 2, -1s)): max must not be less than base", errMaxBelowBase},
		{FullJitter(Exponential(s, 2, 10*s)), "", nil},
		{FullJitter(Exponential(-s, 2, 10*s)), "retry: PauseWith(FullJitter(Exponential(-1s, 2, 10s))): base must not be negative", errNegativeBase},
		{EqualJitter(Constant(-s)), "retry: PauseWith(EqualJitter(Constant(-1s))): pause must not be negative", errNegativePause},
		{FullJitter(EqualJitter(Exponential(s, 0, 10*s))), "retry: PauseWith(FullJitter(EqualJitter(Exponential(1s, 0, 10s)))): factor must be at least 1", errFactor},
		{FullJitter(nil), "retry: PauseWith(FullJitter(<nil>)): backoff must not be nil", errNilBackoff},
		{EqualJitter(nil), "retry: PauseWith(EqualJitter(<nil>)): backoff must not be nil", errNilBackoff},
		{FullJitter(BackoffFunc(func(int, time.Duration) time.Duration { return s })), "", nil},
		{Decorrelated(s, time.Minute), "", nil},
		{Decorrelated(s, s), "", nil},
		{Decorrelated(-s, time.Minute), "retry: PauseWith(Decorrelated(-1s, 1m0s)): base must not be negative", errNegativeBase},
		{Decorrelated(0, time.Minute), "retry: PauseWith(Decorrelated(0s, 1m0s)): base must not be zero: the pause would never grow", errZeroBase},
		{Decorrelated(time.Minute, s), "retry: PauseWith(Decorrelated(1m0s, 1s)): max must not be less than base", errMaxBelowBase},
		{EqualJitter(Decorrelated(time.Minute, s)), "retry: PauseWith(EqualJitter(Decorrelated(1m0s, 1s))): max must not be less than base", errMaxBelowBase},
		{BackoffFunc(func(int, time.Duration) time.Duration { return -s }), "", nil},
	}
	for _, tt := range tests {
		p, err := New(PauseWith(tt.b))
		if tt.want == "" {
			if err != nil || p == nil {
				t.Errorf("New(PauseWith(%v)) = %v, %v; want a policy", tt.b, p, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("New(PauseWith(%v)) succeeded; want %q", tt.b, tt.want)
			continue
		}
		if err.Error() != tt.want {
			t.Errorf("New(PauseWith(%v)) error\n got %q\nwant %q", tt.b, err, tt.want)
		}
		if !errors.Is(err, tt.is) {
			t.Errorf("New(PauseWith(%v)) error %q does not wrap %q", tt.b, err, tt.is)
		}
		if p != nil {
			t.Errorf("New(PauseWith(%v)) returned a policy with its error", tt.b)
		}
	}
}

func TestBackoffStrings(t *testing.T) {
	f := BackoffFunc(func(int, time.Duration) time.Duration { return 0 })
	tests := []struct {
		b    Backoff
		want string
	}{
		{Constant(1500 * time.Millisecond), "Constant(1.5s)"},
		{Exponential(100*time.Millisecond, 2, 10*time.Second), "Exponential(100ms, 2, 10s)"},
		{Exponential(time.Second, 1.25, time.Hour), "Exponential(1s, 1.25, 1h0m0s)"},
		{FullJitter(Exponential(100*time.Millisecond, 2, 10*time.Second)), "FullJitter(Exponential(100ms, 2, 10s))"},
		{EqualJitter(Constant(time.Second)), "EqualJitter(Constant(1s))"},
		{Decorrelated(10*time.Millisecond, 5*time.Second), "Decorrelated(10ms, 5s)"},
		{f, "BackoffFunc(...)"},
		{FullJitter(f), "FullJitter(BackoffFunc(...))"},
	}
	for _, tt := range tests {
		if got := tt.b.(interface{ String() string }).String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
	}
}

func TestBackoffFuncGetsItsArguments(t *testing.T) {
	var gotAttempt int
	var gotPrev time.Duration
	b := BackoffFunc(func(attempt int, prev time.Duration) time.Duration {
		gotAttempt, gotPrev = attempt, prev
		return 42 * time.Millisecond
	})
	if d := b.Delay(7, 3*time.Second); d != 42*time.Millisecond || gotAttempt != 7 || gotPrev != 3*time.Second {
		t.Errorf("Delay(7, 3s) = %v with (%d, %v) passed on; want 42ms with (7, 3s)", d, gotAttempt, gotPrev)
	}
}

// sampleStats draws n pauses and returns their mean and the share that fell in each of
// len(bins) equal parts of [lo, hi]; it fails the test at the first pause outside [lo, hi].
func sampleStats(t *testing.T, n int, lo, hi time.Duration, bins []float64, draw func() time.Duration) (mean float64) {
	t.Helper()
	var sum float64
	counts := make([]int, len(bins))
	for i := 0; i < n; i++ {
		d := draw()
		if d < lo || d > hi {
			t.Fatalf("sample %d = %v, outside [%v, %v]", i, d, lo, hi)
		}
		sum += float64(d)
		if hi > lo {
			k := int(float64(d-lo) / float64(hi-lo) * float64(len(bins)))
			counts[min(k, len(bins)-1)]++
		}
	}
	for i := range bins {
		bins[i] = float64(counts[i]) / float64(n)
	}
	return sum / float64(n)
}

func within(got, want, tolerance float64) bool {
	return math.Abs(got-want) <= tolerance*math.Abs(want)
}

// TestJitterDistributions checks the AWS definitions with a fixed seed: every pause in
// its interval, the mean within 1% of the theoretical one, and each tenth of the interval
// holding a tenth of the pauses within 5% (that is, uniform).
func TestJitterDistributions(t *testing.T) {
	seedRand(t, 1)
	const n = 200_000
	const s = time.Second
	tests := []struct {
		name    string
		b       Backoff
		attempt int
		prev    time.Duration
		lo, hi  time.Duration
		mean    float64
	}{
		{"FullJitter(Constant)", FullJitter(Constant(s)), 1, 0, 0, s, 0.5 * float64(s)},
		{"FullJitter(Exponential) attempt 4", FullJitter(Exponential(100*time.Millisecond, 2, 10*s)), 4, 0,
			0, 800 * time.Millisecond, 400 * float64(time.Millisecond)},
		{"FullJitter(Exponential) capped", FullJitter(Exponential(100*time.Millisecond, 2, 10*s)), 30, 0,
			0, 10 * s, 5 * float64(s)},
		{"EqualJitter(Constant)", EqualJitter(Constant(s)), 1, 0, s / 2, s, 0.75 * float64(s)},
		{"EqualJitter(Exponential) attempt 3", EqualJitter(Exponential(time.Second, 3, time.Minute)), 3, 0,
			4500 * time.Millisecond, 9 * s, 6.75 * float64(s)},
		{"Decorrelated first pause", Decorrelated(100*time.Millisecond, 10*s), 1, 0,
			100 * time.Millisecond, 100 * time.Millisecond, 100 * float64(time.Millisecond)},
		{"Decorrelated from prev", Decorrelated(100*time.Millisecond, 10*s), 2, 100 * time.Millisecond,
			100 * time.Millisecond, 300 * time.Millisecond, 200 * float64(time.Millisecond)},
		{"Decorrelated from a longer prev", Decorrelated(100*time.Millisecond, 10*s), 5, 2 * s,
			100 * time.Millisecond, 6 * s, 3050 * float64(time.Millisecond)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bins := make([]float64, 10)
			mean := sampleStats(t, n, tt.lo, tt.hi, bins, func() time.Duration { return tt.b.Delay(tt.attempt, tt.prev) })
			if !within(mean, tt.mean, 0.01) {
				t.Errorf("mean %v, want %v within 1%%", time.Duration(mean), time.Duration(tt.mean))
			}
			if tt.hi == tt.lo {
				return
			}
			for i, share := range bins {
				if !within(share, 0.1, 0.05) {
					t.Errorf("tenth %d of [%v, %v] holds %.4f of the pauses, want 0.1 within 5%%", i, tt.lo, tt.hi, share)
				}
			}
		})
	}
}

// TestDecorrelatedCapped checks the mean of min(max, uniform in [base, 3*prev]) when max
// cuts the interval: the share above max collapses onto max.
func TestDecorrelatedCapped(t *testing.T) {
	seedRand(t, 2)
	const n = 200_000
	base, maxD, prev := 1*time.Second, 4*time.Second, 3*time.Second // interval [1s, 9s]
	b := Decorrelated(base, maxD)
	atMax := 0
	var sum float64
	for i := 0; i < n; i++ {
		d := b.Delay(3, prev)
		if d < base || d > maxD {
			t.Fatalf("Delay(3, %v) = %v, outside [%v, %v]", prev, d, base, maxD)
		}
		if d == maxD {
			atMax++
		}
		sum += float64(d)
	}
	// 3/8 of the interval lies below max (mean 2.5s), 5/8 above it (pauses of 4s).
	wantMean := 3.0/8*2.5*float64(time.Second) + 5.0/8*4*float64(time.Second)
	if mean := sum / n; !within(mean, wantMean, 0.01) {
		t.Errorf("mean %v, want %v within 1%%", time.Duration(mean), time.Duration(wantMean))
	}
	if share := float64(atMax) / n; !within(share, 5.0/8, 0.02) {
		t.Errorf("%.4f of the pauses were max, want 5/8", share)
	}
}

// TestDecorrelatedDependsOnPrev follows a chain of pauses as the engine does (each
// pause is the next prev): it starts at base, never leaves [base, max], grows from the
// previous pause and not from the attempt number, and reaches the cap.
func TestDecorrelatedDependsOnPrev(t *testing.T) {
	seedRand(t, 3)
	base, maxD := 10*time.Millisecond, 5*time.Second
	b := Decorrelated(base, maxD)
	for attempt := range 5 {
		if got := b.Delay(attempt+1, 0); got != base {
			t.Errorf("Delay(%d, 0) = %v, want base %v: prev 0 means the first failure", attempt+1, got, base)
		}
	}
	for _, prev := range []time.Duration{-time.Second, 0} {
		if got := b.Delay(2, prev); got != base {
			t.Errorf("Delay(2, %v) = %v, want base", prev, got)
		}
	}
	// The attempt number plays no part: the same prev gives the same distribution.
	for _, prev := range []time.Duration{base, 100 * time.Millisecond, time.Second, 3 * time.Second} {
		for _, attempt := range []int{2, 50} {
			var sum float64
			const n = 20_000
			for range n {
				d := b.Delay(attempt, prev)
				if d < base || d > min(maxD, 3*prev) {
					t.Fatalf("Delay(%d, %v) = %v outside [%v, %v]", attempt, prev, d, base, min(maxD, 3*prev))
				}
				sum += float64(d)
			}
			hi := 3 * prev
			want := (float64(base) + float64(hi)) / 2
			if hi > maxD {
				below := float64(maxD-base) / float64(hi-base)
				want = below*(float64(base)+float64(maxD))/2 + (1-below)*float64(maxD)
			}
			if mean := sum / n; !within(mean, want, 0.03) {
				t.Errorf("mean of Delay(%d, %v) = %v, want %v within 3%%", attempt, prev, time.Duration(mean), time.Duration(want))
			}
		}
	}
	// A chain of pauses reaches the cap and stays in bounds all the way.
	reached := false
	prev := time.Duration(0)
	for attempt := 1; attempt <= 200; attempt++ {
		d := b.Delay(attempt, prev)
		if d < base || d > maxD {
			t.Fatalf("pause %d = %v, outside [%v, %v]", attempt, d, base, maxD)
		}
		reached = reached || d == maxD
		prev = d
	}
	if !reached {
		t.Errorf("200 decorrelated pauses never reached the cap %v", maxD)
	}
	// A huge prev (from a server hint) neither overflows nor leaves the bounds.
	for range 1000 {
		if d := b.Delay(2, math.MaxInt64); d < base || d > maxD {
			t.Fatalf("Delay(2, MaxInt64) = %v, outside [%v, %v]", d, base, maxD)
		}
	}
}

// TestJitterBoundsProductionSource runs the strategies on math/rand/v2's own generator,
// as in production: bounds always hold and the means come out right (2% is more than ten
// standard deviations at this sample size).
func TestJitterBoundsProductionSource(t *testing.T) {
	const n = 100_000
	const s = time.Second
	tests := []struct {
		b      Backoff
		prev   time.Duration
		lo, hi time.Duration
		mean   float64
	}{
		{FullJitter(Constant(s)), 0, 0, s, 0.5 * float64(s)},
		{EqualJitter(Constant(s)), 0, s / 2, s, 0.75 * float64(s)},
		{Decorrelated(s, time.Hour), 2 * s, s, 6 * s, 3.5 * float64(s)},
	}
	for _, tt := range tests {
		mean := sampleStats(t, n, tt.lo, tt.hi, make([]float64, 1), func() time.Duration { return tt.b.Delay(3, tt.prev) })
		if !within(mean, tt.mean, 0.02) {
			t.Errorf("%v: mean %v, want %v within 2%%", tt.b, time.Duration(mean), time.Duration(tt.mean))
		}
	}
}

func TestJitterEdgeCases(t *testing.T) {
	neg := BackoffFunc(func(int, time.Duration) time.Duration { return -time.Second })
	tests := []struct {
		b      Backoff
		lo, hi time.Duration
	}{
		{FullJitter(Constant(0)), 0, 0},
		{EqualJitter(Constant(0)), 0, 0},
		{FullJitter(neg), 0, 0},
		{EqualJitter(neg), 0, 0},
		{FullJitter(Constant(1)), 0, 1},
		{EqualJitter(Constant(1)), 0, 1},
		{EqualJitter(Constant(3)), 1, 3},
		{FullJitter(Constant(math.MaxInt64)), 0, math.MaxInt64},
		{EqualJitter(Constant(math.MaxInt64)), math.MaxInt64 / 2, math.MaxInt64},
	}
	for _, tt := range tests {
		seen := map[time.Duration]bool{}
		for range 1000 {
			d := tt.b.Delay(1, 0)
			if d < tt.lo || d > tt.hi {
				t.Fatalf("%v.Delay = %v, outside [%v, %v]", tt.b, d, tt.lo, tt.hi)
			}
			seen[d] = true
		}
		// Both ends of a small interval are reachable: the interval is closed.
		if tt.hi-tt.lo <= 2 {
			for d := tt.lo; d <= tt.hi; d++ {
				if !seen[d] {
					t.Errorf("%v never paused %v in 1000 draws; want every value in [%v, %v]", tt.b, d, tt.lo, tt.hi)
				}
			}
		}
	}
}

func TestBackoffDelayAllocatesNothing(t *testing.T) {
	strategies := []Backoff{
		Constant(time.Second),
		Exponential(100*time.Millisecond, 2, 10*time.Second),
		FullJitter(Exponential(100*time.Millisecond, 2, 10*time.Second)),
		EqualJitter(Exponential(100*time.Millisecond, 2, 10*time.Second)),
		Decorrelated(100*time.Millisecond, 10*time.Second),
	}
	for _, b := range strategies {
		attempt := 0
		if allocs := testing.AllocsPerRun(1000, func() {
			attempt++
			_ = b.Delay(attempt%20+1, time.Second)
		}); allocs != 0 {
			t.Errorf("%v.Delay: %v allocs per call, want 0", b, allocs)
		}
	}
}

// TestBackoffConcurrentUse shares each strategy among goroutines (run with -race): they
// keep no state.
func TestBackoffConcurrentUse(t *testing.T) {
	b := Decorrelated(time.Millisecond, time.Second)
	fj := FullJitter(Exponential(time.Millisecond, 2, time.Second))
	done := make(chan struct{})
	for range 4 {
		go func() {
			defer func() { done <- struct{}{} }()
			prev := time.Duration(0)
			for i := 1; i <= 1000; i++ {
				prev = b.Delay(i, prev)
				if d := fj.Delay(i, prev); d < 0 || d > time.Second {
					t.Errorf("FullJitter pause %v out of bounds", d)
					return
				}
			}
		}()
	}
	for range 4 {
		<-done
	}
}

func BenchmarkBackoffDelay(b *testing.B) {
	strategies := []struct {
		name string
		b    Backoff
	}{
		{"Constant", Constant(time.Second)},
		{"Exponential", Exponential(100*time.Millisecond, 2, 10*time.Second)},
		{"FullJitter", FullJitter(Exponential(100*time.Millisecond, 2, 10*time.Second))},
		{"EqualJitter", EqualJitter(Exponential(100*time.Millisecond, 2, 10*time.Second))},
		{"Decorrelated", Decorrelated(100*time.Millisecond, 10*time.Second)},
	}
	for _, s := range strategies {
		b.Run(s.name, func(b *testing.B) {
			b.ReportAllocs()
			prev := time.Duration(0)
			attempt := 0
			for b.Loop() {
				attempt = attempt%8 + 1
				prev = s.b.Delay(attempt, prev)
			}
		})
	}
}
