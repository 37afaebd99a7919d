package otelretry_test

import (
	"context"
	"errors"
	"testing"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/otelretry"
	"github.com/retrykit/retrykit/retry"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

var errTransient = errors.New("transient")

// twoFailures drives a call whose first two attempts fail and whose third succeeds.
func twoFailures(h hooks.Hooks) {
	drive(h, "op", []error{errTransient, errBoom, nil}, hooks.Success, nil)
}

func firstTry(h hooks.Hooks) { drive(h, "op", []error{nil}, hooks.Success, nil) }

// spanAllocs is what the tracer itself allocates for n spans started and ended.
func spanAllocs(tracer trace.Tracer, n int) float64 {
	ctx := context.Background()
	return testing.AllocsPerRun(200, func() {
		for range n {
			_, s := tracer.Start(ctx, "span")
			s.End()
		}
	})
}

// TestNotRecording: with a never-sampling sampler and a meter with no reader, the hooks
// do no attribute work. They start and end the call span (no attempt span under a call
// span that does not record), allocate their per-call state, and nothing else; the
// error.type function is never asked.
func TestNotRecording(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSampler(sdktrace.NeverSample()), sdktrace.WithSpanProcessor(sr))
	mp := sdkmetric.NewMeterProvider()
	defer tp.Shutdown(context.Background())
	defer mp.Shutdown(context.Background())
	asked := 0
	h := otelretry.Hooks(otelretry.WithTracerProvider(tp), otelretry.WithMeterProvider(mp),
		otelretry.WithErrorType(func(error) string { asked++; return "x" }))

	limit := spanAllocs(tp.Tracer("t"), 1) + 1 // the call span, and the state
	for name, run := range map[string]func(hooks.Hooks){"first try": firstTry, "two failures": twoFailures} {
		got := testing.AllocsPerRun(200, func() { run(h) })
		t.Logf("%s: %v allocs per call (limit %v)", name, got, limit)
		if got > limit {
			t.Errorf("%s: %v allocs per call, want at most %v", name, got, limit)
		}
	}
	if asked != 0 {
		t.Errorf("the error.type function was asked %d times", asked)
	}
	if n := len(sr.Ended()); n != 0 {
		t.Errorf("%d spans recorded", n)
	}
}

// TestNoopAllocs: with noop providers a first-try success allocates at most what the
// noop tracer itself does for two spans, through the hooks and through retry.Do.
func TestNoopAllocs(t *testing.T) {
	tp, mp := tracenoop.NewTracerProvider(), metricnoop.NewMeterProvider()
	h := otelretry.Hooks(otelretry.WithTracerProvider(tp), otelretry.WithMeterProvider(mp))
	limit := spanAllocs(tp.Tracer("t"), 2)
	got := testing.AllocsPerRun(200, func() { firstTry(h) })
	t.Logf("hooks: %v allocs per first-try call; two noop spans: %v", got, limit)
	if got > limit {
		t.Errorf("hooks: %v allocs per call, want at most %v", got, limit)
	}

	ctx := context.Background()
	ok := func(context.Context) error { return nil }
	bare := retry.MustNew(retry.Name("op"), retry.MaxTries(3))
	withHooks := retry.MustNew(retry.Name("op"), retry.MaxTries(3), retry.Hooks(h))
	engine := testing.AllocsPerRun(200, func() { _ = bare.Do(ctx, ok) })
	got = testing.AllocsPerRun(200, func() { _ = withHooks.Do(ctx, ok) })
	t.Logf("retry.Do: %v allocs with the hooks, %v without", got, engine)
	if got > engine+limit {
		t.Errorf("retry.Do: %v allocs per call, want at most %v (the engine's %v and two noop spans)", got, engine+limit, engine)
	}
}

// TestMetricRecordAllocs: once their attributes were seen, data points allocate
// nothing: the hooks allocate as much with a reader as without one.
func TestMetricRecordAllocs(t *testing.T) {
	tp := tracenoop.NewTracerProvider()
	reader := sdkmetric.NewManualReader()
	on := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	off := sdkmetric.NewMeterProvider()
	defer on.Shutdown(context.Background())
	defer off.Shutdown(context.Background())
	hOn := otelretry.Hooks(otelretry.WithTracerProvider(tp), otelretry.WithMeterProvider(on))
	hOff := otelretry.Hooks(otelretry.WithTracerProvider(tp), otelretry.WithMeterProvider(off))

	for name, run := range map[string]func(hooks.Hooks){"first try": firstTry, "two failures": twoFailures} {
		run(hOn) // the first call fills the caches
		without := testing.AllocsPerRun(200, func() { run(hOff) })
		with := testing.AllocsPerRun(200, func() { run(hOn) })
		t.Logf("%s: %v allocs per call with a reader, %v without", name, with, without)
		if with != without {
			t.Errorf("%s: %v allocs per call with a reader, %v without: the records allocate", name, with, without)
		}
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	if len(rm.ScopeMetrics) != 1 || len(rm.ScopeMetrics[0].Metrics) != 4 {
		t.Fatalf("the records were not made: %+v", rm.ScopeMetrics)
	}
}

// TestSDKAllocs: with the SDK recording everything, a first-try success through retry.Do
// allocates at most one object more (the call's state) than the same two spans and three
// records written by hand the lean way (the baseline of the benchmarks).
func TestSDKAllocs(t *testing.T) {
	ctx := context.Background()
	ok := func(context.Context) error { return nil }
	bl := newBaseline(providers(t, true))
	tp, mp := providers(t, true)
	p := retry.MustNew(retry.Name("op"), retry.MaxTries(3),
		retry.Hooks(otelretry.Hooks(otelretry.WithTracerProvider(tp), otelretry.WithMeterProvider(mp))))
	hand := testing.AllocsPerRun(200, func() { _ = bl.do(ctx, ok) })
	got := testing.AllocsPerRun(200, func() { _ = p.Do(ctx, ok) })
	t.Logf("first-try success: %v allocs with otelretry, %v by hand", got, hand)
	if got > hand+1 {
		t.Errorf("first-try success: %v allocs with otelretry, want at most %v (by hand: %v)", got, hand+1, hand)
	}
}
