package retry

import (
	"errors"
	"time"
)

// Backoff gives the pause after a failed attempt. Implementations are stateless and safe
// to share: everything they need arrives as arguments.
//
// The strategies of this package follow the AWS Architecture Blog's "Exponential Backoff
// And Jitter": [Constant], [Exponential], and the jittered [FullJitter], [EqualJitter]
// and [Decorrelated]. Their parameters are checked when a policy is built: [PauseWith]
// with a negative duration, a factor below 1 or a max below base makes [New] fail.
type Backoff interface {
	// Delay returns the pause after the failed attempt number attempt (1-based); prev is
	// the pause taken before that attempt (0 after the first). A negative result counts as 0.
	Delay(attempt int, prev time.Duration) time.Duration
}

// BackoffFunc adapts a function to Backoff. The function must be safe for concurrent use:
// a policy calls it from every goroutine that runs one of its calls.
type BackoffFunc func(attempt int, prev time.Duration) time.Duration

// Delay calls f.
func (f BackoffFunc) Delay(attempt int, prev time.Duration) time.Duration { return f(attempt, prev) }

// String returns "BackoffFunc(...)": a function has no value worth printing, and error
// messages that name the strategy should stay readable.
func (f BackoffFunc) String() string { return "BackoffFunc(...)" }

// Constant pauses d after every failed attempt. Pause(d) is PauseWith(Constant(d)); a
// negative d is an error at New.
func Constant(d time.Duration) Backoff { return constant(d) }

type constant time.Duration

func (c constant) Delay(int, time.Duration) time.Duration { return time.Duration(c) }

func (c constant) String() string { return "Constant(" + time.Duration(c).String() + ")" }

func (c constant) check() error {
	if c < 0 {
		return errNegativePause
	}
	return nil
}

// The problems checkBackoff reports. New wraps them as
// "retry: PauseWith(<strategy>): <problem>", where the strategy prints as written in Go.
var (
	errNegativePause  = errors.New("pause must not be negative")
	errNegativeBase   = errors.New("base must not be negative")
	errZeroBase       = errors.New("base must not be zero: the pause would never grow")
	errFactor         = errors.New("factor must be at least 1")
	errInfiniteFactor = errors.New("factor must be finite")
	errMaxBelowBase   = errors.New("max must not be less than base")
	errNilBackoff     = errors.New("backoff must not be nil")
)

// checker is implemented by the strategies of this package: check reports invalid
// parameters, looking through jitters to the strategy they wrap.
type checker interface{ check() error }

// checkBackoff reports invalid parameters of a strategy built by this package, nil for
// any other Backoff (its author is responsible for it).
func checkBackoff(b Backoff) error {
	if c, ok := b.(checker); ok {
		return c.check()
	}
	return nil
}
