package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/prometheus/otlptranslator"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	otelprom "go.opentelemetry.io/otel/exporters/prometheus"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// serviceName is the service.name of the example's telemetry unless OTEL_SERVICE_NAME
// or OTEL_RESOURCE_ATTRIBUTES say otherwise.
const serviceName = "retrykit-example"

// telemetry is the OpenTelemetry SDK set up for one run: spans go to the in-memory
// store that the trees read (and to OTLP when the environment asks for it), metrics to
// a manual reader that the summary reads (and to OTLP and Prometheus when asked).
type telemetry struct {
	tp       *sdktrace.TracerProvider
	mp       *sdkmetric.MeterProvider
	spans    *spanStore
	reader   *sdkmetric.ManualReader
	registry *prometheus.Registry // nil unless Prometheus /metrics is served
	exports  []string             // where else the telemetry goes, for the banner
	warn     *warnOnce
}

// warnOnce reports the first telemetry error on stderr and drops the others: a down
// collector is worth one line, not one per export.
type warnOnce struct {
	once sync.Once
	w    io.Writer
}

// Handle implements otel.ErrorHandler. The warning is one line even for an error of
// several lines (errors.Join), so that nothing follows the promise that nothing will.
func (o *warnOnce) Handle(err error) {
	if err == nil {
		return
	}
	o.once.Do(func() {
		fmt.Fprintf(o.w, "tracing: telemetry export failed, going on without it "+
			"(further export errors are not shown): %s\n", strings.ReplaceAll(err.Error(), "\n", "; "))
	})
}

func setupTelemetry(ctx context.Context, cfg *config, stderr io.Writer) (*telemetry, error) {
	t := &telemetry{
		spans:  newSpanStore(),
		reader: sdkmetric.NewManualReader(),
		warn:   &warnOnce{w: stderr},
	}
	// The SDK and the exporters report what goes wrong in the background (a collector
	// that refuses a batch) through the global handler.
	otel.SetErrorHandler(t.warn)

	res, err := resource.New(ctx,
		resource.WithAttributes(attribute.String("service.name", serviceName)),
		resource.WithFromEnv(), // OTEL_SERVICE_NAME, OTEL_RESOURCE_ATTRIBUTES win
		resource.WithTelemetrySDK(),
	)
	if err != nil {
		t.warn.Handle(err) // a malformed OTEL_RESOURCE_ATTRIBUTES: go on with what was read
	}

	tpOpts := []sdktrace.TracerProviderOption{sdktrace.WithResource(res), sdktrace.WithSpanProcessor(t.spans)}
	mpOpts := []sdkmetric.Option{sdkmetric.WithResource(res), sdkmetric.WithReader(t.reader), attemptsView}

	if otlpWanted("TRACES") {
		exp, proto, err := newOTLPTraceExporter(ctx)
		if err != nil {
			return nil, err
		}
		tpOpts = append(tpOpts, sdktrace.WithBatcher(exp))
		t.exports = append(t.exports, "traces: OTLP "+proto)
	}
	if otlpWanted("METRICS") {
		exp, proto, err := newOTLPMetricExporter(ctx)
		if err != nil {
			return nil, err
		}
		mpOpts = append(mpOpts, sdkmetric.WithReader(sdkmetric.NewPeriodicReader(exp)))
		t.exports = append(t.exports, "metrics: OTLP "+proto)
	}
	if cfg.metricsAddr != "" || cfg.metricsListener != nil {
		t.registry = prometheus.NewRegistry()
		exp, err := otelprom.New(
			otelprom.WithRegisterer(t.registry),
			// The default, named so that the names the dashboard queries stay put:
			// retry.call.duration (unit s) becomes retry_call_duration_seconds,
			// retry.call.attempts (unit {attempt}, an annotation) retry_call_attempts.
			otelprom.WithTranslationStrategy(otlptranslator.UnderscoreEscapingWithSuffixes),
		)
		if err != nil {
			return nil, fmt.Errorf("prometheus exporter: %w", err)
		}
		mpOpts = append(mpOpts, sdkmetric.WithReader(exp))
	}

	t.tp = sdktrace.NewTracerProvider(tpOpts...)
	t.mp = sdkmetric.NewMeterProvider(mpOpts...)
	return t, nil
}

