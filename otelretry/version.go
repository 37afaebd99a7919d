package otelretry

// ScopeName is the instrumentation scope name of the tracer and the meter that otelretry
// uses: its import path, as the OpenTelemetry contrib instrumentations do.
const ScopeName = "github.com/retrykit/retrykit/otelretry"

// Version is the version of otelretry, given as the instrumentation scope version.
func Version() string {
	return "0.1.0"
}
