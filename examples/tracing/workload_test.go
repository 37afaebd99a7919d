package main

import (
	"testing"
	"time"
)

func defaultConfig(t *testing.T, args ...string) *config {
	t.Helper()
	cfg, err := parseFlags(args, nil)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestAnswersDeterministic checks that the service's answers depend on the seed, the
// call and the attempt only.
func TestAnswersDeterministic(t *testing.T) {
	a, b := newWorkload(defaultConfig(t, "-calls", "50")), newWorkload(defaultConfig(t, "-calls", "50"))
	other := newWorkload(defaultConfig(t, "-calls", "50", "-seed", "2"))
	differ := 0
	for call := 1; call <= 2*a.size(); call++ {
		for attempt := 1; attempt <= 4; attempt++ {
			if a.answer(call, attempt) != b.answer(call, attempt) {
				t.Fatalf("call %d attempt %d: two workloads of one seed disagree", call, attempt)
			}
			if a.answer(call, attempt) != other.answer(call, attempt) {
				differ++
			}
		}
	}
	if differ == 0 {
		t.Error("seeds 1 and 2 give the same answers")
	}
}

// TestRandomMix checks that the failure mix flags decide the random calls' answers.
func TestRandomMix(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want answerKind
	}{
		{[]string{"-fail", "0", "-throttle", "0", "-hang", "0"}, answerOK},
		{[]string{"-fail", "1", "-throttle", "0", "-hang", "0"}, answerUnavailable},
		{[]string{"-fail", "0", "-throttle", "1", "-hang", "0"}, answerThrottled},
		{[]string{"-fail", "0", "-throttle", "0", "-hang", "1"}, answerHang},
	} {
		cfg := defaultConfig(t, append(tt.args, "-stories=false", "-calls", "20", "-latency", "3ms")...)
		w := newWorkload(cfg)
		for call := 1; call <= 20; call++ {
			a := w.answer(call, 1)
			if a.kind != tt.want {
				t.Errorf("%v: call %d answered %v", tt.args, call, a)
			}
			if a.latency < 0 || a.latency > 3*time.Millisecond {
				t.Errorf("%v: latency %v out of 0..3ms", tt.args, a.latency)
			}
			if a.kind == answerThrottled && a.retryAfter != cfg.retryAfter {
				t.Errorf("%v: Retry-After %v, want %v", tt.args, a.retryAfter, cfg.retryAfter)
			}
		}
	}
}

// TestStoriesFollowPolicy checks that the stories still tell their story with other
// policy limits, and that they repeat in every pass.
func TestStoriesFollowPolicy(t *testing.T) {
	cfg := defaultConfig(t, "-max-tries", "6", "-deadline", "3500ms", "-calls", "2")
	w := newWorkload(cfg)
	byName := map[string]int{}
	for n := 1; n <= len(w.stories); n++ {
		byName[w.name(n)] = n
	}
	ex := byName["exhausted"]
	for attempt := 1; attempt <= 6; attempt++ {
		if a := w.answer(ex, attempt); a.kind != answerUnavailable {
			t.Errorf("exhausted story, attempt %d: %v", attempt, a)
		}
	}
	if a := w.answer(ex, 7); a.kind != answerOK {
		t.Errorf("exhausted story past MaxTries: %v, want 200", a)
	}
	dl := w.answer(byName["deadline"], 2)
	if dl.kind != answerThrottled || dl.retryAfter <= cfg.deadline {
		t.Errorf("deadline story asks for %v, want a Retry-After beyond the %v deadline", dl, cfg.deadline)
	}
	// Pass 2 starts at call size()+1 and tells the same stories.
	for n := 1; n <= len(w.stories); n++ {
		for attempt := 1; attempt <= 3; attempt++ {
			if a, b := w.answer(n, attempt), w.answer(n+w.size(), attempt); a.kind != b.kind || a.retryAfter != b.retryAfter {
				t.Errorf("story %s attempt %d: pass 1 %v, pass 2 %v", w.name(n), attempt, a, b)
			}
		}
	}
	if w.name(len(w.stories)+1) != "random" {
		t.Errorf("call after the stories is %q", w.name(len(w.stories)+1))
	}
	if got := newWorkload(defaultConfig(t, "-stories=false")).size(); got != 12 {
		t.Errorf("-stories=false: %d calls, want 12", got)
	}
}

