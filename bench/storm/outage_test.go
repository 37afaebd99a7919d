package storm

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/retry"
)

// The outage of the Google SRE book's "Handling Overload": clients call a service at a
// steady rate, each client once per second at its own phase, every call in its own
// goroutine whether or not the previous one finished (users do not wait for each other).
// The service fails every request during the outage, then serves at most its capacity:
// a token bucket of capacity × 1 s per second with a burst of a tenth of a second, so
// that the steady load passes untouched and a surge is cut to the capacity. Rejections,
// like the outage's failures, are immediate and retryable.

var (
	errDown       = errors.New("storm: service down")
	errOverloaded = errors.New("storm: service overloaded")
)

// outageConfig sizes the scenario.
type outageConfig struct {
	Clients  int           // each calls once per Period
	Period   time.Duration // between the calls of one client
	Warmup   time.Duration // healthy, before the outage: fills the budget's window
	Outage   time.Duration // every attempt fails
	After    time.Duration // recovered, at Capacity
	Capacity float64       // attempts per second the recovered service serves
	Latency  time.Duration // one way, client to service
	Bin      time.Duration // resolution of the load series
}

func (c outageConfig) total() time.Duration { return c.Warmup + c.Outage + c.After }

// baseRate is the calls per second the clients make.
func (c outageConfig) baseRate() float64 { return float64(c.Clients) / c.Period.Seconds() }

// outageVariant is one row of the table: a policy.
type outageVariant struct {
	Tries  int
	Ratio  float64 // budget ratio; 0: no budget
	Jitter bool
}

func (v outageVariant) String() string {
	s := fmt.Sprintf("MaxTries(%d)", v.Tries)
	if v.Ratio > 0 {
		s += fmt.Sprintf(", NewBudget(%g, 0)", v.Ratio)
	} else {
		s += ", no budget"
	}
	if v.Jitter {
		s += ", full jitter"
	} else {
		s += ", no jitter"
	}
	return s
}

// outagePause is the backoff of every variant: 100 ms, doubling, at most 2 s; FullJitter
// of it for the jittered rows, drawing from src.
func outagePause(jitter bool, src retry.Source) retry.Backoff {
	b := retry.Exponential(100*time.Millisecond, 2, 2*time.Second)
	if jitter {
		return retry.FullJitterFrom(src, b)
	}
	return b
}

// service is the capacity-limited service, with the per-bin counters of the run.
type service struct {
	cfg   outageConfig
	start time.Time

	mu       sync.Mutex
	tokens   float64
	last     time.Duration
	calls    []int // calls started, per bin
	attempts []int // attempts received, per bin
	failed   []int // attempts that failed, per bin
	lost     int   // calls that failed although they started after the outage
}

func newService(cfg outageConfig) *service {
	n := int(cfg.total()/cfg.Bin) + 1
	return &service{
		cfg:      cfg,
		start:    time.Now(),
		tokens:   cfg.Capacity / 10,
		calls:    make([]int, n),
		attempts: make([]int, n),
		failed:   make([]int, n),
	}
}

func (s *service) bin(now time.Duration) int { return min(int(now/s.cfg.Bin), len(s.calls)-1) }

// call counts the start of a call.
func (s *service) call() time.Duration {
	now := time.Since(s.start)
	s.mu.Lock()
	s.calls[s.bin(now)]++
	s.mu.Unlock()
	return now
}

// attempt serves or fails one attempt arriving now.
func (s *service) attempt() error {
	now := time.Since(s.start)
	s.mu.Lock()
	defer s.mu.Unlock()
	b := s.bin(now)
	s.attempts[b]++
	s.tokens = min(s.cfg.Capacity/10, s.tokens+s.cfg.Capacity*(now-s.last).Seconds())
	s.last = now
	if now >= s.cfg.Warmup && now < s.cfg.Warmup+s.cfg.Outage {
		s.failed[b]++
		return errDown
	}
	if s.tokens < 1 {
		s.failed[b]++
		return errOverloaded
	}
	s.tokens--
	return nil
}

// outageRun is what one variant did.
type outageRun struct {
	Variant       outageVariant
	Amplification float64 // attempts / calls started during the outage
	Peak          float64 // highest load after the outage, attempts per second over one second
	Recovery      time.Duration
	Lost          int // calls started after the outage that still failed
	OutageCalls   int // calls started during the outage
	OutageTries   int // attempts received during the outage
	Load          []float64
	Calls, Tries  int // over the whole run
}

