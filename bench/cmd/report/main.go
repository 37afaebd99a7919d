// Command report runs the retrykit benchmarks side by side with the peer libraries and
// writes bench/RESULTS.md: the machine, the Go version, a table per scenario with the
// ratio of every library to retrykit, and whether the targets were met.
//
// From the repository root:
//
//	go run ./bench/cmd/report
//
// It builds the benchmark binary once and runs it -count times with -test.count=1, so
// that the samples of every library are interleaved in time: load from other processes
// then hits every library alike instead of the few that happened to run during it. The
// raw output goes to bench/results.txt, and benchstat (run with go run at a pinned
// version) summarizes it in RESULTS.md next to the tables. Medians are what the tables
// and ratios use, as benchstat's do.
package main

import (
	"bufio"
	"bytes"
	"flag"
	"fmt"
	"io"
	"log"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"time"
)

// benchstat is the benchstat the report runs; golang.org/x/perf has no releases, so the
// pseudo-version pins it.
const benchstat = "golang.org/x/perf/cmd/benchstat@v0.0.0-20260908200009-22c9c6c9d4da"

// peers are the modules whose versions the report names.
var peers = []string{
	"github.com/avast/retry-go/v5",
	"github.com/cenkalti/backoff/v7",
	"github.com/cenkalti/backoff/v5",
	"github.com/sethvargo/go-retry",
	"github.com/failsafe-go/failsafe-go",
	"github.com/hashicorp/go-retryablehttp",
	"go.opentelemetry.io/otel/sdk",
	"google.golang.org/grpc",
	"github.com/grpc-ecosystem/go-grpc-middleware/v2",
}

func main() {
	log.SetFlags(0)
	log.SetPrefix("report: ")
	var (
		count     = flag.Int("count", 10, "samples per benchmark, taken in interleaved runs")
		benchtime = flag.String("benchtime", "150ms", "-test.benchtime of each sample")
		bench     = flag.String("bench", ".", "-test.bench: which benchmarks to run")
		from      = flag.String("from", "", "summarize this raw benchmark output instead of running the benchmarks")
	)
	flag.Parse()

	dir, err := benchDir()
	if err != nil {
		log.Fatal(err)
	}
	raw := filepath.Join(dir, "results.txt")
	started := time.Now().UTC()
	loadBefore := loadAvg()
	if *from == "" {
		if err := run(dir, raw, *count, *benchtime, *bench); err != nil {
			log.Fatal(err)
		}
	} else {
		if raw, err = filepath.Abs(*from); err != nil {
			log.Fatal(err)
		}
		// The run happened when its output was written.
		if fi, err := os.Stat(raw); err == nil {
			started = fi.ModTime().UTC()
		}
	}
	f, err := os.Open(raw)
	if err != nil {
		log.Fatal(err)
	}
	results, err := parse(f)
	f.Close()
	if err != nil {
		log.Fatal(err)
	}
	// Relative to dir, so that benchstat's header names results.txt, not a path of
	// this machine.
	rel, err := filepath.Rel(dir, raw)
	if err != nil {
		rel = raw
	}
	summary, err := goOutput(dir, "run", benchstat, rel)
	if err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	env := environment(dir, started, *count, *benchtime)
	if *from == "" {
		env.load = fmt.Sprintf("%s before, %s after", loadBefore, loadAvg())
	}
	write(&buf, env, results, summary)
	out := filepath.Join(dir, "RESULTS.md")
	if err := os.WriteFile(out, buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
	log.Printf("wrote %s", out)
}

// benchDir finds the bench module's directory, from the repository root (go.work) or
// from inside bench/.
func benchDir() (string, error) {
	out, err := goOutput("", "list", "-m", "-f", "{{.Dir}}", "github.com/retrykit/retrykit/bench")
	if err != nil {
		return "", err
	}
	return strings.TrimSpace(out), nil
}

// goOutput runs the go command in dir and returns its standard output.
func goOutput(dir string, args ...string) (string, error) {
	cmd := exec.Command("go", args...)
	cmd.Dir = dir
	cmd.Stderr = os.Stderr
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("go %s: %w", strings.Join(args, " "), err)
	}
	return string(out), nil
}

