package main

import (
	"bytes"
	"errors"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"
)

var (
	testTrace = trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36}
	t0        = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
)

// stub is a span of testTrace with span id id, under parent (0: a root).
func stub(id, parent byte, name string, start, end time.Duration, status codes.Code, attrs ...attribute.KeyValue) sdktrace.ReadOnlySpan {
	sc := trace.NewSpanContext(trace.SpanContextConfig{TraceID: testTrace, SpanID: trace.SpanID{7: id}})
	var p trace.SpanContext
	if parent != 0 {
		p = trace.NewSpanContext(trace.SpanContextConfig{TraceID: testTrace, SpanID: trace.SpanID{7: parent}})
	}
	return tracetest.SpanStub{
		Name: name, SpanContext: sc, Parent: p,
		StartTime: t0.Add(start), EndTime: t0.Add(end),
		Attributes: attrs, Status: sdktrace.Status{Code: status},
	}.Snapshot()
}

// The spans of a call as otelretry records them: a 503, an attempt timeout, a
// Retry-After pause, then a success. Given out of order, as a processor may see them.
func retriedCallSpans() []sdktrace.ReadOnlySpan {
	ms := time.Millisecond
	return []sdktrace.ReadOnlySpan{
		stub(4, 3, "HTTP GET", 61*ms, 311*ms, codes.Error),
		stub(1, 0, "retry inventory.get", 0, 1400*ms, codes.Unset,
			attrOutcome.String("success"), attrAttemptCount.Int(4)),
		stub(2, 1, "attempt inventory.get", 0, 10*ms, codes.Error,
			attrAttemptNumber.Int(1), attrErrorType.String("503"), attrDelay.Float64(0.05)),
		stub(5, 2, "HTTP GET", 1*ms, 9*ms, codes.Error, attrStatusCode.Int(503)),
		stub(3, 1, "attempt inventory.get", 60*ms, 310*ms, codes.Error,
			attrAttemptNumber.Int(2), attrTimedOut.Bool(true), attrErrorType.String("timeout"), attrDelay.Float64(0.1)),
		stub(6, 1, "attempt inventory.get", 410*ms, 420*ms, codes.Error,
			attrAttemptNumber.Int(3), attrErrorType.String("429"), attrDelay.Float64(1),
			attrRetryAfter.StringSlice([]string{"1"})),
		stub(8, 1, "attempt inventory.get", 1390*ms, 1400*ms, codes.Unset, attrAttemptNumber.Int(4)),
		stub(9, 8, "HTTP GET", 1391*ms, 1399*ms, codes.Unset, attrStatusCode.Int(200)),
	}
}

