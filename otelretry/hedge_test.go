package otelretry_test

import (
	"context"
	"slices"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/retry"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/trace"
)

const ms = time.Millisecond

// hedgeScript is a hedged call's function: each attempt, known by its number from the
// attempt span, sleeps its own time and then returns its own error; an attempt that is
// superseded sees its context canceled and returns context.Canceled.
type hedgeScript struct {
	mu    sync.Mutex
	n     int
	steps []step
}

func (h *hedgeScript) fn(ctx context.Context) error {
	h.mu.Lock()
	st := h.steps[min(h.n, len(h.steps)-1)]
	h.n++
	h.mu.Unlock()
	t := time.NewTimer(st.sleep)
	defer t.Stop()
	select {
	case <-t.C:
		return st.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// A hedged call: attempt 1 is slow, the hedge at 10ms fails at 15ms and is retried at
// once, the retry succeeds at 20ms while attempt 1 is still in flight: three attempt spans
// under one call span, overlapping, the hedge marked, the slow one superseded.
func TestHedgedCallSpans(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		p := retry.MustNew(retry.Name("kv.get"), retry.MaxTries(3), retry.HedgeAfter(10*ms), retry.Hooks(e.hooks))
		h := &hedgeScript{steps: []step{{sleep: time.Second}, {sleep: 5 * ms, err: errBoom}, {sleep: 5 * ms}}}
		start := time.Now()
		if err := p.Hedge(context.Background(), h.fn); err != nil {
			t.Fatal(err)
		}
		got := e.views(t)
		want := []spanView{
			{Name: "attempt kv.get", Parent: "retry kv.get", Kind: trace.SpanKindInternal, Status: codes.Error, Desc: "boom",
				Attrs: map[string]any{"retry.attempt.number": int64(2), "retry.attempt.hedged": true, "retry.delay": 0.0, "error.type": boomType}},
			{Name: "attempt kv.get", Parent: "retry kv.get", Kind: trace.SpanKindInternal,
				Attrs: map[string]any{"retry.attempt.number": int64(1), "retry.attempt.superseded": true}},
			{Name: "attempt kv.get", Parent: "retry kv.get", Kind: trace.SpanKindInternal,
				Attrs: map[string]any{"retry.attempt.number": int64(3)}},
			{Name: "retry kv.get", Kind: trace.SpanKindInternal,
				Attrs: map[string]any{"retry.operation.name": "kv.get", "retry.max_attempts": int64(3), "retry.attempt.count": int64(3), "retry.outcome": "success"}},
		}
		diffViews(t, got, want)

		// The spans overlap as the attempts did, each ending at its attempt's own end:
		// attempt 1 when the retry's success superseded it.
		ends := map[int64][2]time.Duration{}
		for _, s := range e.sr.Ended() {
			for _, kv := range s.Attributes() {
				if kv.Key == "retry.attempt.number" {
					ends[kv.Value.AsInt64()] = [2]time.Duration{s.StartTime().Sub(start), s.EndTime().Sub(start)}
				}
			}
		}
		wantTimes := map[int64][2]time.Duration{1: {0, 20 * ms}, 2: {10 * ms, 15 * ms}, 3: {15 * ms, 20 * ms}}
		for n, w := range wantTimes {
			if g := ends[n]; g != w {
				t.Errorf("attempt %d span from %v to %v, want %v to %v", n, g[0], g[1], w[0], w[1])
			}
		}
	})
}

