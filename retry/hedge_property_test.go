package retry

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/retrykit/retrykit/hooks"
)

// This file checks Hedge against a reference model, as property_test.go does for Do:
// random scripts of policy settings (hedge delay, MaxTries, pause, attempt timeout, call
// deadline, filter, GiveUp, budget), caller cancellations and attempt behaviours run
// through hmodel (a discrete-event simulation of the rules of Hedge, written from its
// documentation alone) and through the engine in a synctest bubble; the hook events (with
// their times, hedged and superseded flags and errors), the outcome, the error's Last and
// the elapsed time must agree.
//
// Ties: two events at one instant (two attempts ending, an end and a hedge or a retry
// falling due) have no specified order; the model flags them and the script is skipped.
// Superseded attempts that return at one instant are compared in attempt order.

type hkind uint8

const (
	hkOK hkind = iota
	hkTransient
	hkFatal // rejected by the filter
	hkStop  // GiveUp says stop
	hkPerm
	hkPanic
)

var hkindNames = [...]string{"ok", "transient", "fatal", "stop", "perm", "panic"}

type hpStep struct {
	d    time.Duration
	kind hkind
	deaf bool
}

type hpScript struct {
	hedge    time.Duration
	maxTries int
	pause    time.Duration // 0: none
	at       time.Duration // attempt timeout; 0: none
	dl       time.Duration // the Deadline option; 0: none
	ctxDL    time.Duration // the caller's context deadline; 0: none
	filter   bool          // On(transient, stop)
	giveUp   bool
	budget   int // -1: no budget; else the retries it still allows
	cancelAt time.Duration
	steps    []hpStep
}

func (s *hpScript) step(n int) hpStep {
	if n <= len(s.steps) {
		return s.steps[n-1]
	}
	return hpStep{}
}

func (s *hpScript) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "HedgeAfter(%v) MaxTries(%d) pause=%v at=%v dl=%v ctxDL=%v filter=%v giveUp=%v budget=%d cancelAt=%v steps=[",
		s.hedge, s.maxTries, s.pause, s.at, s.dl, s.ctxDL, s.filter, s.giveUp, s.budget, s.cancelAt)
	for i, st := range s.steps {
		if i > 0 {
			b.WriteString(" ")
		}
		fmt.Fprintf(&b, "%v:%v", st.d, hkindNames[st.kind])
		if st.deaf {
			b.WriteString(":deaf")
		}
	}
	b.WriteString("]")
	return b.String()
}

func hpGen(r *rand.Rand) *hpScript {
	ms := time.Millisecond
	dur := func(max int) time.Duration {
		if r.IntN(2) == 0 {
			return time.Duration(5*(1+r.IntN(max/5))) * ms
		}
		return time.Duration(1+r.IntN(max)) * ms
	}
	s := &hpScript{hedge: dur(30), maxTries: 1 + r.IntN(5), budget: -1}
	if r.IntN(2) == 0 {
		s.pause = dur(30)
	}
	if r.IntN(3) == 0 {
		s.at = dur(60)
	}
	if r.IntN(2) == 0 {
		s.dl = dur(150)
	}
	if r.IntN(5) == 0 {
		s.ctxDL = dur(150)
	}
	s.filter = r.IntN(3) == 0
	s.giveUp = r.IntN(3) == 0
	if r.IntN(4) == 0 {
		s.budget = r.IntN(3)
	}
	if r.IntN(4) == 0 {
		s.cancelAt = dur(150)
	}
	for range r.IntN(7) {
		st := hpStep{}
		if r.IntN(6) != 0 {
			st.d = dur(60)
			st.deaf = r.IntN(10) == 0
		}
		switch v := r.IntN(100); {
		case v < 25:
			st.kind = hkOK
		case v < 72:
			st.kind = hkTransient
		case v < 80:
			st.kind = hkFatal
		case v < 88:
			st.kind = hkStop
		case v < 96:
			st.kind = hkPerm
		default:
			st.kind = hkPanic
		}
		s.steps = append(s.steps, st)
	}
	return s
}

// hmAttempt is the model's attempt.
type hmAttempt struct {
	start, end  time.Duration
	adl         time.Duration // 0: none
	own         bool
	hedged      bool
	running     bool
	interrupted bool // ended by its context (deadline or cancellation), not by its script
	superseded  bool
}

