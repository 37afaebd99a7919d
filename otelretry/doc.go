// Package otelretry traces and measures retried calls with OpenTelemetry.
//
// [Hooks] returns a [hooks.Hooks] value for a retrykit policy:
//
//	p := retry.MustNew(
//		retry.Name("db.fetch"),
//		retry.MaxTries(3),
//		retry.Hooks(otelretry.Hooks()),
//	)
//
// Like the OpenTelemetry contrib instrumentations, otelretry takes providers, never a
// Tracer or a Meter, and falls back to the global providers (read when Hooks is called).
// Its instrumentation scope is [ScopeName] at [Version]. Outside its tests it imports
// only the OpenTelemetry API, so the application chooses the SDK and the exporters.
//
// # Traces
//
// Each call gets a span, and each attempt a child span that is in the context passed to
// the function, so that the operation's own spans (otelhttp, otelgrpc, database
// drivers...) nest under the attempt that made them:
//
//	retry db.fetch        retry.operation.name, retry.max_attempts (when limited),
//	│                     retry.attempt.count, retry.outcome; status Error with error.type
//	│                     unless the outcome is success or canceled
//	├─ attempt db.fetch   retry.attempt.number=1, retry.attempt.timed_out=true,
//	│                     error.type=timeout, retry.delay=0.1; status Error
//	│   └─ (the operation's own spans)
//	└─ attempt db.fetch   retry.attempt.number=2; status Unset
//
// Both are INTERNAL spans. A call that succeeds after retries has status Unset: the
// errors it handled are not its error, as the semantic conventions advise; its failed
// attempts have status Error. A canceled call is not an error either. When fn panics,
// both spans get status Error with error.type "panic" and are ended before the panic goes
// on to the caller. No exception events are recorded.
//
// An attempt span is ended when the event after its OnAttemptEnd arrives (OnRetry, which
// adds retry.delay, or OnDone, which may report a panic that OnAttemptEnd could not see),
// with the end timestamp of the attempt itself (to within a microsecond), so its duration
// is the attempt's.
//
// A hedged call (retry's Hedge) overlaps its attempts, each with its own span under the
// call span: a hedge carries retry.attempt.hedged, an attempt canceled because the call
// ended while it was in flight carries retry.attempt.superseded (status Unset, and the
// attempt outcome "superseded" on retry.attempt.duration), and the histogram
// retry.call.hedges counts the hedges of every call of a hedging policy.
//
// [WithAttemptSpans](false) keeps one span per call, with a retry.backoff event per
// scheduled retry.
//
// Nothing but starting and ending spans happens for spans that do not record, and under a
// call span that does not record (an unsampled trace) no attempt spans are started.
//
// # Metrics
//
// Five histograms, whose counts also give the call, attempt and retry counters:
//
//	retry.call.duration     s          retry.operation.name, retry.outcome, error.type (failed calls)
//	retry.call.attempts     {attempt}  retry.operation.name, retry.outcome
//	retry.call.hedges       {hedge}    retry.operation.name, retry.outcome (calls of hedging policies only)
//	retry.attempt.duration  s          retry.operation.name, retry.attempt.outcome, error.type (failed attempts)
//	retry.backoff.duration  s          retry.operation.name
//
// Attempt numbers never become metric attributes. error.type values are bounded: each
// instrument records at most 1,000 distinct ones, and new ones after that as "_OTHER".
// Every data point's attributes are computed once and cached, so that recording a point
// whose attributes were seen before allocates nothing, and no metric work at all happens
// for instruments that are not enabled (no reader, or a view that drops them).
//
// # error.type
//
// See [WithErrorType] for the default: *retry.Error gives its outcome ("exhausted",
// "deadline", ...) through its ErrorType method, an attempt whose own timeout fired gives
// "timeout", other errors their type name.
//
// # Errors whose methods panic
//
// To describe an error otelretry calls its methods: Error for a span's status
// description; ErrorType, Unwrap, Timeout and Is (through errors.Is) for the default
// error.type; and the WithErrorType function, if any. A panic in any of them is
// recovered, as fmt recovers a panic in an Error method: the description becomes
// "(error message unavailable: its Error method panicked)", the error.type "_OTHER",
// every span is ended as usual, and the call goes on and returns what it would without
// otelretry. A panic of fn is not otelretry's to recover: it goes on to the caller once
// the spans are ended, as described above.
package otelretry
