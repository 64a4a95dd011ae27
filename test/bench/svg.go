package bench

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// Chart draws, as a standalone SVG, steady-state RSS and CPU per scrape
// round against node count for both servers, from the side-by-side scales
// of run (medians over phases). The node axis is logarithmic.
func Chart(w io.Writer, run *Run) error {
	type point struct{ nodes, rss, cpu float64 }
	series := map[Server][]point{}
	for i := range run.Scales {
		r := &run.Scales[i]
		if !r.Scale.sideBySide() {
			continue
		}
		for _, srv := range Servers {
			p := point{
				nodes: float64(r.Scale.Nodes),
				rss:   r.median(srv, figures[0].value),
				cpu:   r.median(srv, func(p *PhaseResult) float64 { return p.CPUPerRound }),
			}
			if !math.IsNaN(p.rss) && !math.IsNaN(p.cpu) {
				series[srv] = append(series[srv], p)
			}
		}
	}
	for srv := range series {
		slices.SortFunc(series[srv], func(a, b point) int { return int(a.nodes - b.nodes) })
	}

	const (
		width, height = 900, 380
		panelW        = 360
		top, bottom   = 70, 320
		left0, left1  = 70, 500
	)
	colors := map[Server]string{Ringmetrics: "#1f6fb4", MetricsServer: "#d0402b"}
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", width, height, width, height)
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="white"/>`+"\n", width, height)
	fmt.Fprintf(&b, `<text x="%d" y="22" font-size="15" font-weight="bold">Memory and CPU against node count (30 pods per node, 15 s resolution, medians over phases)</text>`+"\n", 20)
	lx := 20
	for _, srv := range Servers {
		fmt.Fprintf(&b, `<line x1="%d" y1="42" x2="%d" y2="42" stroke="%s" stroke-width="3"/><circle cx="%d" cy="42" r="4" fill="%s"/><text x="%d" y="46">%s</text>`+"\n",
			lx, lx+28, colors[srv], lx+14, colors[srv], lx+34, srv)
		lx += 160
	}

	var xs []float64
	for _, pts := range series {
		for _, p := range pts {
			xs = append(xs, p.nodes)
		}
	}
	xmin, xmax := 100.0, 10000.0
	if len(xs) > 0 {
		xmin, xmax = slices.Min(xs), slices.Max(xs)
	}
	// Half a decade of room on each side of the measured scales.
	lxmin, lxmax := math.Log10(xmin)-0.25, math.Log10(xmax)+0.25
	panel := func(left int, title string, value func(point) float64) {
		ymax := 0.0
		for _, pts := range series {
			for _, p := range pts {
				ymax = max(ymax, value(p))
			}
		}
		step := niceStep(ymax / 4)
		ymax = step * math.Ceil(ymax/step*1.05)
		if ymax == 0 {
			ymax, step = 1, 0.25
		}
		digits := max(0, int(-math.Floor(math.Log10(step))))
		xpos := func(n float64) float64 {
			return float64(left) + (math.Log10(n)-lxmin)/(lxmax-lxmin)*panelW
		}
		ypos := func(v float64) float64 { return bottom - v/ymax*(bottom-top) }
		fmt.Fprintf(&b, `<text x="%d" y="%d" font-weight="bold">%s</text>`+"\n", left, top-12, title)
		for v := 0.0; v <= ymax+step/2; v += step {
			y := ypos(v)
			fmt.Fprintf(&b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#ddd"/><text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n",
				left, y, left+panelW, y, left-6, y+4, num(v, digits))
		}
		fmt.Fprintf(&b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/><line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#333"/>`+"\n",
			left, bottom, left+panelW, bottom, left, top, left, bottom)
		ticks := slices.Clone(xs)
		slices.Sort(ticks)
		ticks = slices.Compact(ticks)
		for _, n := range ticks {
			x := xpos(n)
			fmt.Fprintf(&b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#333"/><text x="%.1f" y="%d" text-anchor="middle">%s</text>`+"\n",
				x, bottom, x, bottom+5, x, bottom+19, thousands(int(n)))
		}
		fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">nodes (log scale)</text>`+"\n", left+panelW/2, bottom+40)
		for _, srv := range Servers {
			pts := series[srv]
			var path []string
			for _, p := range pts {
				path = append(path, fmt.Sprintf("%.1f,%.1f", xpos(p.nodes), ypos(value(p))))
			}
			if len(path) > 1 {
				fmt.Fprintf(&b, `<polyline fill="none" stroke="%s" stroke-width="2.5" points="%s"/>`+"\n", colors[srv], strings.Join(path, " "))
			}
			for _, p := range pts {
				x, y := xpos(p.nodes), ypos(value(p))
				fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="4" fill="%s"><title>%s, %s nodes: %s</title></circle>`+"\n",
					x, y, colors[srv], srv, thousands(int(p.nodes)), num(value(p), digits+2))
			}
		}
	}
	panel(left0, "RSS, steady state (MiB)", func(p point) float64 { return p.rss })
	panel(left1, "CPU per scrape round (CPU-seconds)", func(p point) float64 { return p.cpu })
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// niceStep rounds v up to 1, 2 or 5 times a power of ten.
func niceStep(v float64) float64 {
	if v <= 0 {
		return 0
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return m * p
		}
	}
	return 10 * p
}