type hmExpect struct {
	events  []string
	outcome hooks.Outcome
	elapsed time.Duration
	last    int // the attempt whose error is Last; 0: none
	tie     string
}

// hmodel simulates the rules of Hedge on the script's timeline.
func hmodel(s *hpScript) hmExpect {
	var e hmExpect
	var atts []*hmAttempt
	t := time.Duration(0)
	inflight, budget := 0, s.budget
	retryPending, hedgeOff, stopping := false, false, false
	var retryAt, prev time.Duration
	// The call deadline is the earlier of the option's and the caller's; the caller's
	// context ends with the first of its deadline and its cancellation.
	dl := s.dl
	if s.ctxDL > 0 && (dl == 0 || s.ctxDL < dl) {
		dl = s.ctxDL
	}
	hasDL := dl > 0
	cancelAt := s.cancelAt
	if s.ctxDL > 0 && cancelAt > s.ctxDL {
		cancelAt = 0 // the context is done at its deadline already
	}
	canceled := func(at time.Duration) bool { return cancelAt > 0 && cancelAt <= at }
	ev := func(format string, args ...any) { e.events = append(e.events, fmt.Sprintf(format, args...)) }
	tie := func(format string, args ...any) {
		if e.tie == "" {
			e.tie = fmt.Sprintf(format, args...)
		}
	}
	if s.cancelAt > 0 && s.cancelAt == s.ctxDL {
		tie("the caller's context is canceled at its deadline")
	}
	// natural is when a running attempt returns if the call does not end first.
	natural := func(a *hmAttempt, n int) (time.Duration, bool) {
		st := s.step(n)
		if st.deaf || st.d == 0 {
			if cancelAt > 0 && cancelAt == a.start+st.d {
				tie("attempt %d ignores its context and ends at the cancellation", n)
			}
			return a.start + st.d, false
		}
		end, by := a.start+st.d, false
		if a.adl > 0 && a.adl <= end {
			if a.adl == end {
				tie("attempt %d: its end is its deadline", n)
			}
			end, by = a.adl, true
		}
		if cancelAt > a.start && cancelAt <= end {
			if cancelAt == end {
				tie("attempt %d: its end is the cancellation", n)
			}
			end, by = cancelAt, true
		}
		return end, by
	}
	start := func(hedged bool) {
		n := len(atts) + 1
		a := &hmAttempt{start: t, hedged: hedged, running: true}
		switch {
		case s.at > 0 && (!hasDL || t+s.at < dl):
			a.adl, a.own = t+s.at, true
		case hasDL:
			a.adl = dl
		}
		atts = append(atts, a)
		inflight++
		hedgeOff = false
		h := ""
		if hedged {
			h = " hedged"
		}
		ev("@%v attempt %d%s", t, n, h)
	}
	finish := func(o hooks.Outcome) hmExpect {
		// Every attempt in flight is superseded: canceled now, it returns now, or at its
		// own end if it ignores its context.
		ret := t
		var sup []string
		for i, a := range atts {
			if !a.running {
				continue
			}
			st := s.step(i + 1)
			end := t
			if st.deaf || st.d == 0 {
				end = a.start + st.d
			}
			nat, _ := natural(a, i+1)
			if nat == t && !st.deaf {
				tie("attempt %d ends as the call does", i+1)
			}
			a.end, a.superseded, a.running = end, true, false
			ret = max(ret, end)
			errs := "err"
			if st.deaf || st.d == 0 {
				if st.kind == hkOK {
					errs = "ok"
				}
				if st.kind == hkPanic {
					errs = "ok" // a panic is no error value
					o = hooks.Panicked
				}
			}
			sup = append(sup, fmt.Sprintf("@%v end %d (%v) superseded %s", end, i+1, end-a.start, errs))
		}
		slices.SortStableFunc(sup, func(a, b string) int { return strings.Compare(a, b) })
		e.events = append(e.events, sup...)
		switch o {
		case hooks.Success, hooks.Panicked:
		case hooks.Deadline:
			ev("@%v deadline", ret)
		default:
			ev("@%v giveup", ret)
		}
		ev("@%v done %v %d", ret, o, len(atts))
		e.outcome, e.elapsed = o, ret
		return e
	}

	if hasDL && dl <= 0 {
		return finish(hooks.Deadline)
	}
	start(false)
	for step := 0; ; step++ {
		if step > 200 {
			panic("hmodel: runaway script")
		}
		// The next events: an attempt's end, the next start, a cancellation of a pause.
		endAt, endN := time.Duration(-1), 0
		for i, a := range atts {
			if !a.running {
				continue
			}
			nat, _ := natural(a, i+1)
			if endN == 0 || nat < endAt {
				endAt, endN = nat, i+1
			} else if nat == endAt {
				tie("attempts %d and %d end at %v", endN, i+1, nat)
			}
		}
		trigAt, hasTrig := time.Duration(0), false
		if !stopping {
			if retryPending {
				trigAt, hasTrig = retryAt, true
			}
			latest := atts[len(atts)-1]
			if !hedgeOff && len(atts) < s.maxTries && latest.running {
				ht := latest.start + s.hedge
				if (!hasDL || ht < dl) && (!hasTrig || ht < trigAt) {
					trigAt, hasTrig = ht, true
				}
			}
		}
		if hasTrig && endN != 0 && trigAt == endAt {
			tie("an attempt ends when the next is due, at %v", endAt)
		}
		if hasTrig && cancelAt == trigAt {
			tie("the cancellation comes when the next attempt is due")
		}
		switch {
		case endN != 0 && (!hasTrig || endAt < trigAt):
			t = endAt
			a := atts[endN-1]
			_, byCtx := natural(a, endN)
			a.running, a.end, a.interrupted = false, t, byCtx
			inflight--
			st := s.step(endN)
			failed := byCtx || st.kind != hkOK
			timedOut := a.own && failed && st.kind != hkPanic && a.end >= a.adl
			if byCtx {
				timedOut = a.own && a.end >= a.adl && !(cancelAt > 0 && cancelAt == a.end)
			}
			if timedOut {
				ev("@%v timeout %d", t, endN)
			}
			switch {
			case !byCtx && st.kind == hkPanic:
				ev("@%v end %d (%v) ok", t, endN, t-a.start)
				return finish(hooks.Panicked)
			case !failed:
				ev("@%v end %d (%v) ok", t, endN, t-a.start)
				e.last = 0
				return finish(hooks.Success)
			}
			to := ""
			if timedOut {
				to = " timedout"
			}
			ev("@%v end %d (%v)%s err", t, endN, t-a.start, to)
			e.last = endN
			// The rules, in Do's order.
			if canceled(t) {
				return finish(hooks.Canceled)
			}
			if hasDL && t >= dl {
				return finish(hooks.Deadline)
			}
			kind := st.kind
			if byCtx {
				kind = hkTransient
			}
			passes := !s.filter || kind == hkTransient || kind == hkStop
			if kind == hkPerm || !timedOut && !passes {
				return finish(hooks.Permanent)
			}
			if len(atts) >= s.maxTries {
				if inflight > 0 {
					continue
				}
				return finish(hooks.Exhausted)
			}
			if s.giveUp && kind == hkStop {
				return finish(hooks.GaveUp)
			}
			if retryPending || stopping {
				continue
			}
			if budget == 0 {
				if inflight > 0 {
					continue
				}
				return finish(hooks.Throttled)
			}
			if budget > 0 {
				budget--
			}
			if hasDL && t+s.pause >= dl {
				if budget >= 0 {
					budget++
				}
				if inflight > 0 {
					continue
				}
				return finish(hooks.Deadline)
			}
			prev = s.pause
			ev("@%v retry %d after %v", t, endN, prev)
			retryPending, retryAt = true, t+s.pause
		case hasTrig:
			if inflight == 0 && cancelAt > t && cancelAt < trigAt {
				t = cancelAt
				if retryPending && budget >= 0 {
					budget++
				}
				return finish(hooks.Canceled)
			}
			t = trigAt
			if canceled(t) || hasDL && t >= dl {
				if inflight == 0 {
					if canceled(t) {
						return finish(hooks.Canceled)
					}
					return finish(hooks.Deadline)
				}
				stopping = true
				continue
			}
			retry := retryPending && t >= retryAt
			if retryPending {
				retryPending = false
			} else if budget == 0 {
				hedgeOff = true
				continue
			} else if budget > 0 {
				budget--
			}
			start(!retry)
		default:
			panic(fmt.Sprintf("hmodel: nothing to wait for: %v", s))
		}
	}
}