func TestWriteTree(t *testing.T) {
	tests := []struct {
		name  string
		call  *callLog
		spans []sdktrace.ReadOnlySpan
		want  string
	}{{
		name: "retried call",
		call: &callLog{n: 3, name: "mixed", traceID: testTrace, answers: []answer{
			{kind: answerUnavailable}, {kind: answerHang}, {kind: answerThrottled, retryAfter: time.Second}, {}}},
		spans: retriedCallSpans(),
		want: `#3 mixed                                  trace 4bf92f3577b34da6a3ce929d0e0e4736
   service answered: 503, no answer, 429 Retry-After: 1, 200
retry inventory.get · success after 4 attempts · 1.40s
├─ attempt 1 · 10ms · error.type=503
│  └─ HTTP GET · 503 · 8.0ms
├─ pause 50ms
├─ attempt 2 · 250ms · timed out
│  └─ HTTP GET · 250ms
├─ pause 100ms
├─ attempt 3 · 10ms · error.type=429
├─ pause 1.00s (Retry-After: 1)
└─ attempt 4 · 10ms · ok
   └─ HTTP GET · 200 · 8.0ms

`,
	}, {
		name: "failed call with a long error",
		call: &callLog{n: 5, name: "exhausted", traceID: testTrace, answers: []answer{{kind: answerNotFound}},
			err: errors.New("retry inventory.get: permanent error after 1 attempt: inventory: 404 Not Found, " +
				"and a message long enough to need a second line")},
		spans: []sdktrace.ReadOnlySpan{
			stub(1, 0, "retry inventory.get", 0, 2*time.Millisecond, codes.Error,
				attrOutcome.String("permanent"), attrAttemptCount.Int(1), attrErrorType.String("permanent")),
			stub(3, 0, "retry other.op", 3*time.Millisecond, 4*time.Millisecond, codes.Error,
				attrOutcome.String("exhausted"), attrAttemptCount.Int(2), attrErrorType.String("custom")),
			stub(2, 1, "attempt inventory.get", 0, 2*time.Millisecond, codes.Error, attrAttemptNumber.Int(1)),
		},
		want: `#5 exhausted                              trace 4bf92f3577b34da6a3ce929d0e0e4736
   service answered: 404
retry inventory.get · permanent after 1 attempt · 2.0ms
└─ attempt 1 · 2.0ms · failed
retry other.op · exhausted after 2 attempts · 1.0ms · error.type=custom
   error: retry inventory.get: permanent error after 1 attempt: inventory: 404
          Not Found, and a message long enough to need a second line

`,
	}, {
		name: "deadline before a Retry-After pause",
		call: &callLog{n: 6, name: "deadline", traceID: testTrace, answers: []answer{
			{kind: answerThrottled, retryAfter: 3 * time.Second}}},
		spans: []sdktrace.ReadOnlySpan{
			stub(1, 0, "retry inventory.get", 0, 5*time.Millisecond, codes.Error,
				attrOutcome.String("deadline"), attrAttemptCount.Int(1), attrErrorType.String("deadline")),
			stub(2, 1, "attempt inventory.get", 0, 5*time.Millisecond, codes.Error, attrAttemptNumber.Int(1),
				attrErrorType.String("429"), attrRetryAfter.StringSlice([]string{"3"})),
		},
		want: `#6 deadline                               trace 4bf92f3577b34da6a3ce929d0e0e4736
   service answered: 429 Retry-After: 3
retry inventory.get · deadline after 1 attempt · 5.0ms
├─ attempt 1 · 5.0ms · error.type=429
└─ no pause: Retry-After 3s would end past the deadline

`,
	}, {
		// Two attempts at once: the hedge, started 50ms into the call while attempt 1 was
		// still running, ends the call, and attempt 1 is superseded (status Unset, no
		// error.type; its HTTP request was canceled).
		name: "hedged call",
		call: &callLog{n: 9, name: "hedged", traceID: testTrace, answers: []answer{
			{kind: answerSlow, latency: slowLatency}, {}}},
		spans: []sdktrace.ReadOnlySpan{
			stub(1, 0, "retry inventory.get", 0, 56*time.Millisecond, codes.Unset,
				attrOutcome.String("success"), attrAttemptCount.Int(2)),
			stub(5, 4, "HTTP GET", 51*time.Millisecond, 55*time.Millisecond, codes.Unset, attrStatusCode.Int(200)),
			stub(4, 1, "attempt inventory.get", 50*time.Millisecond, 55*time.Millisecond, codes.Unset,
				attrAttemptNumber.Int(2), attrHedged.Bool(true)),
			stub(2, 1, "attempt inventory.get", 0, 56*time.Millisecond, codes.Unset,
				attrAttemptNumber.Int(1), attrSuperseded.Bool(true)),
			tracetest.SpanStub{
				Name:        "HTTP GET",
				SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: testTrace, SpanID: trace.SpanID{7: 3}}),
				Parent:      trace.NewSpanContext(trace.SpanContextConfig{TraceID: testTrace, SpanID: trace.SpanID{7: 2}}),
				StartTime:   t0.Add(time.Millisecond), EndTime: t0.Add(56 * time.Millisecond),
				Status: sdktrace.Status{Code: codes.Error, Description: "context canceled"},
			}.Snapshot(),
		},
		want: `#9 hedged                                 trace 4bf92f3577b34da6a3ce929d0e0e4736
   service answered: 200 after 1.00s, 200
retry inventory.get · success after 2 attempts · 56ms
├─ attempt 1 · 56ms · superseded
│  └─ HTTP GET · context canceled · 55ms
└─ attempt 2 · hedged at +50ms · 5.0ms · ok
   └─ HTTP GET · 200 · 4.0ms

`,
	}, {
		name: "no spans",
		call: &callLog{n: 1, name: "first-try", answers: []answer{{}}},
		want: `#1 first-try
   service answered: 200
   (no spans recorded: is the trace sampled?)

`,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			writeTree(&b, tt.call, tt.spans)
			if got := b.String(); got != tt.want {
				t.Errorf("got:\n%s\nwant:\n%s", got, tt.want)
			}
			checkWidth(t, "tree", b.String())
		})
	}
}