// The metrics of hedged calls: retry.call.hedges counts each call's hedges (0 included)
// for hedging calls only, and a superseded attempt is an attempt outcome of its own,
// with no error.type.
func TestHedgedCallMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		hedging := retry.MustNew(retry.Name("kv.get"), retry.MaxTries(3), retry.HedgeAfter(10*ms), retry.Hooks(e.hooks))
		plain := retry.MustNew(retry.Name("kv.get"), retry.MaxTries(3), retry.Hooks(e.hooks))

		slow := &hedgeScript{steps: []step{{sleep: 50 * ms}, {sleep: 5 * ms}}} // hedged once, the hedge wins
		if err := hedging.Hedge(context.Background(), slow.fn); err != nil {
			t.Fatal(err)
		}
		fast := &hedgeScript{steps: []step{{sleep: 5 * ms}}} // no hedge
		if err := hedging.Hedge(context.Background(), fast.fn); err != nil {
			t.Fatal(err)
		}
		if err := plain.Do(context.Background(), func(context.Context) error { return nil }); err != nil {
			t.Fatal(err)
		}
		if err := plain.Hedge(context.Background(), func(context.Context) error { return nil }); err != nil {
			t.Fatal(err) // Hedge of a policy that does not hedge is Do: no hedges data point
		}

		m := e.collect(t)
		hedges, ok := m["retry.call.hedges"].Data.(metricdata.Histogram[int64])
		if !ok || m["retry.call.hedges"].Unit != "{hedge}" {
			t.Fatalf("retry.call.hedges: %+v", m["retry.call.hedges"])
		}
		if len(hedges.DataPoints) != 1 {
			t.Fatalf("retry.call.hedges has %d data points, want 1 (kv.get, success)", len(hedges.DataPoints))
		}
		dp := hedges.DataPoints[0]
		if dp.Count != 2 || dp.Sum != 1 {
			t.Errorf("retry.call.hedges count %d sum %d, want 2 hedging calls with 1 hedge in all", dp.Count, dp.Sum)
		}
		if want := []float64{0, 1, 2, 3, 4, 5}; !slices.Equal(dp.Bounds, want) {
			t.Errorf("retry.call.hedges bounds %v, want %v", dp.Bounds, want)
		}
		if v, _ := dp.Attributes.Value("retry.outcome"); v.AsString() != "success" {
			t.Errorf("retry.call.hedges attributes %v", dp.Attributes.ToSlice())
		}

		attempts := m["retry.attempt.duration"].Data.(metricdata.Histogram[float64])
		byOutcome := map[string]uint64{}
		for _, dp := range attempts.DataPoints {
			o, _ := dp.Attributes.Value("retry.attempt.outcome")
			byOutcome[o.AsString()] += dp.Count
			if o.AsString() == "superseded" {
				if _, has := dp.Attributes.Value("error.type"); has {
					t.Errorf("a superseded attempt's data point has error.type: %v", dp.Attributes.ToSlice())
				}
			}
		}
		if byOutcome["superseded"] != 1 || byOutcome["success"] != 4 || len(byOutcome) != 2 {
			t.Errorf("attempt outcomes %v, want 1 superseded, 4 success", byOutcome)
		}
	})
}

// Every span ends and every data point is recorded once with many hedged calls at once.
func TestHedgedCallsUnderLoad(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		p := retry.MustNew(retry.Name("kv.get"), retry.MaxTries(3), retry.HedgeAfter(10*ms), retry.Hooks(e.hooks))
		const calls = 300
		var wg sync.WaitGroup
		for i := range calls {
			wg.Go(func() {
				// Every third call is slow, and hedged; the others answer at once.
				d := 2 * ms
				if i%3 == 0 {
					d = 30 * ms
				}
				var mu sync.Mutex
				n := 0
				_ = p.Hedge(context.Background(), func(ctx context.Context) error {
					mu.Lock()
					n++
					first := n == 1
					mu.Unlock()
					wait := d
					if !first {
						wait = 2 * ms
					}
					t := time.NewTimer(wait)
					defer t.Stop()
					select {
					case <-t.C:
						return nil
					case <-ctx.Done():
						return ctx.Err()
					}
				})
			})
		}
		wg.Wait()
		views := e.views(t) // fails if a span was left open
		var callSpans, attemptSpans, superseded int
		for _, v := range views {
			switch v.Name {
			case "retry kv.get":
				callSpans++
			case "attempt kv.get":
				attemptSpans++
				if v.Attrs["retry.attempt.superseded"] == true {
					superseded++
				}
			}
		}
		if callSpans != calls || attemptSpans != calls+calls/3 || superseded != calls/3 {
			t.Errorf("%d call spans, %d attempt spans, %d superseded; want %d, %d, %d", callSpans, attemptSpans, superseded, calls, calls+calls/3, calls/3)
		}
		m := e.collect(t)
		dp := m["retry.call.hedges"].Data.(metricdata.Histogram[int64]).DataPoints[0]
		if dp.Count != calls || dp.Sum != calls/3 {
			t.Errorf("retry.call.hedges count %d sum %d, want %d and %d", dp.Count, dp.Sum, calls, calls/3)
		}
	})
}
