package main

import (
	"strings"
	"testing"
)

func TestGRPCTarget(t *testing.T) {
	for _, tc := range []struct {
		name           string
		rk, direct     string // ns/op and allocs/op of one round
		want           bool
		wantInMeasured string
	}{
		{"met", "102 145", "100 143", true, "1.02x"},
		{"too slow", "106 144", "100 143", false, "1.06x"},
		{"too many allocations", "100 147", "100 143", false, "147 vs 143 allocs/op"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			line := func(lib, v string) string {
				f := strings.Fields(v)
				return "BenchmarkG_GRPCFirstTry/lib=" + lib + "-2 100 " + f[0] + " ns/op 8000 B/op " + f[1] + " allocs/op\n"
			}
			results, err := parse(strings.NewReader(line("direct", tc.direct) + line("retrykit", tc.rk)))
			if err != nil {
				t.Fatal(err)
			}
			get := func(group, lib string) *result {
				for _, r := range results {
					if r.group == group && r.lib == lib {
						return r
					}
				}
				return nil
			}
			text, ok := overRatioAllocs("G_GRPCFirstTry", "retrykit", "direct", 1.05, 3)(get)
			if ok != tc.want || !strings.Contains(text, tc.wantInMeasured) {
				t.Errorf("G target = %q, %v; want %v and %q in the text", text, ok, tc.want, tc.wantInMeasured)
			}
		})
	}
}
