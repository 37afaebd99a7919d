package hooks_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/retrykit/retrykit/hooks"
)

// jsonLogger returns a logger at level that writes JSON records without their time to
// the returned buffer.
func jsonLogger(level slog.Level) (*slog.Logger, *bytes.Buffer) {
	var buf bytes.Buffer
	h := slog.NewJSONHandler(&buf, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	})
	return slog.New(h), &buf
}

// records decodes the JSON lines in buf.
func records(t *testing.T, buf *bytes.Buffer) []map[string]any {
	t.Helper()
	var rs []map[string]any
	dec := json.NewDecoder(buf)
	for dec.More() {
		var r map[string]any
		if err := dec.Decode(&r); err != nil {
			t.Fatalf("bad JSON record: %v", err)
		}
		rs = append(rs, r)
	}
	return rs
}

func TestLogRecords(t *testing.T) {
	deadline := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	errBoom := errors.New("boom")
	call := hooks.Call{Name: "db.fetch", MaxTries: 3, Start: deadline.Add(-time.Minute), Deadline: deadline}
	unlimited := hooks.Call{Name: "db.fetch"}
	failed := hooks.Attempt{Call: call, Number: 2, Deadline: deadline, Duration: 1500 * time.Millisecond, Err: errBoom}

	// JSON numbers decode as float64; durations are nanoseconds.
	const ms = float64(time.Millisecond)
	tests := []struct {
		name string
		fire func(context.Context, hooks.Hooks)
		want map[string]any
	}{
		{
			"start", func(ctx context.Context, h hooks.Hooks) { h.OnStart(ctx, call) },
			map[string]any{"level": "DEBUG", "msg": "retry start", "op": "db.fetch", "max_tries": 3.0, "deadline": "2026-01-02T03:04:05Z"},
		},
		{
			"start unlimited, no deadline", func(ctx context.Context, h hooks.Hooks) { h.OnStart(ctx, unlimited) },
			map[string]any{"level": "DEBUG", "msg": "retry start", "op": "db.fetch"},
		},
		{
			"start without name", func(ctx context.Context, h hooks.Hooks) { h.OnStart(ctx, hooks.Call{}) },
			map[string]any{"level": "DEBUG", "msg": "retry start", "op": ""},
		},
		{
			"attempt", func(ctx context.Context, h hooks.Hooks) {
				h.OnAttempt(ctx, hooks.Attempt{Call: call, Number: 1, Deadline: deadline})
			},
			map[string]any{"level": "DEBUG", "msg": "retry attempt", "op": "db.fetch", "attempt": 1.0, "deadline": "2026-01-02T03:04:05Z"},
		},
		{
			"attempt without deadline", func(ctx context.Context, h hooks.Hooks) { h.OnAttempt(ctx, hooks.Attempt{Call: unlimited, Number: 4}) },
			map[string]any{"level": "DEBUG", "msg": "retry attempt", "op": "db.fetch", "attempt": 4.0},
		},
		{
			"attempt end success", func(ctx context.Context, h hooks.Hooks) {
				h.OnAttemptEnd(ctx, hooks.Attempt{Call: call, Number: 1, Duration: 20 * time.Millisecond})
			},
			map[string]any{"level": "DEBUG", "msg": "retry attempt end", "op": "db.fetch", "attempt": 1.0, "duration": 20 * ms, "timed_out": false},
		},
		{
			"attempt end failure", func(ctx context.Context, h hooks.Hooks) { h.OnAttemptEnd(ctx, failed) },
			map[string]any{"level": "DEBUG", "msg": "retry attempt end", "op": "db.fetch", "attempt": 2.0, "duration": 1500 * ms, "timed_out": false, "error": "boom"},
		},
		{
			"attempt end timed out", func(ctx context.Context, h hooks.Hooks) {
				a := failed
				a.TimedOut = true
				a.Err = context.DeadlineExceeded
				h.OnAttemptEnd(ctx, a)
			},
			map[string]any{"level": "DEBUG", "msg": "retry attempt end", "op": "db.fetch", "attempt": 2.0, "duration": 1500 * ms, "timed_out": true, "error": "context deadline exceeded"},
		},
		{
			"timeout", func(ctx context.Context, h hooks.Hooks) {
				a := failed
				a.TimedOut = true
				h.OnTimeout(ctx, a)
			},
			map[string]any{"level": "INFO", "msg": "retry attempt timeout", "op": "db.fetch", "attempt": 2.0, "duration": 1500 * ms, "error": "boom"},
		},
		{
			"timeout, fn returned nil", func(ctx context.Context, h hooks.Hooks) {
				h.OnTimeout(ctx, hooks.Attempt{Call: call, Number: 1, Duration: 100 * time.Millisecond, TimedOut: true})
			},
			map[string]any{"level": "INFO", "msg": "retry attempt timeout", "op": "db.fetch", "attempt": 1.0, "duration": 100 * ms},
		},
		{
			"retry", func(ctx context.Context, h hooks.Hooks) { h.OnRetry(ctx, failed, 250*time.Millisecond) },
			map[string]any{"level": "INFO", "msg": "retry scheduled", "op": "db.fetch", "attempt": 2.0, "delay": 250 * ms, "error": "boom"},
		},
		{
			"retry zero delay", func(ctx context.Context, h hooks.Hooks) { h.OnRetry(ctx, failed, 0) },
			map[string]any{"level": "INFO", "msg": "retry scheduled", "op": "db.fetch", "attempt": 2.0, "delay": 0.0, "error": "boom"},
		},
	}
	// The three result events, for each outcome that can reach them.
	// OnGiveup's message names the outcome: "retry gave up" is the GiveUp predicate's
	// alone.
	giveupMsgs := map[hooks.Outcome]string{
		hooks.Exhausted:    "retry exhausted",
		hooks.Canceled:     "retry canceled",
		hooks.GaveUp:       "retry gave up",
		hooks.Permanent:    "retry permanent error",
		hooks.Throttled:    "retry throttled",
		hooks.Outcome(200): "retry failed",
	}
	for _, o := range []hooks.Outcome{hooks.Exhausted, hooks.Canceled, hooks.GaveUp, hooks.Permanent, hooks.Throttled, hooks.Outcome(200)} {
		level := "ERROR"
		if o == hooks.Canceled {
			level = "WARN"
		}
		msg := giveupMsgs[o]
		tests = append(tests, struct {
			name string
			fire func(context.Context, hooks.Hooks)
			want map[string]any
		}{
			"giveup " + o.String(), func(ctx context.Context, h hooks.Hooks) {
				h.OnGiveup(ctx, hooks.Result{Call: call, Outcome: o, Attempts: 3, Duration: 2 * time.Second, Err: errBoom})
			},
			map[string]any{"level": level, "msg": msg, "op": "db.fetch", "outcome": o.String(), "attempts": 3.0, "duration": 2000 * ms, "error": "boom"},
		})
	}
	for _, o := range []hooks.Outcome{hooks.Success, hooks.Exhausted, hooks.Deadline, hooks.Canceled, hooks.GaveUp, hooks.Permanent, hooks.Throttled, hooks.Panicked} {
		level := "DEBUG"
		if o == hooks.Panicked {
			level = "ERROR"
		}
		r := hooks.Result{Call: call, Outcome: o, Attempts: 2, Duration: time.Second}
		want := map[string]any{"level": level, "msg": "retry done", "op": "db.fetch", "outcome": o.String(), "attempts": 2.0, "duration": 1000 * ms}
		if o != hooks.Success && o != hooks.Panicked {
			r.Err = errBoom
			want["error"] = "boom"
		}
		tests = append(tests, struct {
			name string
			fire func(context.Context, hooks.Hooks)
			want map[string]any
		}{"done " + o.String(), func(ctx context.Context, h hooks.Hooks) { h.OnDone(ctx, r) }, want})
	}
	tests = append(tests, struct {
		name string
		fire func(context.Context, hooks.Hooks)
		want map[string]any
	}{
		"deadline", func(ctx context.Context, h hooks.Hooks) {
			h.OnDeadline(ctx, hooks.Result{Call: call, Outcome: hooks.Deadline, Attempts: 1, Duration: time.Minute, Err: errBoom})
		},
		map[string]any{"level": "ERROR", "msg": "retry deadline", "op": "db.fetch", "outcome": "deadline", "attempts": 1.0, "duration": 60000 * ms, "error": "boom"},
	})

	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, buf := jsonLogger(slog.LevelDebug)
			tt.fire(context.Background(), hooks.Log(l))
			rs := records(t, buf)
			if len(rs) != 1 {
				t.Fatalf("got %d records, want 1: %s", len(rs), buf)
			}
			if !maps.Equal(rs[0], tt.want) {
				t.Errorf("record\n got %v\nwant %v", rs[0], tt.want)
			}
		})
	}
}

