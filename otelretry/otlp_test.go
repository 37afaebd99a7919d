package otelretry_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/retrykit/retrykit/otelretry"
	"github.com/retrykit/retrykit/retry"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetrichttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	collmetricpb "go.opentelemetry.io/proto/otlp/collector/metrics/v1"
	colltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// receiver is an OTLP/HTTP receiver on loopback that keeps what it decodes.
type receiver struct {
	mu      sync.Mutex
	traces  []*colltracepb.ExportTraceServiceRequest
	metrics []*collmetricpb.ExportMetricsServiceRequest
}

func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil || r.Header.Get("Content-Type") != "application/x-protobuf" {
		http.Error(w, "bad request", http.StatusBadRequest)
		return
	}
	rc.mu.Lock()
	defer rc.mu.Unlock()
	var resp proto.Message
	switch r.URL.Path {
	case "/v1/traces":
		req := &colltracepb.ExportTraceServiceRequest{}
		err = proto.Unmarshal(body, req)
		rc.traces = append(rc.traces, req)
		resp = &colltracepb.ExportTraceServiceResponse{}
	case "/v1/metrics":
		req := &collmetricpb.ExportMetricsServiceRequest{}
		err = proto.Unmarshal(body, req)
		rc.metrics = append(rc.metrics, req)
		resp = &collmetricpb.ExportMetricsServiceResponse{}
	default:
		http.NotFound(w, r)
		return
	}
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	out, _ := proto.Marshal(resp)
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(out)
}

func attrsOf(kvs []*commonpb.KeyValue) map[string]any {
	m := map[string]any{}
	for _, kv := range kvs {
		switch v := kv.Value.Value.(type) {
		case *commonpb.AnyValue_StringValue:
			m[kv.Key] = v.StringValue
		case *commonpb.AnyValue_IntValue:
			m[kv.Key] = v.IntValue
		case *commonpb.AnyValue_DoubleValue:
			m[kv.Key] = v.DoubleValue
		case *commonpb.AnyValue_BoolValue:
			m[kv.Key] = v.BoolValue
		}
	}
	return m
}

