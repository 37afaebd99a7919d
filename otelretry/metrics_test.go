package otelretry_test

import (
	"context"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/otelretry"
	"github.com/retrykit/retrykit/retry"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
)

var (
	durationBounds = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120}
	attemptsBounds = []float64{1, 2, 3, 4, 5, 6, 8, 10, 15, 20}
	backoffBounds  = []float64{0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60}
)

// point builds the histogram data point that values recorded with attrs make.
func point[N int64 | float64](bounds []float64, attrs []attribute.KeyValue, values ...N) metricdata.HistogramDataPoint[N] {
	p := metricdata.HistogramDataPoint[N]{
		Attributes:   attribute.NewSet(attrs...),
		Bounds:       bounds,
		BucketCounts: make([]uint64, len(bounds)+1),
		Count:        uint64(len(values)),
	}
	lo, hi := values[0], values[0]
	for _, v := range values {
		p.Sum += v
		lo, hi = min(lo, v), max(hi, v)
		i := 0
		for i < len(bounds) && float64(v) > bounds[i] {
			i++
		}
		p.BucketCounts[i]++
	}
	p.Min, p.Max = metricdata.NewExtrema(lo), metricdata.NewExtrema(hi)
	return p
}

func attrs(kv ...attribute.KeyValue) []attribute.KeyValue {
	return append([]attribute.KeyValue{attribute.String("service.tier", "gold")}, kv...)
}

// TestMetrics runs a fixed workload and compares the four histograms exactly: names,
// units, descriptions, bucket boundaries, attributes, counts, sums and extremes.
func TestMetrics(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, otelretry.WithMetricAttributes(attribute.String("service.tier", "gold")))
		ctx := context.Background()
		op := retry.MustNew(retry.Name("op"), retry.MaxTries(3), retry.Pause(250*time.Millisecond), retry.Hooks(e.hooks))
		op2 := retry.MustNew(retry.Name("op2"), retry.MaxTries(2), retry.AttemptTimeout(250*time.Millisecond), retry.Hooks(e.hooks))
		ms := time.Millisecond
		runs := []struct {
			p     *retry.Policy
			steps []step
		}{
			{op, []step{{sleep: 500 * ms}}}, // success at once
			{op, []step{{sleep: 250 * ms, err: errBoom}, {sleep: 250 * ms, err: errBoom}, {sleep: 125 * ms}}}, // success after 2 retries
			{op, []step{{sleep: 125 * ms, err: errBoom}}},                                                     // exhausted
			{op2, []step{{wait: true}}},                                                                       // two attempt timeouts, exhausted
		}
		for _, r := range runs {
			_ = r.p.Do(ctx, (&script{steps: r.steps}).fn)
		}

		name, name2 := otelretry.OperationNameKey.String("op"), otelretry.OperationNameKey.String("op2")
		success, exhausted := otelretry.OutcomeKey.String("success"), otelretry.OutcomeKey.String("exhausted")
		errType := otelretry.ErrorTypeKey.String
		attemptOutcome := otelretry.AttemptOutcomeKey.String
		want := []metricdata.Metrics{
			{
				Name: "retry.call.duration", Unit: "s", Description: "Duration of retried calls, attempts and pauses included.",
				Data: metricdata.Histogram[float64]{Temporality: metricdata.CumulativeTemporality, DataPoints: []metricdata.HistogramDataPoint[float64]{
					point(durationBounds, attrs(name, success), 0.5, 1.125),
					point(durationBounds, attrs(name, exhausted, errType("exhausted")), 0.875),
					point(durationBounds, attrs(name2, exhausted, errType("exhausted")), 0.5),
				}},
			},
			{
				Name: "retry.call.attempts", Unit: "{attempt}", Description: "Attempts per retried call.",
				Data: metricdata.Histogram[int64]{Temporality: metricdata.CumulativeTemporality, DataPoints: []metricdata.HistogramDataPoint[int64]{
					point[int64](attemptsBounds, attrs(name, success), 1, 3),
					point[int64](attemptsBounds, attrs(name, exhausted), 3),
					point[int64](attemptsBounds, attrs(name2, exhausted), 2),
				}},
			},
			{
				Name: "retry.attempt.duration", Unit: "s", Description: "Duration of single attempts of retried calls.",
				Data: metricdata.Histogram[float64]{Temporality: metricdata.CumulativeTemporality, DataPoints: []metricdata.HistogramDataPoint[float64]{
					point(durationBounds, attrs(name, attemptOutcome("success")), 0.5, 0.125),
					point(durationBounds, attrs(name, attemptOutcome("failure"), errType(boomType)), 0.25, 0.25, 0.125, 0.125, 0.125),
					point(durationBounds, attrs(name2, attemptOutcome("timeout"), errType("timeout")), 0.25, 0.25),
				}},
			},
			{
				Name: "retry.backoff.duration", Unit: "s", Description: "Pauses scheduled between attempts of retried calls.",
				Data: metricdata.Histogram[float64]{Temporality: metricdata.CumulativeTemporality, DataPoints: []metricdata.HistogramDataPoint[float64]{
					point(backoffBounds, attrs(name), 0.25, 0.25, 0.25, 0.25),
					point[float64](backoffBounds, attrs(name2), 0),
				}},
			},
		}
		got := e.collect(t)
		if len(got) != len(want) {
			t.Errorf("%d metrics, want %d", len(got), len(want))
		}
		for _, w := range want {
			metricdatatest.AssertEqual(t, w, got[w.Name], metricdatatest.IgnoreTimestamp(), metricdatatest.IgnoreExemplars())
		}
	})
}
