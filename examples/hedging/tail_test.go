package main

import (
	"bytes"
	"context"
	"strconv"
	"strings"
	"testing"
	"testing/synctest"
	"time"
)

// TestTailCut is the claim of the demo, on the bubble's exact clock and the service's
// latencies without the network: hedging at the 95th percentile cuts the 99th percentile
// latency at least tenfold, for at most 10% more attempts.
func TestTailCut(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		c := config{calls: 10000, warmup: 1000, concurrency: 50, seed: 1, quantile: 0.95, floor: 2 * time.Millisecond}
		plain, hedged, err := policies(c)
		if err != nil {
			t.Fatal(err)
		}
		rows := compare(context.Background(), c, plain, hedged, func(ctx context.Context, i, n int) error {
			return wait(ctx, latencyFor(c.seed, i, n))
		})
		var table bytes.Buffer
		printTable(&table, rows)
		t.Logf("\n%s", table.String())
		without, with := rows[0].s, rows[1].s
		if without.failures != 0 || with.failures != 0 {
			t.Errorf("failed calls: %d without hedging, %d with", without.failures, with.failures)
		}
		p99, p99h := percentile(without.latencies, 0.99), percentile(with.latencies, 0.99)
		if p99 < 10*p99h {
			t.Errorf("p99 %v without hedging, %v with: cut less than tenfold", p99, p99h)
		}
		if p999, p999h := percentile(without.latencies, 0.999), percentile(with.latencies, 0.999); p999h >= p999 {
			t.Errorf("p99.9 %v without hedging, %v with: not cut", p999, p999h)
		}
		if a, ah := without.attemptsPerCall(), with.attemptsPerCall(); ah > 1.10*a {
			t.Errorf("%.3f attempts per call with hedging, %.3f without: more than 10%% extra", ah, a)
		}
		if p50, p50h := percentile(without.latencies, 0.5), percentile(with.latencies, 0.5); p50h > p50 {
			t.Errorf("p50 %v with hedging, %v without: hedging slowed the median", p50h, p50)
		}
	})
}

// TestLatencies: exactly one first attempt in a hundred is slow, later attempts about
// as often, and fast answers stay in their range.
func TestLatencies(t *testing.T) {
	slowFirst, slowLater := 0, 0
	for i := range 10000 {
		for n := 1; n <= 3; n++ {
			d := latencyFor(7, i, n)
			switch {
			case d == slowLatency && n == 1:
				slowFirst++
			case d == slowLatency:
				slowLater++
			case d < fastMin || d > fastMin+fastSpread:
				t.Fatalf("latency %v of call %d attempt %d out of range", d, i, n)
			}
		}
		if i%slowEvery == slowEvery-1 && slowFirst != (i+1)/slowEvery {
			t.Fatalf("%d slow first attempts in the first %d calls", slowFirst, i+1)
		}
	}
	if slowLater < 150 || slowLater > 250 {
		t.Errorf("%d slow answers among 20000 later attempts, want about 200", slowLater)
	}
}

// TestRealMain runs the demo end to end on loopback, with calls that the seed keeps
// clear of the slow answers so that it takes no second.
func TestRealMain(t *testing.T) {
	seed := uint64(1)
	for ; ; seed++ {
		clear := true
		for i := range 40 {
			clear = clear && latencyFor(seed, i, 1) < slowLatency && latencyFor(seed, i, 2) < slowLatency
		}
		if clear {
			break
		}
	}
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "")
	t.Setenv("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "")
	var out, errOut bytes.Buffer
	args := []string{"-calls", "30", "-warmup", "10", "-concurrency", "5", "-seed", strconv.FormatUint(seed, 10)}
	if err := realMain(context.Background(), args, &out, &errOut); err != nil {
		t.Fatalf("realMain: %v\n%s", err, errOut.String())
	}
	for _, want := range []string{"| without hedging |", "| hedging at p95 |", "| p50 | p90 | p99 | p99.9 | attempts per call |"} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("output lacks %q:\n%s", want, out.String())
		}
	}
	if strings.Contains(out.String(), "telemetry:") {
		t.Errorf("telemetry announced without OTEL_EXPORTER_OTLP_ENDPOINT:\n%s", out.String())
	}
}
