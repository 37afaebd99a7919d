package main

import (
	"bytes"
	"context"
	"flag"
	"io"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// runDefault runs the example as `go run ./examples/tracing` does, and returns its
// output and the workload's own log of the pass.
func runDefault(t *testing.T, args ...string) (stdout, stderr string, pass *passLog) {
	t.Helper()
	var out, errOut bytes.Buffer
	cfg, err := parseFlags(args, &errOut)
	if err != nil {
		t.Fatalf("parseFlags(%q): %v", args, err)
	}
	cfg.workloadDone = func(p *passLog) { pass = p }
	if err := execute(context.Background(), cfg, &out, &errOut); err != nil {
		t.Fatalf("execute: %v\nstderr:\n%s", err, errOut.String())
	}
	if pass == nil {
		t.Fatal("the workload reported no pass")
	}
	return out.String(), errOut.String(), pass
}

// checkWidth fails for every line wider than the terminal.
func checkWidth(t *testing.T, name, text string) {
	t.Helper()
	for i, line := range strings.Split(text, "\n") {
		line = expandTabs(line)
		if n := utf8.RuneCountInString(line); n > width {
			t.Errorf("%s line %d is %d columns wide (> %d): %q", name, i+1, n, width, line)
		}
	}
}

// expandTabs puts spaces for tabs, as a terminal with tab stops every 8 columns shows
// them.
func expandTabs(s string) string {
	var b strings.Builder
	col := 0
	for _, r := range s {
		if r == '\t' {
			for {
				b.WriteByte(' ')
				col++
				if col%8 == 0 {
					break
				}
			}
			continue
		}
		b.WriteRune(r)
		col++
	}
	return b.String()
}

// TestDefaultOutput checks the default mode's output: every story is told, every
// outcome the workload produced is named (in its call's tree and in the summary), and
// the metrics agree with the workload's own count.
func TestDefaultOutput(t *testing.T) {
	out, errOut, pass := runDefault(t)
	if errOut != "" {
		t.Errorf("stderr not empty:\n%s", errOut)
	}
	checkWidth(t, "stdout", out)

	if got, want := len(pass.calls), len(stories(&config{maxTries: 4}))+12; got != want {
		t.Fatalf("pass made %d calls, want %d", got, want)
	}
	// The stories' outcomes are fixed by the default policy.
	wantStories := map[string]string{
		"first-try": "success", "after-retries": "success", "attempt-timeout": "success",
		"retry-after": "success", "exhausted": "exhausted", "deadline": "deadline", "permanent": "permanent",
		"idempotent-post": "success", "hedged": "success",
	}
	for _, c := range pass.calls[:len(wantStories)] {
		if want := wantStories[c.name]; c.outcome != want {
			t.Errorf("story %s ended %s, want %s (err: %v)", c.name, c.outcome, want, c.err)
		}
	}

	trees := splitTrees(out)
	for _, c := range pass.calls[:len(wantStories)] { // -trees 9 by default: every story
		tree, ok := trees[c.n]
		if !ok {
			t.Errorf("no tree printed for call #%d %s", c.n, c.name)
			continue
		}
		if !strings.Contains(tree, "retry "+operationName+" · "+c.outcome+" after ") {
			t.Errorf("tree of #%d %s does not name its outcome %q:\n%s", c.n, c.name, c.outcome, tree)
		}
		if got := strings.Count(tree, "attempt "); got < c.attempts {
			t.Errorf("tree of #%d %s shows %d attempts, the call made %d:\n%s", c.n, c.name, got, c.attempts, tree)
		}
	}
	for name, want := range map[string]string{
		"attempt-timeout": "timed out",
		"retry-after":     "(Retry-After: 1)",
		"after-retries":   "pause 100ms",
		"exhausted":       "error: retry " + operationName + ": exhausted after 4 attempts",
		"idempotent-post": "HTTP POST · 200",
		"hedged":          "service answered: 200 after 1.00s, 200",
	} {
		n := slices.IndexFunc(pass.calls, func(c *callLog) bool { return c.name == name }) + 1
		if !strings.Contains(trees[n], want) {
			t.Errorf("tree of %s lacks %q:\n%s", name, want, trees[n])
		}
	}
	// The hedged story: the slow first attempt is still running when the hedge starts
	// (at the hedge delay), and the hedge's answer ends the call, superseding it.
	n := slices.IndexFunc(pass.calls, func(c *callLog) bool { return c.name == "hedged" })
	if c := pass.calls[n]; !c.hedging || c.attempts != 2 || c.hedges != 1 || c.superseded != 1 {
		t.Errorf("hedged story: hedging %v, %d attempts, %d hedges, %d superseded; want true, 2, 1, 1",
			c.hedging, c.attempts, c.hedges, c.superseded)
	}
	hedgedTree := regexp.MustCompile(`(?m)^retry ` + regexp.QuoteMeta(operationName) + ` · success after 2 attempts · .*\n` +
		`├─ attempt 1 · (\S+) · superseded\n` +
		`│  └─ HTTP GET · context canceled · .*\n` +
		`└─ attempt 2 · hedged at \+(\S+) · \S+ · ok\n` +
		`   └─ HTTP GET · 200 · .*\n`)
	if m := hedgedTree.FindStringSubmatch(trees[n+1]); m == nil {
		t.Errorf("tree of the hedged story:\n%s\nwant the superseded attempt 1 and the hedge, as %s", trees[n+1], hedgedTree)
	} else if first, err := time.ParseDuration(m[1]); err != nil || first < hedgeDelay {
		t.Errorf("hedged story: attempt 1 ran %s, want at least the hedge delay %v: the attempts overlap", m[1], hedgeDelay)
	} else if at, err := time.ParseDuration(m[2]); err != nil || at < hedgeDelay || at > first {
		t.Errorf("hedged story: the hedge started at +%s, want from the hedge delay %v on, within attempt 1 (%s)", m[2], hedgeDelay, m[1])
	}

	summary := out[strings.Index(out, "Metrics read back"):]
	for o, n := range pass.outcomes() {
		if !regexp.MustCompile(`\b` + o + ` ` + strconv.Itoa(n) + `\b`).MatchString(summary) {
			t.Errorf("summary does not name outcome %s with %d calls:\n%s", o, n, summary)
		}
	}
	if !strings.Contains(summary, "the workload's own count agrees") {
		t.Errorf("metrics and workload disagree:\n%s", summary)
	}
}

// splitTrees cuts the output into the trees, by call number.
func splitTrees(out string) map[int]string {
	trees := map[int]string{}
	re := regexp.MustCompile(`(?m)^#(\d+) `)
	locs := re.FindAllStringSubmatchIndex(out, -1)
	for i, loc := range locs {
		end := len(out)
		if i+1 < len(locs) {
			end = locs[i+1][0]
		}
		n := 0
		for _, r := range out[loc[2]:loc[3]] {
			n = n*10 + int(r-'0')
		}
		trees[n] = out[loc[0]:end]
	}
	return trees
}

// TestHelp checks that -h documents every flag within 80 columns and exits cleanly.
func TestHelp(t *testing.T) {
	var out, errOut bytes.Buffer
	if err := run(context.Background(), []string{"-h"}, &out, &errOut); err != nil {
		t.Fatalf("run -h: %v", err)
	}
	if out.Len() != 0 {
		t.Errorf("-h wrote to stdout: %q", out.String())
	}
	help := errOut.String()
	checkWidth(t, "-h", help)
	n := 0
	newFlagSet(&config{}, io.Discard).VisitAll(func(f *flag.Flag) {
		n++
		if !regexp.MustCompile(`(?m)^  -` + regexp.QuoteMeta(f.Name) + `\b`).MatchString(help) {
			t.Errorf("-h does not document -%s", f.Name)
		}
		if strings.TrimSpace(f.Usage) == "" {
			t.Errorf("-%s has no usage text", f.Name)
		}
	})
	if n < 15 {
		t.Errorf("only %d flags defined", n)
	}
	if !strings.Contains(help, "OTEL_EXPORTER_OTLP_ENDPOINT") {
		t.Error("-h does not mention OTEL_EXPORTER_OTLP_ENDPOINT")
	}
	if !regexp.MustCompile(`-deadline duration\n\s+policy: [^\n]*\n?[^\n]*0 fails every\s+call`).MatchString(help) {
		t.Error("-h does not say that -deadline 0 fails every call")
	}
}

// TestBadFlag checks that a bad flag costs one line: run prints nothing (no usage, no
// error of its own) and returns one error, which main prints once, with a pointer to -h.
func TestBadFlag(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-nope"}, "flag provided but not defined: -nope (-h lists the flags)"},
		{[]string{"-calls", "x"}, `invalid value "x" for flag -calls: parse error (-h lists the flags)`},
		{[]string{"-deadline"}, "flag needs an argument: -deadline (-h lists the flags)"},
	} {
		var out, errOut bytes.Buffer
		err := run(context.Background(), tt.args, &out, &errOut)
		if err == nil || err.Error() != tt.want {
			t.Errorf("run %q = %v, want %q", tt.args, err, tt.want)
		}
		if out.Len() != 0 || errOut.Len() != 0 {
			t.Errorf("run %q printed\nstdout: %q\nstderr: %q\nwant nothing: main prints the error", tt.args, out.String(), errOut.String())
		}
	}
}
