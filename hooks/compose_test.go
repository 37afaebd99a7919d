package hooks_test

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/retrykit/retrykit/hooks"
)

// eventNames are the fields of hooks.Hooks in the order fire calls them.
var eventNames = []string{"OnStart", "OnAttempt", "OnAttemptEnd", "OnTimeout", "OnRetry", "OnGiveup", "OnDeadline", "OnDone"}

// Values that fire passes to the hooks.
var (
	testCall    = hooks.Call{Name: "db.fetch", MaxTries: 3, Start: time.Unix(1000, 0)}
	testAttempt = hooks.Attempt{Call: testCall, Number: 2, Start: time.Unix(1001, 0), Duration: 250 * time.Millisecond, Err: errors.New("boom")}
	testResult  = hooks.Result{Call: testCall, Outcome: hooks.Exhausted, Attempts: 3, Duration: 2 * time.Second, Err: errors.New("boom")}
	testDelay   = 100 * time.Millisecond
)

// fire calls every non-nil hook of h once, in the order of eventNames, with the test
// values.
func fire(ctx context.Context, h hooks.Hooks) {
	if h.OnStart != nil {
		h.OnStart(ctx, testCall)
	}
	if h.OnAttempt != nil {
		h.OnAttempt(ctx, testAttempt)
	}
	if h.OnAttemptEnd != nil {
		h.OnAttemptEnd(ctx, testAttempt)
	}
	if h.OnTimeout != nil {
		h.OnTimeout(ctx, testAttempt)
	}
	if h.OnRetry != nil {
		h.OnRetry(ctx, testAttempt, testDelay)
	}
	if h.OnGiveup != nil {
		h.OnGiveup(ctx, testResult)
	}
	if h.OnDeadline != nil {
		h.OnDeadline(ctx, testResult)
	}
	if h.OnDone != nil {
		h.OnDone(ctx, testResult)
	}
}

// recorder returns hooks that append "tag:Event" to *log for every event, and check
// that each event got the test values.
func recorder(t *testing.T, tag string, log *[]string) hooks.Hooks {
	t.Helper()
	rec := func(event string, got, want any) {
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s %s got %+v, want %+v", tag, event, got, want)
		}
		*log = append(*log, tag+":"+event)
	}
	return hooks.Hooks{
		OnStart: func(_ context.Context, c hooks.Call) context.Context {
			rec("OnStart", c, testCall)
			return nil
		},
		OnAttempt: func(_ context.Context, a hooks.Attempt) context.Context {
			rec("OnAttempt", a, testAttempt)
			return nil
		},
		OnAttemptEnd: func(_ context.Context, a hooks.Attempt) { rec("OnAttemptEnd", a, testAttempt) },
		OnTimeout:    func(_ context.Context, a hooks.Attempt) { rec("OnTimeout", a, testAttempt) },
		OnRetry: func(_ context.Context, a hooks.Attempt, d time.Duration) {
			rec("OnRetry", []any{a, d}, []any{testAttempt, testDelay})
		},
		OnGiveup:   func(_ context.Context, r hooks.Result) { rec("OnGiveup", r, testResult) },
		OnDeadline: func(_ context.Context, r hooks.Result) { rec("OnDeadline", r, testResult) },
		OnDone:     func(_ context.Context, r hooks.Result) { rec("OnDone", r, testResult) },
	}
}

// only returns a Hooks with just the field named event taken from h.
func only(h hooks.Hooks, event string) hooks.Hooks {
	var r hooks.Hooks
	f := reflect.ValueOf(h).FieldByName(event)
	reflect.ValueOf(&r).Elem().FieldByName(event).Set(f)
	return r
}

// funcPtr returns the code pointer of the function in field event of h (0 when nil).
func funcPtr(h hooks.Hooks, event string) uintptr {
	return reflect.ValueOf(h).FieldByName(event).Pointer()
}

func TestComposeNilFieldsStayNil(t *testing.T) {
	tests := []struct {
		name string
		hs   []hooks.Hooks
	}{
		{"no argument", nil},
		{"one empty", []hooks.Hooks{{}}},
		{"three empty", []hooks.Hooks{{}, {}, {}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hooks.Compose(tt.hs...)
			for _, ev := range eventNames {
				if !reflect.ValueOf(got).FieldByName(ev).IsNil() {
					t.Errorf("%s is not nil", ev)
				}
			}
		})
	}
	// A field no element sets stays nil even when other fields are observed.
	for _, ev := range eventNames {
		var log []string
		got := hooks.Compose(only(recorder(t, "a", &log), ev), only(recorder(t, "b", &log), ev))
		for _, other := range eventNames {
			if isNil := reflect.ValueOf(got).FieldByName(other).IsNil(); isNil != (other != ev) {
				t.Errorf("Compose of two %s observers: %s nil = %v", ev, other, isNil)
			}
		}
	}
}

func TestComposeSingleObserverReturnedAsIs(t *testing.T) {
	var log []string
	full := recorder(t, "a", &log)
	for _, ev := range eventNames {
		t.Run(ev, func(t *testing.T) {
			h := only(full, ev)
			for _, hs := range [][]hooks.Hooks{
				{h},
				{{}, h},
				{h, {}},
				{{}, h, {}},
			} {
				got := hooks.Compose(hs...)
				if funcPtr(got, ev) != funcPtr(full, ev) {
					t.Errorf("Compose of %d Hooks with one %s observer wrapped it", len(hs), ev)
				}
			}
		})
	}
	// Each event is taken from whichever element observes it.
	var parts []hooks.Hooks
	for _, ev := range eventNames {
		parts = append(parts, only(full, ev))
	}
	got := hooks.Compose(parts...)
	for _, ev := range eventNames {
		if funcPtr(got, ev) != funcPtr(full, ev) {
			t.Errorf("%s was wrapped though one element observes it", ev)
		}
	}
}

