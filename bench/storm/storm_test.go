package storm

import (
	"fmt"
	"math"
	"os"
	"testing"
	"time"
)

// full reports whether the scenarios run at the sizes of the report. Under -race (about
// ten times slower) or -short they run reduced sizes, which keep every qualitative
// result the tests assert.
func full() bool { return !raceEnabled && !testing.Short() }

// The results of the run, for STORM.md.
var results struct {
	jitter *jitterResult
	outage *outageResult
	layers []layersRun
	layCfg layersConfig
	wall   map[string]time.Duration
}

func record(name string, start time.Time) {
	if results.wall == nil {
		results.wall = make(map[string]time.Duration)
	}
	results.wall[name] = time.Since(start)
}

// show prints a scenario's tables and charts under -v.
func show(title string, parts ...string) {
	if !testing.Verbose() {
		return
	}
	fmt.Fprintf(os.Stdout, "\n== %s ==\n\n", title)
	for _, p := range parts {
		fmt.Fprintln(os.Stdout, p)
	}
}

func jitterSizes() (clients []int, trials int) {
	if full() {
		return []int{1, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100}, 100
	}
	return []int{1, 50}, 30
}

// TestStormJitter reproduces the simulation of "Exponential Backoff And Jitter": at 50
// contending clients full jitter does the least work, well under exponential backoff
// without jitter, which also takes several times longer than any jittered strategy;
// equal jitter takes longer than full jitter, decorrelated jitter finishes sooner than
// full jitter for more work.
func TestStormJitter(t *testing.T) {
	start := time.Now()
	clients, trials := jitterSizes()
	r := runJitter(t, clients, trials, *seedFlag)
	record("jitter", start)
	results.jitter = r
	show(fmt.Sprintf("Jitter: contending clients, mean of %d trials", trials),
		"Work (writes the row received):\n", r.workTable(),
		"Time to completion:\n", r.timeTable(), r.charts())

	for _, s := range r.Strategies {
		if w := r.at(s.name, 1).Work.Mean; w != 1 {
			t.Errorf("%s: a lone client made %v writes, want 1 (no contention)", s.name, w)
		}
	}
	at := func(name string) jitterPoint { return r.at(name, 50) }
	none, exp, fullJ, equal, decor := at("no backoff"), at("exponential"), at("full jitter"), at("equal jitter"), at("decorrelated")
	for name, p := range map[string]jitterPoint{"no backoff": none, "exponential": exp, "equal jitter": equal, "decorrelated": decor} {
		if fullJ.Work.Mean >= p.Work.Mean {
			t.Errorf("50 clients: full jitter made %.1f writes, %s %.1f: full jitter should do the least work", fullJ.Work.Mean, name, p.Work.Mean)
		}
	}
	if fullJ.Work.Mean > 0.7*exp.Work.Mean {
		t.Errorf("50 clients: full jitter made %.1f writes, exponential %.1f: want at least 30%% less", fullJ.Work.Mean, exp.Work.Mean)
	}
	for name, p := range map[string]jitterPoint{"full jitter": fullJ, "equal jitter": equal, "decorrelated": decor} {
		if exp.Time.Mean < 5*p.Time.Mean {
			t.Errorf("50 clients: exponential took %.2f s, %s %.2f s: want exponential at least 5x slower", exp.Time.Mean, name, p.Time.Mean)
		}
	}
	if equal.Time.Mean <= fullJ.Time.Mean {
		t.Errorf("50 clients: equal jitter took %.2f s, full jitter %.2f s: want equal jitter slower", equal.Time.Mean, fullJ.Time.Mean)
	}
	if decor.Time.Mean >= fullJ.Time.Mean || decor.Work.Mean <= fullJ.Work.Mean {
		t.Errorf("50 clients: decorrelated %.1f writes in %.2f s, full jitter %.1f in %.2f s: want decorrelated sooner, for more work",
			decor.Work.Mean, decor.Time.Mean, fullJ.Work.Mean, fullJ.Time.Mean)
	}
}

func outageSizes() outageConfig {
	cfg := outageConfig{
		Clients:  1000,
		Period:   time.Second,
		Warmup:   10 * time.Second,
		Outage:   10 * time.Second,
		After:    20 * time.Second,
		Capacity: 1200,
		Latency:  2 * time.Millisecond,
		Bin:      100 * time.Millisecond,
	}
	if !full() {
		cfg.Clients, cfg.Capacity = 200, 240
	}
	return cfg
}