var (
	hpScripts = flag.Uint64("hedgeprop.scripts", 3000, "number of random scripts TestHedgePropertyModel checks")
	hpSeed    = flag.Uint64("hedgeprop.seed", 0, "run only this seed of TestHedgePropertyModel")
)

// hpRun runs the script through HedgeValue in a bubble and prints what it saw in the
// model's terms.
func hpRun(t *testing.T, s *hpScript) (events []string, outcome hooks.Outcome, last int, elapsed time.Duration) {
	start := time.Now()
	since := func() time.Duration { return time.Since(start) }
	var b *Budget
	opts := []Option{HedgeAfter(s.hedge), MaxTries(s.maxTries)}
	if s.pause > 0 {
		opts = append(opts, Pause(s.pause))
	}
	if s.at > 0 {
		opts = append(opts, AttemptTimeout(s.at))
	}
	if s.dl > 0 {
		opts = append(opts, Deadline(s.dl))
	}
	if s.filter {
		opts = append(opts, On(errValue, errOther))
	}
	if s.giveUp {
		opts = append(opts, GiveUp(func(err error) bool { return errors.Is(err, errOther) }))
	}
	if s.budget >= 0 {
		b = NewBudget(0, 1)
		drain(b, 10-s.budget)
		opts = append(opts, Throttle(b))
	}
	opts = append(opts, Hooks(hooks.Hooks{
		OnAttempt: func(ctx context.Context, a hooks.Attempt) context.Context {
			h := ""
			if a.Hedged {
				h = " hedged"
			}
			events = append(events, fmt.Sprintf("@%v attempt %d%s", a.Start.Sub(start), a.Number, h))
			return context.WithValue(ctx, hedgeNum{}, a.Number)
		},
		OnTimeout: func(ctx context.Context, a hooks.Attempt) {
			events = append(events, fmt.Sprintf("@%v timeout %d", since(), a.Number))
		},
		OnAttemptEnd: func(ctx context.Context, a hooks.Attempt) {
			sup, to, res := "", "", "ok"
			if a.Superseded {
				sup = " superseded"
			}
			if a.TimedOut {
				to = " timedout"
			}
			if a.Err != nil {
				res = "err"
			}
			events = append(events, fmt.Sprintf("@%v end %d (%v)%s%s %s", a.Start.Add(a.Duration).Sub(start), a.Number, a.Duration, to, sup, res))
		},
		OnRetry: func(ctx context.Context, a hooks.Attempt, d time.Duration) {
			events = append(events, fmt.Sprintf("@%v retry %d after %v", since(), a.Number, d))
		},
		OnGiveup: func(ctx context.Context, r hooks.Result) { events = append(events, fmt.Sprintf("@%v giveup", since())) },
		OnDeadline: func(ctx context.Context, r hooks.Result) {
			events = append(events, fmt.Sprintf("@%v deadline", since()))
		},
		OnDone: func(ctx context.Context, r hooks.Result) {
			events = append(events, fmt.Sprintf("@%v done %v %d", since(), r.Outcome, r.Attempts))
			outcome = r.Outcome
		},
	}))
	p, err := New(opts...)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	if s.ctxDL > 0 {
		ctx, cancel = context.WithDeadline(context.Background(), start.Add(s.ctxDL))
	}
	defer cancel()
	if s.cancelAt > 0 {
		tm := time.AfterFunc(s.cancelAt, cancel)
		defer tm.Stop()
	}
	errs := make([]error, 64)
	fn := func(ctx context.Context) (int, error) {
		n := ctx.Value(hedgeNum{}).(int)
		st := s.step(n)
		if st.deaf {
			time.Sleep(st.d)
		} else if st.d > 0 {
			if err := work(ctx, st.d, nil); err != nil {
				errs[n] = fmt.Errorf("attempt %d: %w", n, err)
				return 0, errs[n]
			}
		}
		switch st.kind {
		case hkTransient:
			errs[n] = fmt.Errorf("attempt %d: %w", n, errValue)
		case hkFatal:
			errs[n] = fmt.Errorf("attempt %d: fatal", n)
		case hkStop:
			errs[n] = fmt.Errorf("attempt %d: %w", n, errOther)
		case hkPerm:
			errs[n] = Permanent(fmt.Errorf("attempt %d: %w", n, errValue))
		case hkPanic:
			panic(n)
		}
		return n, errs[n]
	}
	func() {
		defer func() { _ = recover() }()
		_, err = HedgeValue(ctx, p, fn)
	}()
	elapsed = since()
	if re, ok := errors.AsType[*Error](err); ok {
		for i, e := range errs {
			if e != nil && e == re.Last {
				last = i
			}
		}
	}
	return events, outcome, last, elapsed
}