func TestLogLevels(t *testing.T) {
	// fire sends every event once, with a Result of outcome Exhausted: which records pass
	// the handler's level?
	tests := []struct {
		level slog.Level
		want  []string
	}{
		{slog.LevelDebug, []string{"retry start", "retry attempt", "retry attempt end", "retry attempt timeout", "retry scheduled", "retry exhausted", "retry deadline", "retry done"}},
		{slog.LevelInfo, []string{"retry attempt timeout", "retry scheduled", "retry exhausted", "retry deadline"}},
		{slog.LevelWarn, []string{"retry exhausted", "retry deadline"}},
		{slog.LevelError, []string{"retry exhausted", "retry deadline"}},
		{slog.LevelError + 1, nil},
	}
	for _, tt := range tests {
		t.Run(tt.level.String(), func(t *testing.T) {
			l, buf := jsonLogger(tt.level)
			fire(context.Background(), hooks.Log(l))
			var got []string
			for _, r := range records(t, buf) {
				got = append(got, r["msg"].(string))
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("records at %v:\n got %q\nwant %q", tt.level, got, tt.want)
			}
		})
	}
}

// ctxHandler records the context value "v" of each record it handles.
type ctxHandler struct {
	level slog.Level
	seen  *[]string
}

func (h ctxHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level
}

