// Command hedging shows what hedged calls do to a heavy tail: a loopback HTTP service
// answers in about 5 ms, but one answer in a hundred takes a second. The same calls run
// twice through retrykit, without hedging and with retry.HedgeAtQuantile(0.95, ...), and
// the latency table (p50, p90, p99, p99.9, attempts per call) is printed.
//
//	go run ./examples/hedging
//
// With OTEL_EXPORTER_OTLP_ENDPOINT (or the per-signal variables) set, the calls' traces
// and metrics go to that OTLP endpoint through otelretry: every attempt is a span, the
// hedges and the superseded attempts among them.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"time"

	"github.com/retrykit/retrykit/otelretry"
	"github.com/retrykit/retrykit/retry"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := realMain(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "hedging:", err)
		os.Exit(1)
	}
}

// config is the command line.
type config struct {
	calls, warmup, concurrency int
	seed                       uint64
	quantile                   float64
	floor                      time.Duration
}

func parseFlags(args []string, stderr io.Writer) (config, error) {
	var c config
	fs := flag.NewFlagSet("hedging", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.IntVar(&c.calls, "calls", 5000, "calls measured per policy")
	fs.IntVar(&c.warmup, "warmup", 1000, "calls made first and not measured, while the hedge delay is learned")
	fs.IntVar(&c.concurrency, "concurrency", 50, "calls in flight at once")
	fs.Uint64Var(&c.seed, "seed", 1, "seed of the service's latencies")
	fs.Float64Var(&c.quantile, "quantile", 0.95, "hedge after this quantile of the recent successful attempts")
	fs.DurationVar(&c.floor, "floor", 2*time.Millisecond, "the hedge delay never goes below this")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.calls < 1 || c.warmup < 0 || c.concurrency < 1 {
		return c, errors.New("-calls and -concurrency must be at least 1, -warmup at least 0")
	}
	return c, nil
}

// policies returns the two policies the demo compares: plain, and the same hedging at
// the quantile. Both carry the hooks (otelretry's in the demo).
func policies(c config, hs ...retry.Option) (plain, hedged *retry.Policy, err error) {
	plain, err = retry.New(append([]retry.Option{retry.Name("GET /item"), retry.MaxTries(3)}, hs...)...)
	if err != nil {
		return nil, nil, err
	}
	hedged, err = plain.With(retry.Name("GET /item hedged"), retry.HedgeAtQuantile(c.quantile, c.floor))
	return plain, hedged, err
}

// compare runs the warm-up and the measured calls through both policies, the same calls
// (the same latencies) for each.
func compare(ctx context.Context, c config, plain, hedged *retry.Policy, attempt attemptFunc) []row {
	var rows []row
	for _, p := range []struct {
		name string
		p    *retry.Policy
	}{{"without hedging", plain}, {fmt.Sprintf("hedging at p%g", c.quantile*100), hedged}} {
		run(ctx, p.p, 0, c.warmup, c.concurrency, attempt)
		rows = append(rows, row{p.name, run(ctx, p.p, c.warmup, c.calls, c.concurrency, attempt)})
	}
	return rows
}

func realMain(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}
	tel, err := setupTelemetry(ctx)
	if err != nil {
		return err
	}
	defer tel.shutdown(ctx, stderr)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: service(c.seed), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer srv.Close()

	transport := &http.Transport{MaxIdleConns: 4 * c.concurrency, MaxIdleConnsPerHost: 4 * c.concurrency}
	defer transport.CloseIdleConnections()
	client := &http.Client{Transport: transport}
	base := "http://" + ln.Addr().String() + "/item"
	attempt := func(ctx context.Context, i, n int) error {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, fmt.Sprintf("%s?call=%d&attempt=%d", base, i, n), nil)
		if err != nil {
			return retry.Permanent(err)
		}
		resp, err := client.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("GET /item: %s", resp.Status)
		}
		return nil
	}

	plain, hedged, err := policies(c, retry.Hooks(otelretry.Hooks()))
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%d calls per policy (after %d warm-up calls), %d at a time, to a loopback service that answers in %v-%v, and in %v once in %d answers.\n\n",
		c.calls, c.warmup, c.concurrency, fastMin, fastMin+fastSpread, slowLatency, slowEvery)
	rows := compare(ctx, c, plain, hedged, attempt)
	if err := ctx.Err(); err != nil {
		return err
	}
	printTable(stdout, rows)
	if tel.exports != "" {
		fmt.Fprintf(stdout, "\ntelemetry: %s\n", tel.exports)
	}
	return nil
}
