package views

import (
	"io"
	"os"

	"github.com/confsync/confsync/plan"
	"golang.org/x/term"
)

// Streams are what a command reads its answers from and prints to. A view
// is made once from a Format and the command's Streams (NewPlan, NewApply,
// NewStatus, NewHistory), and is then all the command prints through.
type Streams struct {
	In  io.Reader
	Out io.Writer
	Err io.Writer
}

// ColorFor reports whether output to f should be coloured: f is a
// terminal and NO_COLOR is unset or empty.
func ColorFor(f io.Writer) bool {
	if os.Getenv("NO_COLOR") != "" {
		return false
	}
	return IsTerminal(f)
}

// IsTerminal reports whether w is a terminal.
func IsTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// isTerminalReader reports whether r is a terminal, one that can be asked
// a question.
func isTerminalReader(r io.Reader) bool {
	f, ok := r.(*os.File)
	return ok && term.IsTerminal(int(f.Fd()))
}

// readProgress is the hook that shows the IdPs being read, on a terminal
// only; nil elsewhere.
func readProgress(s Streams) plan.Hook {
	if !IsTerminal(s.Err) {
		return nil
	}
	return NewProgress(s.Err, true, false)
}