// TestStormOutage: during a total outage, MaxTries(n) without a budget multiplies the
// load by nearly n; a budget holds it at 1 + ratio, and leaves no surge after the outage.
func TestStormOutage(t *testing.T) {
	start := time.Now()
	cfg := outageSizes()
	r := runOutages(t, cfg, *seedFlag)
	record("outage", start)
	results.outage = r
	show(fmt.Sprintf("Outage: %d clients, one call per second each; the service fails everything from %v to %v, then serves %.0f/s",
		cfg.Clients, cfg.Warmup, cfg.Warmup+cfg.Outage, cfg.Capacity),
		r.table(), r.chart(outageChartVariants()))

	for _, run := range r.Runs {
		v := run.Variant
		switch {
		case v.Ratio == 0:
			// Pauses of the last calls of the outage fall after it: just under n.
			lo := float64(v.Tries) - 0.4
			if v.Tries == 5 {
				lo = 4.3
			}
			if run.Amplification < lo || run.Amplification > float64(v.Tries) {
				t.Errorf("%v: amplification %.3f in the outage, want in [%.1f, %d]", v, run.Amplification, lo, v.Tries)
			}
		default:
			// The window is full of healthy calls when the outage begins, and retries
			// refused do not count: the retries stay at ratio × the calls.
			want := 1 + v.Ratio
			if math.Abs(run.Amplification-want) > 0.02 {
				t.Errorf("%v: amplification %.3f in the outage, want %.2f ±0.02", v, run.Amplification, want)
			}
			if v.Ratio == 0.1 && run.Amplification >= 1.2 {
				t.Errorf("%v: amplification %.3f, want under 1.2", v, run.Amplification)
			}
			unbudgeted := r.find(outageVariant{Tries: v.Tries, Jitter: v.Jitter})
			if run.Peak >= unbudgeted.Peak || run.Peak > 1.05*cfg.baseRate() {
				t.Errorf("%v: peak load %.0f/s after the outage, without budget %.0f/s, base %.0f/s: want no surge",
					v, run.Peak, unbudgeted.Peak, cfg.baseRate())
			}
			if run.Recovery > unbudgeted.Recovery {
				t.Errorf("%v: recovered in %v, without budget in %v", v, run.Recovery, unbudgeted.Recovery)
			}
		}
	}
}

func outageChartVariants() []outageVariant {
	return []outageVariant{
		{Tries: 5, Jitter: false},
		{Tries: 5, Jitter: true},
		{Tries: 3, Jitter: true},
		{Tries: 5, Ratio: 0.1, Jitter: true},
	}
}

func layersSizes() layersConfig {
	if full() {
		return layersConfig{Rate: 100, Duration: 20 * time.Second, Latency: time.Millisecond}
	}
	return layersConfig{Rate: 50, Duration: 20 * time.Second, Latency: time.Millisecond}
}

// TestStormLayers: three layers of MaxTries(3) make 27 attempts on a failing service per
// request; a 10% budget at each layer makes about 1.1³ = 1.33; retrying at the bottom
// layer only makes 3, and 1.1 with its budget.
func TestStormLayers(t *testing.T) {
	start := time.Now()
	cfg := layersSizes()
	runs := runAllLayers(t, cfg, *seedFlag)
	record("layers", start)
	results.layers, results.layCfg = runs, cfg
	show(fmt.Sprintf("Layered retries: %d requests per second for %v into three layers over a service that is down", cfg.Rate, cfg.Duration),
		layersTable(runs), layersChart(runs))

	for _, r := range runs {
		v := r.Variant
		var want [3]float64
		switch {
		case v.BottomOnly && v.Ratio == 0:
			want = [3]float64{1, 1, 3}
		case v.BottomOnly:
			want = [3]float64{1, 1, 1 + v.Ratio}
		case v.Ratio == 0:
			want = [3]float64{3, 9, 27}
		default:
			k := 1 + v.Ratio
			want = [3]float64{k, k * k, k * k * k}
		}
		for i := range want {
			// Exact without a budget; with one, the window's first calls may not yet
			// allow a retry: a little under.
			if r.Attempts[i] > want[i]+1e-9 || r.Attempts[i] < want[i]-0.03*want[i] {
				t.Errorf("%s: layer %d made %.3f attempts per request, want %.3f", v.Name, i+1, r.Attempts[i], want[i])
			}
		}
	}
}
