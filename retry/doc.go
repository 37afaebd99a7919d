// Package retry calls a function again when it fails, under a reusable Policy that
// combines every rule of aiomisc's @asyncbackoff at once: a timeout per attempt
// (AttemptTimeout), a deadline for the whole call (Deadline), a pause between attempts
// (Pause, PauseWith), a maximum number of attempts (MaxTries), a filter of retryable
// errors (On, OnType, If) and a give-up predicate (GiveUp); plus backoff with jitter,
// server delay hints (WithRetryAfter) and retry budgets (Throttle).
//
//	var fetch = retry.MustNew(
//		retry.Name("db.fetch"),
//		retry.AttemptTimeout(100*time.Millisecond),
//		retry.Deadline(time.Second),
//		retry.Pause(100*time.Millisecond),
//	)
//
//	err := fetch.Do(ctx, func(ctx context.Context) error { return db.PingContext(ctx) })
//
// A Policy is immutable and keeps no state between calls: build it once and share it.
// Every attempt receives a context whose deadline is the earlier of the attempt's timeout
// and the call's deadline, so a function that honours its context stops in time. For one
// that does not, see Detach.
//
// # Errors
//
// Do returns nil or a *Error. Its Outcome tells why the call stopped, and errors.Is
// matches:
//
//	how the call ended                      errors.Is holds for
//	MaxTries reached                        ErrExhausted, the last attempt's error
//	  ... and that attempt timed out        also ErrAttemptTimeout, context.DeadlineExceeded
//	deadline (the option's or ctx's)        ErrDeadline, context.DeadlineExceeded, and the
//	                                        latest attempt error the deadline did not cause
//	ctx canceled                            context.Canceled, and the latest attempt error
//	                                        the cancellation did not cause
//	GiveUp said stop                        ErrGaveUp, the error GiveUp was given
//	error not retryable (filters, Permanent) ErrPermanent, the error
//	retry budget refused                    ErrThrottled, the last attempt's error
//
// An attempt's error counts as caused by the deadline or a cancellation when the attempt
// ended after the call's deadline passed or its context was canceled.
//
// # Differences from aiomisc's asyncbackoff
//
//   - Without On, OnType or If every error is retryable; asyncbackoff retries only the
//     exceptions it is given (and timeouts). Go code has no exception hierarchy to select
//     from by default, and a filter is one option away.
//   - A pause that would end at or after the deadline is not slept: the call ends at once
//     with outcome Deadline, where asyncbackoff sleeps until the deadline strikes.
//   - The deadline error keeps the earlier attempt error (as asyncbackoff does) and also
//     matches ErrDeadline and context.DeadlineExceeded, so callers need not guess.
//   - An attempt's context carries min(attempt timeout, call deadline); asyncbackoff
//     does not clamp the attempt timeout but cancels the attempt when the deadline hits,
//     which is the same thing seen from the function.
//   - Cancellation of the caller's context ends the call with context.Canceled and is
//     never retried, like asyncio.CancelledError.
//
// # Hedging
//
// HedgeAfter and HedgeAtQuantile make a policy hedge: when the latest attempt of a call
// is slow, another starts while it runs, and the first success ends the call, under the
// same limits, budget and hooks as retries. A hedging policy is called with Hedge or
// HedgeValue (Do panics on it: it never starts a goroutine); see Hedge for the rules.
//
// # Hooks
//
// The Hooks option attaches hooks.Hooks: callbacks for every step of a call (start,
// attempt, timeout, attempt end, retry, give-up, deadline, done) at no cost when unused.
// The otelretry module turns them into OpenTelemetry spans and metrics; hooks.Log and
// hooks.Stats give structured logs and counters.
package retry
