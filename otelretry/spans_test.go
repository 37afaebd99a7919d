package otelretry_test

import (
	"context"
	"errors"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/hooks"
	"github.com/retrykit/retrykit/otelretry"
	"github.com/retrykit/retrykit/retry"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"
)

const (
	callName    = "retry db.fetch"
	attemptName = "attempt db.fetch"
	errDesc     = "$err" // stands for the message of the error that Do returned
)

func attemptView(n int, attrs map[string]any, status codes.Code, desc string) spanView {
	a := map[string]any{"retry.attempt.number": int64(n)}
	for k, v := range attrs {
		a[k] = v
	}
	return spanView{Name: attemptName, Parent: callName, Kind: trace.SpanKindInternal, Attrs: a, Status: status, Desc: desc}
}

func callView(attrs map[string]any, status codes.Code, desc string) spanView {
	a := map[string]any{"retry.operation.name": "db.fetch"}
	for k, v := range attrs {
		a[k] = v
	}
	return spanView{Name: callName, Kind: trace.SpanKindInternal, Attrs: a, Status: status, Desc: desc}
}

func failedAttempt(n int, errType, desc string, extra map[string]any) spanView {
	a := map[string]any{"error.type": errType}
	for k, v := range extra {
		a[k] = v
	}
	return attemptView(n, a, codes.Error, desc)
}

func delay(s float64) map[string]any { return map[string]any{"retry.delay": s} }

