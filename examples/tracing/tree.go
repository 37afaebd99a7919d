package main

import (
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// width is the terminal width the output keeps to.
const width = 80

// The otelretry attributes that the trees read (docs/telemetry.md).
const (
	attrOutcome       = attribute.Key("retry.outcome")
	attrAttemptCount  = attribute.Key("retry.attempt.count")
	attrAttemptNumber = attribute.Key("retry.attempt.number")
	attrTimedOut      = attribute.Key("retry.attempt.timed_out")
	attrDelay         = attribute.Key("retry.delay")
	attrHedged        = attribute.Key("retry.attempt.hedged")
	attrSuperseded    = attribute.Key("retry.attempt.superseded")
	attrErrorType     = attribute.Key("error.type")
	attrStatusCode    = attribute.Key("http.response.status_code")
)

// spanNode is a span with its children, in the order they started.
type spanNode struct {
	span     sdktrace.ReadOnlySpan
	children []*spanNode
}

// buildForest links spans into trees: a span whose parent is not among spans is a root.
// Roots and children are ordered by start time.
func buildForest(spans []sdktrace.ReadOnlySpan) []*spanNode {
	nodes := make(map[trace.SpanID]*spanNode, len(spans))
	for _, s := range spans {
		nodes[s.SpanContext().SpanID()] = &spanNode{span: s}
	}
	var roots []*spanNode
	for _, s := range spans {
		n := nodes[s.SpanContext().SpanID()]
		if p, ok := nodes[s.Parent().SpanID()]; ok && s.Parent().IsValid() {
			p.children = append(p.children, n)
		} else {
			roots = append(roots, n)
		}
	}
	byStart := func(a, b *spanNode) int { return a.span.StartTime().Compare(b.span.StartTime()) }
	for _, n := range nodes {
		slices.SortStableFunc(n.children, byStart)
	}
	slices.SortStableFunc(roots, byStart)
	return roots
}

// writeTree prints call c as the tree of the spans of its trace: the call, its
// attempts with the pauses between them, and the HTTP requests under each attempt.
func writeTree(w io.Writer, c *callLog, spans []sdktrace.ReadOnlySpan) {
	head := fmt.Sprintf("#%d %s", c.n, c.name)
	if c.traceID.IsValid() {
		tid := "trace " + c.traceID.String()
		head += strings.Repeat(" ", max(1, width-utf8.RuneCountInString(head)-len(tid))) + tid
	}
	fmt.Fprintln(w, head)
	answers := make([]string, len(c.answers))
	for i, a := range c.answers {
		answers[i] = a.String()
	}
	writeWrapped(w, "   service answered: ", strings.Join(answers, ", "))

	roots := buildForest(spans)
	if len(roots) == 0 {
		fmt.Fprintln(w, "   (no spans recorded: is the trace sampled?)")
	}
	for _, r := range roots {
		fmt.Fprintln(w, clip(spanLine(r.span)))
		writeChildren(w, r, "", endNote(r))
	}
	if c.err != nil {
		writeWrapped(w, "   error: ", c.err.Error())
	}
	fmt.Fprintln(w)
}

// endNote explains a call that ended with the deadline although its last attempt
// asked for a pause: the pause would have ended past the deadline, so the call ended
// at once instead of sleeping through it.
func endNote(call *spanNode) string {
	o, ok := attrValue(call.span, attrOutcome)
	if !ok || o.String() != "deadline" || len(call.children) == 0 {
		return ""
	}
	last := call.children[len(call.children)-1].span
	ra, ok := attrValue(last, attrRetryAfter)
	if _, delayed := attrValue(last, attrDelay); !ok || delayed || len(ra.AsStringSlice()) == 0 {
		return ""
	}
	return "no pause: Retry-After " + ra.AsStringSlice()[0] + "s would end past the deadline"
}

// writeChildren prints n's children under prefix, with a pause line after each attempt
// that a retry followed, and note as a last line.
func writeChildren(w io.Writer, n *spanNode, prefix, note string) {
	type line struct {
		text string
		node *spanNode // nil for a pause
	}
	var lines []line
	for _, c := range n.children {
		text := spanLine(c.span)
		if hedged, _ := attrValue(c.span, attrHedged); hedged.AsBool() {
			// A hedge overlaps the attempt before it: when it started tells by how much.
			text = strings.Replace(text, " · ", " · hedged at +"+fmtDuration(c.span.StartTime().Sub(n.span.StartTime()))+" · ", 1)
		}
		lines = append(lines, line{text, c})
		if d, ok := attrValue(c.span, attrDelay); ok {
			lines = append(lines, line{text: pauseLine(c.span, d)})
		}
	}
	if note != "" {
		lines = append(lines, line{text: note})
	}
	for i, l := range lines {
		branch, more := "├─ ", "│  "
		if i == len(lines)-1 {
			branch, more = "└─ ", "   "
		}
		fmt.Fprintln(w, clip(prefix+branch+l.text))
		if l.node != nil {
			writeChildren(w, l.node, prefix+more, "")
		}
	}
}

// spanLine describes one span: a retry call, an attempt, or any other span (the HTTP
// requests).
func spanLine(s sdktrace.ReadOnlySpan) string {
	dur := fmtDuration(s.EndTime().Sub(s.StartTime()))
	failed := s.Status().Code == codes.Error
	if o, ok := attrValue(s, attrOutcome); ok {
		line := s.Name() + " · " + o.String()
		if n, ok := attrValue(s, attrAttemptCount); ok {
			line += " after " + plural(int(n.AsInt64()), "attempt")
		}
		line += " · " + dur
		// error.type of a failed call is its outcome (retry.Error's ErrorType) unless
		// WithErrorType says otherwise: worth a word only then.
		if et, ok := attrValue(s, attrErrorType); ok && failed && et.String() != o.String() {
			line += " · error.type=" + et.String()
		}
		return line
	}
	if n, ok := attrValue(s, attrAttemptNumber); ok {
		line := "attempt " + n.String() + " · " + dur + " · "
		timedOut, _ := attrValue(s, attrTimedOut)
		superseded, _ := attrValue(s, attrSuperseded)
		et, hasType := attrValue(s, attrErrorType)
		switch {
		case superseded.AsBool():
			// Canceled when another attempt ended the call: neither a success nor a
			// failure, whatever the function returned.
			line += "superseded"
		case timedOut.AsBool():
			line += "timed out"
		case failed && hasType:
			line += "error.type=" + et.String()
		case failed:
			line += "failed"
		default:
			line += "ok"
		}
		return line
	}
	line := s.Name()
	if code, ok := attrValue(s, attrStatusCode); ok {
		line += " · " + code.String()
	} else if failed && s.Status().Description != "" {
		line += " · " + s.Status().Description
	}
	return line + " · " + dur
}

// pauseLine describes the pause after attempt s: delay seconds, and the service's
// Retry-After when it asked for one.
func pauseLine(s sdktrace.ReadOnlySpan, delay attribute.Value) string {
	d := time.Duration(delay.AsFloat64() * float64(time.Second))
	line := "pause " + fmtDuration(d)
	if ra, ok := attrValue(s, attrRetryAfter); ok {
		if v := ra.AsStringSlice(); len(v) > 0 {
			line += " (Retry-After: " + v[0] + ")"
		}
	}
	return line
}

// attrValue finds attribute key of s.
func attrValue(s sdktrace.ReadOnlySpan, key attribute.Key) (attribute.Value, bool) {
	for _, kv := range s.Attributes() {
		if kv.Key == key {
			return kv.Value, true
		}
	}
	return attribute.Value{}, false
}

// fmtDuration rounds d to what a reader compares at a glance: 0.42ms, 3.1ms, 250ms,
// 1.02s.
func fmtDuration(d time.Duration) string {
	ms := float64(d) / float64(time.Millisecond)
	switch {
	case d < time.Millisecond:
		return strconv.FormatFloat(ms, 'f', 2, 64) + "ms"
	case d < 10*time.Millisecond:
		return strconv.FormatFloat(ms, 'f', 1, 64) + "ms"
	case d < time.Second:
		return strconv.FormatFloat(ms, 'f', 0, 64) + "ms"
	}
	return strconv.FormatFloat(d.Seconds(), 'f', 2, 64) + "s"
}

func plural(n int, word string) string {
	if n == 1 {
		return "1 " + word
	}
	return strconv.Itoa(n) + " " + word + "s"
}

// clip cuts s to the terminal width.
func clip(s string) string {
	if utf8.RuneCountInString(s) <= width {
		return s
	}
	r := []rune(s)
	return string(r[:width-1]) + "…"
}

// writeWrapped prints label and text, wrapping text at spaces to the terminal width
// with continuation lines indented under the text.
func writeWrapped(w io.Writer, label, text string) {
	indent := strings.Repeat(" ", utf8.RuneCountInString(label))
	line := label
	empty := true
	for _, word := range strings.Fields(text) {
		if !empty && utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) > width {
			fmt.Fprintln(w, clip(line))
			line, empty = indent, true
		}
		if !empty {
			line += " "
		}
		line += word
		empty = false
	}
	fmt.Fprintln(w, clip(line))
}
