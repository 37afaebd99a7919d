package retry

import (
	"errors"
	"time"
)

// PLACEHOLDER(issue 3): the full delay-hint contract lands here.

// WithRetryAfter attaches a server's delay hint d to err.
func WithRetryAfter(err error, d time.Duration) error { return &retryAfterError{err, d} }

type retryAfterError struct {
	err error
	d   time.Duration
}

func (e *retryAfterError) Error() string             { return e.err.Error() }
func (e *retryAfterError) Unwrap() error             { return e.err }
func (e *retryAfterError) RetryAfter() time.Duration { return e.d }

type retryAfterer interface {
	error
	RetryAfter() time.Duration
}

// retryAfterHint finds a delay hint in err's chain.
func retryAfterHint(err error) (time.Duration, bool) {
	if h, ok := errors.AsType[retryAfterer](err); ok {
		return h.RetryAfter(), true
	}
	return 0, false
}
