package web

import (
	"fmt"
	"time"

	"github.com/confsync/confsync/plan"
)

// plotSpan is what the plots cover, one bar a minute.
const plotSpan = 24 * time.Hour

// Geometry of a plot, in SVG user units: one unit a minute.
const (
	plotMinutes = int(plotSpan / time.Minute)
	plotHeight  = 200
	plotLeft    = 60 // room for the axis labels
	plotBottom  = 24
)

// plot is a bar chart of a count per minute, drawn by the template as
// inline SVG: numbers only, no script, no style attributes.
type plot struct {
	Title string
	// ID names the plot for tests and the style sheet.
	ID    string
	Unit  string
	Total int64
	Max   int64
	Bars  []bar
	Ticks []tick
	// Width and Height are the viewBox; Base the y of the x axis.
	Width, Height, Base, Left int
}

type bar struct {
	X, Y, H int
	// Label is the bar's tooltip.
	Label string
}

type tick struct {
	X     int
	Label string
}

// newPlot draws counts (by the start of their minute) of the plotSpan up
// to now.
func newPlot(title, unit string, counts map[time.Time]int64, now time.Time) plot {
	end := now.UTC().Truncate(time.Minute)
	start := end.Add(-plotSpan + time.Minute)
	p := plot{Title: title, ID: unit, Unit: unit, Width: plotLeft + plotMinutes, Height: plotHeight + plotBottom,
		Base: plotHeight, Left: plotLeft}
	for m, n := range counts {
		m = m.UTC().Truncate(time.Minute)
		if m.Before(start) || m.After(end) || n <= 0 {
			continue
		}
		p.Total += n
		p.Max = max(p.Max, n)
	}
	scale := p.Max
	if scale == 0 {
		scale = 1
	}
	for i := range plotMinutes {
		m := start.Add(time.Duration(i) * time.Minute)
		n := counts[m]
		if n <= 0 {
			continue
		}
		h := max(1, int(n*(plotHeight-10)/scale))
		p.Bars = append(p.Bars, bar{X: plotLeft + i, Y: plotHeight - h, H: h,
			Label: fmt.Sprintf("%s: %d %s", m.Format("15:04 UTC"), n, unit)})
	}
	// A tick every three hours, on the hour.
	for i := range plotMinutes {
		m := start.Add(time.Duration(i) * time.Minute)
		if m.Minute() == 0 && m.Hour()%3 == 0 {
			p.Ticks = append(p.Ticks, tick{X: plotLeft + i, Label: m.Format("15:04")})
		}
	}
	return p
}

// appliedPerMinute counts the changes made by the runs that finished from
// since on, by the minute they finished in.
func appliedPerMinute(runs []plan.Run, since time.Time) map[time.Time]int64 {
	out := map[time.Time]int64{}
	for _, r := range runs {
		at := r.Finished
		if at.IsZero() {
			at = r.Started
		}
		if at.Before(since) {
			continue
		}
		var n int64
		for _, a := range r.Actions {
			if a.Error == "" {
				n++
			}
		}
		if n > 0 {
			out[at.UTC().Truncate(time.Minute)] += n
		}
	}
	return out
}
