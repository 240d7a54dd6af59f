package views

import (
	"fmt"
)

// Format is a way of rendering, chosen once per command from its flags
// (ParseFormat for --format and --json, JSONFlag for --json alone) and
// given to the command's view constructor.
type Format string

// The formats. Markdown is a form of plans only (plan, rollback, show).
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
		return JSONFlag(asJSON), nil
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

// JSONFlag is the format of a command with a --json flag and no --format:
// JSON when it is set, human otherwise.
func JSONFlag(asJSON bool) Format {
	if asJSON {
		return FormatJSON
	}
	return FormatHuman
}
