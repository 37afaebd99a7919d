package storm

import (
	"errors"
	"fmt"
	"math"
	"os"
	"runtime"
	"strings"
	"time"
)

// writeStormMD writes the run to path: the tables and charts of the three scenarios and
// their comparison with the published results, every figure of the prose computed from
// this run.
func writeStormMD(path string) error {
	if !full() {
		return errors.New("-storm.write needs the full sizes: run without -short and -race")
	}
	j, o, l := results.jitter, results.outage, results.layers
	if j == nil || o == nil || l == nil {
		return errors.New("-storm.write needs the three scenarios: run with -run Storm")
	}
	var b strings.Builder
	w := func(format string, args ...any) { fmt.Fprintf(&b, format, args...) }

	w("# The retry storm lab\n\n")
	w("What retries cost the service they retry against, measured with retrykit's own `retry.Policy`,\n")
	w("backoffs and `retry.Budget`, and compared with two published results: the AWS Architecture\n")
	w("Blog's [\"Exponential Backoff And Jitter\"](https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/)\n")
	w("(Marc Brooker, 2015) and the Google SRE book's chapter [\"Handling Overload\"](https://sre.google/sre-book/handling-overload/).\n\n")
	w("This file is written by a run of the lab; every figure below, in the prose too, comes from\n")
	w("that run. To run it again (about ten seconds on a 2-core machine, plus the build):\n\n")
	w("```sh\ngo test ./bench/storm -run Storm -v -count=1              # prints the tables and charts\ngo test ./bench/storm -run Storm -v -count=1 -storm.write  # and rewrites this file\n```\n\n")
	w("This run: %s, %s/%s, %d CPUs, seed %d (`-storm.seed`), %s. The three scenarios took\n",
		runtime.Version(), runtime.GOOS, runtime.GOARCH, runtime.NumCPU(), *seedFlag, time.Now().UTC().Format("2006-01-02"))
	w("%.1f s, %.1f s and %.1f s of real time for %s of simulated time.\n\n",
		results.wall["jitter"].Seconds(), results.wall["outage"].Seconds(), results.wall["layers"].Seconds(),
		simulatedTime(j, o, l))

	writeMethod(w)
	writeJitter(w, j)
	writeOutage(w, o)
	writeLayers(w, l)
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// simulatedTime sums the virtual time the run simulated.
func simulatedTime(j *jitterResult, o *outageResult, l []layersRun) string {
	var s float64
	for si := range j.Strategies {
		for ci := range j.Clients {
			s += j.Points[si][ci].Time.Mean * float64(j.Trials)
		}
	}
	s += o.Config.total().Seconds() * float64(len(o.Runs))
	s += results.layCfg.Duration.Seconds() * float64(len(l))
	return fmt.Sprintf("%.1f hours", s/3600)
}

func writeMethod(w func(string, ...any)) {
	w("## How it works\n\n")
	w("- **The real engine.** Every simulated client calls `(*retry.Policy).Do` with a policy built by\n")
	w("  `retry.New` from the package's own options: `MaxTries`, `PauseWith(Exponential |\n")
	w("  FullJitterFrom | EqualJitterFrom | DecorrelatedFrom)`, `Throttle(NewBudget(...))`, `Permanent`.\n")
	w("  Nothing of the engine is re-implemented: the pauses, the attempt counts and the budget's\n")
	w("  decisions are the ones users get.\n")
	w("- **Virtual time.** Each scenario runs in a `testing/synctest` bubble: `time.Sleep`, the engine's\n")
	w("  pause timers and the budget's clock all read the bubble's clock, which jumps to the next event\n")
	w("  as soon as every goroutine waits. A client is a goroutine, a network trip a `time.Sleep`.\n")
	w("- **Exact for a seed.** The network delays, the clients' phases and the jittered pauses come from\n")
	w("  `math/rand/v2` PCG generators seeded by `-storm.seed`: one per client for the delays, and one per\n")
	w("  client for the pauses (per call in the outage scenario, where a client's calls overlap), which\n")
	w("  the jitters draw from through `FullJitterFrom`, `EqualJitterFrom` and `DecorrelatedFrom`\n")
	w("  (`FullJitter`, `EqualJitter` and `Decorrelated` drawing from a given source). No draw depends on\n")
	w("  the order goroutines run in, and events fall on distinct nanoseconds, so the bubble runs them one\n")
	w("  at a time in time order. Every table, chart and figure of the three scenarios comes out the same,\n")
	w("  to the digit, on every run with the same seed (`TestStormReproducible` checks it); another seed\n")
	w("  gives other figures, within the standard errors the tables give (±, over the trials). The tests\n")
	w("  assert only results that hold by many standard errors.\n")
	w("- **Tests.** Each scenario is a test (`TestStormJitter`, `TestStormOutage`, `TestStormLayers`) that\n")
	w("  asserts its qualitative result. Under `-race` or `-short` they run reduced sizes (2 client counts\n")
	w("  and 30 trials; 200 clients; 50 requests per second), which keep every asserted result.\n\n")
}

func writeJitter(w func(string, ...any), r *jitterResult) {
	top := r.Clients[len(r.Clients)-1]
	at := func(name string) jitterPoint { return r.at(name, top) }
	none, exp, fj, eq, dec := at("no backoff"), at("exponential"), at("full jitter"), at("equal jitter"), at("decorrelated")
	pct := func(a, b float64) float64 { return 100 * (a - b) / b }

	w("## 1. Jitter: the AWS Architecture Blog's simulation\n\n")
	w("**Setup**, as the post describes it and as its published simulator\n")
	w("([aws-samples/aws-arch-backoff-simulator](https://github.com/aws-samples/aws-arch-backoff-simulator))\n")
	w("runs it: a number of clients each want to update one row once, under optimistic concurrency.\n")
	w("An attempt reads the row's version, then writes conditionally on it; the write fails if another\n")
	w("client wrote in between, and the client backs off and starts over. Each of the four messages of an\n")
	w("attempt takes |N(10 ms, 2 ms)|. Work is the number of writes the row received (the post's \"calls\"),\n")
	w("time is when the last client got its successful reply; each figure is the mean of %d trials,\n", r.Trials)
	w("as in the simulator. Clients from 1 to %d.\n\n", top)
	w("| | the blog | here |\n|---|---|---|\n")
	w("| exponential | `min(cap, base·2^attempt)`, base 5 ms, cap 2 s: 10 ms after the first failure | `Exponential(10ms, 2, 2s)`: the same pauses (it counts from the first failure) |\n")
	w("| full jitter | `random(0, min(cap, base·2^attempt))` | `FullJitter(Exponential(10ms, 2, 2s))` |\n")
	w("| equal jitter | `v/2 + random(0, v/2)` of the same v | `EqualJitter(Exponential(10ms, 2, 2s))` |\n")
	w("| decorrelated | `sleep = min(cap, random(base, sleep·3))`, sleep starting at base: the first pause is random in [5, 15] ms | `Decorrelated(5ms, 2s)`: the first pause is 5 ms, then `min(2s, random(5ms, 3·prev))` |\n")
	w("| no backoff | retry at once (the post's first chart) | no `PauseWith` |\n")
	w("| attempts | unlimited | unlimited (no `MaxTries`) |\n\n")

	w("**Work** (writes, mean ± standard error):\n\n%s\n", r.workTable())
	w("**Time to completion:**\n\n%s\n", r.timeTable())
	w("%s\n", codeBlock(r.charts()))

	w("**Compared with the post, point by point** (its findings paraphrased in italics; figures at %d\n", top)
	w("clients):\n\n")
	w("1. *Exponential backoff without jitter is the clear loser: more work and far more time than any\n")
	w("   jittered strategy, so much that the post leaves it off its time chart.* Same here: %.0f writes and\n", exp.Work.Mean)
	w("   %.1f s, against %.0f–%.0f writes and %.1f–%.1f s for the three jitters; it is off the top of the\n",
		exp.Time.Mean, fj.Work.Mean, dec.Work.Mean, dec.Time.Mean, eq.Time.Mean)
	w("   time chart above too. Against no backoff at all it saves %.0f%% of the writes but takes %.0fx as long\n",
		-pct(exp.Work.Mean, none.Work.Mean), exp.Time.Mean/none.Time.Mean)
	w("   (%.1f s): the clients back off in lockstep, so each round of retries still collides.\n", none.Time.Mean)
	w("2. *Full jitter cuts the calls by more than half at 100 contending clients, and the time too.*\n")
	w("   Here: %.0f writes instead of %.0f (%.0f%%), in %.1f s instead of %.1f s. Full jitter does the\n",
		fj.Work.Mean, exp.Work.Mean, pct(fj.Work.Mean, exp.Work.Mean), fj.Time.Mean, exp.Time.Mean)
	w("   least work of all five strategies at every client count from 10 up.\n")
	w("3. *Equal jitter is the loser of the jittered approaches: slightly more work than full jitter,\n")
	w("   and much longer.* Here: %+.0f%% writes (%.0f), %+.0f%% time (%.1f s).\n",
		pct(eq.Work.Mean, fj.Work.Mean), eq.Work.Mean, pct(eq.Time.Mean, fj.Time.Mean), eq.Time.Mean)
	w("4. *Between decorrelated and full jitter the choice is less clear: full jitter does less work,\n")
	w("   for slightly more time.* Same direction here: decorrelated takes %.0f%% less time (%.1f s against\n",
		-pct(dec.Time.Mean, fj.Time.Mean), dec.Time.Mean)
	w("   %.1f s) for %.0f%% more writes (%.0f): the gap in work is the larger one. Decorrelated pauses grow\n",
		fj.Time.Mean, pct(dec.Work.Mean, fj.Work.Mean), dec.Work.Mean)
	w("   about 1.5x per retry on average where the exponential ones double, so its clients keep retrying\n")
	w("   sooner: more collisions, and an earlier finish. A difference of definition adds to it:\n")
	w("   retrykit's `Decorrelated` pauses exactly `base` after the first failure where the post's draws\n")
	w("   from [base, 3·base], so every client's first retry comes a little sooner.\n")
	w("5. *The return on jitter is huge; it should be the standard approach for remote clients.* The\n")
	w("   tables agree: for the cost of one wrapper (`FullJitter(...)`), %.0f%% less work and %.0fx less time\n",
		-pct(fj.Work.Mean, exp.Work.Mean), exp.Time.Mean/fj.Time.Mean)
	w("   than plain exponential backoff at %d clients.\n\n", top)
	w("Where the numbers may differ from the post's charts: this run draws its delays and pauses from PCG\n")
	w("generators and the post from Python's, so no point matches to the digit; the shapes and the\n")
	w("ranking are what carry over. A single client needs one write in every strategy (no\n")
	w("contention), %.3f s: four trips of 10 ms.\n\n", r.at("full jitter", 1).Time.Mean)
}

func writeOutage(w func(string, ...any), r *outageResult) {
	cfg := r.Config
	base := cfg.baseRate()
	w("## 2. Outage and recovery: the SRE book's retry budgets\n\n")
	w("**Setup.** %d clients each call the service once a second, at their own phase (%.0f calls per second\n", cfg.Clients, base)
	w("in all), every call in its own goroutine: a caller does not wait for the previous call to finish.\n")
	w("An attempt takes %v each way. The service is healthy for %v, fails every attempt for %v, then\n",
		cfg.Latency, cfg.Warmup, cfg.Outage)
	w("serves at most %.0f attempts per second (%.0f%% above the steady load; a token bucket with a burst of\n",
		cfg.Capacity, 100*(cfg.Capacity/base-1))
	w("a tenth of a second) and rejects the rest at once, until %v. Every policy pauses\n", cfg.total())
	w("`Exponential(100ms, 2, 2s)` between attempts, wrapped in `FullJitterFrom` (a seeded generator per\n")
	w("call) for the jittered rows. The budgeted rows share one `retry.NewBudget(ratio, 0)` between all\n")
	w("the clients: a budget per dependency, as the README recommends, with no reserve, so that its\n")
	w("bound is exactly 1 + ratio.\n\n")
	w("*Amplification in the outage* is the attempts the service received during the outage divided by\n")
	w("the calls started during it. *Peak load after it* is the busiest second after the outage\n")
	w("(%.0f/s is the steady load). *Time to recover* runs from the end of the outage to the end of the\n", base)
	w("last 100 ms in which any attempt failed. *Calls failed after it* started after the outage and\n")
	w("still failed: capacity was there, the retries took it.\n\n")
	w("%s\n", r.table())
	w("%s\n", codeBlock(r.chart(outageChartVariants())))

	m3 := r.find(outageVariant{Tries: 3})
	m3j := r.find(outageVariant{Tries: 3, Jitter: true})
	m5 := r.find(outageVariant{Tries: 5})
	m5j := r.find(outageVariant{Tries: 5, Jitter: true})
	var dev float64
	for _, run := range r.Runs {
		if run.Variant.Ratio > 0 {
			dev = max(dev, math.Abs(run.Amplification-(1+run.Variant.Ratio)))
		}
	}
	b10 := r.find(outageVariant{Tries: 5, Ratio: 0.1, Jitter: true})
	burst := outageBurst(r, b10)

	w("**Compared with the book, point by point** (its statements paraphrased in italics):\n\n")
	w("1. *A per-request limit of three attempts caps the growth: against a datacenter rejecting most\n")
	w("   requests the load grows to just under 3X.* Here `MaxTries(3)` gives %.3fx (%.3fx with jitter):\n", m3.Amplification, m3j.Amplification)
	w("   the last calls of the outage have retries that fall after it. `MaxTries(5)` gives %.2fx\n", m5.Amplification)
	w("   (%.2fx with jitter, whose shorter mean pause fits more retries into the outage).\n", m5j.Amplification)
	w("2. *A per-client retry budget (retries under 10%% of requests) reduces the growth to just 1.1x.*\n")
	w("   `NewBudget(0.1, 0)` holds it at %.3fx, `NewBudget(0.2, 0)` at %.3fx, whatever `MaxTries` and the\n",
		r.find(outageVariant{Tries: 3, Ratio: 0.1}).Amplification, r.find(outageVariant{Tries: 3, Ratio: 0.2}).Amplification)
	w("   jitter. %s. The bound holds to the retry because the budget's\n", budgetFit(r, dev))
	w("   10 s window is full of healthy calls when the outage begins and refused retries do not count.\n")
	w("   The budget spends its allowance at once: the busiest second of the outage carries %.0f attempts\n", burst)
	w("   (%.2fx), the following ones only the new calls. The book's budget is per client process; this\n", burst/base)
	w("   one is shared by the 1,000 clients, which gives the same bound on what the service receives. A\n")
	w("   reserve (`NewBudget(0.1, 10)`, Finagle's style) adds at most 10 retries per second on top: +%.0f%% here.\n", 100*10/base)
	w("3. *Time to recover* (the book gives no figure for it). Without a budget, the retries of the\n")
	w("   calls caught by the end of the outage meet the new calls, and the service,\n")
	w("   %.0f%% above the steady load, rejects part of that surge: the busiest second after the outage\n", 100*(cfg.Capacity/base-1))
	w("   carries %.0f attempts with `MaxTries(5)` (%.2fx the steady load), failures go on for %.1f s and %d\n",
		m5.Peak, m5.Peak/base, m5.Recovery.Seconds(), m5.Lost)
	w("   calls started after the outage still fail. Full jitter spreads the same retries: %.0f/s at the\n", m5j.Peak)
	w("   peak, %.1f s to recover, %d calls lost. With a budget there is no surge at all (%.0f/s at the\n", m5j.Recovery.Seconds(), m5j.Lost, b10.Peak)
	w("   peak, nothing fails after the outage): the retries that would have made it were refused during\n")
	w("   the outage, when they could not have succeeded anyway.\n")
	w("4. *Jitter and budgets* (an observation of this lab, not of the book) *do different jobs.* Jitter\n")
	w("   decides when the retries come: it lowers the post-outage peak and shortens the recovery, but\n")
	w("   not the amplification, because the calls of a\n")
	w("   steady stream are already spread in time. The budget decides how many retries there are: with\n")
	w("   one, the jittered and unjittered rows are identical.\n\n")
	w("Capacity stays above the steady load after the outage, so the service always recovers: with at\n")
	w("most n attempts per call and failure rate p, the load is (1 + p + … + p^(n-1)) × the calls, and\n")
	w("p = 1 - capacity / load has no solution above p = 0 when capacity exceeds the calls. A service\n")
	w("that degrades under overload (timeouts, queues) can stay down instead; that is outside this\n")
	w("model, and where a budget matters most.\n\n")
}

// outageBurst is the busiest second during the outage, in attempts per second.
func outageBurst(r *outageResult, run outageRun) float64 {
	per := int(time.Second / r.Config.Bin)
	from, to := int(r.Config.Warmup/r.Config.Bin), int((r.Config.Warmup+r.Config.Outage)/r.Config.Bin)
	var best float64
	for s := from; s+per <= to; s += per {
		var sum float64
		for b := s; b < s+per; b++ {
			sum += run.Load[b]
		}
		best = max(best, sum/float64(per))
	}
	return best
}

func writeLayers(w func(string, ...any), runs []layersRun) {
	cfg := results.layCfg
	find := func(name string) layersRun {
		for _, r := range runs {
			if r.Variant.Name == name {
				return r
			}
		}
		panic("storm: no layered run " + name)
	}
	all := find("every layer retries, no budget")
	b10 := find("every layer retries, a 10% budget per layer")
	b20 := find("every layer retries, a 20% budget per layer")
	bottom := find("only the bottom layer retries")
	bottomB := find("only the bottom layer retries, with a 10% budget")

	w("## 3. Layered retries\n\n")
	w("**Setup.** %d requests per second for %v enter the top of three services, each of which calls\n", cfg.Rate, cfg.Duration)
	w("the next through its own policy; the bottom one calls a service that fails every attempt. Each\n")
	w("layer's budget is its own (`NewBudget(ratio, 0)`, shared by that layer's calls). In the last two\n")
	w("rows only the bottom layer retries: the layers above receive its failure wrapped in\n")
	w("`retry.Permanent`, the book's \"overloaded; don't retry\".\n\n")
	w("%s\n", layersTable(runs))
	w("%s\n", codeBlock(layersChart(runs)))
	w("**Compared with the book** (its statements paraphrased in italics):\n\n")
	w("1. *Retries at several layers multiply.* Three layers of `MaxTries(3)` make %.0f attempts on the\n", all.Attempts[2])
	w("   failing service per request, exactly 3³ (the SRE book's own example of layered retries, three\n")
	w("   layers of four attempts, makes 4³ = 64x).\n")
	w("2. *A budget at each layer.* Each layer's budget counts its own calls, which include the retries\n")
	w("   of the layer above, so the budgets compound too, but from 1 + ratio: %.2fx with 10%% per layer\n", b10.Attempts[2])
	w("   (1.1³ = 1.33), %.2fx with 20%% (1.2³ = 1.73), instead of 27x.\n", b20.Attempts[2])
	w("3. *Retry only at the layer immediately above the one that is failing*, and answer the layers\n")
	w("   above with \"overloaded; don't retry\": %.0fx, the per-request limit alone; with that layer's\n", bottom.Attempts[2])
	w("   10%% budget, %.2fx, the book's 1.1x.\n\n", bottomB.Attempts[2])
}

// budgetFit says how closely the budgeted rows held 1 + ratio during the outage.
func budgetFit(r *outageResult, dev float64) string {
	run := r.find(outageVariant{Tries: 3, Ratio: 0.1})
	fit := fmt.Sprintf("With the 10%% budget the service received %d retries on top of\n   %d calls during the outage",
		run.OutageTries-run.OutageCalls, run.OutageCalls)
	if dev == 0 {
		return fit + ", and every budgeted row is exactly at 1 + ratio"
	}
	return fit + fmt.Sprintf(", and every budgeted row is within %.2g of 1 + ratio", dev)
}
