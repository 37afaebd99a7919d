package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

// run is the whole program: it parses args, runs the workload, prints the trees and the
// summary to stdout, and with -metrics-addr serves /metrics until ctx is done.
// Problems the program goes on despite (a collector that is down) go to stderr.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	return execute(ctx, cfg, stdout, stderr)
}

// execute runs the example as cfg says.
func execute(ctx context.Context, cfg *config, stdout, stderr io.Writer) error {
	tel, err := setupTelemetry(ctx, cfg, stderr)
	if err != nil {
		return err
	}
	defer tel.shutdown(ctx)

	w := newWorkload(cfg)
	srv, err := startServer(w.answer)
	if err != nil {
		return err
	}
	defer srv.close(context.WithoutCancel(ctx))

	cl, err := newClient(cfg, srv.url, tel)
	if err != nil {
		return err
	}
	defer cl.close()

	var metricsURL string
	if tel.registry != nil {
		stop, addr, err := serveMetrics(cfg, tel)
		if err != nil {
			return err
		}
		defer stop()
		metricsURL = "http://" + addr + "/metrics"
	}

	for _, e := range tel.exports {
		fmt.Fprintln(stdout, "exporting", e)
	}
	if metricsURL != "" {
		fmt.Fprintln(stdout, "serving Prometheus metrics at", metricsURL)
	}
	if len(tel.exports) > 0 || metricsURL != "" {
		fmt.Fprintln(stdout)
	}

	for pass := 1; ; pass++ {
		log := w.run(ctx, cl, pass)
		if pass == 1 {
			if err := report(ctx, stdout, cfg, tel, log); err != nil {
				return err
			}
		} else {
			fmt.Fprintf(stdout, "pass %d: %s · %s\n", pass, plural(len(log.calls), "call"),
				joinCounts(toUint(log.outcomes())))
		}
		tel.spans.reset()
		if cfg.workloadDone != nil {
			cfg.workloadDone(log)
		}
		if metricsURL == "" || !cfg.loop || ctx.Err() != nil {
			break
		}
	}
	if metricsURL != "" && ctx.Err() == nil {
		fmt.Fprintln(stdout, "\nholding /metrics for Prometheus until interrupted (Ctrl-C)")
		<-ctx.Done()
	}
	return nil
}

// report prints the trees of the first cfg.trees calls of log and the metrics summary.
func report(ctx context.Context, stdout io.Writer, cfg *config, tel *telemetry, log *passLog) error {
	shown := 0
	for _, c := range log.calls {
		if cfg.trees >= 0 && shown >= cfg.trees {
			break
		}
		writeTree(stdout, c, tel.spans.take(c.traceID))
		shown++
	}
	if rest := len(log.calls) - shown; rest > 0 {
		fmt.Fprintf(stdout, "(%d more calls not shown: -trees -1 prints them all)\n\n", rest)
	}
	m, err := readRetryMetrics(context.WithoutCancel(ctx), tel.reader)
	if err != nil {
		return err
	}
	writeSummary(stdout, m, log)
	return nil
}

// serveMetrics serves the Prometheus exposition on cfg's listener or address. stop
// closes the server.
func serveMetrics(cfg *config, tel *telemetry) (stop func(), addr string, err error) {
	ln := cfg.metricsListener
	if ln == nil {
		ln, err = net.Listen("tcp", cfg.metricsAddr)
		if err != nil {
			return nil, "", fmt.Errorf("-metrics-addr: %w", err)
		}
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", tel.metricsHandler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = srv.Serve(ln) // http.ErrServerClosed once stopped
	}()
	return func() {
		_ = srv.Close()
		<-done
	}, ln.Addr().String(), nil
}

func toUint(m map[string]int) map[string]uint64 {
	out := make(map[string]uint64, len(m))
	for k, v := range m {
		out[k] = uint64(v)
	}
	return out
}
