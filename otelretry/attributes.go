package otelretry

import "go.opentelemetry.io/otel/attribute"

// Attribute keys of the spans, span events and metric data points that otelretry
// records. The OpenTelemetry semantic conventions define no retry namespace, so the
// retry. prefix is otelretry's own; error.type is the semantic conventions' key.
const (
	// OperationNameKey is the operation's name, the policy's retry.Name option. On the
	// call span and every data point.
	OperationNameKey = attribute.Key("retry.operation.name")

	// MaxAttemptsKey is the policy's MaxTries. On the call span, only when it is limited.
	MaxAttemptsKey = attribute.Key("retry.max_attempts")

	// AttemptCountKey is the number of attempts the call started. On the call span, at
	// its end.
	AttemptCountKey = attribute.Key("retry.attempt.count")

	// OutcomeKey is why the call ended, the hooks.Outcome string ("success",
	// "exhausted", "deadline", "canceled", "gave_up", "permanent", "throttled",
	// "panicked"). On the call span and on the retry.call.* data points.
	OutcomeKey = attribute.Key("retry.outcome")

	// AttemptNumberKey is the 1-based number of an attempt. On attempt spans and
	// retry.backoff events; never on a data point (its cardinality is unbounded).
	AttemptNumberKey = attribute.Key("retry.attempt.number")

	// AttemptTimedOutKey is true on an attempt span whose own timeout fired (absent
	// otherwise).
	AttemptTimedOutKey = attribute.Key("retry.attempt.timed_out")

	// AttemptHedgedKey is true on the span of an attempt that a hedging policy started
	// because the attempt before it was slow (retry's Hedge; absent otherwise).
	AttemptHedgedKey = attribute.Key("retry.attempt.hedged")

	// AttemptSupersededKey is true on the span of an attempt that was still in flight
	// when its hedged call ended, and that the engine canceled (absent otherwise).
	AttemptSupersededKey = attribute.Key("retry.attempt.superseded")

	// AttemptOutcomeKey is how an attempt ended: AttemptSuccess, AttemptFailure,
	// AttemptTimeout or AttemptSuperseded. On the retry.attempt.duration data points.
	AttemptOutcomeKey = attribute.Key("retry.attempt.outcome")

	// DelayKey is the pause before the next attempt, in seconds. On the attempt span that
	// a retry follows, and on retry.backoff events.
	DelayKey = attribute.Key("retry.delay")

	// ErrorTypeKey is the semantic conventions' error.type: a low-cardinality name of
	// the error that failed an attempt or a call. See WithErrorType.
	ErrorTypeKey = attribute.Key("error.type")
)

// Values of AttemptOutcomeKey.
const (
	AttemptSuccess = "success" // fn returned nil
	AttemptFailure = "failure" // fn returned an error (or panicked)
	AttemptTimeout = "timeout" // the attempt's own timeout fired and fn returned an error
	// AttemptSuperseded: the attempt was in flight when its hedged call ended (another
	// attempt succeeded, or the call failed), and the engine canceled it.
	AttemptSuperseded = "superseded"
)

// Values of ErrorTypeKey that otelretry itself gives.
const (
	// ErrorTypeTimeout is the error.type of an attempt whose own timeout fired, and the
	// default one of errors that report a timeout.
	ErrorTypeTimeout = "timeout"
	// ErrorTypePanic is the error.type of the attempt and the call when fn panicked.
	ErrorTypePanic = "panic"
	// ErrorTypeOther is the semantic conventions' fallback: for an error with no better
	// name, and for new values once an instrument has seen the limit of distinct ones.
	ErrorTypeOther = "_OTHER"
)

// BackoffEventName is the name of the span event that stands for a scheduled retry on
// the call span when attempt spans are off (WithAttemptSpans(false)).
const BackoffEventName = "retry.backoff"
