package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The workload the integration test scrapes: fixed seed, the stories and a random mix.
// A quarter of the random calls go under the hedging policy: most of them never hedge,
// so that the hedge panels' figures differ from their inverses.
var promWorkload = []string{"-seed", "7", "-calls", "16", "-hedge", "0.25", "-concurrency", "4", "-trees", "0", "-loop"}

// TestDashboardAgainstPrometheus runs the example with -metrics-addr, has a real
// Prometheus server scrape it, and runs every panel query of dashboard.json through
// Prometheus's HTTP API: each must return data, and the attempts-per-call and outcome
// figures must equal the workload's own counts exactly.
//
// The workload runs twice, each pass held back until Prometheus has scraped the one
// before: the counts are then checked after each pass, and the rate() of the panels
// sees every story's series grow.
func TestDashboardAgainstPrometheus(t *testing.T) {
	bin := prometheusBinary(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	// The example's /metrics listener, known before the example starts, so that
	// Prometheus can be started first.
	metricsLn, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	prom := startPrometheus(t, bin, metricsLn.Addr().String())

	cfg, err := parseFlags(append(slices.Clone(promWorkload), "-metrics-addr", metricsLn.Addr().String()), io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	cfg.metricsListener = metricsLn
	passes := make(chan *passLog)
	gate := make(chan struct{})
	cfg.workloadDone = func(p *passLog) {
		select {
		case passes <- p:
		case <-ctx.Done():
			return
		}
		select {
		case <-gate:
		case <-ctx.Done():
		}
	}
	var stdout, stderr lockedBuffer
	exited := make(chan error, 1)
	go func() { exited <- execute(ctx, cfg, &stdout, &stderr) }()
	defer func() {
		cancel()
		if err := <-exited; err != nil {
			t.Errorf("example: %v", err)
		}
		if stderr.String() != "" {
			t.Errorf("example's stderr:\n%s", stderr.String())
		}
	}()

	nextPass := func() *passLog {
		t.Helper()
		select {
		case p := <-passes:
			return p
		case err := <-exited:
			t.Fatalf("example stopped: %v\n%s", err, stderr.String())
		case <-time.After(30 * time.Second):
			t.Fatal("the workload did not finish a pass within 30s")
		}
		return nil
	}

	total := &passLog{}
	for pass := 1; pass <= 2; pass++ {
		p := nextPass()
		total.calls = append(total.calls, p.calls...)
		checkExactCounts(t, prom, total, pass)
		if t.Failed() {
			t.FailNow()
		}
		if pass == 1 {
			gate <- struct{}{} // let pass 2 run
		}
	}

	// Every panel query of the committed dashboard returns data.
	queries := dashboardQueries(t, "dashboard.json")
	if len(queries) < 5 {
		t.Fatalf("dashboard.json has %d panel queries, want one per query of docs/telemetry.md (5) at least", len(queries))
	}
	for _, q := range queries {
		expr := substituteVariable(q.expr, operationName)
		res, err := prom.query(expr)
		switch {
		case err != nil:
			t.Errorf("panel %q: %v", q.title, err)
		case len(res) == 0:
			t.Errorf("panel %q returned no data\nquery: %s", q.title, expr)
		default:
			for _, s := range res {
				if v := s.value(); math.IsNaN(v) || math.IsInf(v, 0) {
					t.Errorf("panel %q: series %v = %v\nquery: %s", q.title, s.Metric, v, expr)
				}
			}
		}
	}

	checkPanelValues(t, prom, queries, total)

	// The operation variable's own query finds the operation.
	values, err := prom.labelValues("retry_operation_name", "retry_call_attempts_count")
	if err != nil || !slices.Contains(values, operationName) {
		t.Errorf("label_values(retry_call_attempts_count, retry_operation_name) = %q, %v; want %q in it",
			values, err, operationName)
	}
}

// checkExactCounts waits until Prometheus has scraped the counts of want (bounded), then
// compares, figure by figure, the raw counters behind the panels with the workload's
// own count.
func checkExactCounts(t *testing.T, prom *prometheusServer, want *passLog, pass int) {
	t.Helper()
	sel := `{retry_operation_name="` + operationName + `"}`
	calls := len(want.calls)
	err := prom.poll(30*time.Second, func() error {
		got, err := prom.scalar(`sum(retry_call_attempts_count` + sel + `)`)
		if err != nil {
			return err
		}
		if got != float64(calls) {
			return fmt.Errorf("Prometheus has %v calls, the workload made %d", got, calls)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("pass %d: %v", pass, err)
	}

	wantOutcomes := map[string]float64{}
	for o, n := range want.outcomes() {
		wantOutcomes[o] = float64(n)
	}
	for _, metric := range []string{"retry_call_attempts_count", "retry_call_duration_seconds_count"} {
		got, err := prom.vector(`sum by (retry_outcome) (`+metric+sel+`)`, "retry_outcome")
		if err != nil {
			t.Fatal(err)
		}
		if !mapsEqual(got, wantOutcomes) {
			t.Errorf("pass %d: calls by outcome from %s = %v, workload counted %v", pass, metric, got, wantOutcomes)
		}
	}

	// Attempts per call: the cumulative buckets, le by le.
	got, err := prom.vector(`sum by (le) (retry_call_attempts_bucket`+sel+`)`, "le")
	if err != nil {
		t.Fatal(err)
	}
	perCall := want.attemptsPerCall()
	wantBuckets := map[string]float64{}
	for le := range got {
		wantBuckets[le] = 0
		bound := math.Inf(1)
		if le != "+Inf" {
			if bound, err = strconv.ParseFloat(le, 64); err != nil {
				t.Fatalf("bucket le=%q: %v", le, err)
			}
		}
		for n, c := range perCall {
			if float64(n) <= bound {
				wantBuckets[le] += float64(c)
			}
		}
	}
	if len(got) < 10 || !mapsEqual(got, wantBuckets) {
		t.Errorf("pass %d: attempts-per-call buckets = %v, workload counted %v (calls by attempts: %v)",
			pass, got, wantBuckets, perCall)
	}

	for _, c := range []struct {
		what  string
		query string
		want  int
	}{
		{"attempts", `sum(retry_call_attempts_sum` + sel + `)`, want.attempts()},
		{"attempts (attempt histogram)", `sum(retry_attempt_duration_seconds_count` + sel + `)`, want.attempts()},
		{"attempt timeouts", `sum(retry_attempt_duration_seconds_count{retry_attempt_outcome="timeout",retry_operation_name="` +
			operationName + `"})`, want.timeouts()},
		{"backoff pauses", `sum(retry_backoff_duration_seconds_count` + sel + `)`, want.retries()},
		{"calls of the hedging policy", `sum(retry_call_hedges_count` + sel + `)`, want.hedgingCalls()},
		{"hedges", `sum(retry_call_hedges_sum` + sel + `)`, want.hedges()},
		{"calls that did not hedge", `sum(retry_call_hedges_bucket{le=~"0|0\\.0",retry_operation_name="` +
			operationName + `"})`, want.hedgingCalls() - want.hedgedCalls()},
		{"superseded attempts", `sum(retry_attempt_duration_seconds_count{retry_attempt_outcome="superseded",retry_operation_name="` +
			operationName + `"})`, want.superseded()},
	} {
		got, err := prom.scalar(c.query)
		if err != nil {
			t.Errorf("pass %d: %s: %v", pass, c.what, err)
		} else if got != float64(c.want) {
			t.Errorf("pass %d: %s = %v, workload counted %d", pass, c.what, got, c.want)
		}
	}
}

func mapsEqual(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// prometheusBinary finds prometheus on PATH: a skip with an install hint when it is
// missing, a failure in CI.
func prometheusBinary(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("prometheus")
	if err == nil {
		return bin
	}
	const hint = "prometheus not on PATH: install Debian's package with `sudo apt-get install -y prometheus` " +
		"(and stop the service it starts: `sudo systemctl stop prometheus`)"
	if os.Getenv("CI") == "true" {
		t.Fatal(hint + "; .ci/run installs it in CI")
	}
	t.Skip(hint)
	return ""
}

// prometheusServer is a Prometheus process started by the test, scraping one target.
type prometheusServer struct {
	api  string // http://127.0.0.1:PORT
	logs *lockedBuffer
}

// startPrometheus starts Prometheus on a free loopback port with a configuration that
// scrapes target every second, its data in a temporary directory; it is stopped when the
// test ends.
func startPrometheus(t *testing.T, bin, target string) *prometheusServer {
	t.Helper()
	dir := t.TempDir()
	config := fmt.Sprintf(`global:
  scrape_interval: 1s
  scrape_timeout: 900ms
scrape_configs:
  - job_name: retrykit-example
    static_configs:
      - targets: [%q]
`, target)
	configFile := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(configFile, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	// A free port: taken, noted and given back for Prometheus to listen on.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()

	p := &prometheusServer{api: "http://" + addr, logs: &lockedBuffer{}}
	cmd := exec.Command(bin,
		"--config.file="+configFile,
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+addr,
		"--log.level=warn",
	)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = p.logs, p.logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting prometheus: %v", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("prometheus log:\n%s", p.logs.String())
		}
	})

	err = p.poll(30*time.Second, func() error {
		select {
		case err := <-exited:
			exited <- err
			return &stopPolling{fmt.Errorf("prometheus exited: %v\n%s", err, p.logs.String())}
		default:
		}
		resp, err := http.Get(p.api + "/-/ready")
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("/-/ready: %s", resp.Status)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// stopPolling is an error that ends a poll at once.
type stopPolling struct{ err error }

func (e *stopPolling) Error() string { return e.err.Error() }

// poll calls check every 200ms until it returns nil, returns a *stopPolling, or timeout
// passes; it returns check's last error.
func (p *prometheusServer) poll(timeout time.Duration, check func() error) error {
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	for {
		err := check()
		if err == nil {
			return nil
		}
		if stop, ok := errors.AsType[*stopPolling](err); ok {
			return stop.err
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("after %v: %w", timeout, err)
		}
		<-tick.C
	}
}

// sample is one series of an instant vector.
type sample struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"` // [unix time, "value"]
}

func (s sample) value() float64 {
	str, _ := s.Value[1].(string)
	v, err := strconv.ParseFloat(str, 64)
	if err != nil {
		return math.NaN()
	}
	return v
}

// query runs an instant query through /api/v1/query.
func (p *prometheusServer) query(expr string) ([]sample, error) {
	var r struct {
		Status    string `json:"status"`
		Error     string `json:"error"`
		ErrorType string `json:"errorType"`
		Data      struct {
			ResultType string          `json:"resultType"`
			Result     json.RawMessage `json:"result"`
		} `json:"data"`
	}
	if err := p.get("/api/v1/query?query="+url.QueryEscape(expr), &r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: %s: %s", expr, r.ErrorType, r.Error)
	}
	switch r.Data.ResultType {
	case "vector":
		var res []sample
		if err := json.Unmarshal(r.Data.Result, &res); err != nil {
			return nil, fmt.Errorf("query %s: %w", expr, err)
		}
		return res, nil
	case "scalar":
		var v [2]any
		if err := json.Unmarshal(r.Data.Result, &v); err != nil {
			return nil, fmt.Errorf("query %s: %w", expr, err)
		}
		return []sample{{Value: v}}, nil
	}
	return nil, fmt.Errorf("query %s: result type %q", expr, r.Data.ResultType)
}

// scalar runs a query that returns one series and gives its value.
func (p *prometheusServer) scalar(expr string) (float64, error) {
	res, err := p.query(expr)
	if err != nil {
		return 0, err
	}
	if len(res) != 1 {
		return 0, fmt.Errorf("query %s: %d series, want 1", expr, len(res))
	}
	return res[0].value(), nil
}

// vector runs a query and returns its values by the value of label.
func (p *prometheusServer) vector(expr, label string) (map[string]float64, error) {
	res, err := p.query(expr)
	if err != nil {
		return nil, err
	}
	m := make(map[string]float64, len(res))
	for _, s := range res {
		m[s.Metric[label]] = s.value()
	}
	return m, nil
}

// labelValues lists the values of label on the series of metric, as Grafana's
// label_values(metric, label) does.
func (p *prometheusServer) labelValues(label, metric string) ([]string, error) {
	var r struct {
		Status string   `json:"status"`
		Data   []string `json:"data"`
	}
	if err := p.get("/api/v1/label/"+label+"/values?match[]="+url.QueryEscape(metric), &r); err != nil {
		return nil, err
	}
	return r.Data, nil
}

func (p *prometheusServer) get(path string, v any) error {
	resp, err := http.Get(p.api + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %s: %w\n%s", path, resp.Status, err, body)
	}
	return nil
}

// panelQuery is one target of a dashboard panel.
type panelQuery struct{ title, expr string }

// dashboardQueries reads every panel target's expr from a dashboard JSON file, rows'
// panels included.
func dashboardQueries(t *testing.T, file string) []panelQuery {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	type panel struct {
		Title   string `json:"title"`
		Targets []struct {
			Expr string `json:"expr"`
		} `json:"targets"`
		Panels []json.RawMessage `json:"panels"`
	}
	var d struct {
		Panels []json.RawMessage `json:"panels"`
	}
	if err := json.Unmarshal(b, &d); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	var out []panelQuery
	var walk func([]json.RawMessage)
	walk = func(raw []json.RawMessage) {
		for _, r := range raw {
			var p panel
			if err := json.Unmarshal(r, &p); err != nil {
				t.Fatalf("%s: %v", file, err)
			}
			for _, tg := range p.Targets {
				if tg.Expr != "" {
					out = append(out, panelQuery{p.Title, tg.Expr})
				}
			}
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return out
}

// substituteVariable does what Grafana does to $retry_operation_name for one selected
// value in a regex matcher: the value, regex-escaped, inside a PromQL string.
func substituteVariable(expr, value string) string {
	escaped := strings.ReplaceAll(regexp.QuoteMeta(value), `\`, `\\`)
	return strings.NewReplacer("${retry_operation_name}", escaped, "$retry_operation_name", escaped).Replace(expr)
}

// lockedBuffer is a bytes.Buffer safe for the writers of a process and the test.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// rateWindow matches the rate over the panels' window, rate(M[5m]).
var rateWindow = regexp.MustCompile(`rate\(([^()\[\]]+)\[5m\]\)`)

// checkPanelValues runs every panel query with its rates over the window replaced by
// the counters themselves, the totals since the example started, and compares the
// result with the same figure computed from the workload's own log: a query that is
// inverted, filters the wrong series or divides the wrong way fails here, where it
// would return data all the same.
func checkPanelValues(t *testing.T, prom *prometheusServer, queries []panelQuery, want *passLog) {
	t.Helper()
	calls := float64(len(want.calls))
	retried := 0.0
	for _, c := range want.calls {
		if c.attempts > 1 {
			retried++
		}
	}
	byOutcome := map[string]float64{}
	failures := map[string]float64{}
	for o, n := range want.outcomes() {
		byOutcome[o] = float64(n)
		if o != "success" {
			failures[o] = float64(n)
		}
	}
	// A hedge panel that divided the wrong way, or left out the 1 -, would give the same
	// figure on a workload where every call of the hedging policy hedged once.
	hedging, hedges, hedged := float64(want.hedgingCalls()), float64(want.hedges()), float64(want.hedgedCalls())
	if hedging == 0 || hedges == hedging || hedged == 0 || 2*hedged == hedging {
		t.Fatalf("the workload made %v calls of the hedging policy, %v hedges, %v calls hedged: "+
			"too few to tell a hedge panel from its inverse", hedging, hedges, hedged)
	}
	bounds, err := prom.bucketBounds("retry_backoff_duration_seconds_bucket")
	if err != nil {
		t.Fatal(err)
	}
	var pauses []float64
	for _, c := range want.calls {
		for _, d := range c.pauses {
			pauses = append(pauses, d.Seconds())
		}
	}
	// The figure each panel shows, by the value of its legend's label.
	expect := map[string]map[string]float64{
		"Attempts per call":                  {operationName: float64(want.attempts()) / calls},
		"Share of calls that needed a retry": {operationName: retried / calls},
		"Failures by outcome":                failures,
		"Attempt timeouts":                   {operationName: float64(want.timeouts())},
		"p95 backoff delay":                  {"": histogramQuantile(0.95, bounds, pauses)},
		"Calls by outcome":                   byOutcome,
		"Hedges per call":                    {operationName: hedges / hedging},
		"Share of calls that hedged":         {operationName: hedged / hedging},
	}
	labels := map[string]string{
		"Failures by outcome": "retry_outcome",
		"Calls by outcome":    "retry_outcome",
		"p95 backoff delay":   "",
	}
	for _, q := range queries {
		w, ok := expect[q.title]
		if !ok {
			t.Errorf("panel %q: no expected value: add it to checkPanelValues", q.title)
			continue
		}
		expr := rateWindow.ReplaceAllString(substituteVariable(q.expr, operationName), "$1")
		if strings.Contains(expr, "[5m]") {
			t.Errorf("panel %q: a window left after replacing the rates: %s", q.title, expr)
			continue
		}
		label, ok := labels[q.title]
		if !ok {
			label = "retry_operation_name"
		}
		got, err := prom.vector(expr, label)
		if err != nil {
			t.Errorf("panel %q: %v", q.title, err)
			continue
		}
		if !mapsClose(got, w) {
			t.Errorf("panel %q = %v, the workload's own count gives %v\nquery: %s", q.title, got, w, expr)
		}
	}
}

// histogramQuantile is what Prometheus's histogram_quantile makes of values counted in
// buckets of the upper bounds (sorted, +Inf left out): the bucket of the q-th value by
// rank, and a linear interpolation within it.
func histogramQuantile(q float64, bounds, values []float64) float64 {
	counts := make([]float64, len(bounds)+1)
	for _, v := range values {
		i := 0
		for i < len(bounds) && v > bounds[i] {
			i++
		}
		counts[i]++
	}
	rank := q * float64(len(values))
	cum := 0.0
	for i, c := range counts {
		if cum+c >= rank && c > 0 {
			if i == len(bounds) {
				return bounds[len(bounds)-1] // the +Inf bucket: its lower bound
			}
			lower := 0.0
			if i > 0 {
				lower = bounds[i-1]
			}
			return lower + (bounds[i]-lower)*(rank-cum)/c
		}
		cum += c
	}
	return math.NaN()
}

// bucketBounds lists the finite le values of a bucket series, sorted.
func (p *prometheusServer) bucketBounds(metric string) ([]float64, error) {
	values, err := p.labelValues("le", metric)
	if err != nil {
		return nil, err
	}
	var bounds []float64
	for _, le := range values {
		if le == "+Inf" {
			continue
		}
		b, err := strconv.ParseFloat(le, 64)
		if err != nil {
			return nil, fmt.Errorf("le=%q: %w", le, err)
		}
		bounds = append(bounds, b)
	}
	slices.Sort(bounds)
	if len(bounds) == 0 {
		return nil, fmt.Errorf("no buckets of %s", metric)
	}
	return bounds, nil
}

// mapsClose is mapsEqual up to floating-point rounding.
func mapsClose(a, b map[string]float64) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		w, ok := b[k]
		if !ok || math.Abs(v-w) > 1e-9*max(1, math.Abs(w)) {
			return false
		}
	}
	return true
}
