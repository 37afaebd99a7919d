package bench

import (
	"context"
	"slices"
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
// wrapped in what otelretry records for a first-try success, done directly and the lean
// way a careful engineer would write it. A call span and an attempt span (internal,
// their attributes known at start passed as start options made once, the call's
// closing attributes in a slice made once), the attempt span ended right after fn
// returned with no end-time option, since its end is now; then three histogram records,
// retry.attempt.duration, retry.call.duration and retry.call.attempts, with attribute
// sets computed once. It reads the clock twice, as the retry engine does for a call with
// hooks. The instruments are made the way otelretry makes them, with the same names,
// units and bucket advice, so that the SDK aggregates the same way.
type hand struct {
	tracer                        trace.Tracer
	callDuration, attemptDuration metric.Float64Histogram
	callAttempts                  metric.Int64Histogram

	callStart, attemptStart  []trace.SpanStartOption
	callOKEnd, callFailedEnd []attribute.KeyValue
	callOK, callFailed       []metric.RecordOption
	attemptOK, attemptFailed []metric.RecordOption
}

var (
	durationBuckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}
	attemptsBuckets = []float64{1, 2, 3, 4, 5, 6, 8, 10, 15, 20}
)

func newHand(tp trace.TracerProvider, mp metric.MeterProvider) *hand {
	const number = 1 // the attempt's number, and the call's attempt count
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
	h.callStart = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(name, otelretry.MaxAttemptsKey.Int(maxTries))}
	h.attemptStart = []trace.SpanStartOption{trace.WithSpanKind(trace.SpanKindInternal),
		trace.WithAttributes(otelretry.AttemptNumberKey.Int(number))}
	h.callOKEnd = []attribute.KeyValue{otelretry.AttemptCountKey.Int(number), otelretry.OutcomeKey.String("success")}
	h.callFailedEnd = []attribute.KeyValue{otelretry.AttemptCountKey.Int(number), otelretry.OutcomeKey.String("exhausted"),
		otelretry.ErrorTypeKey.String(otelretry.ErrorTypeOther)}

	set := func(kvs ...attribute.KeyValue) []metric.RecordOption {
		return []metric.RecordOption{metric.WithAttributeSet(attribute.NewSet(kvs...))}
	}
	h.callOK = set(name, otelretry.OutcomeKey.String("success"))
	h.callFailed = set(name, otelretry.OutcomeKey.String("exhausted"), otelretry.ErrorTypeKey.String(otelretry.ErrorTypeOther))
	h.attemptOK = set(name, otelretry.AttemptOutcomeKey.String(otelretry.AttemptSuccess))
	h.attemptFailed = set(name, otelretry.AttemptOutcomeKey.String(otelretry.AttemptFailure), otelretry.ErrorTypeKey.String(otelretry.ErrorTypeOther))
	return h
}

func (h *hand) bind(ctx context.Context, attempt func(context.Context) error) func() error {
	return func() error { return h.do(ctx, attempt) }
}

// do makes one traced and measured attempt of fn.
func (h *hand) do(ctx context.Context, fn func(context.Context) error) error {
	start := time.Now()
	ctx, call := h.tracer.Start(ctx, "retry "+opName, h.callStart...)
	actx, span := h.tracer.Start(ctx, "attempt "+opName, h.attemptStart...)
	err := fn(actx)
	end := time.Now()

	attemptOpts, callOpts, callEnd := h.attemptOK, h.callOK, h.callOKEnd
	if err != nil {
		attemptOpts, callOpts, callEnd = h.attemptFailed, h.callFailed, h.callFailedEnd
		span.SetAttributes(callEnd[2]) // error.type
		span.SetStatus(codes.Error, err.Error())
	}
	span.End()
	h.attemptDuration.Record(ctx, end.Sub(start).Seconds(), attemptOpts...)
	call.SetAttributes(callEnd...)
	if err != nil {
		call.SetStatus(codes.Error, err.Error())
	}
	call.End()
	h.callDuration.Record(ctx, end.Sub(start).Seconds(), callOpts...)
	h.callAttempts.Record(ctx, 1, callOpts...)
	return err
}

// BenchmarkD_OtelPaired runs each otelretry row of scenario D and its hand-written twin
// in alternating rounds of 32 calls, and reports the median over the rounds of the ratio
// of their times (otelretry over by hand), each one's median time per call, and each
// one's allocations per call. On a machine shared with other work both sides of a round
// see the same load, and the median drops the rounds that a preemption hit, which the
// separate rows of BenchmarkD_Hooks cannot.
func BenchmarkD_OtelPaired(b *testing.B) {
	pairs := []struct {
		name       string
		otel, hand func(testing.TB) (binder, func(testing.TB, int))
	}{
		{"noop", otelretryNoop, handNoop},
		{"sdk", otelretrySDK, handSDK},
	}
	for _, p := range pairs {
		b.Run("providers="+p.name, func(b *testing.B) {
			sides := [2]struct {
				w      work
				op     func() error
				check  func(testing.TB, int)
				rounds []time.Duration
				allocs float64
			}{}
			for i, build := range []func(testing.TB) (binder, func(testing.TB, int)){p.otel, p.hand} {
				s := &sides[i]
				var bind binder
				bind, s.check = build(b)
				s.op = bind(context.Background(), s.w.attemptFor(scenarioA))
				// Exact counts, outside the timed loop; these calls count for the checks below.
				s.allocs = testing.AllocsPerRun(100, func() { s.w.call(s.op) })
			}
			const batch = 32
			b.ReportAllocs()
			for round := 0; b.Loop(); round++ {
				// Each side goes first in every other round, so that neither always runs
				// on the caches the other left.
				for j := range sides {
					s := &sides[(j+round)%2]
					t0 := time.Now()
					for range batch {
						s.w.call(s.op)
					}
					s.rounds = append(s.rounds, time.Since(t0))
				}
			}
			for i := range sides {
				s := &sides[i]
				s.w.verify(b, scenarioA, s.w.calls, time.Time{}, time.Time{})
				if s.check != nil {
					s.check(b, s.w.calls)
				}
			}
			otel, hand := sides[0].rounds, sides[1].rounds
			ratios := make([]float64, len(otel))
			for i := range otel {
				ratios[i] = float64(otel[i]) / float64(hand[i])
			}
			b.ReportMetric(medianOf(ratios), "ratio")
			b.ReportMetric(float64(medianOf(otel))/batch, "otelretry-ns/call")
			b.ReportMetric(float64(medianOf(hand))/batch, "by-hand-ns/call")
			b.ReportMetric(sides[0].allocs, "otelretry-allocs/call")
			b.ReportMetric(sides[1].allocs, "by-hand-allocs/call")
		})
	}
}

// medianOf returns the median of xs, which it sorts.
func medianOf[T float64 | time.Duration](xs []T) T {
	slices.Sort(xs)
	return xs[len(xs)/2]
}
