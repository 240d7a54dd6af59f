// Package views renders what the commands print: plans and applies for
// people (Terraform-like text, colour on terminals), for programs (a
// versioned JSON form) and for pull requests (Markdown), status and
// history (plan/live/report's renderings), and Test Sync. A command
// chooses its view once, from its flags and streams (NewPlan, NewApply,
// NewStatus, NewHistory), and prints through it only. Views read plan
// values and never compute them.
package views

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/confsync/confsync/plan"
	"github.com/sergi/go-diff/diffmatchpatch"
)

// HumanOptions tune the human rendering.
type HumanOptions struct {
	// Color turns on ANSI colours (callers decide from NO_COLOR and
	// whether the output is a terminal; see ColorFor).
	Color bool
	// MaxMembersListed is how many membership changes of one group are
	// listed by name before only counts are shown (default 20).
	MaxMembersListed int
	// Unsaved says the plan is shown by confsync plan without --out: the
	// view then says it is not kept.
	Unsaved bool
}

// maxNoticesPerKind bounds the notices of one kind the human view lists.
const maxNoticesPerKind = 20

// longValue is the length from which an attribute change is shown as a
// character diff rather than as before -> after.
const longValue = 40

type painter struct{ on bool }

func (p painter) paint(code, s string) string {
	if !p.on || s == "" {
		return s
	}
	return "\x1b[" + code + "m" + s + "\x1b[0m"
}

func (p painter) action(a plan.Action, s string) string {
	switch a.Symbol() {
	case '+':
		return p.paint("32", s)
	case '~':
		return p.paint("33", s)
	case '-':
		return p.paint("31", s)
	}
	return s
}

func (p painter) bold(s string) string { return p.paint("1", s) }

// Human writes the plan for a person to review.
func Human(w io.Writer, p *plan.Plan, o HumanOptions) error {
	if o.MaxMembersListed <= 0 {
		o.MaxMembersListed = 20
	}
	pt := painter{o.Color}
	b := &strings.Builder{}
	if p.RollbackOf != "" {
		fmt.Fprintf(b, "%s\n\n", pt.bold("This plan rolls back run "+p.RollbackOf+"."))
	}
	writeNotices(b, p, pt)
	if p.Empty() {
		line := SummaryLine(p)
		if rest, ok := strings.CutPrefix(line, "No changes."); ok {
			line = pt.bold("No changes.") + rest
		}
		b.WriteString(line + "\n")
		writeMade(b, p, o)
		_, err := io.WriteString(w, b.String())
		return err
	}
	b.WriteString("confsync will perform the following actions:\n\n")
	var members []*plan.Change
	for i := range p.Changes {
		c := &p.Changes[i]
		switch c.Kind {
		case plan.KindMembership:
			members = append(members, c)
		case plan.KindGroup:
			writeGroup(b, c, pt)
		case plan.KindUser:
			writeUser(b, c, pt)
		}
	}
	if len(members) > 0 {
		writeMemberships(b, members, o, pt)
	}
	writeImpact(b, p, pt)
	b.WriteString(pt.bold(SummaryLine(p)) + "\n")
	writeMade(b, p, o)
	_, err := io.WriteString(w, b.String())
	return err
}

// writeMade says when the plan was made and, for a plan shown without
// --out, that it is not kept.
func writeMade(b *strings.Builder, p *plan.Plan, o HumanOptions) {
	if p.Created.IsZero() {
		return
	}
	fmt.Fprintf(b, "\nPlan made at %s.", p.Created.UTC().Format(time.RFC3339))
	if o.Unsaved && !p.Empty() {
		b.WriteString(" It is not kept: confsync apply makes a new plan, which may differ.\n" +
			"To apply exactly this plan, save it with confsync plan --out FILE and run confsync apply FILE.")
	}
	b.WriteString("\n")
}