func TestBuildForest(t *testing.T) {
	spans := retriedCallSpans()
	// A span whose parent is not among the spans (a remote parent) is a root too.
	orphan := tracetest.SpanStub{
		Name:        "orphan",
		SpanContext: trace.NewSpanContext(trace.SpanContextConfig{TraceID: testTrace, SpanID: trace.SpanID{7: 20}}),
		Parent:      trace.NewSpanContext(trace.SpanContextConfig{TraceID: testTrace, SpanID: trace.SpanID{7: 21}}),
		StartTime:   t0.Add(-time.Second),
	}.Snapshot()
	roots := buildForest(append(spans, orphan))
	var names []string
	for _, r := range roots {
		names = append(names, r.span.Name())
	}
	if strings.Join(names, ",") != "orphan,retry inventory.get" {
		t.Fatalf("roots = %q", names)
	}
	var numbers []string
	for _, c := range roots[1].children {
		v, _ := attrValue(c.span, attrAttemptNumber)
		numbers = append(numbers, v.String())
	}
	if strings.Join(numbers, ",") != "1,2,3,4" {
		t.Errorf("attempts in order %q, want 1,2,3,4", numbers)
	}
}

func TestFmtDuration(t *testing.T) {
	for _, tt := range []struct {
		d    time.Duration
		want string
	}{
		{0, "0.00ms"},
		{420 * time.Microsecond, "0.42ms"},
		{3140 * time.Microsecond, "3.1ms"},
		{250 * time.Millisecond, "250ms"},
		{999 * time.Millisecond, "999ms"},
		{1020 * time.Millisecond, "1.02s"},
		{90 * time.Second, "90.00s"},
	} {
		if got := fmtDuration(tt.d); got != tt.want {
			t.Errorf("fmtDuration(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

// TestClip checks that clip counts runes, not bytes: the trees are drawn with
// multi-byte box characters, and a line fits by its columns.
func TestClip(t *testing.T) {
	for _, tt := range []struct {
		name string
		in   string
		want string
	}{
		{"short", "short", "short"},
		{"80 runes of 2 bytes: fits", strings.Repeat("é", width), strings.Repeat("é", width)},
		{"79 runes, 80+ bytes: fits", "├─ " + strings.Repeat("x", width-4) + "│", "├─ " + strings.Repeat("x", width-4) + "│"},
		{"60 runes of 3 bytes: fits", strings.Repeat("│", 60), strings.Repeat("│", 60)},
		{"81 ASCII runes: clipped", strings.Repeat("x", width+1), strings.Repeat("x", width-1) + "…"},
		{"85 runes of 2 bytes: clipped", strings.Repeat("é", width+5), strings.Repeat("é", width-1) + "…"},
	} {
		got := clip(tt.in)
		if got != tt.want {
			t.Errorf("%s: clip = %q (%d runes), want %q", tt.name, got, utf8.RuneCountInString(got), tt.want)
		}
		if n := utf8.RuneCountInString(got); n > width {
			t.Errorf("%s: %d runes, more than %d", tt.name, n, width)
		}
	}
}
