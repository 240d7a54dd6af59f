package views

import "github.com/confsync/confsync/plan/live/report"

// Status is what confsync status prints: plan/live/report's rendering of
// what it collected, for people or as JSON.
type Status interface {
	Status(s *report.Status) error
}

// History is what confsync history prints.
type History interface {
	History(h *report.History) error
}

// NewStatus returns the status view of the format: JSON, or human for any
// other.
func NewStatus(f Format, s Streams) Status {
	if f == FormatJSON {
		return reportJSON{s}
	}
	return reportHuman{s}
}

// NewHistory returns the history view of the format: JSON, or human for
// any other.
func NewHistory(f Format, s Streams) History {
	if f == FormatJSON {
		return reportJSON{s}
	}
	return reportHuman{s}
}

type reportHuman struct{ s Streams }

func (v reportHuman) Status(s *report.Status) error { return report.WriteStatus(v.s.Out, s) }

func (v reportHuman) History(h *report.History) error { return report.WriteHistory(v.s.Out, h) }

type reportJSON struct{ s Streams }

func (v reportJSON) Status(s *report.Status) error { return report.WriteJSON(v.s.Out, s) }

func (v reportJSON) History(h *report.History) error { return report.WriteJSON(v.s.Out, h) }
