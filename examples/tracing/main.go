// Command tracing shows retrykit's OpenTelemetry instrumentation at work: it calls a
// flaky HTTP service on loopback through a retry policy with otelretry hooks and an
// otelhttp client, prints each call as a tree built from the exported spans, and sums up
// the retry metrics read back from the SDK.
//
// Run it from the repository root:
//
//	go run ./examples/tracing
//
// Set OTEL_EXPORTER_OTLP_ENDPOINT to send the spans and metrics to a collector, Jaeger
// or Tempo; pass -metrics-addr to serve Prometheus /metrics for the dashboard in
// dashboard.json. See README.md beside this file.
package main

import (
	"context"
	"fmt"
	"os"
	"os/signal"
	"syscall"
)

//go:generate go run ./internal/dashgen -o dashboard.json

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "tracing:", err)
		os.Exit(1)
	}
}
