package otelretry_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/otelretry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

// env is an SDK pipeline that keeps everything in memory: a SpanRecorder (synchronous,
// no goroutine) and a ManualReader.
type env struct {
	sr     *tracetest.SpanRecorder
	tp     *sdktrace.TracerProvider
	reader *sdkmetric.ManualReader
	mp     *sdkmetric.MeterProvider
	hooks  hooks.Hooks
}

func newEnv(t testing.TB, opts ...otelretry.Option) *env {
	t.Helper()
	e := &env{sr: tracetest.NewSpanRecorder(), reader: sdkmetric.NewManualReader()}
	e.tp = sdktrace.NewTracerProvider(sdktrace.WithSpanProcessor(e.sr), sdktrace.WithSampler(sdktrace.AlwaysSample()))
	e.mp = sdkmetric.NewMeterProvider(sdkmetric.WithReader(e.reader))
	t.Cleanup(func() {
		_ = e.tp.Shutdown(context.Background())
		_ = e.mp.Shutdown(context.Background())
	})
	e.hooks = otelretry.Hooks(append([]otelretry.Option{
		otelretry.WithTracerProvider(e.tp),
		otelretry.WithMeterProvider(e.mp),
	}, opts...)...)
	return e
}

// spanView is what the span assertions compare: everything but IDs and times.
type spanView struct {
	Name   string
	Parent string // the parent's name; "" for a root
	Kind   trace.SpanKind
	Attrs  map[string]any
	Status codes.Code
	Desc   string
	Events []string // "name k=v k=v", attributes sorted
}

func (v spanView) String() string {
	keys := make([]string, 0, len(v.Attrs))
	for k := range v.Attrs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	fmt.Fprintf(&b, "%q parent=%q kind=%v status=%v %q {", v.Name, v.Parent, v.Kind, v.Status, v.Desc)
	for _, k := range keys {
		fmt.Fprintf(&b, " %s=%v", k, v.Attrs[k])
	}
	fmt.Fprintf(&b, " } events=%q", v.Events)
	return b.String()
}

func attrMap(kvs []attribute.KeyValue) map[string]any {
	m := make(map[string]any, len(kvs))
	for _, kv := range kvs {
		m[string(kv.Key)] = kv.Value.AsInterface()
	}
	return m
}

// views returns the ended spans in the order they ended, and fails the test if a started
// span was not ended or a parent is missing.
func (e *env) views(t testing.TB) []spanView {
	t.Helper()
	started, ended := e.sr.Started(), e.sr.Ended()
	if len(started) != len(ended) {
		t.Fatalf("%d spans started, %d ended", len(started), len(ended))
	}
	byID := map[trace.SpanID]string{}
	for _, s := range ended {
		byID[s.SpanContext().SpanID()] = s.Name()
	}
	out := make([]spanView, 0, len(ended))
	for _, s := range ended {
		if s.InstrumentationScope().Name != otelretry.ScopeName && s.InstrumentationScope().Name != "test" {
			t.Errorf("span %q: scope %q", s.Name(), s.InstrumentationScope().Name)
		}
		v := spanView{Name: s.Name(), Kind: s.SpanKind(), Attrs: attrMap(s.Attributes()), Status: s.Status().Code, Desc: s.Status().Description}
		if p := s.Parent(); p.IsValid() {
			name, ok := byID[p.SpanID()]
			if !ok {
				t.Errorf("span %q: parent %v not among the ended spans", s.Name(), p.SpanID())
			}
			v.Parent = name
		}
		for _, ev := range s.Events() {
			parts := []string{ev.Name}
			for _, kv := range ev.Attributes {
				parts = append(parts, fmt.Sprintf("%s=%v", kv.Key, kv.Value.AsInterface()))
			}
			slices.Sort(parts[1:])
			v.Events = append(v.Events, strings.Join(parts, " "))
		}
		if !s.EndTime().After(s.StartTime()) && !s.EndTime().Equal(s.StartTime()) {
			t.Errorf("span %q ends before it starts", s.Name())
		}
		out = append(out, v)
	}
	return out
}

func diffViews(t testing.TB, got, want []spanView) {
	t.Helper()
	n := max(len(got), len(want))
	for i := range n {
		var g, w string
		if i < len(got) {
			g = got[i].String()
		}
		if i < len(want) {
			w = want[i].String()
		}
		if g != w {
			t.Errorf("span %d:\n got %s\nwant %s", i, g, w)
		}
	}
}

// collect returns otelretry's metrics, by name.
func (e *env) collect(t testing.TB) map[string]metricdata.Metrics {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := e.reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	out := map[string]metricdata.Metrics{}
	for _, sm := range rm.ScopeMetrics {
		if sm.Scope.Name != otelretry.ScopeName {
			continue
		}
		if sm.Scope.Version != otelretry.Version() {
			t.Errorf("scope version %q, want %q", sm.Scope.Version, otelretry.Version())
		}
		for _, m := range sm.Metrics {
			out[m.Name] = m
		}
	}
	return out
}

// step is what one attempt of a scripted function does.
type step struct {
	sleep  time.Duration // work before anything else (fake time inside synctest)
	err    error         // returned
	wait   bool          // wait for the attempt's context and return its error
	panic  bool
	cancel bool // cancel the caller's context (then return err)
	child  bool // start a span of its own from the attempt's context
}

// script returns a function that performs steps in turn, and counts attempts.
type script struct {
	steps  []step
	n      int
	cancel context.CancelFunc
	tracer trace.Tracer
}

func (s *script) fn(ctx context.Context) error {
	st := s.steps[min(s.n, len(s.steps)-1)]
	s.n++
	if st.child {
		_, sp := s.tracer.Start(ctx, "child")
		defer sp.End()
	}
	time.Sleep(st.sleep)
	if st.wait {
		<-ctx.Done()
		return ctx.Err()
	}
	if st.panic {
		panic("boom")
	}
	if st.cancel {
		s.cancel()
	}
	return st.err
}

// boomError is an attempt error with a type name and no ErrorType method.
type boomError struct{}

func (*boomError) Error() string { return "boom" }

var errBoom error = &boomError{}

const boomType = "*otelretry_test.boomError"
