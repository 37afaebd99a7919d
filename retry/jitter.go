package retry

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"time"
)

// randInt64N returns a uniform number in [0, n). It is math/rand/v2's top-level Int64N,
// which draws from a per-thread generator: no lock and no allocation on the hot path.
// Tests replace it with a seeded generator so that distribution tests are reproducible.
var randInt64N = rand.Int64N

// A Source draws the random numbers of a jittered backoff: Int64N returns a uniform
// number in [0, n) for n > 0. A *rand.Rand of math/rand/v2 is one. The jitters built
// without a Source (FullJitter, EqualJitter, Decorrelated) draw from math/rand/v2's
// per-thread generator, which needs no lock and cannot be seeded; give a Source to make
// the pauses reproducible, in a simulation or a test. A Source shared by concurrent
// calls must be safe for concurrent use (a *rand.Rand is not: guard it with a mutex).
type Source interface {
	Int64N(n int64) int64
}

// uniform returns a uniform duration in [lo, hi], both included, drawn from src (the
// package's generator when nil); lo when hi <= lo.
func uniform(src Source, lo, hi time.Duration) time.Duration {
	if hi <= lo {
		return lo
	}
	n := int64(hi - lo)
	if n < math.MaxInt64 {
		n++
	}
	if src != nil {
		return lo + time.Duration(src.Int64N(n))
	}
	return lo + time.Duration(randInt64N(n))
}

// FullJitter pauses a uniformly random time in [0, d], where d is b's pause: the "Full
// Jitter" of the AWS Architecture Blog's "Exponential Backoff And Jitter". In that
// post's simulation of contending clients it made the fewest calls of all strategies,
// which makes it the usual choice; its mean pause is d/2, and a pause may be very short.
//
//	retry.FullJitter(retry.Exponential(100*time.Millisecond, 2, 10*time.Second))
func FullJitter(b Backoff) Backoff { return fullJitter{b: b} }

// FullJitterFrom is FullJitter drawing its random numbers from src, for reproducible
// pauses. A nil src is an error from New.
func FullJitterFrom(src Source, b Backoff) Backoff { return fullJitter{b: b, src: src, sourced: true} }

type fullJitter struct {
	b       Backoff
	src     Source
	sourced bool // built with a Source, which must then not be nil
}

func (j fullJitter) Delay(attempt int, prev time.Duration) time.Duration {
	return uniform(j.src, 0, j.b.Delay(attempt, prev))
}

func (j fullJitter) String() string { return fmt.Sprintf("FullJitter(%v)", j.b) }

func (j fullJitter) check() error { return checkSourced(j.sourced, j.src, j.b) }

// EqualJitter pauses d/2 plus a uniformly random time in [0, d/2], where d is b's pause:
// the "Equal Jitter" of the AWS Architecture Blog's "Exponential Backoff And Jitter".
// It keeps at least half of b's pause, for a mean of 3d/4, at the price of less spread:
// in that post's simulation it made slightly more calls than FullJitter and took much
// longer. Use it where a floor under the pause matters, such as a limit that needs time
// to reset.
func EqualJitter(b Backoff) Backoff { return equalJitter{b: b} }

// EqualJitterFrom is EqualJitter drawing its random numbers from src, for reproducible
// pauses. A nil src is an error from New.
func EqualJitterFrom(src Source, b Backoff) Backoff {
	return equalJitter{b: b, src: src, sourced: true}
}

type equalJitter struct {
	b       Backoff
	src     Source
	sourced bool
}

func (j equalJitter) Delay(attempt int, prev time.Duration) time.Duration {
	d := j.b.Delay(attempt, prev)
	if d <= 0 {
		return 0
	}
	half := d / 2
	return uniform(j.src, half, d)
}

func (j equalJitter) String() string { return fmt.Sprintf("EqualJitter(%v)", j.b) }

func (j equalJitter) check() error { return checkSourced(j.sourced, j.src, j.b) }

// errNilSource is the error of a jitter built with a nil Source.
var errNilSource = errors.New("source must not be nil")

// checkSourced checks a jitter: its Source, if it was built with one, and the strategy
// it wraps.
func checkSourced(sourced bool, src Source, b Backoff) error {
	if sourced && src == nil {
		return errNilSource
	}
	return checkInner(b)
}

// checkInner checks the strategy a jitter wraps, so that a problem deep inside, such as
// FullJitter(Exponential(-time.Second, 2, time.Minute)), is reported by New.
func checkInner(b Backoff) error {
	if b == nil {
		return errNilBackoff
	}
	return checkBackoff(b)
}

// Decorrelated pauses base after the first failure, then min(max, a uniformly random time
// in [base, 3*prev]), where prev is the pause taken before the attempt that failed: the
// "Decorrelated Jitter" of the AWS Architecture Blog's "Exponential Backoff And Jitter".
// Each pause grows from the previous one rather than from the attempt number, so the
// pauses of callers that started together drift apart; the mean grows by about 1.5x per
// retry until max is reached. In that post's simulation it finished slightly sooner than
// FullJitter for slightly more calls. A delay hint longer than the pause (see WithRetryAfter)
// becomes the prev of the next pause, so the strategy continues from the server's pace.
//
// base must be positive and max at least base: otherwise New fails.
func Decorrelated(base, max time.Duration) Backoff {
	return decorrelated{base: base, max: max}
}

// DecorrelatedFrom is Decorrelated drawing its random numbers from src, for reproducible
// pauses. A nil src is an error from New.
func DecorrelatedFrom(src Source, base, max time.Duration) Backoff {
	return decorrelated{base: base, max: max, src: src, sourced: true}
}

type decorrelated struct {
	base, max time.Duration
	src       Source
	sourced   bool
}

func (d decorrelated) Delay(_ int, prev time.Duration) time.Duration {
	if prev <= 0 {
		return min(d.base, d.max)
	}
	hi := prev * 3
	if prev > (math.MaxInt64-1)/3 {
		hi = math.MaxInt64 - 1
	}
	return min(d.max, uniform(d.src, d.base, hi))
}

func (d decorrelated) String() string {
	return "Decorrelated(" + d.base.String() + ", " + d.max.String() + ")"
}

func (d decorrelated) check() error {
	switch {
	case d.sourced && d.src == nil:
		return errNilSource
	case d.base < 0:
		return errNegativeBase
	case d.base == 0:
		return errZeroBase
	case d.max < d.base:
		return errMaxBelowBase
	}
	return nil
}