// TestSpans drives the retry engine through every outcome and compares the span tree.
func TestSpans(t *testing.T) {
	timedOut := func(extra map[string]any) map[string]any {
		m := map[string]any{"retry.attempt.timed_out": true}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name    string
		opts    []retry.Option
		steps   []step
		ctx     func(context.Context) (context.Context, context.CancelFunc)
		wantErr error
		want    []spanView
	}{
		{
			name:  "success first try",
			opts:  []retry.Option{retry.MaxTries(3)},
			steps: []step{{sleep: 10 * time.Millisecond}},
			want: []spanView{
				attemptView(1, nil, codes.Unset, ""),
				callView(map[string]any{"retry.max_attempts": int64(3), "retry.attempt.count": int64(1), "retry.outcome": "success"}, codes.Unset, ""),
			},
		},
		{
			name:  "success after retries",
			opts:  []retry.Option{retry.Pause(100 * time.Millisecond)},
			steps: []step{{err: errBoom}, {err: errBoom}, {}},
			want: []spanView{
				failedAttempt(1, boomType, "boom", delay(0.1)),
				failedAttempt(2, boomType, "boom", delay(0.1)),
				attemptView(3, nil, codes.Unset, ""),
				callView(map[string]any{"retry.attempt.count": int64(3), "retry.outcome": "success"}, codes.Unset, ""),
			},
		},
		{
			name:    "exhausted",
			opts:    []retry.Option{retry.MaxTries(2), retry.Pause(250 * time.Millisecond)},
			steps:   []step{{err: errBoom}},
			wantErr: retry.ErrExhausted,
			want: []spanView{
				failedAttempt(1, boomType, "boom", delay(0.25)),
				failedAttempt(2, boomType, "boom", nil),
				callView(map[string]any{"retry.max_attempts": int64(2), "retry.attempt.count": int64(2), "retry.outcome": "exhausted", "error.type": "exhausted"}, codes.Error, errDesc),
			},
		},
		{
			name:    "attempt timeouts",
			opts:    []retry.Option{retry.MaxTries(2), retry.AttemptTimeout(50 * time.Millisecond)},
			steps:   []step{{wait: true}},
			wantErr: retry.ErrAttemptTimeout,
			want: []spanView{
				failedAttempt(1, "timeout", "context deadline exceeded", timedOut(delay(0))),
				failedAttempt(2, "timeout", "context deadline exceeded", timedOut(nil)),
				callView(map[string]any{"retry.max_attempts": int64(2), "retry.attempt.count": int64(2), "retry.outcome": "exhausted", "error.type": "exhausted"}, codes.Error, errDesc),
			},
		},
		{
			name:    "deadline",
			opts:    []retry.Option{retry.Deadline(300 * time.Millisecond), retry.Pause(100 * time.Millisecond)},
			steps:   []step{{sleep: 100 * time.Millisecond, err: errBoom}},
			wantErr: retry.ErrDeadline,
			want: []spanView{
				failedAttempt(1, boomType, "boom", delay(0.1)),
				failedAttempt(2, boomType, "boom", nil),
				callView(map[string]any{"retry.attempt.count": int64(2), "retry.outcome": "deadline", "error.type": "deadline"}, codes.Error, errDesc),
			},
		},
		{
			name: "deadline of the caller before the call",
			ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
				return context.WithDeadline(ctx, time.Now())
			},
			steps:   []step{{}},
			wantErr: retry.ErrDeadline,
			want: []spanView{
				callView(map[string]any{"retry.attempt.count": int64(0), "retry.outcome": "deadline", "error.type": "deadline"}, codes.Error, errDesc),
			},
		},
		{
			name:    "canceled",
			opts:    []retry.Option{retry.Pause(100 * time.Millisecond)},
			steps:   []step{{err: errBoom}, {cancel: true, err: errBoom}},
			wantErr: context.Canceled,
			want: []spanView{
				failedAttempt(1, boomType, "boom", delay(0.1)),
				failedAttempt(2, boomType, "boom", nil),
				callView(map[string]any{"retry.attempt.count": int64(2), "retry.outcome": "canceled"}, codes.Unset, ""),
			},
		},
		{
			name: "canceled before the call",
			ctx: func(ctx context.Context) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(ctx)
				cancel()
				return ctx, cancel
			},
			steps:   []step{{}},
			wantErr: context.Canceled,
			want: []spanView{
				callView(map[string]any{"retry.attempt.count": int64(0), "retry.outcome": "canceled"}, codes.Unset, ""),
			},
		},
		{
			name:    "gave up",
			opts:    []retry.Option{retry.GiveUp(func(err error) bool { return errors.Is(err, errBoom) })},
			steps:   []step{{err: errBoom}},
			wantErr: retry.ErrGaveUp,
			want: []spanView{
				failedAttempt(1, boomType, "boom", nil),
				callView(map[string]any{"retry.attempt.count": int64(1), "retry.outcome": "gave_up", "error.type": "gave_up"}, codes.Error, errDesc),
			},
		},
		{
			name:    "permanent",
			opts:    []retry.Option{retry.MaxTries(5)},
			steps:   []step{{err: retry.Permanent(errBoom)}},
			wantErr: retry.ErrPermanent,
			want: []spanView{
				// Permanent's ErrorType names the error it marks, not its own wrapper.
				failedAttempt(1, boomType, "boom", nil),
				callView(map[string]any{"retry.max_attempts": int64(5), "retry.attempt.count": int64(1), "retry.outcome": "permanent", "error.type": "permanent"}, codes.Error, errDesc),
			},
		},
		{
			name:    "throttled",
			opts:    []retry.Option{retry.Throttle(retry.NewBudget(0, 0))},
			steps:   []step{{err: errBoom}},
			wantErr: retry.ErrThrottled,
			want: []spanView{
				failedAttempt(1, boomType, "boom", nil),
				callView(map[string]any{"retry.attempt.count": int64(1), "retry.outcome": "throttled", "error.type": "throttled"}, codes.Error, errDesc),
			},
		},
		{
			name:  "panic",
			opts:  []retry.Option{retry.MaxTries(3)},
			steps: []step{{err: errBoom}, {panic: true}},
			want: []spanView{
				failedAttempt(1, boomType, "boom", delay(0)),
				failedAttempt(2, "panic", "panic", nil),
				callView(map[string]any{"retry.max_attempts": int64(3), "retry.attempt.count": int64(2), "retry.outcome": "panicked", "error.type": "panic"}, codes.Error, "panic"),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				e := newEnv(t)
				policy := retry.MustNew(append([]retry.Option{retry.Name("db.fetch"), retry.Hooks(e.hooks)}, tt.opts...)...)
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if tt.ctx != nil {
					var c2 context.CancelFunc
					ctx, c2 = tt.ctx(ctx)
					defer c2()
				}
				s := &script{steps: tt.steps, cancel: cancel}
				var err error
				panicked := func() (p any) {
					defer func() { p = recover() }()
					err = policy.Do(ctx, s.fn)
					return nil
				}()
				if tt.name == "panic" {
					if panicked != "boom" {
						t.Fatalf("panic %v reached the caller, want boom", panicked)
					}
				} else if panicked != nil {
					t.Fatalf("panic: %v", panicked)
				}
				switch {
				case tt.wantErr == nil && err != nil:
					t.Fatalf("Do: %v", err)
				case tt.wantErr != nil && !errors.Is(err, tt.wantErr):
					t.Fatalf("Do: %v, want %v", err, tt.wantErr)
				}
				want := append([]spanView(nil), tt.want...)
				for i := range want {
					if want[i].Desc == errDesc {
						want[i].Desc = err.Error()
					}
				}
				diffViews(t, e.views(t), want)
			})
		})
	}
}

