package otelretry_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/otelretry"
	"github.com/retrykit/retrykit/retry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// dropProcessor is a span processor that drops every span: the SDK records the spans
// and the benchmark measures that, not an exporter.
type dropProcessor struct{}

func (dropProcessor) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (dropProcessor) OnEnd(sdktrace.ReadOnlySpan)                     {}
func (dropProcessor) Shutdown(context.Context) error                  { return nil }
func (dropProcessor) ForceFlush(context.Context) error                { return nil }

// providers returns the noop providers, or the SDK ones: always sampling, spans dropped,
// a manual reader.
func providers(b testing.TB, sdk bool) (trace.TracerProvider, metric.MeterProvider) {
	if !sdk {
		return tracenoop.NewTracerProvider(), metricnoop.NewMeterProvider()
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.AlwaysSample()), sdktrace.WithSpanProcessor(dropProcessor{}))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewManualReader()))
	b.Cleanup(func() {
		_ = tp.Shutdown(context.Background())
		_ = mp.Shutdown(context.Background())
	})
	return tp, mp
}

// baseline performs by hand what otelretry does for a first-try success, the lean way a
// careful engineer would write it: two spans with the same names, kinds and attributes
// (those known at the start passed as start options made once, the closing ones in a
// slice made once), the attempt span ended right after fn returned with no end-time
// option, and three histogram records with precomputed attribute sets. It is the cost to
// compare otelretry's with.
type baseline struct {
	tracer                        trace.Tracer
	callDuration, attemptDuration metric.Float64Histogram
	callAttempts                  metric.Int64Histogram
	callOpts, attemptOpts         []metric.RecordOption
	callStart, attemptStart       []trace.SpanStartOption
	callEnd                       []attribute.KeyValue
}

func newBaseline(tp trace.TracerProvider, mp metric.MeterProvider) *baseline {
	m := mp.Meter("baseline")
	bl := &baseline{tracer: tp.Tracer("baseline")}
	bl.callDuration, _ = m.Float64Histogram("retry.call.duration", metric.WithUnit("s"))
	bl.attemptDuration, _ = m.Float64Histogram("retry.attempt.duration", metric.WithUnit("s"))
	bl.callAttempts, _ = m.Int64Histogram("retry.call.attempts", metric.WithUnit("{attempt}"))
	opName := otelretry.OperationNameKey.String("op")
	outcome := otelretry.OutcomeKey.String("success")
	internal := trace.WithSpanKind(trace.SpanKindInternal)
	bl.callStart = []trace.SpanStartOption{internal, trace.WithAttributes(opName, otelretry.MaxAttemptsKey.Int(3))}
	bl.attemptStart = []trace.SpanStartOption{internal, trace.WithAttributes(otelretry.AttemptNumberKey.Int(1))}
	bl.callEnd = []attribute.KeyValue{otelretry.AttemptCountKey.Int(1), outcome}
	callSet := attribute.NewSet(opName, outcome)
	attemptSet := attribute.NewSet(opName, otelretry.AttemptOutcomeKey.String("success"))
	bl.callOpts = []metric.RecordOption{metric.WithAttributeSet(callSet)}
	bl.attemptOpts = []metric.RecordOption{metric.WithAttributeSet(attemptSet)}
	return bl
}

// do is a first-try success of fn, which must succeed.
func (bl *baseline) do(ctx context.Context, fn func(context.Context) error) error {
	start := time.Now()
	ctx, call := bl.tracer.Start(ctx, "retry op", bl.callStart...)
	actx, attempt := bl.tracer.Start(ctx, "attempt op", bl.attemptStart...)
	err := fn(actx)
	end := time.Now()
	attempt.End()
	bl.attemptDuration.Record(actx, end.Sub(start).Seconds(), bl.attemptOpts...)
	call.SetAttributes(bl.callEnd...)
	call.End()
	bl.callDuration.Record(ctx, end.Sub(start).Seconds(), bl.callOpts...)
	bl.callAttempts.Record(ctx, 1, bl.callOpts...)
	return err
}

