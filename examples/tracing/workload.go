package main

import (
	"context"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"go.opentelemetry.io/otel/trace"
)

// story is a scripted call: the service answers attempt i with script[i-1], and 200
// once the script has run out.
type story struct {
	name   string
	script []answer
	post   bool // a POST with an Idempotency-Key instead of a GET
	hedge  bool // sent under the hedging policy, with retry.HedgeValue
}

// stories are the calls that show every kind of retry story, in a fixed order. They
// follow the policy flags, so that each one still tells its story with other limits.
func stories(cfg *config) []story {
	unavailable := answer{kind: answerUnavailable}
	exhausted := make([]answer, cfg.maxTries)
	for i := range exhausted {
		exhausted[i] = unavailable
	}
	// A Retry-After longer than the whole call's deadline: the policy ends the call at
	// once with outcome deadline instead of sleeping past it.
	beyond := (cfg.deadline/time.Second + 1) * time.Second
	return []story{
		{name: "first-try"},
		{name: "after-retries", script: []answer{unavailable, unavailable}},
		{name: "attempt-timeout", script: []answer{{kind: answerHang}}},
		{name: "retry-after", script: []answer{{kind: answerThrottled, retryAfter: time.Second}}},
		{name: "exhausted", script: exhausted},
		{name: "deadline", script: []answer{unavailable, {kind: answerThrottled, retryAfter: beyond}}},
		{name: "permanent", script: []answer{{kind: answerNotFound}}},
		// A POST is retried only because it carries an Idempotency-Key; its body is
		// sent again, whole.
		{name: "idempotent-post", script: []answer{unavailable}, post: true},
		// The service holds the first attempt far longer than it takes to answer: the
		// hedging policy sends a second one after hedgeDelay, whose answer ends the
		// call, and the first is canceled (superseded).
		{name: "hedged", script: []answer{{kind: answerSlow}}, hedge: true},
	}
}

// workload is the list of calls of one pass: the stories, then cfg.calls calls with
// the random failure mix. The service's answers are a pure function of the call, the
// attempt and the seed, so a pass makes the same calls and attempts at any
// concurrency.
type workload struct {
	cfg     *config
	stories []story // empty with -stories=false
}

func newWorkload(cfg *config) *workload {
	w := &workload{cfg: cfg}
	if cfg.stories {
		w.stories = stories(cfg)
	}
	return w
}

// size is the number of calls of one pass.
func (w *workload) size() int { return len(w.stories) + w.cfg.calls }

// answer is the service's plan: call ids count on across passes (pass 2 starts at
// size()+1), so the random calls of each pass differ while the stories repeat.
func (w *workload) answer(call, attempt int) answer {
	r := rand.New(rand.NewPCG(w.cfg.seed, uint64(call)<<32|uint64(uint32(attempt))))
	a := answer{latency: time.Duration(r.Int64N(int64(w.cfg.latency) + 1))}
	n := (call - 1) % w.size()
	if n < len(w.stories) {
		if s := w.stories[n].script; attempt <= len(s) {
			a.kind, a.retryAfter = s[attempt-1].kind, s[attempt-1].retryAfter
		}
		if a.kind == answerSlow {
			a.latency = slowLatency
		}
		return a
	}
	switch x := r.Float64(); {
	case x < w.cfg.fail:
		a.kind = answerUnavailable
	case x < w.cfg.fail+w.cfg.throttle:
		a.kind, a.retryAfter = answerThrottled, w.cfg.retryAfter
	case x < w.cfg.fail+w.cfg.throttle+w.cfg.hang:
		a.kind = answerHang
	}
	return a
}

// post reports whether call n (1-based within a pass) is a POST.
func (w *workload) post(n int) bool { return n <= len(w.stories) && w.stories[n-1].post }

// hedge reports whether call id (n within its pass) is sent under the hedging policy:
// the hedged story, and a share -hedge of the random calls. The draw has a random
// stream of its own (attempt 0, which no attempt uses), so that -hedge leaves the
// service's answers as they were.
func (w *workload) hedge(id, n int) bool {
	if n <= len(w.stories) {
		return w.stories[n-1].hedge
	}
	if w.cfg.hedge <= 0 {
		return false
	}
	return rand.New(rand.NewPCG(w.cfg.seed, uint64(id)<<32)).Float64() < w.cfg.hedge
}

// name is what the trees call call n (1-based within a pass).
func (w *workload) name(n int) string {
	if n <= len(w.stories) {
		return w.stories[n-1].name
	}
	return "random"
}

