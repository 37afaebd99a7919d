package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
)

// The otelretry instruments that the summary reads (docs/telemetry.md).
const (
	metricCallDuration    = "retry.call.duration"
	metricCallAttempts    = "retry.call.attempts"
	metricAttemptDuration = "retry.attempt.duration"
	metricBackoffDuration = "retry.backoff.duration"
	metricCallHedges      = "retry.call.hedges"
	attrAttemptOutcome    = attribute.Key("retry.attempt.outcome")
)

// histPoint is a histogram data point of either number type.
type histPoint struct {
	attrs    attribute.Set
	count    uint64
	sum      float64
	bounds   []float64
	buckets  []uint64
	min, max float64
	extrema  bool
}

// retryMetrics are the histogram points of the retry instruments, by instrument name.
type retryMetrics map[string][]histPoint

// readRetryMetrics collects the reader and keeps the retry instruments' points.
func readRetryMetrics(ctx context.Context, r *sdkmetric.ManualReader) (retryMetrics, error) {
	var rm metricdata.ResourceMetrics
	if err := r.Collect(ctx, &rm); err != nil {
		return nil, fmt.Errorf("reading metrics: %w", err)
	}
	m := retryMetrics{}
	for _, sm := range rm.ScopeMetrics {
		for _, md := range sm.Metrics {
			if !strings.HasPrefix(md.Name, "retry.") {
				continue
			}
			switch d := md.Data.(type) {
			case metricdata.Histogram[int64]:
				m[md.Name] = append(m[md.Name], histPoints(d.DataPoints)...)
			case metricdata.Histogram[float64]:
				m[md.Name] = append(m[md.Name], histPoints(d.DataPoints)...)
			}
		}
	}
	return m, nil
}

func histPoints[N int64 | float64](dps []metricdata.HistogramDataPoint[N]) []histPoint {
	out := make([]histPoint, 0, len(dps))
	for _, dp := range dps {
		p := histPoint{attrs: dp.Attributes, count: dp.Count, sum: float64(dp.Sum), bounds: dp.Bounds, buckets: dp.BucketCounts}
		lo, okLo := dp.Min.Value()
		hi, okHi := dp.Max.Value()
		p.min, p.max, p.extrema = float64(lo), float64(hi), okLo && okHi
		out = append(out, p)
	}
	return out
}

// countBy adds up the counts of instrument name's points by the value of key.
func (m retryMetrics) countBy(name string, key attribute.Key) map[string]uint64 {
	out := map[string]uint64{}
	for _, p := range m[name] {
		v, _ := p.attrs.Value(key)
		out[v.String()] += p.count
	}
	return out
}

// total merges the points of instrument name into one: counts, sums and buckets added
// up, extrema widened. Points with other bounds than the first are left out of the
// buckets (the SDK gives one instrument one set of bounds).
func (m retryMetrics) total(name string) histPoint {
	var t histPoint
	for _, p := range m[name] {
		if t.bounds == nil {
			t.bounds, t.buckets = p.bounds, make([]uint64, len(p.buckets))
			t.min, t.max = math.Inf(1), math.Inf(-1)
		}
		t.count += p.count
		t.sum += p.sum
		if len(p.buckets) == len(t.buckets) {
			for i, c := range p.buckets {
				t.buckets[i] += c
			}
		}
		if p.extrema {
			t.min, t.max, t.extrema = min(t.min, p.min), max(t.max, p.max), true
		}
	}
	return t
}

// bucketLabel names bucket i of bounds for integer values: "3", "7-8", ">20".
func bucketLabel(bounds []float64, i int) string {
	if i == len(bounds) {
		return ">" + strconv.FormatFloat(bounds[i-1], 'f', -1, 64)
	}
	hi := bounds[i]
	lo := math.Inf(-1)
	if i > 0 {
		lo = bounds[i-1]
	}
	if hi-lo <= 1 || i == 0 {
		return strconv.FormatFloat(hi, 'f', -1, 64)
	}
	return strconv.FormatFloat(lo+1, 'f', -1, 64) + "-" + strconv.FormatFloat(hi, 'f', -1, 64)
}

