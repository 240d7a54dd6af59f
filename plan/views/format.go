package views

import (
	"fmt"
	"io"

	"github.com/confsync/confsync/plan"
)

// Format is a way of rendering a plan, chosen once from --format (or
// --json) and then used for everything the command prints of the plan.
type Format string

// The plan formats.
const (
	FormatHuman    Format = "human"
	FormatJSON     Format = "json"
	FormatMarkdown Format = "markdown"
)

// ParseFormat reads a --format value. asJSON is the older --json flag: it
// means "json", and agrees with --format json or an unset --format only.
func ParseFormat(name string, asJSON bool) (Format, error) {
	f := Format(name)
	switch f {
	case "":
		f = FormatHuman
		if asJSON {
			f = FormatJSON
		}
		return f, nil
	case FormatHuman, FormatMarkdown:
		if asJSON {
			return "", fmt.Errorf("--json and --format %s disagree: give one of them", name)
		}
		return f, nil
	case FormatJSON:
		return f, nil
	}
	return "", fmt.Errorf("unknown --format %q: use human, json or markdown", name)
}

// Plan renders p in the format; o applies to the human form only.
func (f Format) Plan(w io.Writer, p *plan.Plan, o HumanOptions) error {
	switch f {
	case FormatJSON:
		return JSON(w, p)
	case FormatMarkdown:
		return Markdown(w, p, MarkdownOptions{})
	}
	return Human(w, p, o)
}

// Machine reports whether the format is read by a program (or posted as
// is), so the command adds no prose of its own and shows no progress.
func (f Format) Machine() bool { return f != FormatHuman }