// attemptsView gives retry.call.attempts a bucket of its own for calls that made no
// attempt at all (a zero -deadline, a cancellation before the first attempt): with
// otelretry's advice alone they share the first bucket, le=1, with the calls that
// succeeded at once. The other bounds are the advice's, so the dashboard's queries
// (le="1" included) read the same series.
var attemptsView = sdkmetric.WithView(sdkmetric.NewView(
	sdkmetric.Instrument{Name: metricCallAttempts},
	sdkmetric.Stream{Aggregation: sdkmetric.AggregationExplicitBucketHistogram{Boundaries: attemptsBounds}},
))

// attemptsBounds are the bucket bounds of retry.call.attempts in the example: 0, then
// otelretry's advice.
var attemptsBounds = []float64{0, 1, 2, 3, 4, 5, 6, 8, 10, 15, 20}

// metricsHandler serves the Prometheus exposition of the retry metrics.
func (t *telemetry) metricsHandler() http.Handler {
	return promhttp.HandlerFor(t.registry, promhttp.HandlerOpts{})
}

// shutdownTimeout bounds the flush of the telemetry at exit.
const shutdownTimeout = 5 * time.Second

// The OTLP exporters retry a failed export (a collector that times out, or answers 503)
// with backoff, by default for up to a minute: an export still retrying when the flush at
// exit gives up would go on running after it. Retries here stop well within
// shutdownTimeout, so that what the flush starts also ends in it.
const (
	exportRetryInitial    = 500 * time.Millisecond
	exportRetryMax        = time.Second
	exportRetryMaxElapsed = shutdownTimeout / 2
)

// shutdown flushes and stops the providers. A collector that does not answer within
// the timeout costs a warning, not the run; each error says which signal it was flushing,
// since a bare "context deadline exceeded" would not.
func (t *telemetry) shutdown(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := t.tp.Shutdown(ctx); err != nil {
		t.warn.Handle(fmt.Errorf("flushing traces: %w", err))
	}
	if err := t.mp.Shutdown(ctx); err != nil {
		t.warn.Handle(fmt.Errorf("flushing metrics: %w", err))
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
// http/protobuf (the default of the specification).
func otlpProtocol(signal string) string {
	p := os.Getenv("OTEL_EXPORTER_OTLP_" + signal + "_PROTOCOL")
	if p == "" {
		p = os.Getenv("OTEL_EXPORTER_OTLP_PROTOCOL")
	}
	if p == "grpc" {
		return p
	}
	return "http/protobuf" // http/json has no Go exporter: protobuf it is
}

// The exporters read the rest of the OTEL_EXPORTER_OTLP_* environment themselves
// (endpoint, headers, timeout, certificates, compression).
func newOTLPTraceExporter(ctx context.Context) (sdktrace.SpanExporter, string, error) {
	proto := otlpProtocol("TRACES")
	var exp sdktrace.SpanExporter
	var err error
	if proto == "grpc" {
		exp, err = otlptracegrpc.New(ctx, otlptracegrpc.WithRetry(otlptracegrpc.RetryConfig{Enabled: true,
			InitialInterval: exportRetryInitial, MaxInterval: exportRetryMax, MaxElapsedTime: exportRetryMaxElapsed}))
	} else {
		exp, err = otlptracehttp.New(ctx, otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: true,
			InitialInterval: exportRetryInitial, MaxInterval: exportRetryMax, MaxElapsedTime: exportRetryMaxElapsed}))
	}
	if err != nil {
		return nil, "", fmt.Errorf("OTLP trace exporter: %w", err)
	}
	return exp, proto, nil
}

func newOTLPMetricExporter(ctx context.Context) (sdkmetric.Exporter, string, error) {
	proto := otlpProtocol("METRICS")
	var exp sdkmetric.Exporter
	var err error
	if proto == "grpc" {
		exp, err = otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithRetry(otlpmetricgrpc.RetryConfig{Enabled: true,
			InitialInterval: exportRetryInitial, MaxInterval: exportRetryMax, MaxElapsedTime: exportRetryMaxElapsed}))
	} else {
		exp, err = otlpmetrichttp.New(ctx, otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{Enabled: true,
			InitialInterval: exportRetryInitial, MaxInterval: exportRetryMax, MaxElapsedTime: exportRetryMaxElapsed}))
	}
	if err != nil {
		return nil, "", fmt.Errorf("OTLP metric exporter: %w", err)
	}
	return exp, proto, nil
}
