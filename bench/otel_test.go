package bench

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/retrykit/retrykit/otelretry"
	"github.com/retrykit/retrykit/retry"
)

// opName is the operation name of scenario D's OpenTelemetry rows: the policy's Name,
// and what the hand-written baseline puts where otelretry would.
const opName = "bench.op"

func otelretryNoop(tb testing.TB) (binder, func(testing.TB, int)) {
	h := otelretry.Hooks(
		otelretry.WithTracerProvider(tracenoop.NewTracerProvider()),
		otelretry.WithMeterProvider(metricnoop.NewMeterProvider()))
	return bindRetrykit(retrykitPolicy(tb, retry.Name(opName), retry.MaxTries(maxTries), retry.Hooks(h))), nil
}

func otelretrySDK(tb testing.TB) (binder, func(testing.TB, int)) {
	sdk := newSDK(tb)
	h := otelretry.Hooks(otelretry.WithTracerProvider(sdk.tp), otelretry.WithMeterProvider(sdk.mp))
	return bindRetrykit(retrykitPolicy(tb, retry.Name(opName), retry.MaxTries(maxTries), retry.Hooks(h))), sdk.verify
}

func handNoop(testing.TB) (binder, func(testing.TB, int)) {
	return newHand(tracenoop.NewTracerProvider(), metricnoop.NewMeterProvider()).bind, nil
}

func handSDK(tb testing.TB) (binder, func(testing.TB, int)) {
	sdk := newSDK(tb)
	return newHand(sdk.tp, sdk.mp).bind, sdk.verify
}

// sdk is the OpenTelemetry SDK as scenario D runs it: every span sampled and handed to
// a processor that drops it, every measurement aggregated for a manual reader. Nothing
// is exported, so what is measured is the instrumentation, not an exporter.
type sdk struct {
	tp     *sdktrace.TracerProvider
	mp     *sdkmetric.MeterProvider
	reader *sdkmetric.ManualReader
	spans  *dropProcessor
}

func newSDK(tb testing.TB) *sdk {
	s := &sdk{reader: sdkmetric.NewManualReader(), spans: &dropProcessor{}}
	s.tp = sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(s.spans))
	s.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(s.reader))
	tb.Cleanup(func() {
		if err := s.tp.Shutdown(context.Background()); err != nil {
			tb.Error(err)
		}
		if err := s.mp.Shutdown(context.Background()); err != nil {
			tb.Error(err)
		}
	})
	return s
}

// verify checks that calls first-try successes ended two spans each and were recorded
// once in each of the three histograms.
func (s *sdk) verify(tb testing.TB, calls int) {
	tb.Helper()
	if got, want := s.spans.ended.Load(), int64(2*calls); got != want {
		tb.Fatalf("%d calls ended %d spans, want %d", calls, got, want)
	}
	var rm metricdata.ResourceMetrics
	if err := s.reader.Collect(context.Background(), &rm); err != nil {
		tb.Fatal(err)
	}
	counts := map[string]uint64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			switch d := m.Data.(type) {
			case metricdata.Histogram[float64]:
				for _, dp := range d.DataPoints {
					counts[m.Name] += dp.Count
				}
			case metricdata.Histogram[int64]:
				for _, dp := range d.DataPoints {
					counts[m.Name] += dp.Count
				}
			}
		}
	}
	for _, name := range []string{"retry.call.duration", "retry.call.attempts", "retry.attempt.duration"} {
		if counts[name] != uint64(calls) {
			tb.Fatalf("%s counts %d data points for %d calls (all counts: %v)", name, counts[name], calls, counts)
		}
	}
}

// dropProcessor is a span processor that counts the spans that end and keeps none.
type dropProcessor struct{ ended atomic.Int64 }

