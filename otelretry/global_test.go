package otelretry_test

import (
	"context"
	"testing"

	"github.com/retrykit/retrykit/otelretry"
	"github.com/retrykit/retrykit/retry"
	"go.opentelemetry.io/otel"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
)

// TestGlobalProviders checks the default: the global providers as they are when Hooks is
// called. It is the only test that sets them.
func TestGlobalProviders(t *testing.T) {
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	defer tp.Shutdown(context.Background())
	defer mp.Shutdown(context.Background())
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	defer otel.SetTracerProvider(tracenoop.NewTracerProvider())
	defer otel.SetMeterProvider(metricnoop.NewMeterProvider())

	tests := []struct {
		name string
		opts []otelretry.Option
	}{
		{"no option", nil},
		{"nil providers", []otelretry.Option{otelretry.WithTracerProvider(nil), otelretry.WithMeterProvider(nil), nil}},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := retry.MustNew(retry.Name("global"), retry.Hooks(otelretry.Hooks(tt.opts...)))
			if err := p.Do(context.Background(), func(context.Context) error { return nil }); err != nil {
				t.Fatal(err)
			}
			if n := len(sr.Ended()); n != 2*(i+1) {
				t.Errorf("%d spans on the global tracer provider, want %d", n, 2*(i+1))
			}
			var rm metricdata.ResourceMetrics
			if err := reader.Collect(context.Background(), &rm); err != nil {
				t.Fatal(err)
			}
			var count uint64
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					if m.Name == "retry.call.duration" {
						for _, dp := range m.Data.(metricdata.Histogram[float64]).DataPoints {
							count += dp.Count
						}
					}
				}
			}
			if count != uint64(i+1) {
				t.Errorf("the global meter provider counted %d calls, want %d", count, i+1)
			}
		})
	}
}
