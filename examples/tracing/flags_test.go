package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"
	"time"
)

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-calls", "3", "-seed", "9", "-concurrency", "2", "-fail", "0.5",
		"-deadline", "3s", "-metrics-addr", "127.0.0.1:9464", "-loop"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.calls != 3 || cfg.seed != 9 || cfg.concurrency != 2 || cfg.fail != 0.5 || cfg.deadline != 3*time.Second ||
		cfg.metricsAddr != "127.0.0.1:9464" || !cfg.loop || !cfg.stories || cfg.maxTries != 4 {
		t.Errorf("parsed %+v", cfg)
	}
}

func TestParseFlagsErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"-calls", "-1"}, "-calls -1: must not be negative"},
		{[]string{"-concurrency", "0"}, "-concurrency 0: must be at least 1"},
		{[]string{"-trees", "-2"}, "-trees -2: must be -1 or more"},
		{[]string{"-fail", "1.5"}, "-fail 1.5: must be within 0..1"},
		{[]string{"-hang", "-0.1"}, "-hang -0.1: must be within 0..1"},
		{[]string{"-fail", "0.6", "-throttle", "0.3", "-hang", "0.2"}, "-fail + -throttle + -hang = 1.1: must not exceed 1"},
		{[]string{"-latency", "-1ms"}, "-latency -1ms: must not be negative"},
		{[]string{"-retry-after", "1500ms"}, "-retry-after 1.5s: must be a whole number of seconds"},
		{[]string{"-loop"}, "-loop: needs -metrics-addr"},
		{[]string{"extra"}, `unexpected argument "extra"`},
		{[]string{"-nope"}, "flag provided but not defined: -nope"},
	} {
		var stderr bytes.Buffer
		_, err := parseFlags(tt.args, &stderr)
		if err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("parseFlags(%q) = %v, want an error with %q", tt.args, err, tt.want)
		}
	}
	if _, err := parseFlags([]string{"-h"}, &bytes.Buffer{}); !errors.Is(err, flag.ErrHelp) {
		t.Errorf("-h: %v, want flag.ErrHelp", err)
	}
}

// TestPolicyFlagsChecked checks that invalid policy values reach the user as retry.New
// words them, as an error of run.
func TestPolicyFlagsChecked(t *testing.T) {
	var stdout, stderr bytes.Buffer
	err := run(t.Context(), []string{"-max-tries", "0"}, &stdout, &stderr)
	if err == nil || !strings.Contains(err.Error(), "MaxTries(0)") {
		t.Errorf("run -max-tries 0 = %v, want retry.New's MaxTries error", err)
	}
}
