package otelretry_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/otelretry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// drive plays the events of one call by hand, as the engine would: attempts fail with
// errs[i] (nil: success) and the call ends with outcome o and error callErr.
func drive(h hooks.Hooks, name string, errs []error, o hooks.Outcome, callErr error) {
	start := time.Now()
	c := hooks.Call{Name: name, Start: start}
	ctx := h.OnStart(context.Background(), c)
	for i, err := range errs {
		a := hooks.Attempt{Call: c, Number: i + 1, Start: start}
		actx := ctx
		if h.OnAttempt != nil {
			if x := h.OnAttempt(ctx, a); x != nil {
				actx = x
			}
		}
		a.Duration, a.Err = time.Millisecond, err
		h.OnAttemptEnd(actx, a)
		if i < len(errs)-1 {
			h.OnRetry(actx, a, 0)
		}
	}
	h.OnDone(ctx, hooks.Result{Call: c, Outcome: o, Attempts: len(errs), Err: callErr})
}

// TestErrorTypeBound checks that each instrument records at most 1,000 distinct
// error.type values, and the rest as _OTHER, with every data point still counted.
func TestErrorTypeBound(t *testing.T) {
	e := newEnv(t, otelretry.WithErrorType(func(err error) string { return err.Error() }))
	const n = 1005
	for i := range n {
		err := fmt.Errorf("e%d", i)
		drive(e.hooks, "op", []error{err}, hooks.Permanent, err)
	}
	got := e.collect(t)
	for _, name := range []string{"retry.attempt.duration", "retry.call.duration"} {
		points := got[name].Data.(metricdata.Histogram[float64]).DataPoints
		types := map[string]uint64{}
		var total uint64
		for _, p := range points {
			v, _ := p.Attributes.Value(otelretry.ErrorTypeKey)
			types[v.AsString()] += p.Count
			total += p.Count
		}
		if len(types) != 1001 || types["_OTHER"] != n-1000 || types["e999"] != 1 || total != n {
			t.Errorf("%s: %d distinct error.type values, %d points as _OTHER, %d in all; want 1001, %d, %d",
				name, len(types), types["_OTHER"], total, n-1000, n)
		}
	}
	// Spans carry the value as it is.
	ended := e.sr.Ended()
	last := ended[len(ended)-1]
	for _, kv := range last.Attributes() {
		if kv.Key == otelretry.ErrorTypeKey && kv.Value.AsString() != "e1004" {
			t.Errorf("span error.type %q, want e1004", kv.Value.AsString())
		}
	}
}

// TestUnmatchedEvents checks the hooks against events of calls they did not start, and
// an attempt that no OnRetry finished.
func TestUnmatchedEvents(t *testing.T) {
	e := newEnv(t)
	c := hooks.Call{Name: "op"}
	a := hooks.Attempt{Call: c, Number: 1}
	ctx := context.Background()
	// No OnStart: every other event is ignored.
	if got := e.hooks.OnAttempt(ctx, a); got != nil {
		t.Error("OnAttempt without OnStart returned a context")
	}
	e.hooks.OnAttemptEnd(ctx, a)
	e.hooks.OnRetry(ctx, a, time.Second)
	e.hooks.OnDone(ctx, hooks.Result{Call: c})
	if n := len(e.sr.Started()); n != 0 {
		t.Fatalf("%d spans started", n)
	}

	// Two attempts with no OnRetry between them: the first is finished by the second.
	cctx := e.hooks.OnStart(ctx, c)
	a1 := e.hooks.OnAttempt(cctx, a)
	e.hooks.OnAttemptEnd(a1, hooks.Attempt{Call: c, Number: 1, Err: errors.New("x")})
	a.Number = 2
	a2 := e.hooks.OnAttempt(cctx, a)
	if len(e.sr.Ended()) != 1 {
		t.Errorf("the first attempt span was not ended by the second OnAttempt")
	}
	// The second attempt never gets its OnAttemptEnd (a hook panicked, say): OnDone still
	// ends its span.
	_ = a2
	e.hooks.OnDone(cctx, hooks.Result{Call: c, Outcome: hooks.Success, Attempts: 2})
	views := e.views(t)
	if len(views) != 3 {
		t.Fatalf("%d spans ended, want 3", len(views))
	}
	if views[0].Attrs["error.type"] != "*errors.errorString" {
		t.Errorf("first attempt: %v", views[0])
	}
}

// TestInterleavedCalls checks that the hooks keep calls apart: interleaved calls on
// one Hooks value each get their own tree.
func TestInterleavedCalls(t *testing.T) {
	e := newEnv(t)
	h := e.hooks
	ca, cb := hooks.Call{Name: "a"}, hooks.Call{Name: "b"}
	ctxA := h.OnStart(context.Background(), ca)
	ctxB := h.OnStart(context.Background(), cb)
	aA := h.OnAttempt(ctxA, hooks.Attempt{Call: ca, Number: 1})
	aB := h.OnAttempt(ctxB, hooks.Attempt{Call: cb, Number: 1})
	h.OnAttemptEnd(aB, hooks.Attempt{Call: cb, Number: 1})
	h.OnAttemptEnd(aA, hooks.Attempt{Call: ca, Number: 1, Err: errBoom})
	h.OnDone(ctxA, hooks.Result{Call: ca, Outcome: hooks.Exhausted, Attempts: 1, Err: errBoom})
	h.OnDone(ctxB, hooks.Result{Call: cb, Outcome: hooks.Success, Attempts: 1})
	got := map[string]string{}
	for _, v := range e.views(t) {
		got[v.Name] = v.Parent + fmt.Sprint(" ", v.Attrs["error.type"])
	}
	want := map[string]string{
		"attempt a": "retry a " + boomType,
		"retry a":   " " + boomType,
		"attempt b": "retry b <nil>",
		"retry b":   " <nil>",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
}

// TestMetricAttributesClash checks that otelretry's own attributes win over static ones
// with the same key.
func TestMetricAttributesClash(t *testing.T) {
	e := newEnv(t, otelretry.WithMetricAttributes(attribute.String("retry.operation.name", "static"), attribute.Int("shard", 3)))
	drive(e.hooks, "op", []error{nil}, hooks.Success, nil)
	p := e.collect(t)["retry.call.attempts"].Data.(metricdata.Histogram[int64]).DataPoints[0]
	want := attribute.NewSet(attribute.String("retry.operation.name", "op"), attribute.Int("shard", 3), attribute.String("retry.outcome", "success"))
	if !p.Attributes.Equals(&want) {
		t.Errorf("attributes %v, want %v", p.Attributes.Encoded(attribute.DefaultEncoder()), want.Encoded(attribute.DefaultEncoder()))
	}
}
