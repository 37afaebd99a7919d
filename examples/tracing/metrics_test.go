package main

import (
	"context"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsEndpoint reads the example's /metrics as Prometheus would (without a
// Prometheus server: this runs everywhere) and checks the names and labels that
// dashboard.json queries, and that the counts are the workload's own.
//
// It pins the OpenTelemetry Prometheus exporter's naming: retry.call.attempts (unit
// {attempt}, an annotation) becomes retry_call_attempts, the "s" unit a _seconds
// suffix; histograms get no _total; the scope is in otel_scope_* labels.
func TestMetricsEndpoint(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := parseFlags([]string{"-calls", "8", "-trees", "0", "-metrics-addr", ln.Addr().String()}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.metricsListener = ln
	ctx, cancel := context.WithCancel(context.Background())
	passes := make(chan *passLog, 1)
	cfg.workloadDone = func(p *passLog) { passes <- p }
	exited := make(chan error, 1)
	go func() { exited <- execute(ctx, cfg, io.Discard, io.Discard) }()
	defer func() {
		cancel()
		if err := <-exited; err != nil {
			t.Errorf("example: %v", err)
		}
	}()
	var pass *passLog
	select {
	case pass = <-passes:
	case err := <-exited:
		t.Fatalf("example stopped: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("no pass within 30s")
	}

	resp, err := http.Get("http://" + ln.Addr().String() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	parser := expfmt.NewTextParser(model.LegacyValidation)
	families, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatal(err)
	}

	for name, label := range map[string]string{
		"retry_call_attempts":            "retry_outcome",
		"retry_call_duration_seconds":    "retry_outcome",
		"retry_attempt_duration_seconds": "retry_attempt_outcome",
		"retry_backoff_duration_seconds": "",
		"retry_call_hedges":              "retry_outcome", // unit {hedge}: no suffix
	} {
		f, ok := families[name]
		if !ok {
			t.Errorf("/metrics has no %s", name)
			continue
		}
		if f.GetType() != dto.MetricType_HISTOGRAM {
			t.Errorf("%s is a %v, want a histogram", name, f.GetType())
		}
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["retry_operation_name"] != operationName {
				t.Errorf("%s%v: retry_operation_name is not %q", name, labels, operationName)
			}
			if _, ok := labels[label]; label != "" && !ok {
				t.Errorf("%s%v: no %s label", name, labels, label)
			}
			if labels["otel_scope_name"] != "github.com/retrykit/retrykit/otelretry" {
				t.Errorf("%s%v: otel_scope_name", name, labels)
			}
		}
	}

	// Calls by outcome and attempts per call, from the exposition itself.
	byOutcome := map[string]int{}
	perCall := map[float64]uint64{} // le -> cumulative calls
	attempts := 0.0
	for _, m := range families["retry_call_attempts"].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == "retry_outcome" {
				byOutcome[l.GetValue()] += int(m.GetHistogram().GetSampleCount())
			}
		}
		attempts += m.GetHistogram().GetSampleSum()
		for _, b := range m.GetHistogram().GetBucket() {
			perCall[b.GetUpperBound()] += b.GetCumulativeCount()
		}
	}
	want := pass.outcomes()
	if len(byOutcome) != len(want) {
		t.Errorf("calls by outcome %v, workload %v", byOutcome, want)
	}
	for o, n := range want {
		if byOutcome[o] != n {
			t.Errorf("calls by outcome %v, workload %v", byOutcome, want)
		}
	}
	if int(attempts) != pass.attempts() {
		t.Errorf("attempts %v, workload %d", attempts, pass.attempts())
	}
	for le, got := range perCall {
		var w uint64
		for n, c := range pass.attemptsPerCall() {
			if float64(n) <= le {
				w += uint64(c)
			}
		}
		if got != w {
			t.Errorf("calls with at most %v attempts: %d, workload %d", le, got, w)
		}
	}
	// The hedges of the calls of the hedging policy (the hedged story), and the bucket of
	// the calls that did not hedge.
	var hedgingCalls uint64
	var hedges float64
	noHedge := uint64(0)
	for _, m := range families["retry_call_hedges"].GetMetric() {
		hedgingCalls += m.GetHistogram().GetSampleCount()
		hedges += m.GetHistogram().GetSampleSum()
		for _, b := range m.GetHistogram().GetBucket() {
			if b.GetUpperBound() == 0 {
				noHedge += b.GetCumulativeCount()
			}
		}
	}
	if pass.hedgingCalls() == 0 || hedgingCalls != uint64(pass.hedgingCalls()) || hedges != float64(pass.hedges()) ||
		noHedge != uint64(pass.hedgingCalls()-pass.hedgedCalls()) {
		t.Errorf("retry_call_hedges: %d calls, %v hedges, %d without a hedge; workload %d, %d, %d",
			hedgingCalls, hedges, noHedge, pass.hedgingCalls(), pass.hedges(), pass.hedgingCalls()-pass.hedgedCalls())
	}
	if len(perCall) != len(attemptsBounds)+1 {
		t.Errorf("%d buckets, want the %d bounds of attemptsBounds and +Inf", len(perCall), len(attemptsBounds))
	}
}