// callLog is one call as the workload itself saw it, independently of the telemetry.
type callLog struct {
	n        int    // 1-based within the pass
	id       int    // what the service sees: counts on across passes
	name     string // the story, or "random"
	post     bool   // a POST with an Idempotency-Key, not a GET
	hedge    bool   // sent under the hedging policy (retry.HedgeValue)
	plan     func(call, attempt int) answer
	answers  []answer
	attempts int
	outcome  string // the hooks.Outcome string of the call
	err      error
	ended    bool // the policy's OnDone reported the outcome
	elapsed  time.Duration
	traceID  trace.TraceID
	timeouts int             // attempts whose own timeout fired (OnTimeout)
	pauses   []time.Duration // the pauses scheduled (OnRetry)

	// Of a call of the hedging policy (hooks.Call.Hedging): the attempts that the hedge
	// delay started (Attempt.Hedged) and those the end of the call canceled
	// (Attempt.Superseded).
	hedging    bool
	hedges     int
	superseded int
}

// passLog is one pass of the workload: its calls in order, and the counts that the
// telemetry must reproduce exactly.
type passLog struct {
	pass  int
	calls []*callLog // only the calls made: an interrupt stops a pass early
}

// outcomes counts the calls by outcome.
func (p *passLog) outcomes() map[string]int {
	m := map[string]int{}
	for _, c := range p.calls {
		m[c.outcome]++
	}
	return m
}

// attemptsPerCall counts the calls by their number of attempts.
func (p *passLog) attemptsPerCall() map[int]int {
	m := map[int]int{}
	for _, c := range p.calls {
		m[c.attempts]++
	}
	return m
}

// sum adds f over the calls.
func (p *passLog) sum(f func(*callLog) int) int {
	n := 0
	for _, c := range p.calls {
		n += f(c)
	}
	return n
}

// b2i is 1 for true.
func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// attempts is the number of attempts of all calls.
func (p *passLog) attempts() int { return p.sum(func(c *callLog) int { return c.attempts }) }

// timeouts is the number of attempts whose own timeout fired, as the engine's
// OnTimeout hook told the workload.
func (p *passLog) timeouts() int { return p.sum(func(c *callLog) int { return c.timeouts }) }

// retries is the number of pauses the policy scheduled (OnRetry).
func (p *passLog) retries() int { return p.sum(func(c *callLog) int { return len(c.pauses) }) }

// hedgingCalls is the number of calls of the hedging policy: each records one value of
// retry.call.hedges, 0 included.
func (p *passLog) hedgingCalls() int { return p.sum(func(c *callLog) int { return b2i(c.hedging) }) }

// hedges is the number of attempts that the hedge delay started.
func (p *passLog) hedges() int { return p.sum(func(c *callLog) int { return c.hedges }) }

// hedgedCalls is the number of calls that started at least one hedge.
func (p *passLog) hedgedCalls() int { return p.sum(func(c *callLog) int { return b2i(c.hedges > 0) }) }

// superseded is the number of attempts canceled because their call ended without them.
func (p *passLog) superseded() int { return p.sum(func(c *callLog) int { return c.superseded }) }

// sortedOutcomes lists the outcomes of m in the order of hooks.Outcome.
func sortedOutcomes[V any](m map[string]V) []string {
	order := map[string]int{"success": 0, "exhausted": 1, "deadline": 2, "canceled": 3, "gave_up": 4,
		"permanent": 5, "throttled": 6, "panicked": 7}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		oi, iok := order[keys[i]]
		oj, jok := order[keys[j]]
		if iok != jok {
			return iok
		}
		if oi != oj {
			return oi < oj
		}
		return keys[i] < keys[j]
	})
	return keys
}

// run makes one pass of calls, cfg.concurrency at a time. Once ctx is done no new call
// starts.
func (w *workload) run(ctx context.Context, c *client, pass int) *passLog {
	size := w.size()
	logs := make([]*callLog, size)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(w.cfg.concurrency, max(size, 1)) {
		wg.Go(func() {
			for n := range next {
				id := (pass-1)*size + n
				l := &callLog{n: n, id: id, name: w.name(n), post: w.post(n), hedge: w.hedge(id, n)}
				c.call(ctx, l.id, w.answer, l)
				logs[n-1] = l
			}
		})
	}
feed:
	for n := 1; n <= size; n++ {
		select {
		case next <- n:
		case <-ctx.Done():
			break feed
		}
	}
	close(next)
	wg.Wait()
	p := &passLog{pass: pass}
	for _, l := range logs {
		if l != nil {
			p.calls = append(p.calls, l)
		}
	}
	return p
}
