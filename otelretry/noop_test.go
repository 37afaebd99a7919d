package otelretry_test

import (
	"context"
	"testing"

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

// TestNoopProviders: with the API's no-op tracer and meter, a call costs what starting one
// no-op span does and nothing more (no state is kept), and fn still sees that span: the
// caller's span context, in a span that does not record.
func TestNoopProviders(t *testing.T) {
	tp := tracenoop.NewTracerProvider()
	h := otelretry.Hooks(otelretry.WithTracerProvider(tp), otelretry.WithMeterProvider(metricnoop.NewMeterProvider()))
	p := retry.MustNew(retry.Name("op"), retry.MaxTries(3), retry.Hooks(h))

	// The caller's span records (the application has an SDK of its own).
	app := sdktrace.NewTracerProvider()
	defer app.Shutdown(context.Background())
	ctx, parent := app.Tracer("app").Start(context.Background(), "caller")
	defer parent.End()
	var seen []trace.Span
	err := p.Do(ctx, func(ctx context.Context) error {
		seen = append(seen, trace.SpanFromContext(ctx))
		if len(seen) < 2 {
			return errBoom
		}
		return nil
	})
	if err != nil || len(seen) != 2 {
		t.Fatalf("Do: %v after %d attempts, want success after 2", err, len(seen))
	}
	for i, s := range seen {
		if !s.SpanContext().Equal(parent.SpanContext()) || s.IsRecording() {
			t.Errorf("attempt %d: fn saw span %v (recording: %v), want a no-op span with the caller's span context %v",
				i+1, s.SpanContext(), s.IsRecording(), parent.SpanContext())
		}
	}

	ok := func(context.Context) error { return nil }
	want := spanAllocs(tp.Tracer("t"), 1)
	if got := testing.AllocsPerRun(200, func() { _ = p.Do(context.Background(), ok) }); got != want {
		t.Errorf("%v allocs per first-try call, want %v: what one no-op span start costs", got, want)
	}
}

// TestOneNoopProvider: a no-op tracer with a real meter records the metrics, and a real
// tracer with a no-op meter records the spans: only both no-op providers together make
// the hooks do nothing.
func TestOneNoopProvider(t *testing.T) {
	ok := func(context.Context) error { return nil }

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer mp.Shutdown(context.Background())
	h := otelretry.Hooks(otelretry.WithTracerProvider(tracenoop.NewTracerProvider()), otelretry.WithMeterProvider(mp))
	if err := retry.MustNew(retry.Name("op"), retry.Hooks(h)).Do(context.Background(), ok); err != nil {
		t.Fatal(err)
	}
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	if len(rm.ScopeMetrics) != 1 || len(rm.ScopeMetrics[0].Metrics) != 3 {
		t.Errorf("no-op tracer, SDK meter: metrics %+v, want the three of a first-try success", rm.ScopeMetrics)
	}

	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	defer tp.Shutdown(context.Background())
	h = otelretry.Hooks(otelretry.WithTracerProvider(tp), otelretry.WithMeterProvider(metricnoop.NewMeterProvider()))
	if err := retry.MustNew(retry.Name("op"), retry.Hooks(h)).Do(context.Background(), ok); err != nil {
		t.Fatal(err)
	}
	if n := len(sr.Ended()); n != 2 {
		t.Errorf("SDK tracer, no-op meter: %d spans ended, want 2", n)
	}
}