// hpNormalize sorts the superseded attempts' end events that share an instant, whose
// order the scheduler decides.
func hpNormalize(evs []string) string {
	out := slices.Clone(evs)
	for i := 0; i < len(out); {
		j := i
		for j < len(out) && strings.Contains(out[j], "superseded") {
			j++
		}
		if j > i {
			slices.Sort(out[i:j])
			i = j
		} else {
			i++
		}
	}
	return strings.Join(out, "; ")
}

// TestHedgePropertyModel runs random scripts through Hedge and the model. Each script
// has its own seed; -hedgeprop.seed=N reruns one.
func TestHedgePropertyModel(t *testing.T) {
	checked, skipped := 0, 0
	outcomes := map[hooks.Outcome]int{}
	hedged, superseded := 0, 0
	first, last := uint64(1), *hpScripts
	if *hpSeed != 0 {
		first, last = *hpSeed, *hpSeed
	}
	for seed := first; seed <= last; seed++ {
		s := hpGen(rand.New(rand.NewPCG(seed, 0x6865646765)))
		e := hmodel(s)
		if e.tie != "" {
			skipped++
			continue
		}
		checked++
		outcomes[e.outcome]++
		want := hpNormalize(e.events)
		if strings.Contains(want, "hedged") {
			hedged++
		}
		if strings.Contains(want, "superseded") {
			superseded++
		}
		synctest.Test(t, func(t *testing.T) {
			evs, o, lastN, elapsed := hpRun(t, s)
			got := hpNormalize(evs)
			var bad []string
			if got != want {
				bad = append(bad, fmt.Sprintf("hooks:\n  got  %s\n  want %s", got, want))
			}
			if o != e.outcome || elapsed != e.elapsed {
				bad = append(bad, fmt.Sprintf("outcome %v after %v, model %v after %v", o, elapsed, e.outcome, e.elapsed))
			}
			if o != hooks.Success && o != hooks.Panicked && lastN != e.last {
				bad = append(bad, fmt.Sprintf("Last is attempt %d's error, model %d", lastN, e.last))
			}
			if len(bad) > 0 {
				t.Errorf("seed %d (rerun: go test -run TestHedgePropertyModel -hedgeprop.seed=%d ./retry)\nscript: %v\n%s",
					seed, seed, s, strings.Join(bad, "\n"))
			}
		})
		if t.Failed() && checked > 10 {
			t.Fatalf("stopping after failures; %d scripts checked", checked)
		}
	}
	t.Logf("%d scripts checked (%d with hedges, %d with superseded attempts), %d skipped for ties; outcomes %v",
		checked, hedged, superseded, skipped, outcomes)
	if *hpSeed == 0 && *hpScripts >= 3000 {
		for _, o := range []hooks.Outcome{hooks.Success, hooks.Exhausted, hooks.Deadline, hooks.Canceled, hooks.GaveUp, hooks.Permanent, hooks.Throttled, hooks.Panicked} {
			if outcomes[o] < 10 {
				t.Errorf("outcome %v reached by only %d scripts", o, outcomes[o])
			}
		}
		if hedged < checked/4 || superseded < checked/10 {
			t.Errorf("too few scripts hedge (%d) or supersede (%d) of %d", hedged, superseded, checked)
		}
	}
}