func writeNotices(b *strings.Builder, p *plan.Plan, pt painter) {
	var errs, warn, info []plan.Notice
	for _, n := range p.Notices {
		switch n.Severity {
		case plan.SeverityError:
			errs = append(errs, n)
		case plan.SeverityWarning:
			warn = append(warn, n)
		default:
			info = append(info, n)
		}
	}
	section := func(title, mark, code string, ns []plan.Notice) {
		if len(ns) == 0 {
			return
		}
		b.WriteString(pt.paint(code, title) + "\n")
		// A detail said once per kind; beyond maxNoticesPerKind notices
		// of one kind, only a count (the JSON form lists them all).
		shown, detailed := map[string]int{}, map[string]bool{}
		for _, n := range ns {
			shown[n.Kind]++
			if shown[n.Kind] > maxNoticesPerKind {
				continue
			}
			fmt.Fprintf(b, "  %s %s: %s\n", pt.paint(code, mark), n.Subject, n.Summary)
			if n.Detail != "" && !detailed[n.Kind+"\x00"+n.Detail] {
				detailed[n.Kind+"\x00"+n.Detail] = true
				for _, l := range wrap(n.Detail, 76) {
					b.WriteString("      " + l + "\n")
				}
			}
		}
		for _, kind := range slices.Sorted(maps.Keys(shown)) {
			if more := shown[kind] - maxNoticesPerKind; more > 0 {
				fmt.Fprintf(b, "  %s ... and %d more %s notices (the JSON form lists them all)\n", pt.paint(code, mark), more, kind)
			}
		}
		b.WriteString("\n")
	}
	section("Errors:", "x", "31", errs)
	section("Warnings:", "!", "33", warn)
	section("Notes:", "i", "36", info)
}

func writeGroup(b *strings.Builder, c *plan.Change, pt painter) {
	fmt.Fprintf(b, "  # group %s %s (idp %s)\n", c.Group, verb(c), c.IDP)
	fmt.Fprintf(b, "  # %s\n", c.Reason)
	fmt.Fprintf(b, "  %s group %q\n\n", pt.action(c.Action, string(c.Action.Symbol())), c.Group)
}

// verb says what happens to the object, for the "#" line.
func verb(c *plan.Change) string {
	switch c.Action {
	case plan.ActionCreate:
		return "will be created"
	case plan.ActionUpdate:
		return "will be updated in place"
	case plan.ActionAdopt:
		return "will be adopted, unchanged in Confluence"
	case plan.ActionEnable:
		return "will be enabled"
	case plan.ActionDisable:
		return "will be disabled"
	case plan.ActionDelete:
		return "will be deleted"
	}
	return c.Action.String()
}

func writeUser(b *strings.Builder, c *plan.Change, pt painter) {
	fmt.Fprintf(b, "  # user %s %s (idp %s)\n", c.User, verb(c), c.IDP)
	fmt.Fprintf(b, "  # %s\n", c.Reason)
	sym := pt.action(c.Action, string(c.Action.Symbol()))
	switch c.Action {
	case plan.ActionCreate:
		fmt.Fprintf(b, "  %s user %q {\n", sym, c.User)
		writeValues(b, c.After, pt.action(c.Action, "+"))
		b.WriteString("    }\n\n")
	case plan.ActionUpdate:
		fmt.Fprintf(b, "  %s user %q {\n", sym, c.User)
		width := 0
		for _, a := range c.Attributes {
			width = max(width, len(a.Name))
		}
		for _, a := range c.Attributes {
			note := ""
			if a.StateOnly {
				note = pt.paint("2", "  # kept in confsync's state: Confluence has no user properties")
			}
			if len(a.Before) > longValue || len(a.After) > longValue {
				fmt.Fprintf(b, "      %s %-*s = %s%s\n", pt.action(c.Action, "~"), width, a.Name, charDiff(a.Before, a.After, pt), note)
				continue
			}
			before, after := quoteOrUnknown(a.Before), strconv.Quote(a.After)
			if a.StateOnly {
				// an empty custom attribute is one the IdP does not set
				before, after = quoteOrUnset(a.Before), quoteOrUnset(a.After)
			}
			fmt.Fprintf(b, "      %s %-*s = %s -> %s%s\n", pt.action(c.Action, "~"), width, a.Name, before, after, note)
		}
		b.WriteString("    }\n\n")
	case plan.ActionAdopt:
		if c.PreviousUsername != "" {
			fmt.Fprintf(b, "  %s user %q (was %q)\n\n", sym, c.User, c.PreviousUsername)
		} else {
			fmt.Fprintf(b, "  %s user %q\n\n", sym, c.User)
		}
	default:
		fmt.Fprintf(b, "  %s user %q\n\n", sym, c.User)
	}
}

