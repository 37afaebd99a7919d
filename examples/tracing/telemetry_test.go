package main

import (
	"bytes"
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/retrykit/retrykit/otelretry"
	"github.com/retrykit/retrykit/retry"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	collectormetrics "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpCollector is a stand-in OTLP/HTTP collector: it decodes what it receives.
type otlpCollector struct {
	mu      sync.Mutex
	spans   map[string]int // span name -> count
	metrics map[string]int // metric name -> data sets received
}

func (c *otlpCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	switch r.URL.Path {
	case "/v1/traces":
		var req collectortrace.ExportTraceServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				for _, s := range ss.Spans {
					c.spans[s.Name]++
				}
			}
		}
	case "/v1/metrics":
		var req collectormetrics.ExportMetricsServiceRequest
		if err := proto.Unmarshal(body, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		for _, rm := range req.ResourceMetrics {
			for _, sm := range rm.ScopeMetrics {
				for _, m := range sm.Metrics {
					c.metrics[m.Name]++
				}
			}
		}
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
}

// TestOTLPExport checks that the standard environment switches the export to OTLP: a
// collector receives a retry span per call and the retry metrics.
func TestOTLPExport(t *testing.T) {
	col := &otlpCollector{spans: map[string]int{}, metrics: map[string]int{}}
	srv := httptest.NewServer(col)
	defer srv.Close()
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", srv.URL)
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")

	out, errOut, pass := runDefault(t, "-calls", "0", "-trees", "1")
	if errOut != "" {
		t.Errorf("stderr:\n%s", errOut)
	}
	for _, want := range []string{"exporting traces: OTLP http/protobuf", "exporting metrics: OTLP http/protobuf"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
	col.mu.Lock()
	defer col.mu.Unlock()
	if got := col.spans["retry "+operationName]; got != len(pass.calls) {
		t.Errorf("collector got %d call spans, want %d (spans: %v)", got, len(pass.calls), col.spans)
	}
	if got := col.spans["attempt "+operationName]; got != pass.attempts() {
		t.Errorf("collector got %d attempt spans, want %d", got, pass.attempts())
	}
	for _, m := range []string{metricCallDuration, metricCallAttempts, metricAttemptDuration, metricBackoffDuration} {
		if col.metrics[m] == 0 {
			t.Errorf("collector got no %s (metrics: %v)", m, col.metrics)
		}
	}
}

// TestCollectorDown checks that a collector that is not there costs one line on stderr
// and nothing else: the run completes and prints its trees and summary.
func TestCollectorDown(t *testing.T) {
	for _, protocol := range []string{"http/protobuf", "grpc"} {
		t.Run(strings.ReplaceAll(protocol, "/", "-"), func(t *testing.T) {
			// A loopback port that nobody listens on.
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			addr := ln.Addr().String()
			ln.Close()
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+addr)
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
			t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "300") // ms: give up on the down collector fast

			var stdout, stderr bytes.Buffer
			if err := run(t.Context(), []string{"-calls", "0", "-trees", "1"}, &stdout, &stderr); err != nil {
				t.Fatalf("run: %v", err)
			}
			if !strings.Contains(stdout.String(), "the workload's own count agrees") {
				t.Errorf("the run did not complete:\n%s", stdout.String())
			}
			lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
			if len(lines) != 1 || !strings.HasPrefix(lines[0], "tracing: telemetry export failed, going on without it") {
				t.Errorf("stderr should be one warning line, is:\n%s", stderr.String())
			}
		})
	}
}

// TestAttemptsViewKeepsAdvice checks that the example's buckets of retry.call.attempts
// are otelretry's advice with 0 in front, so that the dashboard's le="1" and the other
// bounds mean what they mean without the view.
func TestAttemptsViewKeepsAdvice(t *testing.T) {
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	p := retry.MustNew(retry.Hooks(otelretry.Hooks(otelretry.WithMeterProvider(mp),
		otelretry.WithTracerProvider(tracenoop.NewTracerProvider()))))
	if err := p.Do(t.Context(), func(context.Context) error { return nil }); err != nil {
		t.Fatal(err)
	}
	m, err := readRetryMetrics(t.Context(), reader)
	if err != nil {
		t.Fatal(err)
	}
	advice := m.total(metricCallAttempts).bounds
	if want := attemptsBounds[1:]; !slices.Equal(advice, want) || attemptsBounds[0] != 0 {
		t.Errorf("otelretry's advice %v, the example's bounds %v: want the advice with 0 in front", advice, attemptsBounds)
	}
}

// TestZeroAttemptCalls checks that calls that made no attempt (-deadline 0 fails every
// call at once) are shown in a bucket 0 of their own, not with the calls of one attempt.
func TestZeroAttemptCalls(t *testing.T) {
	out, errOut, pass := runDefault(t, "-deadline", "0", "-stories=false", "-calls", "3", "-trees", "0")
	if errOut != "" {
		t.Errorf("stderr:\n%s", errOut)
	}
	if pass.attempts() != 0 || len(pass.calls) != 3 {
		t.Fatalf("workload: %d calls, %d attempts; want 3 calls of no attempt", len(pass.calls), pass.attempts())
	}
	for _, want := range []string{
		"  calls by outcome   deadline 3\n",
		"  attempts per call      0 │████████████████████████████████████████ 3\n",
		"the workload's own count agrees: 3 calls, 0 attempts",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "      1 │") {
		t.Errorf("calls of no attempt shown as calls of 1 attempt:\n%s", out)
	}
}

// TestCollectorHangs checks a collector that accepts connections and never answers: the
// export times out, and that costs the one warning line, which names what failed and is
// followed by nothing (it promises that further errors are not shown).
func TestCollectorHangs(t *testing.T) {
	for _, protocol := range []string{"http/protobuf", "grpc"} {
		t.Run(strings.ReplaceAll(protocol, "/", "-"), func(t *testing.T) {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			var (
				mu    sync.Mutex
				conns []net.Conn
			)
			accepted := make(chan struct{})
			go func() {
				defer close(accepted)
				for {
					c, err := ln.Accept()
					if err != nil {
						return // the listener is closed
					}
					mu.Lock()
					conns = append(conns, c) // held open, never read, never answered
					mu.Unlock()
				}
			}()
			defer func() {
				ln.Close()
				<-accepted
				mu.Lock()
				defer mu.Unlock()
				for _, c := range conns {
					c.Close()
				}
			}()
			t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://"+ln.Addr().String())
			t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", protocol)
			t.Setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "300") // ms

			var stdout, stderr bytes.Buffer
			if err := run(t.Context(), []string{"-calls", "0", "-trees", "1"}, &stdout, &stderr); err != nil {
				t.Fatalf("run: %v", err)
			}
			if !strings.Contains(stdout.String(), "the workload's own count agrees") {
				t.Errorf("the run did not complete:\n%s", stdout.String())
			}
			mu.Lock()
			n := len(conns)
			mu.Unlock()
			if n == 0 {
				t.Error("the exporters never connected to the collector")
			}
			lines := strings.Split(strings.TrimSuffix(stderr.String(), "\n"), "\n")
			const warning = "tracing: telemetry export failed, going on without it (further export errors are not shown): "
			if len(lines) != 1 || !strings.HasPrefix(lines[0], warning) {
				t.Fatalf("stderr should be one warning line, is:\n%s", stderr.String())
			}
			if cause := strings.TrimPrefix(lines[0], warning); !strings.Contains(cause, "traces") && !strings.Contains(cause, "metrics") {
				t.Errorf("the warning does not say what failed: %q", cause)
			}
		})
	}
}
