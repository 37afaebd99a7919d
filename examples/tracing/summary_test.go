package main

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	tracenoop "go.opentelemetry.io/otel/trace/noop"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/otelretry"
	"github.com/retrykit/retrykit/retry"
)

// step is what one attempt of a scripted call does.
type step int

const (
	stepOK   step = iota // returns nil after 5ms
	stepFail             // returns an error after 5ms
	stepHang             // waits for its context: the attempt timeout
	stepStop             // returns a Permanent error after 5ms
)

var errFlaky = errors.New("flaky")

// runScripted makes one call per script through a policy with the real otelretry
// hooks and the workload's own hooks, and returns the workload's log and the metrics.
// It runs in a synctest bubble, so every duration is exact.
func runScripted(t *testing.T, scripts [][]step) (*passLog, retryMetrics) {
	t.Helper()
	return runScriptedTries(t, 3, scripts)
}

// runScriptedTries is runScripted with a policy of maxTries attempts.
func runScriptedTries(t *testing.T, maxTries int, scripts [][]step) (*passLog, retryMetrics) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), attemptsView)
	policy := retry.MustNew(
		retry.Name(operationName),
		retry.MaxTries(maxTries),
		retry.AttemptTimeout(100*time.Millisecond),
		retry.Deadline(time.Second),
		retry.PauseWith(retry.Exponential(10*time.Millisecond, 2, 20*time.Millisecond)),
		retry.Hooks(otelretry.Hooks(
			otelretry.WithMeterProvider(mp),
			otelretry.WithTracerProvider(tracenoop.NewTracerProvider()),
		), workloadHooks),
	)
	pass := &passLog{pass: 1}
	for i, script := range scripts {
		l := &callLog{n: i + 1, id: i + 1}
		ctx := context.WithValue(context.Background(), callLogKey{}, l)
		err := policy.Do(ctx, func(ctx context.Context) error {
			// workloadHooks' OnAttempt has counted this attempt.
			s := stepOK
			if l.attempts <= len(script) {
				s = script[l.attempts-1]
			}
			if s == stepHang {
				<-ctx.Done()
				return ctx.Err()
			}
			time.Sleep(5 * time.Millisecond)
			switch s {
			case stepFail:
				return errFlaky
			case stepStop:
				return retry.Permanent(errFlaky)
			}
			return nil
		})
		l.err, l.outcome = err, outcomeOf(err)
		pass.calls = append(pass.calls, l)
	}
	m, err := readRetryMetrics(context.Background(), reader)
	if err != nil {
		t.Fatal(err)
	}
	return pass, m
}

// runHedged makes one call per script under a hedging policy (a hedge after 20ms, three
// attempts) with the real otelretry hooks and the workload's own, in a synctest bubble.
func runHedged(t *testing.T, scripts [][]step) (*passLog, retryMetrics) {
	t.Helper()
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader), attemptsView)
	policy := retry.MustNew(
		retry.Name(operationName),
		retry.MaxTries(3),
		retry.HedgeAfter(20*time.Millisecond),
		retry.PauseWith(retry.Constant(10*time.Millisecond)),
		retry.Hooks(otelretry.Hooks(
			otelretry.WithMeterProvider(mp),
			otelretry.WithTracerProvider(tracenoop.NewTracerProvider()),
		), workloadHooks, numbered),
	)
	pass := &passLog{pass: 1}
	for i, script := range scripts {
		l := &callLog{n: i + 1, id: i + 1}
		ctx := context.WithValue(context.Background(), callLogKey{}, l)
		err := policy.Hedge(ctx, func(ctx context.Context) error {
			n, _ := ctx.Value(attemptKey{}).(int)
			s := stepOK
			if n <= len(script) {
				s = script[n-1]
			}
			if s == stepHang {
				<-ctx.Done()
				return ctx.Err()
			}
			time.Sleep(5 * time.Millisecond)
			if s == stepFail {
				return errFlaky
			}
			return nil
		})
		l.err, l.outcome = err, outcomeOf(err)
		pass.calls = append(pass.calls, l)
	}
	m, err := readRetryMetrics(context.Background(), reader)
	if err != nil {
		t.Fatal(err)
	}
	return pass, m
}