func quoteOrUnknown(s string) string {
	if s == "" {
		return "(unknown)"
	}
	return strconv.Quote(s)
}

func quoteOrUnset(s string) string {
	if s == "" {
		return "(unset)"
	}
	return strconv.Quote(s)
}

func writeValues(b *strings.Builder, v *plan.UserValues, mark string) {
	if v == nil {
		return
	}
	rows := [][2]string{{"display_name", v.DisplayName}, {"email", v.Email}}
	for _, k := range slices.Sorted(maps.Keys(v.Custom)) {
		rows = append(rows, [2]string{"custom." + k, v.Custom[k]})
	}
	width := 0
	for _, r := range rows {
		width = max(width, len(r[0]))
	}
	for _, r := range rows {
		fmt.Fprintf(b, "      %s %-*s = %s\n", mark, width, r[0], strconv.Quote(r[1]))
	}
}

// charDiff renders a long value change as one line with the removed text
// in [-...-] and the added text in {+...+} (coloured on terminals).
func charDiff(before, after string, pt painter) string {
	dmp := diffmatchpatch.New()
	diffs := dmp.DiffCleanupSemantic(dmp.DiffMain(before, after, false))
	var sb strings.Builder
	sb.WriteByte('"')
	for _, d := range diffs {
		t := strings.Trim(strconv.Quote(d.Text), `"`)
		switch d.Type {
		case diffmatchpatch.DiffDelete:
			sb.WriteString(pt.paint("31", "[-"+t+"-]"))
		case diffmatchpatch.DiffInsert:
			sb.WriteString(pt.paint("32", "{+"+t+"+}"))
		default:
			sb.WriteString(t)
		}
	}
	sb.WriteByte('"')
	return sb.String()
}

type groupMembers struct {
	add, remove, adopt []string
}

// membershipsPerGroup sorts membership changes by group and action, for
// the human and Markdown views alike.
func membershipsPerGroup(changes []*plan.Change) map[string]*groupMembers {
	per := map[string]*groupMembers{}
	for _, c := range changes {
		g := per[c.Group]
		if g == nil {
			g = &groupMembers{}
			per[c.Group] = g
		}
		switch c.Action {
		case plan.ActionAdd:
			g.add = append(g.add, c.User)
		case plan.ActionRemove:
			g.remove = append(g.remove, c.User)
		case plan.ActionAdopt:
			g.adopt = append(g.adopt, c.User)
		}
	}
	return per
}

func writeMemberships(b *strings.Builder, changes []*plan.Change, o HumanOptions, pt painter) {
	per := membershipsPerGroup(changes)
	b.WriteString("  # memberships, per group\n")
	truncated := false
	for _, name := range slices.Sorted(maps.Keys(per)) {
		g := per[name]
		var counts []string
		if n := len(g.add); n > 0 {
			counts = append(counts, pt.paint("32", fmt.Sprintf("+%d to add", n)))
		}
		if n := len(g.remove); n > 0 {
			counts = append(counts, pt.paint("31", fmt.Sprintf("-%d to remove", n)))
		}
		if n := len(g.adopt); n > 0 {
			counts = append(counts, pt.paint("33", fmt.Sprintf("~%d already there, adopted", n)))
		}
		fmt.Fprintf(b, "  group %q: %s\n", name, strings.Join(counts, ", "))
		if len(g.add)+len(g.remove) > o.MaxMembersListed {
			truncated = true
			continue
		}
		for _, u := range g.add {
			fmt.Fprintf(b, "      %s %s\n", pt.paint("32", "+"), u)
		}
		for _, u := range g.remove {
			fmt.Fprintf(b, "      %s %s\n", pt.paint("31", "-"), u)
		}
	}
	if truncated {
		fmt.Fprintf(b, "  (groups with more than %d changes show counts only; `confsync show --json` lists every membership)\n", o.MaxMembersListed)
	}
	b.WriteString("\n")
}

