package hooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/retry"
)

// hedgeNumKey carries the attempt's number to hedgedFn.
type hedgeNumKey struct{}

// hedgedFn is the attempts of a hedged call: attempt 1 takes 50ms, attempt 2 (the hedge
// at 10ms) fails after 5ms, attempt 3 (its retry at 15ms) succeeds after 10ms at 25ms,
// and attempt 1 is then superseded.
func hedgedFn(ctx context.Context) error {
	d := map[int]time.Duration{1: 50 * ms, 2: 5 * ms, 3: 10 * ms}
	n := ctx.Value(hedgeNumKey{}).(int)
	t := time.NewTimer(d[n])
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
		return ctx.Err()
	}
	if n == 2 {
		return errFail
	}
	return nil
}

func numbered() hooks.Hooks {
	return hooks.Hooks{OnAttempt: func(ctx context.Context, a hooks.Attempt) context.Context {
		return context.WithValue(ctx, hedgeNumKey{}, a.Number)
	}}
}

func hedgingPolicy(t *testing.T, hs ...hooks.Hooks) *retry.Policy {
	t.Helper()
	p, err := retry.New(retry.HedgeAfter(10*ms), retry.MaxTries(3), retry.Hooks(append([]hooks.Hooks{numbered()}, hs...)...))
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// TestStatsHedged: with overlapping attempts every event still counts once: three
// attempts started and ended, one a hedge; Errors counts the failed hedge, not the
// superseded attempt (which returned context.Canceled), which Superseded counts; SumTime adds the attempts' durations, overlapping
// ones included (40ms of attempts in a call of 25ms).
func TestStatsHedged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := hooks.NewStats()
		p := hedgingPolicy(t, s.Hooks())
		if err := p.Hedge(context.Background(), hedgedFn); err != nil {
			t.Fatal(err)
		}
		want := hooks.StatsSnapshot{Calls: 1, Attempts: 3, Done: 3, Errors: 1, SumTime: 25*ms + 5*ms + 10*ms, Successes: 1, Hedges: 1, Superseded: 1}
		if got := s.Snapshot(); got != want {
			t.Errorf("snapshot %+v, want %+v", got, want)
		}
	})
}

// TestLogHedged: Log writes one record per event of overlapping attempts, each with its
// attempt's number, in the order the engine serialized them.
func TestLogHedged(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var buf bytes.Buffer
		l := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
		p := hedgingPolicy(t, hooks.Log(l))
		if err := p.Hedge(context.Background(), hedgedFn); err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
			var rec map[string]any
			if err := json.Unmarshal([]byte(line), &rec); err != nil {
				t.Fatal(err)
			}
			s := fmt.Sprint(rec["msg"])
			if n, ok := rec["attempt"]; ok {
				s += fmt.Sprintf(" %v", n)
			}
			if e, ok := rec["error"]; ok {
				s += fmt.Sprintf(" (%v)", e)
			}
			for _, k := range []string{"hedged", "superseded"} {
				if rec[k] == true {
					s += " " + k
				}
			}
			got = append(got, s)
		}
		want := []string{
			"retry start", "retry attempt 1", "retry attempt 2 hedged", "retry attempt end 2 (fail)",
			"retry scheduled 2 (fail)", "retry attempt 3", "retry attempt end 3",
			"retry attempt end 1 (context canceled) superseded", "retry done",
		}
		if strings.Join(got, "; ") != strings.Join(want, "; ") {
			t.Errorf("records:\n got %q\nwant %q", got, want)
		}
	})
}

// TestComposeHedged: the contexts that composed OnAttempt hooks return stay with their
// own attempt, however attempts overlap: each OnAttemptEnd gets the values of its own
// attempt's OnAttempt, from every composed element.
func TestComposeHedged(t *testing.T) {
	type key struct{ i int }
	synctest.Test(t, func(t *testing.T) {
		var bad []string
		elem := func(i int) hooks.Hooks {
			return hooks.Hooks{
				OnAttempt: func(ctx context.Context, a hooks.Attempt) context.Context {
					return context.WithValue(ctx, key{i}, a.Number)
				},
				OnAttemptEnd: func(ctx context.Context, a hooks.Attempt) {
					for j := range 2 {
						if v := ctx.Value(key{j}); v != a.Number {
							bad = append(bad, fmt.Sprintf("element %d: OnAttemptEnd %d sees element %d's value %v", i, a.Number, j, v))
						}
					}
				},
			}
		}
		p := hedgingPolicy(t, hooks.Compose(elem(0), elem(1)))
		if err := p.Hedge(context.Background(), hedgedFn); err != nil {
			t.Fatal(err)
		}
		for _, b := range bad {
			t.Error(b)
		}
	})
}
