package otelretry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/metric/noop"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/retrykit/retrykit/otelretry"
	"github.com/retrykit/retrykit/retry"
	"github.com/retrykit/retrykit/retryhttp"
)

func attr(s sdktrace.ReadOnlySpan, key attribute.Key) (attribute.Value, bool) {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// TestResendCountTree: a GET answered 503, 503, 200 through the recommended wiring is the
// tree retry -> attempt -> otelhttp's CLIENT span, one per physical attempt, and the
// resends' CLIENT spans carry http.request.resend_count 1 and 2.
func TestResendCountTree(t *testing.T) {
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) <= 2 {
			http.Error(w, "unavailable", http.StatusServiceUnavailable)
			return
		}
		_, _ = io.WriteString(w, "ok")
	}))
	defer srv.Close()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	base := &http.Transport{}
	defer base.CloseIdleConnections()

	policy := retry.MustNew(retry.MaxTries(3), retry.Hooks(otelretry.Hooks(
		otelretry.WithTracerProvider(tp), otelretry.WithMeterProvider(noop.NewMeterProvider()))))
	client := &http.Client{Transport: retryhttp.NewTransport(
		otelhttp.NewTransport(otelretry.ResendCount(base), otelhttp.WithTracerProvider(tp)), policy)}
	resp, err := client.Get(srv.URL + "/item?token=secret")
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("status %d, want 200", resp.StatusCode)
	}

	spans := sr.Ended()
	byID := map[trace.SpanID]sdktrace.ReadOnlySpan{}
	var call sdktrace.ReadOnlySpan
	for _, s := range spans {
		byID[s.SpanContext().SpanID()] = s
		if s.Name() == "retry HTTP GET" {
			call = s
		}
	}
	if len(spans) != 7 || call == nil {
		for _, s := range spans {
			t.Logf("span %q parent %v", s.Name(), s.Parent().SpanID())
		}
		t.Fatalf("%d spans, want 7: retry HTTP GET, 3 attempts, 3 CLIENT spans", len(spans))
	}
	if o, _ := attr(call, otelretry.OutcomeKey); o.AsString() != "success" || call.Status().Code != codes.Unset {
		t.Errorf("call span: outcome %v, status %v", o, call.Status())
	}
	attempts := 0
	for _, s := range spans {
		if s.SpanKind() != trace.SpanKindClient {
			continue
		}
		attempt, ok := byID[s.Parent().SpanID()]
		if !ok || attempt.Parent().SpanID() != call.SpanContext().SpanID() {
			t.Errorf("CLIENT span %q is not under an attempt span of the call", s.Name())
			continue
		}
		attempts++
		num, _ := attr(attempt, otelretry.AttemptNumberKey)
		code, _ := attr(s, attribute.Key("http.response.status_code"))
		resend, hasResend := attr(s, otelretry.ResendCountKey)
		wantCode := map[int64]int64{1: 503, 2: 503, 3: 200}[num.AsInt64()]
		if s.Name() != "HTTP GET" || code.AsInt64() != wantCode {
			t.Errorf("attempt %d: CLIENT span %q status %v, want HTTP GET %d", num.AsInt64(), s.Name(), code.AsInt64(), wantCode)
		}
		if num.AsInt64() == 1 && hasResend || num.AsInt64() > 1 && resend.AsInt64() != num.AsInt64()-1 {
			t.Errorf("attempt %d: resend_count %v (present %v), want %d", num.AsInt64(), resend.AsInt64(), hasResend, num.AsInt64()-1)
		}
		if et, _ := attr(attempt, attribute.Key("error.type")); wantCode == 503 && et.AsString() != "503" {
			t.Errorf("attempt %d: error.type %q, want 503", num.AsInt64(), et.AsString())
		}
	}
	if attempts != 3 {
		t.Errorf("%d CLIENT spans under attempts, want 3", attempts)
	}
}

// TestResendCountOutsideTransport: without a retryhttp.Transport above it, ResendCount
// sets nothing and only passes the request on.
func TestResendCountOutsideTransport(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
	defer srv.Close()
	sr := tracetest.NewSpanRecorder()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(sr))
	defer func() { _ = tp.Shutdown(context.Background()) }()
	base := &http.Transport{}
	c := &http.Client{Transport: otelhttp.NewTransport(otelretry.ResendCount(base), otelhttp.WithTracerProvider(tp))}
	defer c.CloseIdleConnections()
	resp, err := c.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	base.CloseIdleConnections()
	if s := sr.Ended(); len(s) != 1 {
		t.Fatalf("%d spans, want 1", len(s))
	} else if _, ok := attr(s[0], otelretry.ResendCountKey); ok {
		t.Error("resend_count set on a request that no Transport sent")
	}
	if otelretry.ResendCount(nil) == nil {
		t.Error("ResendCount(nil) is nil")
	}
}

// TestREADMERecipe: the HTTP recipe of the repository's README is ExampleResendCount's,
// line for line, so that it compiles and runs.
func TestREADMERecipe(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(readme), "\n## HTTP")
	_, block, ok2 := strings.Cut(section, "```go\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md has no Go block in an HTTP section")
	}
	src, err := os.ReadFile("example_http_test.go")
	if err != nil {
		t.Fatal(err)
	}
	_, recipe, _ := strings.Cut(string(src), "\t// recipe\n")
	recipe, _, _ = strings.Cut(recipe, "\t// end of recipe\n")
	var lines []string
	for line := range strings.Lines(recipe) {
		lines = append(lines, strings.TrimPrefix(line, "\t"))
	}
	if got := strings.Join(lines, ""); got != block {
		t.Errorf("README.md's HTTP recipe differs from ExampleResendCount's:\n--- README\n%s--- example\n%s", block, got)
	}
	if n := strings.Count(block, "\n"); n > 15 {
		t.Errorf("the recipe has %d lines, at most 15 wanted", n)
	}
}
