package main

import (
	"bytes"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

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
