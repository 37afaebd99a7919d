package storm

import (
	"fmt"
	"math"
	"strings"
)

// Terminal charts: plain text, so that they read the same in a terminal and in a
// Markdown code block.

// series is one line of a chart: ys[i] is its value at the chart's xs[i].
type series struct {
	Name string
	Mark byte
	Ys   []float64
}

// lineChart draws the series over xs on a grid of width × height characters, from 0 to
// the largest value (or to yMax when it is positive: a series above it is clipped to the
// top row and flagged in the legend). Between two xs the lines are interpolated.
func lineChart(xs []float64, ss []series, width, height int, yMax float64, xLabel, yUnit string) string {
	top := yMax
	if top <= 0 {
		for _, s := range ss {
			for _, y := range s.Ys {
				top = max(top, y)
			}
		}
	}
	grid := make([][]byte, height)
	for i := range grid {
		grid[i] = []byte(strings.Repeat(" ", width))
	}
	x0, x1 := xs[0], xs[len(xs)-1]
	clipped := make(map[string]bool)
	for _, s := range ss {
		for c := range width {
			x := x0 + (x1-x0)*float64(c)/float64(width-1)
			y := interpolate(xs, s.Ys, x)
			if y > top {
				y, clipped[s.Name] = top, true
			}
			row := int(math.Round(y / top * float64(height-1)))
			grid[height-1-row][c] = s.Mark
		}
	}
	var b strings.Builder
	label := func(row int) string {
		switch row {
		case 0:
			return compact(top)
		case height / 2:
			return compact(top * float64(height-1-row) / float64(height-1))
		case height - 1:
			return "0"
		}
		return ""
	}
	for i, line := range grid {
		fmt.Fprintf(&b, "%8s |%s\n", label(i), strings.TrimRight(string(line), " "))
	}
	fmt.Fprintf(&b, "%8s +%s\n", "", strings.Repeat("-", width))
	left, right := compact(x0), compact(x1)
	fmt.Fprintf(&b, "%8s  %s%s%s\n", "", left, strings.Repeat(" ", max(1, width-len(left)-len(right))), right)
	fmt.Fprintf(&b, "%8s  %s; y: %s\n", "", xLabel, yUnit)
	for _, s := range ss {
		fmt.Fprintf(&b, "%8s  %c %s", "", s.Mark, s.Name)
		if clipped[s.Name] {
			b.WriteString(" (off the top of the chart)")
		}
		b.WriteByte('\n')
	}
	return b.String()
}

// interpolate returns ys at x, linear between the two xs around it.
func interpolate(xs, ys []float64, x float64) float64 {
	for i := 1; i < len(xs); i++ {
		if x <= xs[i] {
			f := (x - xs[i-1]) / (xs[i] - xs[i-1])
			return ys[i-1] + f*(ys[i]-ys[i-1])
		}
	}
	return ys[len(ys)-1]
}

// barChart draws one bar per value, scaled so that the largest is width characters.
func barChart(names []string, values []float64, width int, format string) string {
	var top float64
	pad := 0
	for i, v := range values {
		top = max(top, v)
		pad = max(pad, len(names[i]))
	}
	var b strings.Builder
	for i, v := range values {
		n := max(1, int(math.Round(v/top*float64(width))))
		fmt.Fprintf(&b, "%-*s |%s "+format+"\n", pad, names[i], strings.Repeat("#", n), v)
	}
	return b.String()
}

// compact formats an axis value: 3, 2.5, 1.2k, 64.
func compact(v float64) string {
	switch {
	case v >= 10000:
		return fmt.Sprintf("%.0fk", v/1000)
	case v >= 1000:
		return fmt.Sprintf("%.1fk", v/1000)
	case v >= 10 || v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// table renders a Markdown table, readable as it is in a terminal.
func table(header []string, rows [][]string) string {
	widths := make([]int, len(header))
	for i, h := range header {
		widths[i] = len(h)
	}
	for _, r := range rows {
		for i, c := range r {
			widths[i] = max(widths[i], len(c))
		}
	}
	var b strings.Builder
	line := func(cells []string) {
		b.WriteByte('|')
		for i, c := range cells {
			fmt.Fprintf(&b, " %-*s |", widths[i], c)
		}
		b.WriteByte('\n')
	}
	line(header)
	sep := make([]string, len(header))
	for i := range sep {
		sep[i] = strings.Repeat("-", widths[i])
	}
	line(sep)
	for _, r := range rows {
		line(r)
	}
	return b.String()
}
