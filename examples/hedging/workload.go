package main

import (
	"context"
	"fmt"
	"io"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/retrykit/retrykit/retry"
)

// attemptFunc is one attempt of call i, its n-th.
type attemptFunc func(ctx context.Context, i, n int) error

// stats is what a run of calls measured.
type stats struct {
	latencies []time.Duration // per call, sorted
	attempts  int64
	failures  int64
}

// run makes calls calls through p with the given concurrency, numbered from first, and
// measures each one's latency. Every call goes through Hedge: on a policy without a hedge
// option that is Do.
func run(ctx context.Context, p *retry.Policy, first, calls, concurrency int, attempt attemptFunc) stats {
	var (
		next     atomic.Int64
		attempts atomic.Int64
		failures atomic.Int64
		wg       sync.WaitGroup
	)
	lat := make([]time.Duration, calls)
	for range concurrency {
		wg.Go(func() {
			for {
				k := int(next.Add(1)) - 1
				if k >= calls {
					return
				}
				i := first + k
				var n atomic.Int64 // the call's attempts, in the order they start
				start := time.Now()
				err := p.Hedge(ctx, func(ctx context.Context) error {
					attempts.Add(1)
					return attempt(ctx, i, int(n.Add(1)))
				})
				lat[k] = time.Since(start)
				if err != nil {
					failures.Add(1)
				}
			}
		})
	}
	wg.Wait()
	slices.Sort(lat)
	return stats{latencies: lat, attempts: attempts.Load(), failures: failures.Load()}
}

// percentile returns the q-quantile of sorted latencies: the smallest of the slowest
// (1-q) of the calls, sorted[floor(q*len)]. With 1% of slow calls, p99 is a slow one.
func percentile(sorted []time.Duration, q float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	return sorted[min(int(q*float64(len(sorted))), len(sorted)-1)]
}

// attemptsPerCall is the mean number of attempts of a call.
func (s stats) attemptsPerCall() float64 {
	return float64(s.attempts) / float64(len(s.latencies))
}

// row is one line of the table.
type row struct {
	name string
	s    stats
}

// printTable writes the latency table, as Markdown so that it pastes into a README.
func printTable(w io.Writer, rows []row) {
	fmt.Fprintln(w, "| policy | p50 | p90 | p99 | p99.9 | attempts per call | failed calls |")
	fmt.Fprintln(w, "|---|---:|---:|---:|---:|---:|---:|")
	for _, r := range rows {
		l := r.s.latencies
		fmt.Fprintf(w, "| %s | %v | %v | %v | %v | %.3f | %d |\n", r.name,
			round(percentile(l, 0.50)), round(percentile(l, 0.90)), round(percentile(l, 0.99)),
			round(percentile(l, 0.999)), r.s.attemptsPerCall(), r.s.failures)
	}
}

// round keeps three significant figures or so: 5.012ms, 1.002s.
func round(d time.Duration) time.Duration {
	switch {
	case d >= time.Second:
		return d.Round(time.Millisecond)
	case d >= time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