// writeSummary prints the retry metrics as the SDK reports them, and whether they agree
// with the workload's own count of pass.
func writeSummary(w io.Writer, m retryMetrics, pass *passLog) {
	calls := m.total(metricCallAttempts)
	fmt.Fprintf(w, "Metrics read back from the SDK (retry.* instruments, %s)\n", plural(int(calls.count), "call"))
	const label = "  %-19s"

	fmt.Fprintf(w, label+"%s\n", "calls by outcome", joinCounts(m.countBy(metricCallAttempts, attrOutcome)))

	if calls.count > 0 {
		peak := uint64(0)
		for _, c := range calls.buckets {
			peak = max(peak, c)
		}
		first := true
		for i, c := range calls.buckets {
			if c == 0 {
				continue
			}
			name := ""
			if first {
				name, first = "attempts per call", false
			}
			bar := strings.Repeat("█", int(max(1, c*40/peak)))
			fmt.Fprintf(w, label+"%5s │%s %d\n", name, bucketLabel(calls.bounds, i), bar, c)
		}
	}

	attempts := m.total(metricAttemptDuration)
	fmt.Fprintf(w, label+"%d · %s\n", "attempts", attempts.count,
		joinCounts(m.countBy(metricAttemptDuration, attrAttemptOutcome)))

	backoff := m.total(metricBackoffDuration)
	if backoff.count == 0 {
		fmt.Fprintf(w, label+"none\n", "backoff pauses")
	} else {
		line := fmt.Sprintf("%d", backoff.count)
		if backoff.extrema {
			line += " · " + fmtDuration(seconds(backoff.min)) + " to " + fmtDuration(seconds(backoff.max))
		}
		line += " · " + fmtDuration(seconds(backoff.sum)) + " in all"
		fmt.Fprintf(w, label+"%s\n", "backoff pauses", line)
	}

	// Recorded for the calls of hedging policies only, 0 hedges included: the share of
	// them that hedged is what the bucket le=0 leaves out.
	if hedges := m.total(metricCallHedges); hedges.count > 0 {
		hedged := hedges.count
		if len(hedges.bounds) > 0 && hedges.bounds[0] == 0 {
			hedged -= hedges.buckets[0]
		}
		writeWrapped(w, fmt.Sprintf(label, "hedges"), fmt.Sprintf("%d in %s (%d hedged) · %s superseded",
			int(hedges.sum), plural(int(hedges.count), "hedging call"), hedged,
			plural(int(m.countBy(metricAttemptDuration, attrAttemptOutcome)["superseded"]), "attempt")))
	}

	var means []string
	byOutcome := map[string]histPoint{}
	for _, p := range m[metricCallDuration] {
		v, _ := p.attrs.Value(attrOutcome)
		t := byOutcome[v.String()]
		t.count += p.count
		t.sum += p.sum
		byOutcome[v.String()] = t
	}
	for _, o := range sortedOutcomes(byOutcome) {
		if t := byOutcome[o]; t.count > 0 {
			means = append(means, o+" "+fmtDuration(seconds(t.sum/float64(t.count))))
		}
	}
	writeWrapped(w, fmt.Sprintf(label, "mean call time"), strings.Join(means, " · "))

	if diffs := compareCounts(m, pass); len(diffs) > 0 {
		writeWrapped(w, "  ", "the workload's own count DIFFERS: "+strings.Join(diffs, "; "))
	} else {
		agrees := fmt.Sprintf("the workload's own count agrees: %s, %s, %s, %s",
			plural(len(pass.calls), "call"), plural(pass.attempts(), "attempt"),
			plural(pass.timeouts(), "timeout"), plural(pass.retries(), "pause"))
		if pass.hedgingCalls() > 0 {
			agrees += fmt.Sprintf(", %s, %d superseded", plural(pass.hedges(), "hedge"), pass.superseded())
		}
		writeWrapped(w, "  ", agrees)
	}
}