var testScripts = [][]step{
	{},                             // success at once
	{stepFail, stepFail},           // success on the third attempt
	{stepHang},                     // success after an attempt timeout
	{stepFail, stepFail, stepFail}, // exhausted
	{stepStop},                     // permanent
	{stepHang, stepHang, stepHang}, // exhausted, all timed out
	{stepFail},                     // success on the second attempt
}

func TestSummary(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pass, m := runScripted(t, testScripts)
		var b bytes.Buffer
		writeSummary(&b, m, pass)
		// Pauses 10ms then 20ms: 10+20 (call 2) + 10 (3) + 10+20 (4) + 10+20 (6) + 10 (7)
		// = 110ms. Mean call times: success (5 + 45 + 115 + 20) / 4 = 46.25ms, exhausted
		// (45 + 330) / 2 = 187.5ms.
		want := `Metrics read back from the SDK (retry.* instruments, 7 calls)
  calls by outcome   success 4 · exhausted 2 · permanent 1
  attempts per call      1 │██████████████████████████ 2
                         2 │██████████████████████████ 2
                         3 │████████████████████████████████████████ 3
  attempts           15 · success 4 · failure 7 · timeout 4
  backoff pauses     8 · 10ms to 20ms · 110ms in all
  mean call time     success 46ms · exhausted 188ms · permanent 5.0ms
  the workload's own count agrees: 7 calls, 15 attempts, 4 timeouts, 8 pauses
`
		if got := b.String(); got != want {
			t.Errorf("got:\n%s\nwant:\n%s", got, want)
		}
		checkWidth(t, "summary", b.String())
	})
}

// TestCompareCounts checks that a disagreement between the metrics and the workload's
// own count is reported, figure by figure.
func TestCompareCounts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pass, m := runScripted(t, testScripts)
		if diffs := compareCounts(m, pass); len(diffs) != 0 {
			t.Fatalf("same workload, diffs %q", diffs)
		}
		tests := []struct {
			name   string
			change func(p *passLog)
			want   []string
		}{
			{"a call more", func(p *passLog) {
				p.calls = append(p.calls, &callLog{outcome: "deadline", attempts: 2})
			}, []string{"deadline calls: metrics 0, workload 1", "attempts: metrics 15, workload 17",
				"calls of 2 attempts: metrics 2, workload 3"}},
			{"an outcome changed", func(p *passLog) { p.calls[0].outcome = "canceled" },
				[]string{"success calls: metrics 4, workload 3", "canceled calls: metrics 0, workload 1"}},
			{"a timeout more", func(p *passLog) { p.calls[0].timeouts++ },
				[]string{"timeouts: metrics 4, workload 5"}},
			{"a pause less", func(p *passLog) { p.calls[1].pauses = p.calls[1].pauses[1:] },
				[]string{"pauses: metrics 8, workload 7"}},
		}
		for _, tt := range tests {
			p := &passLog{}
			for _, c := range pass.calls {
				cp := *c
				p.calls = append(p.calls, &cp)
			}
			tt.change(p)
			got := strings.Join(compareCounts(m, p), "\n")
			for _, w := range tt.want {
				if !strings.Contains(got, w) {
					t.Errorf("%s: diffs lack %q:\n%s", tt.name, w, got)
				}
			}
			var b bytes.Buffer
			writeSummary(&b, m, p)
			if !strings.Contains(b.String(), "the workload's own count DIFFERS") {
				t.Errorf("%s: summary does not say the counts differ:\n%s", tt.name, b.String())
			}
		}
	})
}