// runOutage runs one variant inside a synctest bubble.
func runOutage(cfg outageConfig, v outageVariant, seed uint64) outageRun {
	s := newService(cfg)
	var budget *retry.Budget
	if v.Ratio > 0 {
		budget = retry.NewBudget(v.Ratio, 0) // one for all the clients
	}
	policy := func(src retry.Source) *retry.Policy {
		opts := []retry.Option{retry.MaxTries(v.Tries), retry.PauseWith(outagePause(v.Jitter, src))}
		if budget != nil {
			opts = append(opts, retry.Throttle(budget))
		}
		return retry.MustNew(opts...)
	}
	// Without jitter nothing is drawn: one policy serves every call.
	var shared *retry.Policy
	if !v.Jitter {
		shared = policy(nil)
	}
	phases := rand.New(rand.NewPCG(seed, 0x0f7a6e))
	end := cfg.total()
	var wg sync.WaitGroup
	for c := range cfg.Clients {
		phase := time.Duration(phases.Int64N(int64(cfg.Period)))
		wg.Go(func() {
			for k, at := 0, phase; at < end; k, at = k+1, at+cfg.Period {
				time.Sleep(time.Until(s.start.Add(at)))
				p := shared
				if v.Jitter {
					// Each call has its own generator, seeded by its client and its rank: a
					// client's calls overlap (each runs in its own goroutine), so a
					// generator per client would be drawn from by several goroutines, in
					// an order that depends on how they interleave.
					p = policy(rand.New(rand.NewPCG(seed<<32|uint64(c), outageStream|uint64(k))))
				}
				wg.Go(func() {
					started := s.call()
					err := p.Do(context.Background(), func(context.Context) error {
						time.Sleep(cfg.Latency)
						err := s.attempt()
						time.Sleep(cfg.Latency)
						return err
					})
					if err != nil && started >= cfg.Warmup+cfg.Outage {
						s.mu.Lock()
						s.lost++
						s.mu.Unlock()
					}
				})
			}
		})
	}
	wg.Wait()
	return s.summary(v)
}

// outageStream tells the generators of the calls' pauses from the other generators.
const outageStream = 0x0f7a6e << 32

func (s *service) summary(v outageVariant) outageRun {
	cfg := s.cfg
	r := outageRun{Variant: v, Lost: s.lost}
	from, to := s.bin(cfg.Warmup), s.bin(cfg.Warmup+cfg.Outage)
	var calls, tries int
	for b := from; b < to; b++ {
		calls += s.calls[b]
		tries += s.attempts[b]
	}
	r.Amplification = float64(tries) / float64(calls)
	r.OutageCalls, r.OutageTries = calls, tries
	perSecond := 1 / cfg.Bin.Seconds()
	lastFail := -1
	for b := range s.calls {
		r.Calls += s.calls[b]
		r.Tries += s.attempts[b]
		r.Load = append(r.Load, float64(s.attempts[b])*perSecond)
		if b >= to && s.failed[b] > 0 {
			lastFail = b
		}
	}
	// The peak is over whole seconds: each client calls exactly once a second, so a
	// second's load is the base rate plus the retries, without the noise of the phases.
	perWindow := int(time.Second / cfg.Bin)
	for w := to; w+perWindow <= len(s.attempts); w += perWindow {
		var n int
		for b := w; b < w+perWindow; b++ {
			n += s.attempts[b]
		}
		r.Peak = max(r.Peak, float64(n)/(float64(perWindow)*cfg.Bin.Seconds()))
	}
	if lastFail >= 0 {
		r.Recovery = time.Duration(lastFail+1-to) * cfg.Bin
	}
	return r
}

// outageResult is the table.
type outageResult struct {
	Config outageConfig
	Runs   []outageRun
}

func (r *outageResult) find(v outageVariant) outageRun {
	for _, run := range r.Runs {
		if run.Variant == v {
			return run
		}
	}
	panic("storm: no run " + v.String())
}

func outageVariants() []outageVariant {
	var vs []outageVariant
	for _, tries := range []int{3, 5} {
		for _, ratio := range []float64{0, 0.1, 0.2} {
			for _, jitter := range []bool{false, true} {
				vs = append(vs, outageVariant{Tries: tries, Ratio: ratio, Jitter: jitter})
			}
		}
	}
	return vs
}

func runOutages(t *testing.T, cfg outageConfig, seed uint64) *outageResult {
	res := &outageResult{Config: cfg}
	for _, v := range outageVariants() {
		synctest.Test(t, func(*testing.T) {
			res.Runs = append(res.Runs, runOutage(cfg, v, seed))
		})
	}
	return res
}