// compareCounts lists where the metrics differ from what the workload counted itself.
func compareCounts(m retryMetrics, pass *passLog) []string {
	var diffs []string
	got := m.countBy(metricCallAttempts, attrOutcome)
	want := pass.outcomes()
	for _, o := range sortedOutcomes(mergeKeys(got, want)) {
		if got[o] != uint64(want[o]) {
			diffs = append(diffs, fmt.Sprintf("%s calls: metrics %d, workload %d", o, got[o], want[o]))
		}
	}
	calls := m.total(metricCallAttempts)
	if int(calls.sum) != pass.attempts() {
		diffs = append(diffs, fmt.Sprintf("attempts: metrics %v, workload %d", calls.sum, pass.attempts()))
	}
	// One data point per attempt, the superseded attempts of hedged calls included.
	if got := m.total(metricAttemptDuration).count; got != uint64(pass.attempts()) {
		diffs = append(diffs, fmt.Sprintf("attempt durations: metrics %d, workload %d attempts", got, pass.attempts()))
	}
	wantBuckets := make([]uint64, len(calls.buckets))
	for n, c := range pass.attemptsPerCall() {
		i := 0
		for i < len(calls.bounds) && float64(n) > calls.bounds[i] {
			i++
		}
		if i < len(wantBuckets) {
			wantBuckets[i] += uint64(c)
		}
	}
	for i := range wantBuckets {
		if wantBuckets[i] != calls.buckets[i] {
			diffs = append(diffs, fmt.Sprintf("calls of %s attempts: metrics %d, workload %d",
				bucketLabel(calls.bounds, i), calls.buckets[i], wantBuckets[i]))
		}
	}
	if got, want := m.countBy(metricAttemptDuration, attrAttemptOutcome)["timeout"], pass.timeouts(); got != uint64(want) {
		diffs = append(diffs, fmt.Sprintf("timeouts: metrics %d, workload %d", got, want))
	}
	if got, want := m.total(metricBackoffDuration).count, pass.retries(); got != uint64(want) {
		diffs = append(diffs, fmt.Sprintf("pauses: metrics %d, workload %d", got, want))
	}
	hedges := m.total(metricCallHedges)
	if got, want := hedges.count, pass.hedgingCalls(); got != uint64(want) {
		diffs = append(diffs, fmt.Sprintf("calls of the hedging policy: metrics %d, workload %d", got, want))
	}
	if got, want := hedges.sum, pass.hedges(); got != float64(want) {
		diffs = append(diffs, fmt.Sprintf("hedges: metrics %v, workload %d", got, want))
	}
	if len(hedges.bounds) > 0 && hedges.bounds[0] == 0 {
		if got, want := hedges.count-hedges.buckets[0], pass.hedgedCalls(); got != uint64(want) {
			diffs = append(diffs, fmt.Sprintf("hedged calls: metrics %d, workload %d", got, want))
		}
	}
	if got, want := m.countBy(metricAttemptDuration, attrAttemptOutcome)["superseded"], pass.superseded(); got != uint64(want) {
		diffs = append(diffs, fmt.Sprintf("superseded attempts: metrics %d, workload %d", got, want))
	}
	return diffs
}

func mergeKeys(a map[string]uint64, b map[string]int) map[string]bool {
	m := map[string]bool{}
	for k := range a {
		m[k] = true
	}
	for k := range b {
		m[k] = true
	}
	return m
}

// joinCounts prints counts in the order of hooks.Outcome: "success 4 · exhausted 1".
func joinCounts(counts map[string]uint64) string {
	var parts []string
	for _, k := range sortedOutcomes(counts) {
		parts = append(parts, k+" "+strconv.FormatUint(counts[k], 10))
	}
	if len(parts) == 0 {
		return "none"
	}
	return strings.Join(parts, " · ")
}

func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }
