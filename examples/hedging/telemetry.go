package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// serviceName is the service.name of the demo's telemetry unless OTEL_SERVICE_NAME or
// OTEL_RESOURCE_ATTRIBUTES say otherwise.
const serviceName = "retrykit-hedging"

// telemetry is the OpenTelemetry SDK, set up as the global providers (which
// otelretry.Hooks uses) only when the standard environment asks for OTLP export;
// otherwise the global providers stay the no-op ones and the demo costs nothing extra.
type telemetry struct {
	shutdowns []func(context.Context) error
	exports   string // what goes where, for the last line of the output
}

func setupTelemetry(ctx context.Context) (*telemetry, error) {
	t := &telemetry{}
	traces, metrics := otlpWanted("TRACES"), otlpWanted("METRICS")
	if !traces && !metrics {
		return t, nil
	}
	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", serviceName)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES win
		resource.WithTelemetrySDK(),
	)
	if err != nil && res == nil {
		return nil, fmt.Errorf("telemetry resource: %w", err)
	}
	var what []string
	if traces {
		proto := otlpProtocol("TRACES")
		var exp sdktrace.SpanExporter
		if proto == "grpc" {
			exp, err = otlptracegrpc.New(ctx)
		} else {
			exp, err = otlptracehttp.New(ctx)
		}
		if err != nil {
			return nil, fmt.Errorf("OTLP trace exporter: %w", err)
		}
		tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(exp))
		otel.SetTracerProvider(tp)
		t.shutdowns = append(t.shutdowns, tp.Shutdown)
		what = append(what, "traces to OTLP "+proto)
	}
	if metrics {
		proto := otlpProtocol("METRICS")
		var exp sdkmetric.Exporter
		if proto == "grpc" {
			exp, err = otlpmetricgrpc.New(ctx)
		} else {
			exp, err = otlpmetrichttp.New(ctx)
		}
		if err != nil {
			return nil, fmt.Errorf("OTLP metric exporter: %w", err)
		}
		mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
		otel.SetMeterProvider(mp)
		t.shutdowns = append(t.shutdowns, mp.Shutdown)
		what = append(what, "metrics to OTLP "+proto)
	}
	t.exports = strings.Join(what, ", ")
	return t, nil
}

// shutdown flushes what is buffered. A collector that does not answer costs a warning,
// not the run.
func (t *telemetry) shutdown(ctx context.Context, stderr io.Writer) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	var errs []error
	for _, f := range t.shutdowns {
		errs = append(errs, f(ctx))
	}
	if err := errors.Join(errs...); err != nil {
		fmt.Fprintf(stderr, "hedging: telemetry export: %v\n", err)
	}
}

// otlpWanted tells whether the standard environment asks for OTLP export of signal
// ("TRACES" or "METRICS"): an endpoint is set, and OTEL_<signal>_EXPORTER is not none.
func otlpWanted(signal string) bool {
	if strings.EqualFold(os.Getenv("OTEL_"+signal+"_EXPORTER"), "none") {
		return false
	}
	return os.Getenv("OTEL_EXPORTER_OTLP_ENDPOINT") != "" ||
		os.Getenv("OTEL_EXPORTER_OTLP_"+signal+"_ENDPOINT") != ""
}

// otlpProtocol is the OTLP protocol the environment asks for signal: grpc or
// http/protobuf, the specification's default. The exporters read the rest of the
// OTEL_EXPORTER_OTLP_* variables themselves (endpoint, headers, timeout, TLS).
func otlpProtocol(signal string) string {
	p := os.Getenv("OTEL_EXPORTER_OTLP_" + signal + "_PROTOCOL")
	if p == "" {
		p = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if p == "grpc" {
		return p
	}
	return "http/protobuf"
}
