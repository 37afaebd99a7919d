package otelretry

import (
	"github.com/retrykit/retrykit/hooks"
	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/trace"
)

// config is what the options set; Hooks reads it once.
type config struct {
	tracerProvider trace.TracerProvider
	meterProvider  metric.MeterProvider
	attemptSpans   bool
	spanName       func(hooks.Call) string
	errorType      func(error) string
	metricAttrs    []attribute.KeyValue
}

// newConfig applies opts over the defaults: the global providers as they are now, and
// attempt spans on.
func newConfig(opts []Option) config {
	c := config{attemptSpans: true}
	for _, opt := range opts {
		if opt != nil {
			opt.apply(&c)
		}
	}
	if c.tracerProvider == nil {
		c.tracerProvider = otel.GetTracerProvider()
	}
	if c.meterProvider == nil {
		c.meterProvider = otel.GetMeterProvider()
	}
	return c
}

// An Option configures Hooks.
type Option interface {
	apply(*config)
}

type optionFunc func(*config)

func (f optionFunc) apply(c *config) { f(c) }

// WithTracerProvider sets the provider of the tracer. The default, and what a nil
// provider means, is the global provider (otel.GetTracerProvider) as it is when Hooks is
// called.
func WithTracerProvider(provider trace.TracerProvider) Option {
	return optionFunc(func(c *config) { c.tracerProvider = provider })
}

// WithMeterProvider sets the provider of the meter. The default, and what a nil provider
// means, is the global provider (otel.GetMeterProvider) as it is when Hooks is called.
func WithMeterProvider(provider metric.MeterProvider) Option {
	return optionFunc(func(c *config) { c.meterProvider = provider })
}

// WithAttemptSpans chooses between a child span per attempt (true, the default) and a
// single span per call (false) that carries a retry.backoff event per scheduled retry,
// with the attributes retry.attempt.number, retry.delay and error.type. The metrics are
// the same either way.
//
// Without attempt spans the operation's own spans nest directly under the call span, and
// a trace of a call that retried a hundred times stays a single span.
func WithAttemptSpans(on bool) Option {
	return optionFunc(func(c *config) { c.attemptSpans = on })
}

// WithSpanNameFormatter sets the function that names a call's spans: the call span is
// "retry " followed by what it returns, each attempt span "attempt " followed by it (just
// "retry" and "attempt" when it returns ""). The default returns Call.Name, the
// policy's retry.Name.
//
// Span names should have low cardinality. The formatter runs once per call; otelretry
// caches the names built from its first 1,000 distinct results and builds the others on
// each call.
func WithSpanNameFormatter(format func(hooks.Call) string) Option {
	return optionFunc(func(c *config) { c.spanName = format })
}

// WithErrorType sets the function that gives the error.type of a failed attempt and of a
// failed call (where the error is the *retry.Error that Do returns). An empty result is
// recorded as "_OTHER".
//
// It does not decide two values: an attempt whose own timeout fired has error.type
// "timeout", and a panic of fn gives "panic", whatever the function says.
//
// The default looks, in order, for:
//
//   - an ErrorType() string method anywhere in the error's chain (errors.Unwrap and
//     Unwrap() []error, depth first), as the semantic conventions' helpers do:
//     *retry.Error has one that returns its outcome ("exhausted", "deadline", ...);
//   - a timeout: an error in the chain with a Timeout() bool method that returns true,
//     such as context.DeadlineExceeded, os.ErrDeadlineExceeded and net timeouts: "timeout";
//   - context.Canceled in the chain: "canceled";
//   - the error's dynamic type, as fmt's %T prints it ("*net.OpError"), after unwrapping
//     the wrappers that fmt.Errorf makes with a single %w;
//
// and falls back to "_OTHER".
//
// Whatever the function returns, each metric instrument records at most 1,000 distinct
// error.type values; later new ones are recorded as "_OTHER". Spans carry the value as
// it is.
func WithErrorType(errorType func(error) string) Option {
	return optionFunc(func(c *config) { c.errorType = errorType })
}

// WithMetricAttributes adds attributes to every metric data point, for example a
// service-level dimension that the resource does not carry. Their keys should differ from
// otelretry's own: on a clash otelretry's value wins. The spans do not get them.
func WithMetricAttributes(attrs ...attribute.KeyValue) Option {
	return optionFunc(func(c *config) { c.metricAttrs = append(c.metricAttrs, attrs...) })
}