func TestComposeOrder(t *testing.T) {
	tests := []struct {
		name string
		tags []string // one recorder per tag, "" for an empty Hooks
		want []string // tags in the order their hooks must run, per event
	}{
		{"two", []string{"a", "b"}, []string{"a", "b"}},
		{"three", []string{"a", "b", "c"}, []string{"a", "b", "c"}},
		{"empty ones skipped", []string{"", "a", "", "b", ""}, []string{"a", "b"}},
		{"same observer twice", []string{"a", "a"}, []string{"a", "a"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var log []string
			var hs []hooks.Hooks
			for _, tag := range tt.tags {
				if tag == "" {
					hs = append(hs, hooks.Hooks{})
				} else {
					hs = append(hs, recorder(t, tag, &log))
				}
			}
			composed := hooks.Compose(hs...)
			for _, ev := range eventNames {
				if funcPtr(composed, ev) == funcPtr(hs[slices.IndexFunc(tt.tags, func(s string) bool { return s != "" })], ev) {
					t.Errorf("%s: composed hook is the first observer itself", ev)
				}
			}
			fire(context.Background(), composed)
			var want []string
			for _, ev := range eventNames {
				for _, tag := range tt.want {
					want = append(want, tag+":"+ev)
				}
			}
			if !slices.Equal(log, want) {
				t.Errorf("calls:\n got %v\nwant %v", log, want)
			}
		})
	}
}

type ctxKey string

// step is one hook in a ctx-threading chain: it records the value of key "v" it saw and
// returns a context with v = set, or nil when set is "".
type step struct{ set string }

func TestComposeThreadsContext(t *testing.T) {
	tests := []struct {
		name  string
		steps []step
		saw   []string // the value of "v" each step saw
		final string   // the value of "v" in the composed hook's result
		same  bool     // the result is the input context itself
	}{
		{"all nil", []step{{}, {}}, []string{"in", "in"}, "in", true},
		{"first sets", []step{{"a"}, {}}, []string{"in", "a"}, "a", false},
		{"last sets", []step{{}, {"b"}}, []string{"in", "in"}, "b", false},
		{"each sets", []step{{"a"}, {"b"}, {"c"}}, []string{"in", "a", "b"}, "c", false},
		{"nil in the middle keeps the previous", []step{{"a"}, {}, {"c"}}, []string{"in", "a", "a"}, "c", false},
		{"nil at the end keeps the previous", []step{{"a"}, {"b"}, {}}, []string{"in", "a", "b"}, "b", false},
		{"single setter", []step{{"a"}}, []string{"in"}, "a", false},
		{"single nil", []step{{}}, []string{"in"}, "", true}, // the hook itself: its nil is the engine's to handle
	}
	for _, tt := range tests {
		for _, ev := range []string{"OnStart", "OnAttempt"} {
			t.Run(tt.name+"/"+ev, func(t *testing.T) {
				var saw []string
				var hs []hooks.Hooks
				for _, s := range tt.steps {
					fn := func(ctx context.Context) context.Context {
						v, _ := ctx.Value(ctxKey("v")).(string)
						saw = append(saw, v)
						if s.set == "" {
							return nil
						}
						return context.WithValue(ctx, ctxKey("v"), s.set)
					}
					hs = append(hs, hooks.Hooks{
						OnStart:   func(ctx context.Context, _ hooks.Call) context.Context { return fn(ctx) },
						OnAttempt: func(ctx context.Context, _ hooks.Attempt) context.Context { return fn(ctx) },
					})
				}
				h := hooks.Compose(hs...)
				in := context.WithValue(context.Background(), ctxKey("v"), "in")
				var out context.Context
				if ev == "OnStart" {
					out = h.OnStart(in, testCall)
				} else {
					out = h.OnAttempt(in, testAttempt)
				}
				if !slices.Equal(saw, tt.saw) {
					t.Errorf("steps saw %v, want %v", saw, tt.saw)
				}
				if len(tt.steps) == 1 && tt.same {
					if out != nil {
						t.Errorf("single hook returning nil: composed returned %v, want nil", out)
					}
					return
				}
				if out == nil {
					t.Fatal("composed hook returned nil")
				}
				if tt.same && out != in {
					t.Errorf("result is not the input context")
				}
				if v, _ := out.Value(ctxKey("v")).(string); v != tt.final {
					t.Errorf("result carries v=%q, want %q", v, tt.final)
				}
			})
		}
	}
}

func TestOutcomeString(t *testing.T) {
	tests := []struct {
		o    hooks.Outcome
		want string
	}{
		{hooks.Success, "success"},
		{hooks.Exhausted, "exhausted"},
		{hooks.Deadline, "deadline"},
		{hooks.Canceled, "canceled"},
		{hooks.GaveUp, "gave_up"},
		{hooks.Permanent, "permanent"},
		{hooks.Throttled, "throttled"},
		{hooks.Panicked, "panicked"},
		{hooks.Panicked + 1, "outcome(8)"},
		{255, "outcome(255)"},
	}
	for _, tt := range tests {
		if got := tt.o.String(); got != tt.want {
			t.Errorf("Outcome(%d).String() = %q, want %q", uint8(tt.o), got, tt.want)
		}
		if got := fmt.Sprint(tt.o); got != tt.want {
			t.Errorf("fmt.Sprint(Outcome(%d)) = %q, want %q", uint8(tt.o), got, tt.want)
		}
	}
	// The constants' values are fixed, in order: telemetry and stored logs rely on them.
	if hooks.Success != 0 || hooks.Panicked != 7 {
		t.Errorf("Success = %d, Panicked = %d; want 0 and 7", hooks.Success, hooks.Panicked)
	}
}
