package otelretry

import (
	"sync/atomic"

	"github.com/retrykit/retrykit/hooks"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/trace"
)

// internalSpan is the start option of every span, in a slice made once so that passing
// it allocates nothing.
var internalSpan = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}

// The attributes a span has from its start are set right after Start, and only on a
// recording span, from slices made once; so are the closing attributes of a call that
// did not fail. Passed whole to SetAttributes they cost no allocation, where a variadic
// list would cost one per span (an interface method's arguments escape). The start
// attributes are not start options: the tracer copies start options into its config
// before it samples, which would cost every unsampled call an allocation.

// maxCachedAttrs bounds the cached attribute slices: of an operation's call spans (one
// per attempt limit; the policies of one name rarely have more than one), of attempt
// spans (one per attempt number) and of closing call spans (per outcome, one per attempt
// count). Beyond, they are built per span.
const maxCachedAttrs = 64

// callStartAttrs returns the start attributes of the operation's call span under a
// policy with attempt limit maxTries (0: unlimited).
func (op *operation) callStartAttrs(maxTries int) []attribute.KeyValue {
	if kv, ok := op.callStart.get(maxTries); ok {
		return kv
	}
	return op.callStart.getOrAdd(maxTries, maxCachedAttrs, func() []attribute.KeyValue {
		if maxTries > 0 {
			return []attribute.KeyValue{op.nameAttr, MaxAttemptsKey.Int(maxTries)}
		}
		return []attribute.KeyValue{op.nameAttr}
	})
}

// attemptStarts holds the start attributes of attempt spans by attempt number - 1, made
// on first use.
var attemptStarts [maxCachedAttrs]atomic.Pointer[[]attribute.KeyValue]

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

// callEnds holds the closing attributes of call spans without error.type (the outcomes
// success and canceled), by outcome and attempt count, made on first use.
var callEnds [numOutcomes][maxCachedAttrs]atomic.Pointer[[]attribute.KeyValue]

// callEndAttrs returns the closing attributes of a call span that made n attempts and
// ended with outcome o, which must not have failed (see failed): a call that failed also
// gets error.type.
func callEndAttrs(n int, o hooks.Outcome) []attribute.KeyValue {
	if n < 0 || n >= maxCachedAttrs || int(o) >= numOutcomes {
		return []attribute.KeyValue{AttemptCountKey.Int(n), outcomeAttr(o)}
	}
	p := &callEnds[o][n]
	if kv := p.Load(); kv != nil {
		return *kv
	}
	kv := []attribute.KeyValue{AttemptCountKey.Int(n), outcomeAttr(o)}
	p.Store(&kv)
	return kv
}
