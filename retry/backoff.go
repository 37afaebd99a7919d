package retry

import "time"

// Backoff gives the pause after a failed attempt. Implementations are stateless and safe
// to share: everything they need arrives as arguments.
type Backoff interface {
	// Delay returns the pause after the failed attempt number attempt (1-based); prev is
	// the pause taken before that attempt (0 after the first). A negative result counts as 0.
	Delay(attempt int, prev time.Duration) time.Duration
}

// BackoffFunc adapts a function to Backoff.
type BackoffFunc func(attempt int, prev time.Duration) time.Duration

// Delay calls f.
func (f BackoffFunc) Delay(attempt int, prev time.Duration) time.Duration { return f(attempt, prev) }

// Constant pauses d after every failed attempt.
func Constant(d time.Duration) Backoff { return constant(d) }

type constant time.Duration

func (c constant) Delay(int, time.Duration) time.Duration { return time.Duration(c) }

// checkBackoff reports invalid parameters of a strategy built by this package.
// PLACEHOLDER(issue 3): the strategies' own checks land with them.
func checkBackoff(b Backoff) error {
	if c, ok := b.(interface{ check() error }); ok {
		return c.check()
	}
	return nil
}