func TestPassLogCounts(t *testing.T) {
	p := &passLog{calls: []*callLog{
		{attempts: 1, outcome: "success"},
		{attempts: 3, outcome: "success", timeouts: 1, pauses: []time.Duration{1, 2}},
		{attempts: 4, outcome: "exhausted", timeouts: 2, pauses: []time.Duration{1, 2, 3}},
		{attempts: 1, outcome: "permanent"},
	}}
	if got := p.outcomes(); len(got) != 3 || got["success"] != 2 || got["exhausted"] != 1 || got["permanent"] != 1 {
		t.Errorf("outcomes = %v", got)
	}
	if got := p.attemptsPerCall(); len(got) != 3 || got[1] != 2 || got[3] != 1 || got[4] != 1 {
		t.Errorf("attemptsPerCall = %v", got)
	}
	if p.attempts() != 9 || p.timeouts() != 3 || p.retries() != 5 {
		t.Errorf("attempts, timeouts, retries = %d, %d, %d; want 9, 3, 5", p.attempts(), p.timeouts(), p.retries())
	}
	if got := sortedOutcomes(map[string]int{"timeout": 1, "permanent": 1, "success": 1, "deadline": 1, "failure": 1}); len(got) != 5 ||
		got[0] != "success" || got[1] != "deadline" || got[2] != "permanent" || got[3] != "failure" || got[4] != "timeout" {
		t.Errorf("sortedOutcomes = %q", got)
	}
}

// TestIdempotentPostStory: the eighth story is a POST, answered 503 then 200; the other
// calls are GETs.
func TestIdempotentPostStory(t *testing.T) {
	w := newWorkload(defaultConfig(t))
	n := 8
	if w.name(n) != "idempotent-post" || !w.post(n) {
		t.Fatalf("story %d is %q (post %v), want the idempotent POST", n, w.name(n), w.post(n))
	}
	if a, b := w.answer(n, 1), w.answer(n, 2); a.kind != answerUnavailable || b.kind != answerOK {
		t.Errorf("the POST story is answered %v, %v; want 503, 200", a, b)
	}
	for i := 1; i < n+3; i++ {
		if i != n && w.post(i) {
			t.Errorf("call %d (%s) is a POST", i, w.name(i))
		}
	}
}

// TestHedgedStory: the last story goes under the hedging policy, its first attempt held
// far longer than the hedge delay and answered 200 (were it not superseded), the second
// answered at once; the other stories go under the retrying Transport, and -hedge sends a
// share of the random calls under the hedging policy without changing any answer.
func TestHedgedStory(t *testing.T) {
	w := newWorkload(defaultConfig(t))
	n := len(w.stories)
	if w.name(n) != "hedged" || !w.hedge(n, n) || w.post(n) {
		t.Fatalf("story %d is %q (hedge %v, post %v), want the hedged GET", n, w.name(n), w.hedge(n, n), w.post(n))
	}
	for _, id := range []int{n, n + w.size()} { // every pass
		a, b := w.answer(id, 1), w.answer(id, 2)
		if a.kind != answerSlow || a.latency != slowLatency || b.kind != answerOK || b.latency > w.cfg.latency {
			t.Errorf("call %d: the hedged story is answered %v (%v), %v (%v); want slow, then 200 within -latency",
				id, a, a.latency, b, b.latency)
		}
	}
	if slowLatency < 4*hedgeDelay {
		t.Errorf("a slow answer takes %v, not far beyond the hedge delay %v", slowLatency, hedgeDelay)
	}
	for i := 1; i < w.size()+n; i++ {
		if i != n && i != n+w.size() && w.hedge(i, (i-1)%w.size()+1) {
			t.Errorf("call %d (%s) is hedged with -hedge 0", i, w.name((i-1)%w.size()+1))
		}
	}

	half := newWorkload(defaultConfig(t, "-hedge", "0.5", "-calls", "200"))
	hedged := 0
	for id := n + 1; id <= half.size(); id++ {
		if half.hedge(id, id) {
			hedged++
		}
		for attempt := 1; attempt <= 3; attempt++ {
			if got, want := half.answer(id, attempt), newWorkload(defaultConfig(t, "-calls", "200")).answer(id, attempt); got != want {
				t.Fatalf("call %d attempt %d: -hedge 0.5 changed the answer from %v to %v", id, attempt, want, got)
			}
		}
	}
	if hedged < 70 || hedged > 130 {
		t.Errorf("-hedge 0.5: %d of 200 random calls hedged", hedged)
	}
}
