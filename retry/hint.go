package retry

import (
	"sync"
	"time"
)

// WithRetryAfter attaches a server's delay hint d to err: the pause before the next
// attempt is then at least d (max(d, the backoff's pause)). As any pause, it is never
// slept past the call's deadline: a hint that would end at or after it ends the call at
// once with outcome Deadline, so that a caller with a deadline is not held up by a server
// asking for more time than the call has left.
//
// The result's message is err's, and it matches whatever err matches with errors.Is and
// errors.As. WithRetryAfter(nil, d) is nil. A negative d counts as 0.
//
// Any error type can carry a hint without this function: after a failed attempt the
// engine takes the first error in the attempt error's tree, searched as errors.As
// searches it (Unwrap and As methods), that has a method
//
//	RetryAfter() time.Duration
//
// The outermost hint wins, so a caller can override a hint found deeper in the chain.
// With a Decorrelated backoff the pause taken, hint included, is the prev of the next
// pause. For HTTP responses, package retryhttp reads the Retry-After header.
func WithRetryAfter(err error, d time.Duration) error {
	if err == nil {
		return nil
	}
	return &retryAfterError{err: err, d: d}
}

type retryAfterError struct {
	err error
	d   time.Duration
}

func (e *retryAfterError) Error() string { return e.err.Error() }

func (e *retryAfterError) Unwrap() error { return e.err }

// RetryAfter returns the hint: the shortest pause the server asked for.
func (e *retryAfterError) RetryAfter() time.Duration { return e.d }

// ErrorType names the error that carries the hint for telemetry (OpenTelemetry's
// error.type), as Permanent's wrapper does: the ErrorType of an error in its chain, else
// the type of the innermost error, never the wrapper's own type.
func (e *retryAfterError) ErrorType() string { return wrappedErrorType(e.err) }

// retryAfterer is the delay-hint method contract.
type retryAfterer interface {
	error
	RetryAfter() time.Duration
}

// classify walks err's tree once, after every failed attempt, for the two things the
// engine must know of an error beyond its filters: whether it carries the Permanent mark
// (what errors.Is(err, ErrPermanent) reports), and the delay hint of the first error that
// has a RetryAfter() time.Duration method, in the order of errors.As: err, then a
// depth-first walk of what Unwrap returns, asking each As method on the way. A negative
// hint counts as 0; a permanent error's hint is not looked for, since no retry follows.
//
// One walk instead of errors.Is and errors.AsType halves the cost of a failed attempt,
// and allocates nothing: errors.AsType allocates a target for every error with an As
// method that it meets, here the targets come from a pool.
func classify(err error) (permanent bool, hint time.Duration, hasHint bool) {
	for err != nil {
		if err == ErrPermanent {
			return true, 0, false
		}
		if x, ok := err.(interface{ Is(error) bool }); ok && x.Is(ErrPermanent) {
			return true, 0, false
		}
		if !hasHint {
			if h, ok := err.(retryAfterer); ok {
				hint, hasHint = max(h.RetryAfter(), 0), true
			} else if x, ok := err.(interface{ As(any) bool }); ok {
				if d, ok := asHint(x); ok {
					hint, hasHint = max(d, 0), true
				}
			}
		}
		switch x := err.(type) {
		case interface{ Unwrap() error }:
			err = x.Unwrap()
		case interface{ Unwrap() []error }:
			for _, e := range x.Unwrap() {
				p, h, ok := classify(e)
				if p {
					return true, 0, false
				}
				if ok && !hasHint {
					hint, hasHint = h, true
				}
			}
			return false, hint, hasHint
		default:
			return false, hint, hasHint
		}
	}
	return false, hint, hasHint
}

// hintTargets holds the targets given to As methods: a *retryAfterer, as errors.AsType
// would pass.
var hintTargets = sync.Pool{New: func() any { return new(retryAfterer) }}

// asHint asks an As method for a delay hint.
func asHint(x interface{ As(any) bool }) (time.Duration, bool) {
	target := hintTargets.Get().(*retryAfterer)
	ok := x.As(target)
	h := *target
	*target = nil // the pool must not keep the error alive
	hintTargets.Put(target)
	if !ok || h == nil {
		return 0, false
	}
	return h.RetryAfter(), true
}
