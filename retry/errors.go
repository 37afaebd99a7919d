package retry

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/retrykit/retrykit/hooks"
)

// Sentinel errors: every error that Do returns matches exactly one of these (or
// context.Canceled) with errors.Is, telling why the call stopped.
var (
	// ErrExhausted: the attempt that reached MaxTries failed.
	ErrExhausted = errors.New("retry: attempts exhausted")
	// ErrDeadline: the call's deadline passed (the Deadline option's or the caller's
	// context's), or the next pause would have ended after it. An error that matches it
	// also matches context.DeadlineExceeded.
	ErrDeadline = errors.New("retry: deadline exceeded")
	// ErrAttemptTimeout: the last attempt's own timeout fired (set with AttemptTimeout).
	// An error that matches it also matches context.DeadlineExceeded.
	ErrAttemptTimeout = errors.New("retry: attempt timed out")
	// ErrGaveUp: the GiveUp predicate said stop.
	ErrGaveUp = errors.New("retry: gave up")
	// ErrPermanent: the error was not retryable: the filters (On, OnType, If) did not
	// match it, or it was marked with Permanent.
	ErrPermanent = errors.New("retry: permanent error")
	// ErrThrottled: a retry budget (Throttle) refused the retry.
	ErrThrottled = errors.New("retry: retry throttled by budget")
)

// Error is the error that Do returns for every failure. It matches, with errors.Is and
// errors.As, the sentinel for its Outcome and the attempts' errors (see the table in the
// package documentation).
type Error struct {
	// Outcome tells why the call stopped; never hooks.Success or hooks.Panicked.
	Outcome hooks.Outcome
	// Attempts is the number of attempts started.
	Attempts int
	// Last is what the last attempt returned, even when the deadline or a cancellation
	// caused it; nil when no attempt ran.
	Last error

	name     string
	timedOut bool  // the last attempt's own timeout fired
	earlier  error // deadline and cancellation: the most recent attempt error they did not cause
}

// Error describes the outcome, the number of attempts and the error behind it, e.g.
// "retry db.fetch: exhausted after 3 attempts: connection refused".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString("retry")
	if e.name != "" {
		b.WriteByte(' ')
		b.WriteString(e.name)
	}
	b.WriteString(": ")
	switch e.Outcome {
	case hooks.Exhausted:
		b.WriteString("exhausted")
	case hooks.Deadline:
		b.WriteString("deadline exceeded")
	case hooks.Canceled:
		b.WriteString("canceled")
	case hooks.GaveUp:
		b.WriteString("gave up")
	case hooks.Permanent:
		b.WriteString("permanent error")
	case hooks.Throttled:
		b.WriteString("retry throttled")
	default:
		b.WriteString(e.Outcome.String())
	}
	b.WriteString(" after ")
	b.WriteString(strconv.Itoa(e.Attempts))
	if e.Attempts == 1 {
		b.WriteString(" attempt")
	} else {
		b.WriteString(" attempts")
	}
	cause := e.Last
	if e.Outcome == hooks.Deadline || e.Outcome == hooks.Canceled {
		cause = e.earlier
	}
	if e.timedOut && e.Outcome == hooks.Exhausted {
		b.WriteString(" (last attempt timed out)")
	}
	if cause != nil {
		b.WriteString(": ")
		b.WriteString(cause.Error())
	}
	return b.String()
}

// Unwrap returns the errors the call's failure matches: the sentinel of its outcome, the
// context error where one applies, and the attempt error behind it.
func (e *Error) Unwrap() []error {
	errs := make([]error, 0, 4)
	switch e.Outcome {
	case hooks.Exhausted:
		errs = append(errs, ErrExhausted)
		if e.timedOut {
			errs = append(errs, ErrAttemptTimeout, context.DeadlineExceeded)
		}
		errs = append(errs, e.Last)
	case hooks.Deadline:
		errs = append(errs, ErrDeadline, context.DeadlineExceeded, e.earlier)
	case hooks.Canceled:
		errs = append(errs, context.Canceled, e.earlier)
	case hooks.GaveUp:
		errs = append(errs, ErrGaveUp, e.Last)
	case hooks.Permanent:
		errs = append(errs, ErrPermanent, e.Last)
	case hooks.Throttled:
		errs = append(errs, ErrThrottled, e.Last)
	}
	out := errs[:0]
	for _, err := range errs {
		if err != nil {
			out = append(out, err)
		}
	}
	return out
}

// ErrorType returns a low-cardinality name for the failure, its outcome's name
// ("exhausted", "deadline", ...): the method OpenTelemetry's semantic-convention helpers
// look for to fill error.type.
func (e *Error) ErrorType() string { return e.Outcome.String() }

// Permanent marks err as never retryable, whatever the filters say: Do returns at once
// with an error that matches ErrPermanent and err. The mark is found through any wrapping
// (fmt.Errorf("%w", retry.Permanent(err))). Permanent(nil) is nil.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err: err}
}

type permanentError struct{ err error }

func (e *permanentError) Error() string        { return e.err.Error() }
func (e *permanentError) Unwrap() error        { return e.err }
func (e *permanentError) Is(target error) bool { return target == ErrPermanent }

// ErrorType names the marked error for telemetry (OpenTelemetry's error.type), so that
// marking an error permanent does not hide what it was: the ErrorType of an error in its
// chain if one has the method, else the type of the innermost error of the chain.
func (e *permanentError) ErrorType() string { return wrappedErrorType(e.err) }

// wrappedErrorType is the telemetry type of an error that one of the engine's wrappers
// (Permanent, WithRetryAfter) carries: the ErrorType of an error in its chain if one has
// the method, else the type of the innermost error of the chain. The wrappers' own types
// are unexported and say nothing about the failure.
func wrappedErrorType(err error) string {
	if et, ok := errors.AsType[interface {
		error
		ErrorType() string
	}](err); ok {
		return et.ErrorType()
	}
	root := err
	for {
		next := errors.Unwrap(root)
		if next == nil {
			return fmt.Sprintf("%T", root)
		}
		root = next
	}
}
