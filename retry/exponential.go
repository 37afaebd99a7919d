package retry

import (
	"math"
	"strconv"
	"time"
)

// Exponential pauses base*factor^(attempt-1) after the failed attempt number attempt, and
// never more than max: with Exponential(100*time.Millisecond, 2, 10*time.Second) the
// pauses are 100ms, 200ms, 400ms, ... 6.4s, then 10s for ever. It is the "exponential"
// of the AWS Architecture Blog's "Exponential Backoff And Jitter"; wrap it in FullJitter
// or EqualJitter so that a fleet of callers does not retry in lockstep.
//
// base must be positive, factor at least 1 and finite, and max at least base: otherwise
// New fails. The computation saturates at max for any attempt number, without overflow.
func Exponential(base time.Duration, factor float64, max time.Duration) Backoff {
	return exponential{base: base, factor: factor, max: max}
}

type exponential struct {
	base   time.Duration
	factor float64
	max    time.Duration
}

func (e exponential) Delay(attempt int, _ time.Duration) time.Duration {
	if attempt <= 1 || e.factor == 1 {
		return min(e.base, e.max)
	}
	d := float64(e.base) * math.Pow(e.factor, float64(attempt-1))
	// The negated comparison also sends +Inf and NaN to max; below max the conversion
	// cannot overflow, since max is a Duration.
	if !(d < float64(e.max)) {
		return e.max
	}
	return time.Duration(d)
}

func (e exponential) String() string {
	return "Exponential(" + e.base.String() + ", " + strconv.FormatFloat(e.factor, 'g', -1, 64) +
		", " + e.max.String() + ")"
}

func (e exponential) check() error {
	switch {
	case e.base < 0:
		return errNegativeBase
	case e.base == 0:
		return errZeroBase
	case !(e.factor >= 1): // NaN too
		return errFactor
	case math.IsInf(e.factor, 1):
		return errInfiniteFactor
	case e.max < e.base:
		return errMaxBelowBase
	}
	return nil
}
