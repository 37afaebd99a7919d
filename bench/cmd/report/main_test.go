package main

import (
	"bytes"
	"math"
	"strings"
	"testing"

	"go.uber.org/goleak"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// sample is go test -bench output of two rounds, with the header lines and a
// benchmark outside the lib= scheme that parse must skip.
const sample = `goos: linux
goarch: amd64
pkg: github.com/retrykit/retrykit/bench
cpu: Test CPU
BenchmarkA_FirstTry/lib=direct-2     	100	 4.0 ns/op	  0 B/op	 0 allocs/op
BenchmarkA_FirstTry/lib=retrykit-2   	100	 5.0 ns/op	  0 B/op	 0 allocs/op
BenchmarkA_FirstTry/lib=avast-v5-2   	100	12.0 ns/op	  0 B/op	 0 allocs/op
BenchmarkA_FirstTry/lib=sethvargo-2  	100	50.0 ns/op	 64 B/op	 2 allocs/op
BenchmarkB_TwoFailures/lib=retrykit-2	100	 60 ns/op	  0 B/op	 0 allocs/op
BenchmarkB_TwoFailures/lib=avast-v5-2	100	900 ns/op	496 B/op	 6 allocs/op
BenchmarkOther-2                     	100	  1 ns/op
PASS
goos: linux
BenchmarkA_FirstTry/lib=direct-2     	100	 4.0 ns/op	  0 B/op	 0 allocs/op
BenchmarkA_FirstTry/lib=retrykit-2   	100	 7.0 ns/op	  0 B/op	 0 allocs/op
BenchmarkA_FirstTry/lib=avast-v5-2   	100	14.0 ns/op	  0 B/op	 0 allocs/op
BenchmarkA_FirstTry/lib=sethvargo-2  	100	52.0 ns/op	 64 B/op	 2 allocs/op
BenchmarkB_TwoFailures/lib=retrykit-2	100	 60 ns/op	  0 B/op	 0 allocs/op
BenchmarkB_TwoFailures/lib=avast-v5-2	100	900 ns/op	496 B/op	 6 allocs/op
PASS
`

func TestParse(t *testing.T) {
	results, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, r := range results {
		names = append(names, r.group+"/"+r.lib)
	}
	want := "A_FirstTry/direct A_FirstTry/retrykit A_FirstTry/avast-v5 A_FirstTry/sethvargo B_TwoFailures/retrykit B_TwoFailures/avast-v5"
	if got := strings.Join(names, " "); got != want {
		t.Fatalf("parsed %s, want %s", got, want)
	}
	rk := results[1]
	if len(rk.ns) != 2 || len(rk.bytes) != 2 || len(rk.allocs) != 2 {
		t.Fatalf("retrykit samples: %v ns, %v B, %v allocs; want 2 of each", rk.ns, rk.bytes, rk.allocs)
	}
	if _, err := parse(strings.NewReader("PASS\n")); err == nil {
		t.Error("parse of output without benchmarks succeeded")
	}
}

func TestMedianSpread(t *testing.T) {
	tests := []struct {
		xs             []float64
		median, spread float64
	}{
		{[]float64{3}, 3, 0},
		{[]float64{5, 1, 3}, 3, 2.0 / 3},
		{[]float64{4, 1, 3, 2}, 2.5, 1.5 / 2.5},
		{[]float64{0, 0}, 0, 0},
	}
	for _, tt := range tests {
		if got := median(tt.xs); got != tt.median {
			t.Errorf("median(%v) = %v, want %v", tt.xs, got, tt.median)
		}
		if got := spread(tt.xs); math.Abs(got-tt.spread) > 1e-12 {
			t.Errorf("spread(%v) = %v, want %v", tt.xs, got, tt.spread)
		}
	}
	if !math.IsNaN(median(nil)) {
		t.Error("median of no samples is not NaN")
	}
}

func TestPairedRatio(t *testing.T) {
	tests := []struct {
		a, b []float64
		want float64
	}{
		{[]float64{2}, []float64{1}, 2},
		// Whatever the load of each run, every run says 1.1.
		{[]float64{11, 33, 22}, []float64{10, 30, 20}, 1.1},
		// Load in different runs for each side: the runs say 0.69, 1.57 and 1.01, and
		// the median of those is the one run where both were alike.
		{[]float64{2400, 3600, 2410}, []float64{3500, 2300, 2390}, 2410.0 / 2390},
		// Extra samples of one side are ignored.
		{[]float64{4, 6, 100}, []float64{2, 3}, 2},
	}
	for _, tt := range tests {
		got := pairedRatio(&result{ns: tt.a}, &result{ns: tt.b})
		if math.Abs(got-tt.want) > 1e-12 {
			t.Errorf("pairedRatio(%v, %v) = %v, want %v", tt.a, tt.b, got, tt.want)
		}
	}
}

func TestWrite(t *testing.T) {
	results, err := parse(strings.NewReader(sample))
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	write(&buf, env{date: "today", cpu: "Test CPU", cores: 2, goVersion: "go1.26.8"}, results, "benchstat says\n")
	out := buf.String()
	for _, want := range []string{
		"| machine | Test CPU, 2 cores",
		// A: avast over retrykit is 12/5 in one run and 14/7 in the other, a median
		// ratio of 2.2 (the medians, 13 and 6, would say 2.17); retrykit adds 2 over
		// direct's 4.
		"| A: retrykit ≥ 2x faster than the fastest peer, 0 allocs/op (serial) | 2.20x faster than avast-v5 (6 vs 13 ns/op), 0 allocs/op; over direct: +2.0 vs +9.0 ns/op | yes |",
		// B: 900 / 60 = 15, short of 20.
		"| B: retrykit ≥ 20x faster than the fastest peer, 0 allocs/op | 15.00x faster than avast-v5 (60 vs 900 ns/op), 0 allocs/op | **no** |",
		"| C: retrykit ≤ 1.15x the bare context.WithTimeout baseline | not run | **no** |",
		"| **retrykit** | 6 ±17% | 0 | 0 | 1.00x | +2.0 |",
		"| sethvargo | 51 ±2% | 64 | 2 | 8.71x | +47.0 |", // 50/5 and 52/7
		"```\nbenchstat says\n```",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("RESULTS.md lacks %q; it is:\n%s", want, out)
		}
	}
	if strings.Contains(out, "## C:") {
		t.Error("RESULTS.md has a table for scenario C, which did not run")
	}
}

func TestOverRatioAllocs(t *testing.T) {
	rows := map[string]*result{
		"hand":  {ns: []float64{100, 200}, allocs: []float64{11, 11}},
		"ok":    {ns: []float64{110, 220}, allocs: []float64{12, 12}},
		"slow":  {ns: []float64{120, 240}, allocs: []float64{12, 12}},
		"heavy": {ns: []float64{100, 200}, allocs: []float64{13, 13}},
	}
	get := func(_, lib string) *result { return rows[lib] }
	tests := []struct {
		lib   string
		extra float64
		want  bool
	}{
		{"ok", 1, true},
		{"ok", 0, false},
		{"slow", 1, false},
		{"heavy", 1, false},
		{"heavy", 2, true},
		{"missing", 1, false},
	}
	for _, tt := range tests {
		text, ok := overRatioAllocs("D_Hooks", tt.lib, "hand", 1.15, tt.extra)(get)
		if ok != tt.want {
			t.Errorf("%s, %g allocs more allowed: met=%v (%s), want %v", tt.lib, tt.extra, ok, text, tt.want)
		}
	}
}