func (*dropProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (p *dropProcessor) OnEnd(sdktrace.ReadOnlySpan)                   { p.ended.Add(1) }
func (*dropProcessor) Shutdown(context.Context) error                  { return nil }
func (*dropProcessor) ForceFlush(context.Context) error                { return nil }

// hand is the hand-written OpenTelemetry baseline of scenario D: one attempt of fn
// wrapped in what otelretry records for it, done directly. The OpenTelemetry calls are
// otelretry's for a first-try success: a call span and an attempt span (internal, their
// attributes set when recording, the attempt span ended at the time fn returned), then
// three histogram records, retry.attempt.duration, retry.call.duration and
// retry.call.attempts, with attribute sets computed once. It reads the clock twice, as
// the retry engine does for a call with hooks. The instruments are made the way otelretry
// makes them, with the same names, units and bucket advice, so that the SDK aggregates
// the same way.
type hand struct {
	tracer                        trace.Tracer
	callDuration, attemptDuration metric.Float64Histogram
	callAttempts                  metric.Int64Histogram

	name                     attribute.KeyValue
	callOK, callFailed       []metric.RecordOption
	attemptOK, attemptFailed []metric.RecordOption
}

var (
	durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}
	attemptsBuckets = []float64{1, 2, 3, 4, 5, 6, 8, 10, 15, 20}
	internalSpan    = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal)}
)

func newHand(tp trace.TracerProvider, mp metric.MeterProvider) *hand {
	m := mp.Meter("bench/hand")
	h := &hand{tracer: tp.Tracer("bench/hand")}
	// Errors cannot happen with these arguments; a nil instrument would fail the run.
	h.callDuration, _ = m.Float64Histogram("retry.call.duration", metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(durationBuckets...))
	h.callAttempts, _ = m.Int64Histogram("retry.call.attempts", metric.WithUnit("{attempt}"),
		metric.WithExplicitBucketBoundaries(attemptsBuckets...))
	h.attemptDuration, _ = m.Float64Histogram("retry.attempt.duration", metric.WithUnit("s"),
		metric.WithExplicitBucketBoundaries(durationBuckets...))

	name := otelretry.OperationNameKey.String(opName)
	set := func(kvs ...attribute.KeyValue) []metric.RecordOption {
		return []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(kvs...))}
	}
	h.name = name
	h.callOK = set(name, otelretry.OutcomeKey.String("success"))
	h.callFailed = set(name, otelretry.OutcomeKey.String("exhausted"), otelretry.ErrorTypeKey.String(otelretry.ErrorTypeOther))
	h.attemptOK = set(name, otelretry.AttemptOutcomeKey.String(otelretry.AttemptSuccess))
	h.attemptFailed = set(name, otelretry.AttemptOutcomeKey.String(otelretry.AttemptFailure), otelretry.ErrorTypeKey.String(otelretry.ErrorTypeOther))
	return h
}

func (h *hand) bind(ctx context.Context, attempt func(context.Context) error) func() error {
	return func() error { return h.do(ctx, attempt) }
}

// do makes one traced and measured attempt of fn. Span attributes are written inline,
// as hand-written instrumentation does (their values vary from call to call in general);
// metric attribute sets are computed once.
func (h *hand) do(ctx context.Context, fn func(context.Context) error) error {
	const number = 1 // the attempt's number, and the call's attempt count
	start := time.Now()
	ctx, call := h.tracer.Start(ctx, "retry "+opName, internalSpan...)
	if call.IsRecording() {
		call.SetAttributes(h.name, otelretry.MaxAttemptsKey.Int(maxTries))
	}
	actx, span := h.tracer.Start(ctx, "attempt "+opName, internalSpan...)
	if span.IsRecording() {
		span.SetAttributes(otelretry.AttemptNumberKey.Int(number))
	}
	err := fn(actx)
	end := time.Now()

	attemptOpts, callOpts, outcome := h.attemptOK, h.callOK, "success"
	if err != nil {
		attemptOpts, callOpts, outcome = h.attemptFailed, h.callFailed, "exhausted"
		span.SetStatus(codes.Error, err.Error())
		call.SetStatus(codes.Error, err.Error())
	}
	h.attemptDuration.Record(ctx, end.Sub(start).Seconds(), attemptOpts...)
	span.End(trace.WithTimestamp(end))
	if call.IsRecording() {
		call.SetAttributes(otelretry.AttemptCountKey.Int(number), otelretry.OutcomeKey.String(outcome))
	}
	call.End()
	h.callDuration.Record(ctx, end.Sub(start).Seconds(), callOpts...)
	h.callAttempts.Record(ctx, 1, callOpts...)
	return err
}
