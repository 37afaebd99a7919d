package storm

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// The tables and charts of each scenario, printed by the tests under -v and written to
// STORM.md.

func (r *jitterResult) workTable() string {
	return r.strategyTable(func(p jitterPoint) string { return fmt.Sprintf("%.1f ±%.1f", p.Work.Mean, p.Work.SE) })
}

func (r *jitterResult) timeTable() string {
	return r.strategyTable(func(p jitterPoint) string { return fmt.Sprintf("%.2f s ±%.2f", p.Time.Mean, p.Time.SE) })
}

// strategyTable is a table of a row per client count and a column per strategy, each
// cell cell's rendering of that point.
func (r *jitterResult) strategyTable(cell func(jitterPoint) string) string {
	header := []string{"clients"}
	for _, s := range r.Strategies {
		header = append(header, s.name)
	}
	var rows [][]string
	for ci, c := range r.Clients {
		row := []string{strconv.Itoa(c)}
		for si := range r.Strategies {
			row = append(row, cell(r.Points[si][ci]))
		}
		rows = append(rows, row)
	}
	return table(header, rows)
}

// marks are the chart marks of the jitter strategies, in their order.
var marks = []byte{'N', 'X', 'F', 'E', 'D'}

func (r *jitterResult) charts() string {
	xs := make([]float64, len(r.Clients))
	for i, c := range r.Clients {
		xs[i] = float64(c)
	}
	var work, secs []series
	for si, s := range r.Strategies {
		w, d := make([]float64, len(xs)), make([]float64, len(xs))
		for ci := range xs {
			w[ci], d[ci] = r.Points[si][ci].Work.Mean, r.Points[si][ci].Time.Mean
		}
		work = append(work, series{Name: s.name, Mark: marks[si], Ys: w})
		secs = append(secs, series{Name: s.name, Mark: marks[si], Ys: d})
	}
	// The time chart stops at the slowest jittered strategy, as the blog's does:
	// exponential without jitter would flatten every other line.
	var top float64
	for si, s := range secs {
		if r.Strategies[si].name == "exponential" {
			continue
		}
		for _, y := range s.Ys {
			top = max(top, y)
		}
	}
	return "Work (writes the row received, mean per trial):\n\n" +
		lineChart(xs, work, 60, 16, 0, "x: contending clients", "writes") +
		"\nTime to completion (until the last client succeeded):\n\n" +
		lineChart(xs, secs, 60, 16, top*1.05, "x: contending clients", "seconds")
}

func (r *outageResult) table() string {
	header := []string{"policy", "amplification in the outage", "peak load after it (1 s)", "time to recover", "calls failed after it"}
	var rows [][]string
	base := r.Config.baseRate()
	for _, run := range r.Runs {
		rows = append(rows, []string{
			run.Variant.String(),
			fmt.Sprintf("%.3fx", run.Amplification),
			fmt.Sprintf("%.0f/s (%.2fx)", run.Peak, run.Peak/base),
			fmtDuration(run.Recovery),
			strconv.Itoa(run.Lost),
		})
	}
	return table(header, rows)
}

func fmtDuration(d time.Duration) string {
	if d == 0 {
		return "0 (no failure after the outage)"
	}
	return fmt.Sprintf("%.1f s", d.Seconds())
}

// chart plots the offered load (attempts per second) over time for a few variants, in
// half-second steps.
func (r *outageResult) chart(vs []outageVariant) string {
	const step = 500 * time.Millisecond
	per := int(step / r.Config.Bin)
	n := int(r.Config.total() / step)
	xs := make([]float64, n)
	for i := range xs {
		xs[i] = float64(i+1) * step.Seconds() // each point is the half second ending there
	}
	var ss []series
	for i, v := range vs {
		run := r.find(v)
		ys := make([]float64, n)
		for j := range ys {
			var sum float64
			for k := j * per; k < (j+1)*per && k < len(run.Load); k++ {
				sum += run.Load[k]
			}
			ys[j] = sum / float64(per)
		}
		ss = append(ss, series{Name: v.String(), Mark: "ABCDEF"[i], Ys: ys})
	}
	return lineChart(xs, ss, n, 16, 0,
		fmt.Sprintf("x: seconds (outage from %gs to %gs)", r.Config.Warmup.Seconds(), (r.Config.Warmup+r.Config.Outage).Seconds()),
		"attempts per second received by the service, mean over 0.5 s")
}

func layersTable(runs []layersRun) string {
	header := []string{"layers", "layer 1 attempts", "layer 2 attempts", "attempts on the failing service", "every retrying layer's policy"}
	var rows [][]string
	for _, r := range runs {
		rows = append(rows, []string{
			r.Variant.Name,
			fmt.Sprintf("%.2f", r.Attempts[0]),
			fmt.Sprintf("%.2f", r.Attempts[1]),
			fmt.Sprintf("%.2fx", r.Attempts[2]),
			"`" + r.Variant.Code + "`",
		})
	}
	return "Attempts per request entering the top layer:\n\n" + table(header, rows)
}

func layersChart(runs []layersRun) string {
	var names []string
	var vals []float64
	for _, r := range runs {
		names = append(names, r.Variant.Name)
		vals = append(vals, r.Attempts[2])
	}
	return barChart(names, vals, 54, "%.2fx")
}

// codeBlock puts a chart in a Markdown code block.
func codeBlock(s string) string { return "```\n" + strings.TrimRight(s, "\n") + "\n```\n" }