func (h ctxHandler) Handle(ctx context.Context, r slog.Record) error {
	v, _ := ctx.Value(ctxKey("v")).(string)
	*h.seen = append(*h.seen, r.Message+"="+v)
	return nil
}

func (h ctxHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h ctxHandler) WithGroup(string) slog.Handler      { return h }

func TestLogPassesContextToHandler(t *testing.T) {
	var seen []string
	h := hooks.Log(slog.New(ctxHandler{level: slog.LevelDebug, seen: &seen}))
	ctx := context.WithValue(context.Background(), ctxKey("v"), "trace-1")
	if got := h.OnStart(ctx, testCall); got != nil {
		t.Errorf("OnStart returned %v, want nil (context unchanged)", got)
	}
	if got := h.OnAttempt(ctx, testAttempt); got != nil {
		t.Errorf("OnAttempt returned %v, want nil (context unchanged)", got)
	}
	fire(ctx, h)
	if len(seen) != 10 {
		t.Fatalf("got %d records, want 10: %q", len(seen), seen)
	}
	for _, s := range seen {
		if !strings.HasSuffix(s, "=trace-1") {
			t.Errorf("record %q did not get the event's context", s)
		}
	}
}

func TestLogNilUsesDefaultAtEachEvent(t *testing.T) {
	defer slog.SetDefault(slog.Default())
	h := hooks.Log(nil) // built before the default is set: it must look it up later

	l1, buf1 := jsonLogger(slog.LevelDebug)
	slog.SetDefault(l1)
	h.OnStart(context.Background(), testCall)
	l2, buf2 := jsonLogger(slog.LevelDebug)
	slog.SetDefault(l2)
	h.OnDone(context.Background(), testResult)

	if rs := records(t, buf1); len(rs) != 1 || rs[0]["msg"] != "retry start" {
		t.Errorf("first default logger got %v, want the start record", rs)
	}
	if rs := records(t, buf2); len(rs) != 1 || rs[0]["msg"] != "retry done" {
		t.Errorf("second default logger got %v, want the done record", rs)
	}
}

func TestLogDisabledAllocatesNothing(t *testing.T) {
	var seen []string
	tests := []struct {
		name string
		l    *slog.Logger
	}{
		{"JSON handler above Error", slog.New(slog.NewJSONHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelError + 1}))},
		{"custom handler above Error", slog.New(ctxHandler{level: slog.LevelError + 1, seen: &seen})},
		{"DiscardHandler", slog.New(slog.DiscardHandler)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := hooks.Log(tt.l)
			ctx := context.Background()
			if n := testing.AllocsPerRun(100, func() { fire(ctx, h) }); n != 0 {
				t.Errorf("%v allocations for eight disabled events, want 0", n)
			}
		})
	}
	if len(seen) != 0 {
		t.Errorf("a disabled handler got records: %q", seen)
	}

	// At Info, the Debug events of a call that succeeds at once allocate nothing either.
	l, buf := jsonLogger(slog.LevelInfo)
	h := hooks.Log(l)
	ctx := context.Background()
	ok := hooks.Attempt{Call: testCall, Number: 1}
	done := hooks.Result{Call: testCall, Outcome: hooks.Success, Attempts: 1}
	n := testing.AllocsPerRun(100, func() {
		h.OnStart(ctx, testCall)
		h.OnAttempt(ctx, ok)
		h.OnAttemptEnd(ctx, ok)
		h.OnDone(ctx, done)
	})
	if n != 0 {
		t.Errorf("%v allocations for a successful call at Info, want 0", n)
	}
	if buf.Len() != 0 {
		t.Errorf("a successful call wrote at Info: %s", buf)
	}
}

func BenchmarkLogDisabled(b *testing.B) {
	h := hooks.Log(slog.New(slog.NewJSONHandler(&bytes.Buffer{}, &slog.HandlerOptions{Level: slog.LevelError + 1})))
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		fire(ctx, h) // eight events
	}
}
