package otelretry

import (
	"sync/atomic"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// internalSpan is the start option of every span, in a slice made once so that passing
// it allocates nothing.
var internalSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}

// The attributes a span has from its start are set right after Start, and only on a
// recording span, from slices made once: passed whole to SetAttributes they cost no
// allocation, where a variadic list would cost one per span (an interface method's
// arguments escape). They are not start options: the tracer copies start options into
// its config before it samples, which would cost every unsampled call an allocation.

// maxStartAttrs bounds the cached start attributes of an operation's call spans (one
// slice per attempt limit; the policies of one name rarely have more than one) and of
// attempt spans (one per attempt number). Beyond, they are built per span.
const maxStartAttrs = 64

// callStartAttrs returns the start attributes of the operation's call span under a
// policy with attempt limit maxTries (0: unlimited).
func (op *operation) callStartAttrs(maxTries int) []attribute.KeyValue {
	if kv, ok := op.callStart.get(maxTries); ok {
		return kv
	}
	return op.callStart.getOrAdd(maxTries, maxStartAttrs, func() []attribute.KeyValue {
		if maxTries > 0 {
			return []attribute.KeyValue{op.nameAttr, MaxAttemptsKey.Int(maxTries)}
		}
		return []attribute.KeyValue{op.nameAttr}
	})
}

// attemptStarts holds the start attributes of attempt spans by attempt number - 1, made
// on first use.
var attemptStarts [maxStartAttrs]atomic.Pointer[[]attribute.KeyValue]

// attemptStartAttrs returns the start attributes of the span of attempt number n.
func attemptStartAttrs(n int) []attribute.KeyValue {
	if n < 1 || n > len(attemptStarts) {
		return []attribute.KeyValue{AttemptNumberKey.Int(n)}
	}
	p := &attemptStarts[n-1]
	if kv := p.Load(); kv != nil {
		return *kv
	}
	// Concurrent first uses may each make the slice; they are equal, any one will do.
	kv := []attribute.KeyValue{AttemptNumberKey.Int(n)}
	p.Store(&kv)
	return kv
}