// TestOTLP exports a call's spans and metrics with the real OTLP/HTTP exporters to a
// receiver on loopback and checks the decoded tree and points.
func TestOTLP(t *testing.T) {
	rc := &receiver{}
	srv := httptest.NewServer(rc)
	defer srv.Close()
	ctx := context.Background()

	texp, err := otlptracehttp.New(ctx, otlptracehttp.WithEndpointURL(srv.URL+"/v1/traces"), otlptracehttp.WithRetry(otlptracehttp.RetryConfig{Enabled: false}))
	if err != nil {
		t.Fatal(err)
	}
	mexp, err := otlpmetrichttp.New(ctx, otlpmetrichttp.WithEndpointURL(srv.URL+"/v1/metrics"), otlpmetrichttp.WithRetry(otlpmetrichttp.RetryConfig{Enabled: false}))
	if err != nil {
		t.Fatal(err)
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithBatcher(texp))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(sdkmetric.NewPeriodicReader(mexp, sdkmetric.WithInterval(time.Hour))))

	p := retry.MustNew(retry.Name("db.fetch"), retry.MaxTries(3),
		retry.Hooks(otelretry.Hooks(otelretry.WithTracerProvider(tp), otelretry.WithMeterProvider(mp))))
	s := &script{steps: []step{{err: errBoom}, {child: true}}, tracer: tp.Tracer("test")}
	if err := p.Do(ctx, s.fn); err != nil {
		t.Fatal(err)
	}
	// Shutting down flushes the batch processor and the periodic reader.
	if err := tp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}
	if err := mp.Shutdown(ctx); err != nil {
		t.Fatal(err)
	}

	rc.mu.Lock()
	defer rc.mu.Unlock()
	var spans []*tracepb.Span
	for _, req := range rc.traces {
		for _, rs := range req.ResourceSpans {
			for _, ss := range rs.ScopeSpans {
				if n := ss.Scope.GetName(); n != otelretry.ScopeName && n != "test" {
					t.Errorf("scope %q", n)
				}
				if ss.Scope.GetName() == otelretry.ScopeName && ss.Scope.GetVersion() != otelretry.Version() {
					t.Errorf("scope version %q", ss.Scope.GetVersion())
				}
				spans = append(spans, ss.Spans...)
			}
		}
	}
	byName := map[string][]*tracepb.Span{}
	for _, s := range spans {
		byName[s.Name] = append(byName[s.Name], s)
	}
	if len(spans) != 4 || len(byName[callName]) != 1 || len(byName[attemptName]) != 2 || len(byName["child"]) != 1 {
		t.Fatalf("decoded %d spans: %v", len(spans), byName)
	}
	call, child := byName[callName][0], byName["child"][0]
	attempts := byName[attemptName]
	slices.SortFunc(attempts, func(a, b *tracepb.Span) int { return int(a.StartTimeUnixNano - b.StartTimeUnixNano) })
	if len(call.ParentSpanId) != 0 || call.Kind != tracepb.Span_SPAN_KIND_INTERNAL {
		t.Errorf("call span: parent %x, kind %v", call.ParentSpanId, call.Kind)
	}
	for i, a := range attempts {
		if string(a.ParentSpanId) != string(call.SpanId) || string(a.TraceId) != string(call.TraceId) {
			t.Errorf("attempt %d is not a child of the call span", i+1)
		}
		if got := attrsOf(a.Attributes)["retry.attempt.number"]; got != int64(i+1) {
			t.Errorf("attempt %d: retry.attempt.number %v", i+1, got)
		}
	}
	if string(child.ParentSpanId) != string(attempts[1].SpanId) {
		t.Error("the operation's span is not a child of the second attempt")
	}
	if a := attrsOf(attempts[0].Attributes); a["error.type"] != boomType || a["retry.delay"] != 0.0 ||
		attempts[0].Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR {
		t.Errorf("first attempt: %v, status %v", a, attempts[0].Status)
	}
	wantCall := map[string]any{"retry.operation.name": "db.fetch", "retry.max_attempts": int64(3), "retry.attempt.count": int64(2), "retry.outcome": "success"}
	if a := attrsOf(call.Attributes); !mapsEqual(a, wantCall) || call.Status.GetCode() != tracepb.Status_STATUS_CODE_UNSET {
		t.Errorf("call span: %v, status %v; want %v, unset", a, call.Status, wantCall)
	}

	// Metrics: the four histograms, with their units, bounds and counts.
	type hist struct {
		unit   string
		count  uint64
		sum    float64
		bounds []float64
	}
	got := map[string]hist{}
	for _, req := range rc.metrics {
		for _, rm := range req.ResourceMetrics {
			for _, sm := range rm.ScopeMetrics {
				if sm.Scope.GetName() != otelretry.ScopeName {
					continue
				}
				for _, m := range sm.Metrics {
					h := hist{unit: m.Unit}
					for _, dp := range m.GetHistogram().GetDataPoints() {
						h.count += dp.Count
						h.sum += dp.GetSum()
						h.bounds = dp.ExplicitBounds
					}
					got[m.Name] = h
				}
			}
		}
	}
	want := map[string]hist{
		"retry.call.duration":    {unit: "s", count: 1, bounds: durationBounds},
		"retry.call.attempts":    {unit: "{attempt}", count: 1, sum: 2, bounds: attemptsBounds},
		"retry.attempt.duration": {unit: "s", count: 2, bounds: durationBounds},
		"retry.backoff.duration": {unit: "s", count: 1, sum: 0, bounds: backoffBounds},
	}
	if len(got) != len(want) {
		t.Errorf("decoded metrics %v", got)
	}
	for name, w := range want {
		g := got[name]
		if name == "retry.call.duration" || name == "retry.attempt.duration" {
			w.sum = g.sum // real time: any duration
		}
		if g.unit != w.unit || g.count != w.count || g.sum != w.sum || !slices.Equal(g.bounds, w.bounds) {
			t.Errorf("%s: got %+v, want %+v", name, g, w)
		}
	}
}

func mapsEqual(a, b map[string]any) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	return true
}
