package otelretry

import (
	"sync"
	"sync/atomic"

	"github.com/retrykit/retrykit/hooks"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/metric/noop"
)

// Metric instrument names (see the package documentation).
const (
	callDurationName    = "retry.call.duration"
	callAttemptsName    = "retry.call.attempts"
	callHedgesName      = "retry.call.hedges"
	attemptDurationName = "retry.attempt.duration"
	backoffDurationName = "retry.backoff.duration"
)

// Bucket advice. Durations span a fast cache call to a two-minute batch job; attempts
// per call are dense where most calls are (1 to 6) and sparse beyond.
var (
	durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}
	attemptsBuckets = []float64{1, 2, 3, 4, 5, 6, 8, 10, 15, 20}
	hedgesBuckets   = []float64{0, 1, 2, 3, 4, 5}
	backoffBuckets  = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
)

// Bounds of the caches, so that a stream of distinct names or error types cannot grow
// memory without end.
const (
	maxErrorTypes = 1000 // distinct error.type values per instrument; then "_OTHER"
	maxOperations = 1000 // cached operation names (and formatted span names); then built per call
)

// instruments are the five histograms of one Hooks value, created once.
type instruments struct {
	callDuration    metric.Float64Histogram
	callAttempts    metric.Int64Histogram
	callHedges      metric.Int64Histogram
	attemptDuration metric.Float64Histogram
	backoffDuration metric.Float64Histogram

	// The error.type values each instrument with that attribute has admitted.
	callTypes, attemptTypes limiter
}

