package views

import (
	"fmt"
	"io"
	"strings"
	"sync"
	"time"

	"github.com/confsync/confsync/plan"
)

// Progress is a plan.Hook that shows an apply's progress: on a terminal a
// bar redrawn in place with counts, rate and ETA; otherwise one line per
// finished change.
type Progress struct {
	plan.NopHook
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	pt       painter
	total    int
	done     int
	failed   int
	start    time.Time
	now      func() time.Time
	drawn    bool
}

// NewProgress returns a progress hook writing to w; terminal chooses the
// bar, color the colours.
func NewProgress(w io.Writer, terminal, color bool) *Progress {
	return &Progress{w: w, terminal: terminal, pt: painter{color}, now: time.Now}
}

// ReadStarted shows which IdP is being read (terminals only).
func (p *Progress) ReadStarted(idp string) {
	if !p.terminal {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "\rReading idp %s...\x1b[K", idp)
	p.drawn = true
}

// ReadDone clears the reading line.
func (p *Progress) ReadDone(idp string, c plan.SourceCounts, err error) {
	if !p.terminal {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprint(p.w, "\r\x1b[K")
	p.drawn = false
}

// ApplyStarted starts the count.
func (p *Progress) ApplyStarted(total int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.total, p.done, p.failed, p.start = total, 0, 0, p.now()
	if p.terminal {
		p.draw()
	}
}

// ActionDone counts a finished change and shows it.
func (p *Progress) ActionDone(c *plan.Change, err error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.done++
	if err != nil {
		p.failed++
	}
	if !p.terminal {
		status := "done"
		if err != nil {
			status = "failed: " + err.Error()
		}
		fmt.Fprintf(p.w, "%s %s %s: %s\n", string(c.Action.Symbol()), c.Action, c.Object(), status)
		return
	}
	if err != nil {
		fmt.Fprintf(p.w, "\r\x1b[K%s %s %s: %v\n", p.pt.paint("31", "error:"), c.Action, c.Object(), err)
	}
	p.draw()
}

// Finish ends the bar's line.
func (p *Progress) Finish() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.terminal && p.drawn {
		fmt.Fprintln(p.w)
		p.drawn = false
	}
}

func (p *Progress) draw() {
	const width = 30
	filled := 0
	if p.total > 0 {
		filled = width * p.done / p.total
	}
	elapsed := p.now().Sub(p.start).Seconds()
	rate, eta := 0.0, "?"
	if elapsed > 0 && p.done > 0 {
		rate = float64(p.done) / elapsed
		eta = (time.Duration(float64(p.total-p.done)/rate) * time.Second).Round(time.Second).String()
	}
	failed := ""
	if p.failed > 0 {
		failed = p.pt.paint("31", fmt.Sprintf(" %d failed", p.failed))
	}
	fmt.Fprintf(p.w, "\r[%s%s] %d/%d%s  %.1f/s  ETA %s\x1b[K",
		strings.Repeat("=", filled), strings.Repeat(" ", width-filled), p.done, p.total, failed, rate, eta)
	p.drawn = true
}

// ApplySummary writes the outcome of an apply.
func ApplySummary(w io.Writer, r *plan.Result, color bool) error {
	pt := painter{color}
	var msg string
	switch {
	case r.Failed == 0 && r.NotRun == 0:
		msg = pt.paint("32", fmt.Sprintf("Apply complete: %d %s applied.", r.Applied, plural("change", r.Applied)))
	default:
		msg = pt.paint("31", fmt.Sprintf("Apply incomplete: %d applied, %d failed, %d not run.", r.Applied, r.Failed, r.NotRun))
	}
	_, err := fmt.Fprintln(w, msg)
	return err
}
