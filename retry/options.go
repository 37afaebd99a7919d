package retry

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/retrykit/retrykit/hooks"
)

// An Option configures a Policy. Options apply in order; for the options that set one
// value (everything but the filters, GiveUp and Hooks) the last one given wins.
type Option func(*Policy) error

// optionError builds New's error for an invalid option: it names the option as written in
// Go and its value as %v prints it, e.g. "retry: AttemptTimeout(-100ms): must not be negative".
func optionError(option string, value any, problem string) error {
	return fmt.Errorf("retry: %s(%v): %s", option, value, problem)
}

// Name sets the operation name that hooks see in hooks.Call.Name (span names, the
// retry.operation.name metric attribute). Keep it low-cardinality: a name per kind of
// operation, not per request.
func Name(name string) Option {
	return func(p *Policy) error {
		p.name = name
		return nil
	}
}

// AttemptTimeout limits each attempt to d: the attempt's context has the deadline
// min(attempt start + d, call deadline). An attempt whose own timeout fires is retried,
// whatever fn returned (unless it returned a Permanent error); one that returns nil is a
// success even after its timeout.
//
// By default an attempt is cooperative: Do waits for fn to return after its context
// expired. See Detach for functions that ignore their context.
//
// d == 0 is allowed and gives every attempt an already expired context: fn is still
// called. d < 0 is an error.
func AttemptTimeout(d time.Duration) Option {
	return func(p *Policy) error {
		if d < 0 {
			return optionError("AttemptTimeout", d, "must not be negative")
		}
		p.attemptTimeout, p.hasAttemptTimeout = d, true
		return nil
	}
}

// Deadline limits the whole call, attempts and pauses, to d from the moment Do is called.
// The call deadline is the earlier of this and the caller's context deadline. No attempt
// and no pause starts once it has passed, and a pause that would end at or after it is
// not slept: the call ends at once with outcome Deadline.
//
// d == 0 makes every call fail at once with ErrDeadline, fn never called. d < 0 is an
// error.
func Deadline(d time.Duration) Option {
	return func(p *Policy) error {
		if d < 0 {
			return optionError("Deadline", d, "must not be negative")
		}
		p.deadline, p.hasDeadline = d, true
		return nil
	}
}

// Pause sets a constant pause of d between attempts: it is PauseWith(Constant(d)). The
// default is no pause. A zero pause creates no timer. d < 0 is an error.
func Pause(d time.Duration) Option {
	return func(p *Policy) error {
		if d < 0 {
			return optionError("Pause", d, "must not be negative")
		}
		if d == 0 {
			p.backoff = nil
			return nil
		}
		p.backoff = Constant(d)
		return nil
	}
}

// PauseWith sets the strategy that chooses the pause after each failed attempt. A server
// delay hint (see WithRetryAfter) longer than the strategy's pause wins over it. A nil
// strategy, or one built with invalid parameters, is an error.
func PauseWith(b Backoff) Option {
	return func(p *Policy) error {
		if b == nil {
			return optionError("PauseWith", b, "backoff must not be nil")
		}
		if err := checkBackoff(b); err != nil {
			return fmt.Errorf("retry: PauseWith(%v): %w", b, err)
		}
		p.backoff = b
		return nil
	}
}

// MaxTries limits the attempts of a call to n, the first one included. The default is
// no limit: a call then ends only on success, its deadline, a cancellation, GiveUp, a
// non-retryable error or a budget's refusal. n < 1 is an error.
func MaxTries(n int) Option {
	return func(p *Policy) error {
		if n < 1 {
			return optionError("MaxTries", n, "must be at least 1")
		}
		p.maxTries = n
		return nil
	}
}

// On retries only the errors that match one of targets with errors.Is. On, OnType and If
// add up to one filter: an error is retryable when any of them matches it. With none of
// them every error is retryable (unlike aiomisc's asyncbackoff, whose default retries
// only timeouts). An attempt's own timeout is retryable whatever the filter says.
//
// On() without targets, or a nil target, is an error.
func On(targets ...error) Option {
	return func(p *Policy) error {
		if len(targets) == 0 {
			return errors.New("retry: On(): needs at least one target error")
		}
		for _, t := range targets {
			if t == nil {
				return optionError("On", targetsString(targets), "target must not be nil")
			}
		}
		p.onTargets = append(p.onTargets, targets...)
		return nil
	}
}

func targetsString(targets []error) string {
	var b strings.Builder
	for i, t := range targets {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprint(&b, t)
	}
	return b.String()
}

// OnType retries only the errors that have an E in their chain (errors.As). It adds to
// the filter of On and If.
func OnType[E error]() Option {
	return func(p *Policy) error {
		p.filters = append(p.filters, func(err error) bool {
			_, ok := errors.AsType[E](err)
			return ok
		})
		return nil
	}
}

// If retries only the errors for which retryable returns true. It adds to the filter of
// On and OnType. A nil function is an error.
func If(retryable func(error) bool) Option {
	return func(p *Policy) error {
		if retryable == nil {
			return optionError("If", "nil", "function must not be nil")
		}
		p.filters = append(p.filters, retryable)
		return nil
	}
}

// GiveUp stops retrying when stop returns true for a retryable attempt error: Do then
// returns an error that matches ErrGaveUp and that error. stop is not consulted after the
// attempt that reached MaxTries (as in aiomisc). Several GiveUp options add up: any one
// saying stop stops. A nil function is an error.
//
// Such a call ends with Outcome GaveUp. Hooks see it through hooks.Hooks.OnGiveup, which
// also fires for the other failures but the deadline (Exhausted, Canceled, Permanent,
// Throttled): only the outcome GaveUp means that stop said so.
func GiveUp(stop func(error) bool) Option {
	return func(p *Policy) error {
		if stop == nil {
			return optionError("GiveUp", "nil", "function must not be nil")
		}
		p.giveUps = append(p.giveUps, stop)
		return nil
	}
}

// Hooks adds lifecycle hooks. Several Hooks options, and several values in one, are
// composed in the order given (hooks.Compose).
func Hooks(hs ...hooks.Hooks) Option {
	return func(p *Policy) error {
		p.hookList = append(p.hookList, hs...)
		return nil
	}
}

// Throttle makes every call of the policy draw its retries from b, a budget that any
// number of policies may share. A refused retry ends the call with outcome Throttled and
// an error that matches ErrThrottled and the last attempt's error. The first attempt of a
// call is never refused. A nil budget is an error.
func Throttle(b *Budget) Option {
	return func(p *Policy) error {
		if b == nil {
			return optionError("Throttle", "nil", "budget must not be nil")
		}
		if err := b.check(); err != nil {
			return fmt.Errorf("retry: Throttle(%v): %w", b, err)
		}
		p.budget = b
		return nil
	}
}