// TestSpanTimes checks that each span covers exactly what it stands for, although an
// attempt span is ended at the next event.
func TestSpanTimes(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		p := retry.MustNew(retry.Name("db.fetch"), retry.Pause(100*time.Millisecond), retry.Hooks(e.hooks))
		s := &script{steps: []step{{sleep: 30 * time.Millisecond, err: errBoom}, {sleep: 20 * time.Millisecond}}}
		t0 := time.Now()
		if err := p.Do(context.Background(), s.fn); err != nil {
			t.Fatal(err)
		}
		ended := e.sr.Ended()
		if len(ended) != 3 {
			t.Fatalf("%d spans, want 3", len(ended))
		}
		want := []struct{ start, end time.Duration }{
			{0, 30 * time.Millisecond},                       // attempt 1
			{130 * time.Millisecond, 150 * time.Millisecond}, // attempt 2, after the pause
			{0, 150 * time.Millisecond},                      // the call
		}
		for i, w := range want {
			if got := ended[i].StartTime().Sub(t0); got != w.start {
				t.Errorf("%s #%d starts at %v, want %v", ended[i].Name(), i, got, w.start)
			}
			if got := ended[i].EndTime().Sub(t0); got != w.end {
				t.Errorf("%s #%d ends at %v, want %v", ended[i].Name(), i, got, w.end)
			}
		}
	})
}

// TestAttemptEndTimeAfterSlowHooks: an attempt span ends at the attempt's end, Start +
// Duration of its hooks.Attempt, although otelretry finishes it at a later event: here
// slow hooks placed before otelretry's let time pass before its OnRetry and OnDone.
func TestAttemptEndTimeAfterSlowHooks(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t)
		var seen []hooks.Attempt
		slow := hooks.Hooks{
			OnAttemptEnd: func(_ context.Context, a hooks.Attempt) { seen = append(seen, a) },
			OnRetry:      func(context.Context, hooks.Attempt, time.Duration) { time.Sleep(50 * time.Millisecond) },
			OnDone:       func(context.Context, hooks.Result) { time.Sleep(70 * time.Millisecond) },
		}
		p := retry.MustNew(retry.Name("db.fetch"), retry.Pause(100*time.Millisecond), retry.Hooks(hooks.Compose(slow, e.hooks)))
		s := &script{steps: []step{{sleep: 30 * time.Millisecond, err: errBoom}, {sleep: 20 * time.Millisecond}}}
		if err := p.Do(context.Background(), s.fn); err != nil {
			t.Fatal(err)
		}
		ended := e.sr.Ended() // attempt 1, attempt 2, the call
		if len(ended) != 3 || len(seen) != 2 {
			t.Fatalf("%d spans ended, %d attempts seen; want 3 and 2", len(ended), len(seen))
		}
		for i, a := range seen {
			span := ended[i]
			if span.Name() != attemptName {
				t.Fatalf("span %d is %q, want an attempt span", i, span.Name())
			}
			if a.Duration == 0 {
				t.Fatalf("attempt %d took no time: the test lets none pass", a.Number)
			}
			if want := a.Start.Add(a.Duration); !span.EndTime().Equal(want) {
				t.Errorf("attempt %d span ends at %v, want Start + Duration = %v (%v late)", a.Number,
					span.EndTime(), want, span.EndTime().Sub(want))
			}
		}
	})
}

