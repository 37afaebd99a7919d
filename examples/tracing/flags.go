package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"time"
)

// config is everything a run needs, from the command line (and, for tests, a few hooks
// that no flag sets).
type config struct {
	stories     bool    // run the scripted stories first
	calls       int     // calls with the random failure mix, after the stories
	trees       int     // call trees to print; -1: all
	seed        uint64  // seed of the random failure mix
	concurrency int     // calls in flight at once
	fail        float64 // share of attempts answered 503
	throttle    float64 // share of attempts answered 429 with Retry-After
	hang        float64 // share of attempts never answered (they trip the attempt timeout, or are hedged)
	latency     time.Duration
	retryAfter  time.Duration // the Retry-After of the random mix's 429s, whole seconds
	hedge       float64       // share of random-mix calls sent under the hedging policy

	maxTries       int
	attemptTimeout time.Duration
	deadline       time.Duration

	metricsAddr string // serve Prometheus /metrics here and keep running
	loop        bool   // with metricsAddr: repeat the workload until interrupted

	// Set by tests only.
	metricsListener net.Listener        // used instead of listening on metricsAddr
	workloadDone    func(pass *passLog) // called after each pass of the workload
}

const usageHead = `Usage: go run ./examples/tracing [flags]

Calls a flaky HTTP service on loopback through a retrykit policy with
OpenTelemetry hooks, prints every call as a tree built from the exported
spans, then a summary of the retry metrics read back from the SDK.

Real backends: set OTEL_EXPORTER_OTLP_ENDPOINT (and any other OTEL_*
variable) to export spans and metrics over OTLP; -metrics-addr serves
Prometheus /metrics and keeps running until interrupted.

Flags:
`

// parseFlags reads the command line. -h prints the usage to stderr and returns
// flag.ErrHelp. A bad flag prints nothing: its error, returned, is the one line the
// user sees, with a pointer to -h rather than the whole usage.
func parseFlags(args []string, stderr io.Writer) (*config, error) {
	cfg := &config{}
	fs := newFlagSet(cfg, stderr)
	fs.SetOutput(io.Discard) // the flag package would print the error and the usage
	fs.Usage = func() {}
	if err := fs.Parse(args); errors.Is(err, flag.ErrHelp) {
		fs.SetOutput(stderr)
		printUsage(fs, stderr)
		return nil, err
	} else if err != nil {
		return nil, fmt.Errorf("%w (-h lists the flags)", err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q (see -h)", fs.Arg(0))
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	return cfg, nil
}

// newFlagSet defines the flags, which set the fields of cfg.
func newFlagSet(cfg *config, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet("tracing", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() { printUsage(fs, stderr) }

	fs.BoolVar(&cfg.stories, "stories", true,
		"run the scripted stories first: success at once, after retries,\n"+
			"after an attempt timeout, after a Retry-After pause; exhausted,\n"+
			"deadline, permanent; an idempotent POST; a hedged GET")
	fs.IntVar(&cfg.calls, "calls", 12, "`number` of calls with the random failure mix, after the\nstories")
	fs.IntVar(&cfg.trees, "trees", 9, "print the trees of this `many` calls (-1: all)")
	fs.Uint64Var(&cfg.seed, "seed", 1, "`seed` of the random failure mix: same seed, same faults")
	fs.IntVar(&cfg.concurrency, "concurrency", 4, "`number` of calls in flight at once")
	fs.Float64Var(&cfg.fail, "fail", 0.3, "`share` (0..1) of random-mix attempts answered 503")
	fs.Float64Var(&cfg.throttle, "throttle", 0.05, "`share` (0..1) of random-mix attempts answered 429 with\nRetry-After")
	fs.Float64Var(&cfg.hang, "hang", 0.05, "`share` (0..1) of random-mix attempts never answered: they\ntrip the attempt timeout, or are hedged under -hedge")
	fs.DurationVar(&cfg.latency, "latency", 20*time.Millisecond, "the service answers after up to this `duration`")
	fs.DurationVar(&cfg.retryAfter, "retry-after", time.Second, "the Retry-After of the random mix's 429s, in whole seconds")
	fs.Float64Var(&cfg.hedge, "hedge", 0, "`share` (0..1) of random-mix calls sent with retry.HedgeValue\n"+
		"under the hedging policy (a hedge after "+hedgeDelay.String()+")")
	fs.IntVar(&cfg.maxTries, "max-tries", 4, "policy: attempts per call, the first included")
	fs.DurationVar(&cfg.attemptTimeout, "attempt-timeout", 250*time.Millisecond, "policy: limit of one attempt")
	fs.DurationVar(&cfg.deadline, "deadline", 2*time.Second,
		"policy: limit of a whole call, pauses included; 0 fails every\n"+
			"call at once, before any attempt")
	fs.StringVar(&cfg.metricsAddr, "metrics-addr", "",
		"serve Prometheus /metrics on this `address` (e.g. 127.0.0.1:9464)\n"+
			"and keep running until interrupted")
	fs.BoolVar(&cfg.loop, "loop", false,
		"with -metrics-addr: run the workload again and again until\n"+
			"interrupted (without it the example holds after one pass)")
	return fs
}

// printUsage writes the full usage: what the example does, then every flag.
func printUsage(fs *flag.FlagSet, w io.Writer) {
	fmt.Fprint(w, usageHead)
	fs.PrintDefaults()
}

// check rejects values the workload cannot honour; the retry options themselves are
// checked by retry.New.
func (c *config) check() error {
	var errs []error
	if c.calls < 0 {
		errs = append(errs, fmt.Errorf("-calls %d: must not be negative", c.calls))
	}
	if c.concurrency < 1 {
		errs = append(errs, fmt.Errorf("-concurrency %d: must be at least 1", c.concurrency))
	}
	if c.trees < -1 {
		errs = append(errs, fmt.Errorf("-trees %d: must be -1 or more", c.trees))
	}
	for _, s := range []struct {
		name string
		v    float64
	}{{"fail", c.fail}, {"throttle", c.throttle}, {"hang", c.hang}, {"hedge", c.hedge}} {
		if s.v < 0 || s.v > 1 {
			errs = append(errs, fmt.Errorf("-%s %v: must be within 0..1", s.name, s.v))
		}
	}
	if sum := c.fail + c.throttle + c.hang; sum > 1 {
		errs = append(errs, fmt.Errorf("-fail + -throttle + -hang = %.4g: must not exceed 1", sum))
	}
	if c.latency < 0 {
		errs = append(errs, fmt.Errorf("-latency %v: must not be negative", c.latency))
	}
	if c.retryAfter < time.Second || c.retryAfter%time.Second != 0 {
		errs = append(errs, fmt.Errorf("-retry-after %v: must be a whole number of seconds, at least 1s", c.retryAfter))
	}
	if c.loop && c.metricsAddr == "" {
		errs = append(errs, errors.New("-loop: needs -metrics-addr"))
	}
	return errors.Join(errs...)
}