// run builds the benchmark binary and runs it count times, appending its output to raw
// and echoing it to stderr.
func run(dir, raw string, count int, benchtime, bench string) error {
	tmp, err := os.MkdirTemp("", "retrykit-bench")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	bin := filepath.Join(tmp, "bench.test")
	if _, err := goOutput(dir, "test", "-c", "-o", bin, "."); err != nil {
		return err
	}
	out, err := os.Create(raw)
	if err != nil {
		return err
	}
	defer out.Close()
	for i := range count {
		log.Printf("round %d of %d", i+1, count)
		cmd := exec.Command(bin, "-test.run", "^$", "-test.bench", bench, "-test.benchmem",
			"-test.count", "1", "-test.benchtime", benchtime)
		cmd.Dir = dir
		cmd.Stdout = io.MultiWriter(out, os.Stderr)
		cmd.Stderr = os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("round %d: %w", i+1, err)
		}
	}
	return out.Close()
}

// A result is the samples of one benchmark, e.g. "A_FirstTry" / "retrykit".
type result struct {
	group  string // the benchmark without "Benchmark", e.g. "A_FirstTry"
	lib    string // the lib= part of the sub-benchmark name
	ns     []float64
	bytes  []float64
	allocs []float64
}

// parse reads go test -bench output, keeping the order in which benchmarks first appear.
func parse(r io.Reader) ([]*result, error) {
	var results []*result
	byName := map[string]*result{}
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 4 || !strings.HasPrefix(fields[0], "Benchmark") {
			continue
		}
		name := fields[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 { // the -GOMAXPROCS suffix
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		group, lib, ok := strings.Cut(strings.TrimPrefix(name, "Benchmark"), "/lib=")
		if !ok {
			continue
		}
		res := byName[name]
		if res == nil {
			res = &result{group: group, lib: lib}
			byName[name] = res
			results = append(results, res)
		}
		for i := 2; i+1 < len(fields); i += 2 {
			v, err := strconv.ParseFloat(fields[i], 64)
			if err != nil {
				return nil, fmt.Errorf("%s: %q: %w", fields[0], fields[i], err)
			}
			switch fields[i+1] {
			case "ns/op":
				res.ns = append(res.ns, v)
			case "B/op":
				res.bytes = append(res.bytes, v)
			case "allocs/op":
				res.allocs = append(res.allocs, v)
			}
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if len(results) == 0 {
		return nil, fmt.Errorf("no benchmark results")
	}
	return results, nil
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	s := slices.Sorted(slices.Values(xs))
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

// pairedRatio is the median over rounds of a's time over b's in the same round. The
// two samples of a round were taken seconds apart, so load from other processes weighs
// on both alike and cancels out of their ratio, where a ratio of medians can put a quiet
// median over a loaded one.
func pairedRatio(a, b *result) float64 {
	n := min(len(a.ns), len(b.ns))
	rs := make([]float64, n)
	for i := range n {
		rs[i] = a.ns[i] / b.ns[i]
	}
	return median(rs)
}

// spread is the largest distance of a sample from the median, relative to it.
func spread(xs []float64) float64 {
	m := median(xs)
	if m == 0 {
		return 0
	}
	var d float64
	for _, x := range xs {
		d = max(d, math.Abs(x-m))
	}
	return d / m
}

// env describes where and how the run happened.
type env struct {
	date, cpu, goVersion, platform, command, load string
	cores                                         int
	versions                                      []string
}

func environment(dir string, started time.Time, count int, benchtime string) env {
	e := env{
		date:     started.Format("2006-01-02 15:04 UTC"),
		cpu:      cpuModel(),
		cores:    runtime.NumCPU(),
		platform: runtime.GOOS + "/" + runtime.GOARCH,
		command: fmt.Sprintf("`go run ./bench/cmd/report -count %d -benchtime %s` (%d interleaved runs of `-test.count 1 -test.benchmem`)",
			count, benchtime, count),
	}
	if v, err := goOutput(dir, "env", "GOVERSION"); err == nil {
		e.goVersion = strings.TrimSpace(v)
	}
	for _, p := range peers {
		if v, err := goOutput(dir, "list", "-m", "-f", "{{.Path}} {{.Version}}", p); err == nil {
			e.versions = append(e.versions, strings.TrimSpace(v))
		}
	}
	return e
}

// loadAvg is the 1-, 5- and 15-minute load averages of /proc/loadavg, or "?".
func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

// cpuModel is the first "model name" of /proc/cpuinfo, or GOARCH where there is none.
func cpuModel() string {
	b, err := os.ReadFile("/proc/cpuinfo")
	if err != nil {
		return runtime.GOARCH
	}
	for line := range strings.Lines(string(b)) {
		if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return runtime.GOARCH
}

// A section is one scenario's table: its benchmark group, a heading, what it measures,
// and the row the ratios divide by.
type section struct {
	group, title, about, ref string
	// pairs, if set, adds a column with the ratio of a row to another: in scenario D,
	// of each otelretry row to the same OpenTelemetry work written by hand.
	pairs map[string]string
}

var sections = []section{
	{"A_FirstTry", "A: success on the first try", "One call, one attempt that succeeds: what the wrapper costs when nothing goes wrong.", "retrykit", nil},
	{"A_FirstTryParallel", "A: success on the first try, RunParallel", "The same, with one policy shared by GOMAXPROCS goroutines.", "retrykit", nil},
	{"B_TwoFailures", "B: two failures, then success, zero pause", "Three attempts per call: the cost of the retry machinery itself.", "retrykit", nil},
	{"C_AttemptTimeout", "C: success with a per-attempt timeout of 100 ms", "Only retrykit and failsafe-go have a per-attempt timeout; the other peers wrap the attempt in context.WithTimeout by hand, which is also the direct baseline. failsafe-go cancels the attempt's context from a timer instead of setting its deadline, and its check (ctx.Done() != nil) allocates one channel the others are not charged.", "retrykit", nil},
	{"D_Hooks", "D: observing a first-try success", "retrykit with hooks: none, hooks.Stats, hooks.Log to slog.DiscardHandler (log-off) and to a text handler at debug level whose writer drops every record (log-text), otelretry with no-op providers and with the SDK (always sampling, a span processor that drops spans, a manual reader). otel-sdk-by-hand and otel-noop-by-hand do the same OpenTelemetry operations directly, without retrykit, the lean way (attributes known at the start as start options, attribute sets and closing attributes made once, no end-time option on a span that ends now); the last column divides each otelretry row by its hand-written twin.", "retrykit",
		map[string]string{"retrykit+otel-noop": "otel-noop-by-hand", "retrykit+otel-sdk": "otel-sdk-by-hand"}},
	{"E_Budget", "E: a retry budget under RunParallel", "First-try success, every call accounted in one budget shared by all goroutines. cenkalti/backoff and sethvargo/go-retry have no budget.", "retrykit", nil},
	{"F_HTTPFirstTry", "F: an HTTP GET on loopback, success on the first try", "A keep-alive GET answered 200 by an httptest server: retryhttp.Transport, go-retryablehttp and failsafehttp over one bare http.Transport each, and that bare transport alone.", "retrykit", nil},
	{"F_HTTPTwo503s", "F: an HTTP GET answered 503, 503, then 200", "Three attempts per call, no pause. dials/op (in benchstat's summary) counts new connections per call: a retried response that is not drained and closed costs one.", "retrykit", nil},
	{"G_GRPCFirstTry", "G: a gRPC unary call on loopback, first try", "grpc.health.v1.Health/Check on a 127.0.0.1 connection: the bare call (direct), grpcretry's interceptor, go-grpc-middleware's retry interceptor and grpc-go's built-in retry (service config), each under at most 3 attempts on Unavailable.", "direct", nil},
	{"G_GRPCTwoUnavailable", "G: a gRPC unary call answered Unavailable twice, then OK", "The same call, three attempts each; direct retries by hand. grpc-go's built-in retry cannot pause for less than its shortest initialBackoff (1ns), a timer per retry.", "direct", nil},
}

// A target is one of the goals, computed from the medians.
type target struct {
	text string
	eval func(get func(group, lib string) *result) (string, bool)
}

var targets = []target{
	{"A: retrykit ≥ 2x faster than the fastest peer, 0 allocs/op (serial)", peerRatio("A_FirstTry", 2)},
	{"A: the same under RunParallel", peerRatio("A_FirstTryParallel", 2)},
	{"B: retrykit ≥ 20x faster than the fastest peer, 0 allocs/op", peerRatio("B_TwoFailures", 20)},
	{"C: retrykit ≤ 1.15x the bare context.WithTimeout baseline", overRatio("C_AttemptTimeout", "retrykit", "direct", 1.15)},
	{"D: otelretry with the SDK ≤ 1.15x the hand-written OpenTelemetry baseline, at most 1 alloc/op more", overRatioAllocs("D_Hooks", "retrykit+otel-sdk", "otel-sdk-by-hand", 1.15, 1)},
	{"D: otelretry with no-op providers ≤ 1.15x the hand-written no-op baseline, no more allocs/op", overRatioAllocs("D_Hooks", "retrykit+otel-noop", "otel-noop-by-hand", 1.15, 0)},
	{"F: retryhttp ≤ 1.05x a bare http.Transport, ≤ 3 allocs/op more", overRatioAllocs("F_HTTPFirstTry", "retrykit", "bare", 1.05, 3)},
	{"G: grpcretry ≤ 1.05x the bare gRPC call, ≤ 3 allocs/op more", overRatioAllocs("G_GRPCFirstTry", "retrykit", "direct", 1.05, 3)},
}

var peerLibs = []string{"avast-v5", "cenkalti-v7", "cenkalti-v5", "sethvargo", "failsafe"}

// peerRatio: the fastest peer's median time over retrykit's is at least want, and
// retrykit does not allocate.
func peerRatio(group string, want float64) func(func(string, string) *result) (string, bool) {
	return func(get func(string, string) *result) (string, bool) {
		rk := get(group, "retrykit")
		if rk == nil {
			return "not run", false
		}
		var best *result
		for _, l := range peerLibs {
			if r := get(group, l); r != nil && (best == nil || median(r.ns) < median(best.ns)) {
				best = r
			}
		}
		if best == nil {
			return "no peer ran", false
		}
		ratio := pairedRatio(best, rk)
		allocs := median(rk.allocs)
		text := fmt.Sprintf("%.2fx faster than %s (%s vs %s ns/op), %g allocs/op",
			ratio, best.lib, num(median(rk.ns)), num(median(best.ns)), allocs)
		if d := get(group, "direct"); d != nil {
			// The harness's own cost (the direct row) is in every figure; what each
			// library adds to it is the difference.
			text += fmt.Sprintf("; over direct: %+.1f vs %+.1f ns/op",
				median(rk.ns)-median(d.ns), median(best.ns)-median(d.ns))
		}
		return text, ratio >= want && allocs == 0
	}
}

// overRatio: lib's median time over ref's is at most want.
func overRatio(group, lib, ref string, want float64) func(func(string, string) *result) (string, bool) {
	return func(get func(string, string) *result) (string, bool) {
		r, b := get(group, lib), get(group, ref)
		if r == nil || b == nil {
			return "not run", false
		}
		ratio := pairedRatio(r, b)
		return fmt.Sprintf("%.2fx (%s vs %s ns/op)", ratio, num(median(r.ns)), num(median(b.ns))), ratio <= want
	}
}

// overRatioAllocs: overRatio, and lib's median allocations per op are at most extra
// more than ref's.
func overRatioAllocs(group, lib, ref string, want, extra float64) func(func(string, string) *result) (string, bool) {
	time := overRatio(group, lib, ref, want)
	return func(get func(string, string) *result) (string, bool) {
		text, ok := time(get)
		r, b := get(group, lib), get(group, ref)
		if r == nil || b == nil {
			return text, false
		}
		ra, ba := median(r.allocs), median(b.allocs)
		return fmt.Sprintf("%s; %g vs %g allocs/op", text, ra, ba), ok && ra <= ba+extra
	}
}

// num prints a median with three significant digits.
func num(v float64) string {
	switch {
	case math.IsNaN(v):
		return "?"
	case v >= 100 || v == math.Trunc(v):
		return strconv.FormatFloat(math.Round(v), 'f', -1, 64)
	case v >= 10:
		return strconv.FormatFloat(v, 'f', 1, 64)
	default:
		return strconv.FormatFloat(v, 'f', 2, 64)
	}
}

func write(w io.Writer, e env, results []*result, summary string) {
	get := func(group, lib string) *result {
		for _, r := range results {
			if r.group == group && r.lib == lib {
				return r
			}
		}
		return nil
	}
	fmt.Fprintf(w, "# Benchmark results\n\n")
	fmt.Fprintf(w, "Written by `go run ./bench/cmd/report` (see [README.md](README.md)); the raw output is\n")
	fmt.Fprintf(w, "[results.txt](results.txt). Do not edit by hand.\n\n")
	fmt.Fprintf(w, "| | |\n|---|---|\n")
	fmt.Fprintf(w, "| date | %s |\n", e.date)
	fmt.Fprintf(w, "| machine | %s, %d cores, %s |\n", e.cpu, e.cores, e.platform)
	if r := get("Clock", "time.Now"); r != nil {
		fmt.Fprintf(w, "| clock | time.Now() takes %s ns/op here; the hooks path reads it twice per call, the budget once |\n", num(median(r.ns)))
	}
	if e.load != "" {
		fmt.Fprintf(w, "| load average | %s (1, 5, 15 min; %d cores) |\n", e.load, e.cores)
	}
	fmt.Fprintf(w, "| Go | %s |\n", e.goVersion)
	fmt.Fprintf(w, "| command | %s |\n", e.command)
	for _, v := range e.versions {
		fmt.Fprintf(w, "| peer | %s |\n", v)
	}
	fmt.Fprintf(w, "\nThe machine is shared with other work, so absolute figures are noisy; the ratios\n")
	fmt.Fprintf(w, "between libraries of one run are what counts. Every figure is the median of the samples,\n")
	fmt.Fprintf(w, "± the largest distance of a sample from it. A ratio divides a row's time by retrykit's\n")
	fmt.Fprintf(w, "(above 1: slower than retrykit); it is the median over the runs of the ratio of the two\n")
	fmt.Fprintf(w, "samples taken in the same run, seconds apart, so that load from other processes cancels\n")
	fmt.Fprintf(w, "out of it; it can differ from the ratio of the medians. \"ns/op over direct\" subtracts the direct row, the\n")
	fmt.Fprintf(w, "hand-written loop that every benchmark's harness also pays for: it is what the library adds.\n\n")

	fmt.Fprintf(w, "## Targets\n\n| target | measured | met |\n|---|---|---|\n")
	for _, t := range targets {
		text, ok := t.eval(get)
		mark := "yes"
		if !ok {
			mark = "**no**"
		}
		fmt.Fprintf(w, "| %s | %s | %s |\n", t.text, text, mark)
	}
	fmt.Fprintln(w)

	for _, s := range sections {
		var rows []*result
		for _, r := range results {
			if r.group == s.group {
				rows = append(rows, r)
			}
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(w, "## %s\n\n%s\n\n", s.title, s.about)
		fmt.Fprintf(w, "| library | ns/op | B/op | allocs/op | time vs %s | ns/op over direct |", s.ref)
		if s.pairs != nil {
			fmt.Fprintf(w, " time vs by hand |\n|---|--:|--:|--:|--:|--:|--:|\n")
		} else {
			fmt.Fprintf(w, "\n|---|--:|--:|--:|--:|--:|\n")
		}
		ref, direct := get(s.group, s.ref), get(s.group, "direct")
		for _, r := range rows {
			ratio, over := "?", ""
			if ref != nil {
				ratio = fmt.Sprintf("%.2fx", pairedRatio(r, ref))
			}
			if direct != nil && r != direct {
				over = fmt.Sprintf("%+.1f", median(r.ns)-median(direct.ns))
			}
			name := r.lib
			if r.lib == s.ref {
				name = "**" + r.lib + "**"
			}
			fmt.Fprintf(w, "| %s | %s ±%.0f%% | %s | %s | %s | %s |", name, num(median(r.ns)), 100*spread(r.ns),
				num(median(r.bytes)), num(median(r.allocs)), ratio, over)
			if s.pairs != nil {
				pair := ""
				if h := get(s.group, s.pairs[r.lib]); h != nil {
					pair = fmt.Sprintf("%.2fx", pairedRatio(r, h))
				}
				fmt.Fprintf(w, " %s |", pair)
			}
			fmt.Fprintln(w)
		}
		fmt.Fprintln(w)
	}

	fmt.Fprintf(w, "## benchstat\n\n```\n%s```\n", summary)
}