// TestNesting checks that the operation's own spans are children of the attempt that
// made them.
func TestNesting(t *testing.T) {
	e := newEnv(t)
	p := retry.MustNew(retry.Name("db.fetch"), retry.Hooks(e.hooks))
	s := &script{steps: []step{{child: true, err: errBoom}, {child: true}}, tracer: e.tp.Tracer("test")}
	if err := p.Do(context.Background(), s.fn); err != nil {
		t.Fatal(err)
	}
	ended := e.sr.Ended() // child 1, attempt 1, child 2, attempt 2, call
	if len(ended) != 5 {
		t.Fatalf("%d spans, want 5", len(ended))
	}
	names := []string{"child", attemptName, "child", attemptName, callName}
	for i, s := range ended {
		if s.Name() != names[i] {
			t.Fatalf("span %d is %q, want %q", i, s.Name(), names[i])
		}
	}
	call := ended[4].SpanContext()
	for _, i := range []int{0, 2} {
		child, attempt := ended[i], ended[i+1]
		if child.Parent().SpanID() != attempt.SpanContext().SpanID() {
			t.Errorf("child %d: parent %v, want its attempt %v", i/2+1, child.Parent().SpanID(), attempt.SpanContext().SpanID())
		}
		if attempt.Parent().SpanID() != call.SpanID() || attempt.SpanContext().TraceID() != call.TraceID() {
			t.Errorf("attempt %d is not a child of the call span", i/2+1)
		}
	}
}

// TestNoAttemptSpans checks WithAttemptSpans(false): one span, an event per retry.
func TestNoAttemptSpans(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		e := newEnv(t, otelretry.WithAttemptSpans(false))
		p := retry.MustNew(retry.Name("db.fetch"), retry.Pause(100*time.Millisecond), retry.AttemptTimeout(time.Second), retry.Hooks(e.hooks))
		tracer := e.tp.Tracer("test")
		s := &script{steps: []step{{err: errBoom, child: true}, {wait: true}, {child: true}}, tracer: tracer}
		if err := p.Do(context.Background(), s.fn); err != nil {
			t.Fatal(err)
		}
		call := callView(map[string]any{"retry.attempt.count": int64(3), "retry.outcome": "success"}, codes.Unset, "")
		call.Events = []string{
			"retry.backoff error.type=" + boomType + " retry.attempt.number=1 retry.delay=0.1",
			"retry.backoff error.type=timeout retry.attempt.number=2 retry.delay=0.1",
		}
		child := spanView{Name: "child", Parent: callName, Kind: trace.SpanKindInternal, Attrs: map[string]any{}}
		diffViews(t, e.views(t), []spanView{child, child, call})
	})
}

// TestSpanNameFormatter checks that the formatter names both spans.
func TestSpanNameFormatter(t *testing.T) {
	tests := []struct {
		name, format, wantCall, wantAttempt string
	}{
		{"from the formatter", "GET /users", "retry GET /users", "attempt GET /users"},
		{"empty", "", "retry", "attempt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var seen hooks.Call
			e := newEnv(t, otelretry.WithSpanNameFormatter(func(c hooks.Call) string {
				seen = c
				return tt.format
			}))
			p := retry.MustNew(retry.Name("users"), retry.MaxTries(2), retry.Hooks(e.hooks))
			for range 2 { // the second call takes the cached names
				if err := p.Do(context.Background(), func(context.Context) error { return nil }); err != nil {
					t.Fatal(err)
				}
			}
			if seen.Name != "users" || seen.MaxTries != 2 {
				t.Errorf("formatter saw %+v", seen)
			}
			ended := e.sr.Ended()
			if len(ended) != 4 || ended[0].Name() != tt.wantAttempt || ended[1].Name() != tt.wantCall ||
				ended[2].Name() != tt.wantAttempt || ended[3].Name() != tt.wantCall {
				var names []string
				for _, s := range ended {
					names = append(names, s.Name())
				}
				t.Errorf("spans %q, want [%q %q] twice", names, tt.wantAttempt, tt.wantCall)
			}
		})
	}
}