func newInstruments(mp metric.MeterProvider) *instruments {
	m := mp.Meter(ScopeName, metric.WithInstrumentationVersion(Version()))
	in := &instruments{}
	var err error
	in.callDuration, err = m.Float64Histogram(callDurationName,
		metric.WithUnit("s"),
		metric.WithDescription("Duration of retried calls, attempts and pauses included."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		otel.Handle(err)
	}
	if in.callDuration == nil {
		in.callDuration = noop.Float64Histogram{}
	}
	in.callAttempts, err = m.Int64Histogram(callAttemptsName,
		metric.WithUnit("{attempt}"),
		metric.WithDescription("Attempts per retried call."),
		metric.WithExplicitBucketBoundaries(attemptsBuckets...))
	if err != nil {
		otel.Handle(err)
	}
	if in.callAttempts == nil {
		in.callAttempts = noop.Int64Histogram{}
	}
	in.callHedges, err = m.Int64Histogram(callHedgesName,
		metric.WithUnit("{hedge}"),
		metric.WithDescription("Hedged attempts per call of a hedging policy."),
		metric.WithExplicitBucketBoundaries(hedgesBuckets...))
	if err != nil {
		otel.Handle(err)
	}
	if in.callHedges == nil {
		in.callHedges = noop.Int64Histogram{}
	}
	in.attemptDuration, err = m.Float64Histogram(attemptDurationName,
		metric.WithUnit("s"),
		metric.WithDescription("Duration of single attempts of retried calls."),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	if err != nil {
		otel.Handle(err)
	}
	if in.attemptDuration == nil {
		in.attemptDuration = noop.Float64Histogram{}
	}
	in.backoffDuration, err = m.Float64Histogram(backoffDurationName,
		metric.WithUnit("s"),
		metric.WithDescription("Pauses scheduled between attempts of retried calls."),
		metric.WithExplicitBucketBoundaries(backoffBuckets...))
	if err != nil {
		otel.Handle(err)
	}
	if in.backoffDuration == nil {
		in.backoffDuration = noop.Float64Histogram{}
	}
	return in
}

// noop reports whether the instruments are all the OpenTelemetry API's no-op ones, which
// never record.
func (in *instruments) noop() bool {
	_, a := in.callDuration.(noop.Float64Histogram)
	_, b := in.callAttempts.(noop.Int64Histogram)
	_, c := in.attemptDuration.(noop.Float64Histogram)
	_, d := in.backoffDuration.(noop.Float64Histogram)
	_, e := in.callHedges.(noop.Int64Histogram)
	return a && b && c && d && e
}

// limiter admits at most maxErrorTypes distinct values; it is consulted only when a
// record option cache misses, so its mutex is off the hot path.
type limiter struct {
	mu   sync.Mutex
	seen map[string]struct{}
}

// admit returns v if v was seen before or there is room for it, else "_OTHER".
func (l *limiter) admit(v string) string {
	l.mu.Lock()
	defer l.mu.Unlock()
	if _, ok := l.seen[v]; ok {
		return v
	}
	if len(l.seen) >= maxErrorTypes {
		return ErrorTypeOther
	}
	if l.seen == nil {
		l.seen = make(map[string]struct{})
	}
	l.seen[v] = struct{}{}
	return v
}

// cowMap is a read-mostly cache: a read is an atomic load and a map lookup, with no lock
// and no allocation; a write copies the map. Entries are only ever added.
type cowMap[K comparable, V any] struct {
	m  atomic.Pointer[map[K]V]
	mu sync.Mutex
}

func (c *cowMap[K, V]) get(k K) (V, bool) {
	if m := c.m.Load(); m != nil {
		v, ok := (*m)[k]
		return v, ok
	}
	var zero V
	return zero, false
}

// getOrAdd returns k's value, adding newValue() when k is missing. When the map already holds
// limit entries (limit <= 0: no limit) the new value is returned but not kept.
func (c *cowMap[K, V]) getOrAdd(k K, limit int, newValue func() V) V {
	if v, ok := c.get(k); ok {
		return v
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.m.Load()
	var n int
	if old != nil {
		if v, ok := (*old)[k]; ok {
			return v
		}
		n = len(*old)
	}
	v := newValue()
	if limit > 0 && n >= limit {
		return v
	}
	m := make(map[K]V, n+1)
	if old != nil {
		for k, v := range *old {
			m[k] = v
		}
	}
	m[k] = v
	c.m.Store(&m)
	return v
}

// recordOptions is one data point's precomputed attributes, ready to pass to Record with
// no allocation.
type recordOptions []metric.RecordOption

func newRecordOptions(static []attribute.KeyValue, attrs ...attribute.KeyValue) recordOptions {
	// Static attributes first: on a key clash attribute.NewSet keeps the last value, so
	// otelretry's own win.
	kvs := make([]attribute.KeyValue, 0, len(static)+len(attrs))
	kvs = append(kvs, static...)
	kvs = append(kvs, attrs...)
	return recordOptions{metric.WithAttributeSet(attribute.NewSet(kvs...))}
}

// numOutcomes is the number of hooks.Outcome values that get precomputed attributes.
const numOutcomes = int(hooks.Panicked) + 1

// outcomeAttr returns the retry.outcome attribute of o.
func outcomeAttr(o hooks.Outcome) attribute.KeyValue {
	if int(o) < numOutcomes {
		return outcomeAttrs[o]
	}
	return OutcomeKey.String(o.String())
}

var outcomeAttrs = func() (a [numOutcomes]attribute.KeyValue) {
	for i := range a {
		a[i] = OutcomeKey.String(hooks.Outcome(i).String())
	}
	return a
}()

// failed reports whether a call with outcome o failed: every outcome but success and
// canceled, which the semantic conventions do not count as an error.
func failed(o hooks.Outcome) bool { return o != hooks.Success && o != hooks.Canceled }

// callKey identifies the attributes of a failed call's data point.
type callKey struct {
	outcome   hooks.Outcome
	errorType string
}

// operation holds what is precomputed for one operation name: its span names and the
// record options of its data points.
type operation struct {
	nameAttr attribute.KeyValue
	names    spanNameSet // the default span names

	static []attribute.KeyValue // WithMetricAttributes

	callAttempts      [numOutcomes]recordOptions // retry.call.attempts, by outcome
	callOK            [numOutcomes]recordOptions // retry.call.duration of outcomes without error.type
	attemptSuccess    recordOptions
	attemptTimeout    recordOptions
	attemptSuperseded recordOptions
	backoff           recordOptions

	callStart     cowMap[int, []attribute.KeyValue] // the call span's start attributes, by attempt limit
	callFailed    cowMap[callKey, recordOptions]    // retry.call.duration of failed calls
	attemptFailed cowMap[string, recordOptions]     // retry.attempt.duration of failed attempts, by error.type
}

func newOperation(name string, static []attribute.KeyValue) *operation {
	op := &operation{nameAttr: OperationNameKey.String(name), static: static}
	op.names = *newSpanNameSet(name)
	for i := range numOutcomes {
		o := hooks.Outcome(i)
		op.callAttempts[i] = newRecordOptions(static, op.nameAttr, outcomeAttrs[i])
		if !failed(o) {
			op.callOK[i] = op.callAttempts[i] // the same attributes
		}
	}
	op.attemptSuccess = newRecordOptions(static, op.nameAttr, AttemptOutcomeKey.String(AttemptSuccess))
	op.attemptTimeout = newRecordOptions(static, op.nameAttr, AttemptOutcomeKey.String(AttemptTimeout), ErrorTypeKey.String(ErrorTypeTimeout))
	op.attemptSuperseded = newRecordOptions(static, op.nameAttr, AttemptOutcomeKey.String(AttemptSuperseded))
	op.backoff = newRecordOptions(static, op.nameAttr)
	return op
}

// spanNameSet is the names of a call's spans.
type spanNameSet struct{ call, attempt string }

// newSpanNameSet returns the span names for a formatted name.
func newSpanNameSet(name string) *spanNameSet {
	if name == "" {
		return &spanNameSet{"retry", "attempt"}
	}
	return &spanNameSet{"retry " + name, "attempt " + name}
}

// callAttemptsOptions returns the record options of retry.call.attempts, and of
// retry.call.hedges, which has the same attributes.
func (op *operation) callAttemptsOptions(o hooks.Outcome) recordOptions {
	if int(o) < numOutcomes {
		return op.callAttempts[o]
	}
	return newRecordOptions(op.static, op.nameAttr, outcomeAttr(o))
}

// callDurationOptions returns the record options of retry.call.duration; errorType is
// used for failed outcomes only.
func (op *operation) callDurationOptions(in *instruments, o hooks.Outcome, errorType string) recordOptions {
	if !failed(o) {
		if int(o) < numOutcomes {
			return op.callOK[o]
		}
		return newRecordOptions(op.static, op.nameAttr, outcomeAttr(o))
	}
	if opts, ok := op.callFailed.get(callKey{o, errorType}); ok {
		return opts
	}
	// A miss: the value counts against the instrument's bound before it gets an entry.
	et := in.callTypes.admit(errorType)
	return op.callFailed.getOrAdd(callKey{o, et}, 0, func() recordOptions {
		return newRecordOptions(op.static, op.nameAttr, outcomeAttr(o), ErrorTypeKey.String(et))
	})
}

// attemptFailedOptions returns the record options of a failed attempt's
// retry.attempt.duration.
func (op *operation) attemptFailedOptions(in *instruments, errorType string) recordOptions {
	if opts, ok := op.attemptFailed.get(errorType); ok {
		return opts
	}
	et := in.attemptTypes.admit(errorType)
	return op.attemptFailed.getOrAdd(et, 0, func() recordOptions {
		return newRecordOptions(op.static, op.nameAttr, AttemptOutcomeKey.String(AttemptFailure), ErrorTypeKey.String(et))
	})
}
