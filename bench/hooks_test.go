package bench

import (
	"log/slog"
	"sync/atomic"
	"testing"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
)

// An observer is one row of scenario D: a way of observing a first-try success. build
// returns the binder and a check of what the observer saw after calls calls.
type observer struct {
	name  string
	build func(tb testing.TB) (binder, func(tb testing.TB, calls int))
}

// observers in the order of the result table.
var observers = []observer{
	{"direct", func(testing.TB) (binder, func(testing.TB, int)) {
		return bindDirect(directRetry), nil
	}},
	{"retrykit", func(tb testing.TB) (binder, func(testing.TB, int)) {
		return bindRetrykit(retrykitPolicy(tb, retry.MaxTries(maxTries))), nil
	}},
	{"retrykit+stats", func(tb testing.TB) (binder, func(testing.TB, int)) {
		s := hooks.NewStats()
		return bindRetrykit(retrykitPolicy(tb, retry.MaxTries(maxTries), retry.Hooks(s.Hooks()))),
			func(tb testing.TB, calls int) {
				tb.Helper()
				got := s.Snapshot()
				n := int64(calls)
				if got.Calls != n || got.Attempts != n || got.Done != n || got.Successes != n || got.Errors != 0 {
					tb.Fatalf("Stats after %d first-try successes: %+v", calls, got)
				}
			}
	}},
	{"retrykit+log-off", func(tb testing.TB) (binder, func(testing.TB, int)) {
		// The handler wants nothing: what the hooks cost when logging is off.
		l := slog.New(slog.DiscardHandler)
		return bindRetrykit(retrykitPolicy(tb, retry.MaxTries(maxTries), retry.Hooks(hooks.Log(l)))), nil
	}},
	{"retrykit+log-text", func(tb testing.TB) (binder, func(testing.TB, int)) {
		// Every record formatted, at debug level, and thrown away.
		var w countingWriter
		l := slog.New(slog.NewTextHandler(&w, &slog.HandlerOptions{Level: slog.LevelDebug}))
		return bindRetrykit(retrykitPolicy(tb, retry.MaxTries(maxTries), retry.Hooks(hooks.Log(l)))),
			func(tb testing.TB, calls int) {
				tb.Helper()
				// A text handler writes each record with one Write.
				if n := int(w.writes.Load()); n == 0 || n%calls != 0 {
					tb.Fatalf("%d calls wrote %d log records, want the same number, at least one, for each", calls, n)
				}
			}
	}},
	// Each otelretry row next to its hand-written twin, so that the two samples of a
	// run are taken back to back.
	{"retrykit+otel-noop", otelretryNoop},
	{"otel-noop-by-hand", handNoop},
	{"retrykit+otel-sdk", otelretrySDK},
	{"otel-sdk-by-hand", handSDK},
}

// countingWriter discards what it is given and counts the writes.
type countingWriter struct{ writes atomic.Int64 }

func (w *countingWriter) Write(p []byte) (int, error) {
	w.writes.Add(1)
	return len(p), nil
}

// BenchmarkD_Hooks: a first-try success observed by hooks, and the same OpenTelemetry
// work done by hand.
func BenchmarkD_Hooks(b *testing.B) {
	for _, o := range observers {
		b.Run("lib="+o.name, func(b *testing.B) {
			bind, check := o.build(b)
			benchSerial(b, bind, scenarioA)
			if check != nil {
				check(b, b.N)
			}
		})
	}
}

func TestD_Hooks(t *testing.T) {
	for _, o := range observers {
		t.Run(o.name, func(t *testing.T) {
			bind, check := o.build(t)
			testSerial(t, bind, scenarioA)
			if check != nil {
				check(t, testCalls)
			}
		})
	}
}