// SummaryLine is the plan's one-line count, such as
// "Plan: 3 users to create, 2 to update, 1 to disable; 40 memberships to
// add, 2 to remove.", or the no-changes sentence.
//
// Confluence is said to match the desired state only when every IdP was
// read completely and nothing was left out; otherwise the line says what
// was left out.
func SummaryLine(p *plan.Plan) string {
	if p.Empty() {
		if left := leftOutSummary(p, " left out"); left != "" {
			return "No changes for the IdPs read; " + left + ": see the " + noticesAbove(p) + " above."
		}
		if p.RollbackOf != "" {
			return "No changes. Nothing of run " + p.RollbackOf + " is left to roll back."
		}
		return "No changes. Confluence matches the desired state."
	}
	if left := leftOutSummary(p, ""); left != "" {
		return planLine(p) + " Left out: " + left + " (see the " + noticesAbove(p) + " above)."
	}
	return planLine(p)
}

// leftOutSummary is "idp corp left out, 3 users left out" (suffix " left
// out"), "" when nothing was left out.
func leftOutSummary(p *plan.Plan, suffix string) string {
	var parts []string
	users, groups := 0, 0
	for _, l := range p.LeftOut() {
		switch l.Kind {
		case "idp":
			parts = append(parts, "idp "+l.IDP+suffix)
		case "group":
			groups++
		default:
			users++
		}
	}
	if users > 0 {
		parts = append(parts, fmt.Sprintf("%d %s%s", users, plural("user", users), suffix))
	}
	if groups > 0 {
		parts = append(parts, fmt.Sprintf("%d %s%s", groups, plural("group", groups), suffix))
	}
	return strings.Join(parts, ", ")
}

// noticesAbove names the notice sections that explain what was left out.
func noticesAbove(p *plan.Plan) string {
	errs, warns := false, false
	for _, l := range p.LeftOut() {
		errs = errs || l.Severity == plan.SeverityError
		warns = warns || l.Severity != plan.SeverityError
	}
	switch {
	case errs && warns:
		return "errors and warnings"
	case errs:
		return "errors"
	}
	return "warnings"
}

func planLine(p *plan.Plan) string {
	s := p.Summary()
	part := func(noun string, items ...any) string {
		var out []string
		for i := 0; i < len(items); i += 2 {
			n, verb := items[i].(int), items[i+1].(string)
			if n == 0 {
				continue
			}
			if len(out) == 0 {
				out = append(out, fmt.Sprintf("%d %s to %s", n, plural(noun, n), verb))
			} else {
				out = append(out, fmt.Sprintf("%d to %s", n, verb))
			}
		}
		return strings.Join(out, ", ")
	}
	var parts []string
	for _, x := range []string{
		part("user", s.UsersCreate, "create", s.UsersUpdate, "update", s.UsersAdopt, "adopt", s.UsersEnable, "enable", s.UsersDisable, "disable", s.UsersDelete, "delete"),
		part("group", s.GroupsCreate, "create", s.GroupsAdopt, "adopt", s.GroupsDelete, "delete"),
		part("membership", s.MembershipsAdd, "add", s.MembershipsRemove, "remove", s.MembershipsAdopt, "adopt"),
	} {
		if x != "" {
			parts = append(parts, x)
		}
	}
	return "Plan: " + strings.Join(parts, "; ") + "."
}

func plural(noun string, n int) string {
	if n == 1 {
		return noun
	}
	return noun + "s"
}

// wrap splits text into lines of at most width characters at spaces.
func wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, w := range strings.Fields(text) {
		if line != "" && len(line)+1+len(w) > width {
			lines = append(lines, line)
			line = ""
		}
		if line != "" {
			line += " "
		}
		line += w
	}
	if line != "" {
		lines = append(lines, line)
	}
	return lines
}
