package retry

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestHedges(t *testing.T) {
	hedging := MustNew(MaxTries(3), HedgeAfter(time.Millisecond))
	derived, err := hedging.With(Name("get"))
	if err != nil {
		t.Fatal(err)
	}
	stopped, err := hedging.With(NoHedge())
	if err != nil {
		t.Fatal(err)
	}
	again, err := stopped.With(HedgeAtQuantile(0.9, time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		p    *Policy
		want bool
	}{
		{"no hedge option", MustNew(MaxTries(3)), false},
		{"HedgeAfter", hedging, true},
		{"HedgeAtQuantile", MustNew(MaxTries(3), HedgeAtQuantile(0.95, time.Millisecond)), true},
		{"derived", derived, true},
		{"NoHedge after a hedge option", MustNew(MaxTries(3), HedgeAfter(time.Millisecond), NoHedge()), false},
		{"NoHedge before a hedge option", MustNew(MaxTries(3), NoHedge(), HedgeAfter(time.Millisecond)), true},
		{"derived with NoHedge", stopped, false},
		{"hedging again after NoHedge", again, true},
	} {
		if got := tc.p.Hedges(); got != tc.want {
			t.Errorf("%s: Hedges() = %v, want %v", tc.name, got, tc.want)
		}
	}
	if !hedging.Hedges() {
		t.Error("With(NoHedge()) changed the policy it derived from")
	}
}

// A policy derived with NoHedge is one Do accepts, with the limits of the one it came
// from.
func TestNoHedgeDo(t *testing.T) {
	p := MustNew(MaxTries(3), HedgeAfter(time.Millisecond))
	once, err := p.With(NoHedge())
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	err = once.Do(context.Background(), func(context.Context) error {
		calls++
		return errors.New("flaky")
	})
	if calls != 3 {
		t.Errorf("%d attempts, want MaxTries' 3 (err %v)", calls, err)
	}
}

// NoHedge does not hide two hedge options given together.
func TestNoHedgeBothOptions(t *testing.T) {
	_, err := New(MaxTries(3), HedgeAfter(time.Millisecond), NoHedge(), HedgeAtQuantile(0.9, time.Millisecond))
	if err == nil || !strings.Contains(err.Error(), "HedgeAfter and HedgeAtQuantile") {
		t.Errorf("New = %v, want the error of both hedge options", err)
	}
}

func TestHedgesNilPolicyPanics(t *testing.T) {
	defer func() {
		r := recover()
		if s, _ := r.(string); !strings.Contains(s, "nil *Policy") {
			t.Errorf("panic %v, want one naming the nil *Policy", r)
		}
	}()
	var p *Policy
	p.Hedges()
}
