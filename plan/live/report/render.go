package report

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/confsync/confsync/plan"
)

// WriteJSON writes v (a *Status, *History or *ServeStatus) as indented
// JSON.
func WriteJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

// WriteStatus renders s for people.
func WriteStatus(w io.Writer, s *Status) error {
	ew := &errWriter{w: w}
	tw := tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IDP\tKIND\tUSERS\tGROUPS\tREVISION\tSOURCE\tLAST READ")
	for _, p := range s.IdPs {
		users, groups, rev := "-", "-", "-"
		if p.Users != nil {
			users = fmt.Sprint(*p.Users)
		}
		if p.Groups != nil {
			groups = fmt.Sprint(*p.Groups)
		}
		if p.Revision != nil {
			rev = fmt.Sprint(*p.Revision)
		}
		read := "never"
		if p.LastRead != nil {
			read = fmt.Sprintf("%d users, %d groups at %s", p.LastRead.Users, p.LastRead.Groups, stamp(p.LastRead.At))
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", p.Name, p.Kind, users, groups, rev, healthWord(p.Health), read)
	}
	if len(s.IdPs) == 0 {
		fmt.Fprintln(tw, "(no idp blocks in the configuration)")
	}
	tw.Flush()
	writeHealth(ew, s.IdPs)
	writePending(ew, s.IdPs)

	fmt.Fprintln(ew)
	if s.Lock == nil {
		fmt.Fprintln(ew, "Apply lock: free")
	} else {
		fmt.Fprintf(ew, "Apply lock: held by %s until %s\n", s.Lock.Holder, stamp(s.Lock.Expires))
	}

	fmt.Fprintln(ew)
	fmt.Fprintln(ew, "Last runs:")
	if len(s.LastRuns) == 0 {
		fmt.Fprintln(ew, "  none yet")
	}
	tw = tabwriter.NewWriter(ew, 0, 4, 2, ' ', 0)
	for _, tr := range s.LastRuns {
		r := tr.Run
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", tr.Trigger, stamp(r.Finished), r.Outcome, runCost(r), oneLine(r.Message))
	}
	tw.Flush()

	fmt.Fprintln(ew)
	if s.Serve != nil {
		writeServe(ew, s.Serve)
	} else {
		fmt.Fprintln(ew, "What a serve replica is doing: confsync status --server http://<replica>:<port>")
	}
	return ew.err
}

// healthWord is the SOURCE column: healthy, unhealthy, or unknown before
// any plan read the IdP.
func healthWord(h *HealthStatus) string {
	switch {
	case h == nil:
		return "unknown"
	case h.Healthy:
		return "healthy"
	}
	return "unhealthy"
}

// writeHealth says, per IdP a plan has read, its last complete read, what
// that read left out and its last failure.
func writeHealth(w io.Writer, idps []IDPStatus) {
	first := true
	for _, p := range idps {
		h := p.Health
		if h == nil {
			continue
		}
		if first {
			fmt.Fprintln(w, "\nSource health (as the last plan read it):")
			first = false
		}
		complete := "never"
		if c := h.LastCompleteRead; c != nil {
			complete = fmt.Sprintf("%d users, %d groups at %s", c.Users, c.Groups, stamp(c.At))
		}
		fmt.Fprintf(w, "  %s: %s; last complete read: %s; %d %s left out\n", p.Name, healthWord(h), complete, h.LeftOut, pluralWord(h.LeftOut, "identity", "identities"))
		if f := h.LastFailure; f != nil {
			fmt.Fprintf(w, "    last failure at %s: %s\n", stamp(f.At), oneLine(f.Cause))
		}
	}
}

func pluralWord(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}

func writeServe(w io.Writer, s *ServeStatus) {
	fmt.Fprintf(w, "Serve at %s:\n", s.URL)
	if !s.AutoApply {
		fmt.Fprintln(w, "  auto_apply is off: this replica does not reconcile")
		return
	}
	fmt.Fprintf(w, "  lock holder name: %s\n", s.Holder)
	state := "idle"
	if s.Applying {
		state = "applying"
	}
	fmt.Fprintf(w, "  state: %s\n", state)
	last := "never"
	if s.LastSuccess != nil {
		last = stamp(*s.LastSuccess)
	}
	fmt.Fprintf(w, "  last successful reconcile: %s\n", last)
	idps := make([]string, 0, len(s.Pending))
	for idp := range s.Pending {
		idps = append(idps, idp)
	}
	sort.Strings(idps)
	var parts []string
	for _, idp := range idps {
		parts = append(parts, fmt.Sprintf("%s %d", idp, s.Pending[idp]))
	}
	if len(parts) == 0 {
		parts = []string{"none"}
	}
	fmt.Fprintf(w, "  pending changes: %s\n", strings.Join(parts, ", "))
	if s.Waiting != "" {
		fmt.Fprintf(w, "  waiting: %s\n", s.Waiting)
	}
	if t := s.LastTakeover; t != nil {
		fmt.Fprintf(w, "  took over the apply lock at %s from %s, whose lease had expired at %s without a release (it stopped mid-run)\n",
			stamp(t.At), t.From, stamp(t.Expired))
	}
	for _, r := range s.LastRuns {
		noun := "actions"
		if r.Actions == 1 {
			noun = "action"
		}
		fmt.Fprintf(w, "  last %s: %s %s (%d %s, %d failed) %s\n", r.Trigger, stamp(r.Finished), r.Outcome, r.Actions, noun, r.Failed, oneLine(r.Message))
	}
}

// WriteHistory renders the audit log for people, newest run first, each
// with its actions.
func WriteHistory(w io.Writer, h *History) error {
	ew := &errWriter{w: w}
	if len(h.Runs) == 0 {
		fmt.Fprintln(ew, "No applies recorded yet.")
		return ew.err
	}
	for i, r := range h.Runs {
		if i > 0 {
			fmt.Fprintln(ew)
		}
		fmt.Fprintf(ew, "%s  %s  %s  %s\n", stamp(r.Started), r.Trigger, r.Outcome, oneLine(r.Message))
		fmt.Fprintf(ew, "  run %s, %s; %d applied, %d failed; %s\n", r.ID, r.Finished.Sub(r.Started).Round(time.Millisecond), r.Applied, r.Failed, runCost(r))
		for _, a := range r.Actions {
			mark := ' '
			var act plan.Action
			if act.UnmarshalText([]byte(a.Action)) == nil {
				mark = act.Symbol()
			}
			line := fmt.Sprintf("  %c %s %s", mark, a.Action, a.Object)
			if a.IDP != "" {
				line += " (" + a.IDP + ")"
			}
			if a.Error != "" {
				line += ": FAILED: " + oneLine(a.Error)
			}
			fmt.Fprintln(ew, line)
		}
		if r.Rollback != "" {
			fmt.Fprintf(ew, "  to roll it back: %s\n", r.Rollback)
		}
	}
	return ew.err
}

// runCost says how much a run read: "targeted, 5 Confluence requests".
func runCost(r Run) string {
	if r.Kind == "" && r.ConfluenceRequests == 0 {
		return "-" // recorded before they were kept, or read nothing
	}
	n := fmt.Sprintf("%d %s", r.ConfluenceRequests, pluralWord(int(r.ConfluenceRequests), "Confluence request", "Confluence requests"))
	if r.Kind == "" {
		return n
	}
	return string(r.Kind) + ", " + n
}

// writePending lists the SCIM IdPs with changes no run has reconciled.
func writePending(w io.Writer, idps []IDPStatus) {
	for _, p := range idps {
		if p.Pending == nil || (p.Pending.Identities == 0 && !p.Pending.Full) {
			continue
		}
		what := fmt.Sprintf("%d %s", p.Pending.Identities, pluralWord(p.Pending.Identities, "identity", "identities")) + " touched by SCIM writes, not reconciled yet"
		if p.Pending.Full {
			what += "; a write needs a full reconcile"
		}
		fmt.Fprintf(w, "Pending for %s: %s\n", p.Name, what)
	}
}

// oneLine keeps a message on one line of the table.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// errWriter remembers the first write error, so that rendering code can
// write freely and check once.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) Write(p []byte) (int, error) {
	if e.err != nil {
		return 0, e.err
	}
	n, err := e.w.Write(p)
	e.err = err
	return n, err
}
