package views

import (
	"fmt"

	"github.com/confsync/confsync/plan"
)

// Plan is what confsync plan, rollback and show print.
type Plan interface {
	// ReadHook shows the IdPs being read while the plan is computed; nil
	// when nothing is shown.
	ReadHook() plan.Hook
	// Plan shows p. unsaved says it is kept nowhere (confsync plan without
	// --out), which the human form says.
	Plan(p *plan.Plan, unsaved bool) error
	// Saved says that the plan (noun: "plan", "rollback plan") was saved
	// to path and gives the command that applies it; the machine forms
	// print nothing but the plan.
	Saved(noun, path, apply string)
}

// NewPlan returns the plan view of the format.
func NewPlan(f Format, s Streams) Plan {
	switch f {
	case FormatJSON:
		return planJSON{s: s}
	case FormatMarkdown:
		return planMarkdown{s: s}
	}
	return planHuman{s}
}

type planHuman struct{ s Streams }

func (v planHuman) ReadHook() plan.Hook { return readProgress(v.s) }

func (v planHuman) Plan(p *plan.Plan, unsaved bool) error {
	return Human(v.s.Out, p, HumanOptions{Color: ColorFor(v.s.Out), Unsaved: unsaved})
}

func (v planHuman) Saved(noun, path, apply string) {
	fmt.Fprintf(v.s.Out, "\nSaved the %s to %s. To apply exactly this plan:\n\n  %s\n", noun, path, apply)
}

// machine is what the forms read by programs (or posted as they are)
// share: no progress, no prose of their own.
type machine struct{}

func (machine) ReadHook() plan.Hook { return nil }

func (machine) Saved(string, string, string) {}

type planJSON struct {
	machine
	s Streams
}

func (v planJSON) Plan(p *plan.Plan, _ bool) error { return JSON(v.s.Out, p) }

type planMarkdown struct {
	machine
	s Streams
}

func (v planMarkdown) Plan(p *plan.Plan, _ bool) error {
	return Markdown(v.s.Out, p, MarkdownOptions{})
}