// TestSummaryHedged: calls of a hedging policy, one hedged (its slow attempt superseded),
// one at once, one retried after a failure (a retry, not a hedge), and the figures of
// retry.call.hedges and of the superseded attempts against the workload's own count.
func TestSummaryHedged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		pass, m := runHedged(t, [][]step{{stepHang}, {}, {stepFail}})
		if got := [4]int{pass.hedgingCalls(), pass.hedges(), pass.hedgedCalls(), pass.superseded()}; got != [4]int{3, 1, 1, 1} {
			t.Fatalf("workload counted hedging calls, hedges, hedged calls, superseded = %v, want 3, 1, 1, 1", got)
		}
		var b bytes.Buffer
		writeSummary(&b, m, pass)
		for _, want := range []string{
			"  attempts           5 · success 3 · failure 1 · superseded 1\n",
			"  hedges             1 in 3 hedging calls (1 hedged) · 1 attempt superseded\n",
		} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("summary lacks %q:\n%s", want, b.String())
			}
		}
		// The last line wraps: compare its words.
		words := strings.Join(strings.Fields(b.String()), " ")
		if want := "the workload's own count agrees: 3 calls, 5 attempts, 0 timeouts, 1 pause, 1 hedge, 1 superseded"; !strings.HasSuffix(words, want) {
			t.Errorf("summary does not end with %q:\n%s", want, b.String())
		}
		checkWidth(t, "summary", b.String())

		for _, tt := range []struct {
			name   string
			change func(p *passLog)
			want   string
		}{
			{"a hedge more", func(p *passLog) { p.calls[2].hedges++ }, "hedges: metrics 1, workload 2"},
			{"a hedged call less", func(p *passLog) { p.calls[0].hedges = 0 }, "hedged calls: metrics 1, workload 0"},
			{"a call of another policy", func(p *passLog) { p.calls[1].hedging = false },
				"calls of the hedging policy: metrics 3, workload 2"},
			{"no superseded attempt", func(p *passLog) { p.calls[0].superseded = 0 }, "superseded attempts: metrics 1, workload 0"},
		} {
			p := &passLog{}
			for _, c := range pass.calls {
				cp := *c
				p.calls = append(p.calls, &cp)
			}
			tt.change(p)
			if got := strings.Join(compareCounts(m, p), "\n"); !strings.Contains(got, tt.want) {
				t.Errorf("%s: diffs lack %q:\n%s", tt.name, tt.want, got)
			}
		}
	})
}

func TestBucketLabel(t *testing.T) {
	bounds := attemptsBounds
	want := []string{"0", "1", "2", "3", "4", "5", "6", "7-8", "9-10", "11-15", "16-20", ">20"}
	for i, w := range want {
		if got := bucketLabel(bounds, i); got != w {
			t.Errorf("bucketLabel(%d) = %q, want %q", i, got, w)
		}
	}
}

// fails returns a script of n failed attempts and then a success.
func fails(n int) []step {
	s := make([]step, n+1)
	for i := range n {
		s[i] = stepFail
	}
	return append(s[:n], stepOK)
}

// TestSummaryManyAttempts checks the last buckets of attempts per call, >20 included,
// against the workload's own count.
func TestSummaryManyAttempts(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		// 21 and 25 attempts (the second exhausted), 16 and 11 attempts, 1 attempt: 74.
		pass, m := runScriptedTries(t, 25, [][]step{fails(20), fails(30), fails(15), fails(10), nil})
		if diffs := compareCounts(m, pass); len(diffs) != 0 {
			t.Errorf("diffs %q", diffs)
		}
		var b bytes.Buffer
		writeSummary(&b, m, pass)
		for _, want := range []string{
			"  attempts per call      1 │████████████████████ 1\n",
			"                     11-15 │████████████████████ 1\n",
			"                     16-20 │████████████████████ 1\n",
			"                       >20 │████████████████████████████████████████ 2\n",
			"the workload's own count agrees: 5 calls, 74 attempts",
		} {
			if !strings.Contains(b.String(), want) {
				t.Errorf("summary lacks %q:\n%s", want, b.String())
			}
		}
		checkWidth(t, "summary", b.String())

		// A workload that counted one call of 21 attempts as 20 differs in the >20 bucket.
		pass.calls[0].attempts = 20
		if got := strings.Join(compareCounts(m, pass), "; "); !strings.Contains(got, "calls of >20 attempts: metrics 2, workload 1") {
			t.Errorf("diffs %q, want the >20 bucket's", got)
		}
	})
}

// attemptKey is the context key under which numbered gives an attempt its number.
type attemptKey struct{}

// numbered tells each attempt's function its number, so that a script can say what
// attempts that overlap do.
var numbered = hooks.Hooks{OnAttempt: func(ctx context.Context, a hooks.Attempt) context.Context {
	return context.WithValue(ctx, attemptKey{}, a.Number)
}}