// BenchmarkFirstTry compares a first-try success through retry.Do with otelretry's hooks
// to the hand-written baseline, with noop providers and with the SDK.
func BenchmarkFirstTry(b *testing.B) {
	ctx := context.Background()
	ok := func(context.Context) error { return nil }
	for _, sdk := range []bool{false, true} {
		name := "providers=noop"
		if sdk {
			name = "providers=sdk"
		}
		b.Run(name+"/impl=baseline", func(b *testing.B) {
			bl := newBaseline(providers(b, sdk))
			b.ReportAllocs()
			for b.Loop() {
				if err := bl.do(ctx, ok); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(name+"/impl=otelretry", func(b *testing.B) {
			tp, mp := providers(b, sdk)
			p := retry.MustNew(retry.Name("op"), retry.MaxTries(3),
				retry.Hooks(otelretry.Hooks(otelretry.WithTracerProvider(tp), otelretry.WithMeterProvider(mp))))
			b.ReportAllocs()
			for b.Loop() {
				if err := p.Do(ctx, ok); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkRetries is a call whose first two attempts fail, with the SDK.
func BenchmarkRetries(b *testing.B) {
	ctx := context.Background()
	tp, mp := providers(b, true)
	p := retry.MustNew(retry.Name("op"), retry.MaxTries(3),
		retry.Hooks(otelretry.Hooks(otelretry.WithTracerProvider(tp), otelretry.WithMeterProvider(mp))))
	n := 0
	fn := func(context.Context) error {
		n++
		if n%3 != 0 {
			return errBoom
		}
		return nil
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := p.Do(ctx, fn); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRecords measures the metric records of the hooks alone, with known
// attributes: two attempts (one failed), a retry and the call's two points, with the
// SDK meter and a noop tracer. They allocate nothing.
func BenchmarkRecords(b *testing.B) {
	tp, _ := providers(b, false)
	_, mp := providers(b, true)
	h := otelretry.Hooks(otelretry.WithTracerProvider(tp), otelretry.WithMeterProvider(mp))
	c := hooks.Call{Name: "op"}
	ctx := h.OnStart(context.Background(), c)
	failed := hooks.Attempt{Call: c, Number: 1, Duration: time.Millisecond, Err: errBoom}
	succeeded := hooks.Attempt{Call: c, Number: 2, Duration: time.Millisecond}
	done := hooks.Result{Call: c, Outcome: hooks.Success, Attempts: 2, Duration: 3 * time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		h.OnAttemptEnd(ctx, failed)
		h.OnRetry(ctx, failed, time.Millisecond)
		h.OnAttemptEnd(ctx, succeeded)
		h.OnDone(ctx, done)
	}
}

// BenchmarkFirstTryPaired runs the SDK baseline and otelretry in alternating rounds of 32
// calls and reports the median over the rounds of the ratio of their times, each one's
// median time per call, and each one's allocations per call: on a machine shared with
// other work both sides of a round see the same load, and the median drops the rounds
// that a preemption hit.
func BenchmarkFirstTryPaired(b *testing.B) {
	ctx := context.Background()
	ok := func(context.Context) error { return nil }
	bl := newBaseline(providers(b, true))
	tp, mp := providers(b, true)
	p := retry.MustNew(retry.Name("op"), retry.MaxTries(3),
		retry.Hooks(otelretry.Hooks(otelretry.WithTracerProvider(tp), otelretry.WithMeterProvider(mp))))
	sides := [2]func(){
		func() { _ = bl.do(ctx, ok) },
		func() { _ = p.Do(ctx, ok) },
	}
	var allocs [2]float64
	for i, f := range sides {
		allocs[i] = testing.AllocsPerRun(100, f)
	}
	const batch = 32
	var rounds [2][]time.Duration
	b.ReportAllocs()
	for round := 0; b.Loop(); round++ {
		// Each side goes first in every other round.
		for j := range sides {
			i := (j + round) % 2
			t0 := time.Now()
			for range batch {
				sides[i]()
			}
			rounds[i] = append(rounds[i], time.Since(t0))
		}
	}
	ratios := make([]float64, len(rounds[0]))
	for i := range ratios {
		ratios[i] = float64(rounds[1][i]) / float64(rounds[0][i])
	}
	b.ReportMetric(median(ratios), "ratio")
	b.ReportMetric(float64(median(rounds[0]))/batch, "baseline-ns/call")
	b.ReportMetric(float64(median(rounds[1]))/batch, "otelretry-ns/call")
	b.ReportMetric(allocs[0], "baseline-allocs/call")
	b.ReportMetric(allocs[1], "otelretry-allocs/call")
}

// median returns the median of xs, which it sorts.
func median[T float64 | time.Duration](xs []T) T {
	slices.Sort(xs)
	return xs[len(xs)/2]
}
