package views

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/confsync/confsync/plan"
)

// MarkdownMarker is the hidden first line of every Markdown plan: a CI job
// finds its earlier comment on a pull request by it and updates that one
// comment instead of adding another (examples/github-actions).
const MarkdownMarker = "<!-- confsync-plan -->"

// MarkdownOptions tune the Markdown rendering.
type MarkdownOptions struct {
	// Title is the heading (default "confsync plan").
	Title string
	// MaxMembersListed is how many membership changes of one group are
	// listed by name before only counts are shown (default 20).
	MaxMembersListed int
	// MaxChangesListed bounds the users and the groups listed in the
	// details (default 200), so that the comment stays well under
	// GitHub's 65,536-character limit; the rest are counted.
	MaxChangesListed int
}

// Markdown writes the plan as a GitHub-flavoured Markdown comment for a
// pull request: the marker, a summary table, warnings, and the changes
// collapsed in <details>. Everything taken from the IdPs or Confluence
// (names, display names, reasons) is escaped or inside a code block, so a
// crafted display name cannot inject markup; a plan holds no secrets.
func Markdown(w io.Writer, p *plan.Plan, o MarkdownOptions) error {
	if o.Title == "" {
		o.Title = "confsync plan"
	}
	if o.MaxMembersListed <= 0 {
		o.MaxMembersListed = 20
	}
	if o.MaxChangesListed <= 0 {
		o.MaxChangesListed = 200
	}
	b := &strings.Builder{}
	b.WriteString(MarkdownMarker + "\n")
	fmt.Fprintf(b, "### %s\n\n", mdEscape(o.Title))
	fmt.Fprintf(b, "**%s**\n\n", mdEscape(SummaryLine(p)))
	if len(p.IDPs) > 0 {
		fmt.Fprintf(b, "IdPs planned: %s", mdCodeList(p.IDPs))
		if len(p.IDPFilter) > 0 {
			fmt.Fprintf(b, " (selected with `--idp`)")
		}
		b.WriteString("\n\n")
	}
	writeMarkdownNotices(b, p)
	if !p.Empty() {
		writeMarkdownTable(b, p)
		writeMarkdownDetails(b, p, o)
	}
	if p.ConfigHash != "" {
		fmt.Fprintf(b, "<sub>configuration %s, computed %s</sub>\n", mdCode(shortHash(p.ConfigHash)), p.Created.UTC().Format("2006-01-02 15:04 UTC"))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}

func writeMarkdownNotices(b *strings.Builder, p *plan.Plan) {
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
	// Errors and warnings are alerts, never collapsed: an IdP left out by
	// a failed read must not hide in a pull request.
	alert := func(kind, noun string, ns []plan.Notice) {
		if len(ns) == 0 {
			return
		}
		fmt.Fprintf(b, "> [!%s]\n", kind)
		for i, n := range ns {
			if i == maxNoticesPerKind {
				fmt.Fprintf(b, "> - … and %d more %s (`confsync show --json` lists them all)\n", len(ns)-i, noun)
				break
			}
			fmt.Fprintf(b, "> - **%s**: %s\n", mdEscape(n.Subject), mdEscape(n.Summary))
		}
		b.WriteString("\n")
	}
	alert("CAUTION", "errors", errs)
	alert("WARNING", "warnings", warn)
	if len(info) > 0 {
		fmt.Fprintf(b, "<details><summary>Notes (%d)</summary>\n\n", len(info))
		for i, n := range info {
			if i == maxNoticesPerKind {
				fmt.Fprintf(b, "- … and %d more\n", len(info)-i)
				break
			}
			fmt.Fprintf(b, "- **%s**: %s\n", mdEscape(n.Subject), mdEscape(n.Summary))
		}
		b.WriteString("\n</details>\n\n")
	}
}

// writeMarkdownTable is the summary: one row per kind, one column per
// action that occurs.
func writeMarkdownTable(b *strings.Builder, p *plan.Plan) {
	order := []plan.Action{plan.ActionCreate, plan.ActionUpdate, plan.ActionAdopt, plan.ActionEnable, plan.ActionAdd,
		plan.ActionRemove, plan.ActionDisable, plan.ActionDelete}
	counts := map[plan.Kind]map[plan.Action]int{}
	used := map[plan.Action]bool{}
	for _, c := range p.Changes {
		if counts[c.Kind] == nil {
			counts[c.Kind] = map[plan.Action]int{}
		}
		counts[c.Kind][c.Action]++
		used[c.Action] = true
	}
	var cols []plan.Action
	for _, a := range order {
		if used[a] {
			cols = append(cols, a)
		}
	}
	b.WriteString("| |")
	for _, a := range cols {
		fmt.Fprintf(b, " %c %s |", a.Symbol(), a)
	}
	b.WriteString("\n|---|")
	for range cols {
		b.WriteString("---:|")
	}
	b.WriteString("\n")
	for _, k := range []plan.Kind{plan.KindUser, plan.KindGroup, plan.KindMembership} {
		if counts[k] == nil {
			continue
		}
		fmt.Fprintf(b, "| %ss |", k)
		for _, a := range cols {
			if n := counts[k][a]; n > 0 {
				fmt.Fprintf(b, " %d |", n)
			} else {
				b.WriteString(" |")
			}
		}
		b.WriteString("\n")
	}
	b.WriteString("\n")
}

func writeMarkdownDetails(b *strings.Builder, p *plan.Plan, o MarkdownOptions) {
	var users, groups, members []*plan.Change
	for i := range p.Changes {
		c := &p.Changes[i]
		switch c.Kind {
		case plan.KindUser:
			users = append(users, c)
		case plan.KindGroup:
			groups = append(groups, c)
		case plan.KindMembership:
			members = append(members, c)
		}
	}
	section := func(title string, cs []*plan.Change, line func(*strings.Builder, *plan.Change)) {
		if len(cs) == 0 {
			return
		}
		fmt.Fprintf(b, "<details><summary>%s (%d)</summary>\n\n", title, len(cs))
		// A diff block: GitHub colours + and - lines, and nothing in it is
		// read as Markdown. Values are quoted, so no line can close it.
		b.WriteString("```diff\n")
		for i, c := range cs {
			if i == o.MaxChangesListed {
				fmt.Fprintf(b, "# … and %d more (confsync show --json PLANFILE lists every change)\n", len(cs)-i)
				break
			}
			line(b, c)
		}
		b.WriteString("```\n\n</details>\n\n")
	}
	section("Groups", groups, func(b *strings.Builder, c *plan.Change) {
		fmt.Fprintf(b, "%s %s group %s  # %s\n", diffMark(c.Action), c.Action, strconv.Quote(c.Group), oneLineText(c.Reason))
	})
	section("Users", users, markdownUser)
	if len(members) > 0 {
		writeMarkdownMemberships(b, members, o)
	}
}

// diffMark maps an action to the first column of a diff block: "+" and
// "-" are coloured, "!" marks an in-place change (GitHub colours it too).
func diffMark(a plan.Action) string {
	switch a.Symbol() {
	case '+':
		return "+"
	case '-':
		return "-"
	}
	return "!"
}

func markdownUser(b *strings.Builder, c *plan.Change) {
	mark := diffMark(c.Action)
	head := fmt.Sprintf("%s %s user %s", mark, c.Action, strconv.Quote(c.User))
	if c.PreviousUsername != "" {
		head += " (was " + strconv.Quote(c.PreviousUsername) + ")"
	}
	fmt.Fprintf(b, "%s  # %s\n", head, oneLineText(c.Reason))
	switch c.Action {
	case plan.ActionCreate:
		if v := c.After; v != nil {
			fmt.Fprintf(b, "%s     display_name = %s\n", mark, strconv.Quote(v.DisplayName))
			fmt.Fprintf(b, "%s     email        = %s\n", mark, strconv.Quote(v.Email))
			for _, k := range slices.Sorted(maps.Keys(v.Custom)) {
				fmt.Fprintf(b, "%s     custom.%s = %s\n", mark, k, strconv.Quote(v.Custom[k]))
			}
		}
	case plan.ActionUpdate:
		for _, a := range c.Attributes {
			before := quoteOrUnknown(a.Before)
			if a.StateOnly {
				before = quoteOrUnset(a.Before)
			}
			fmt.Fprintf(b, "!     %s: %s -> %s\n", a.Name, before, strconv.Quote(a.After))
		}
	}
}

func writeMarkdownMemberships(b *strings.Builder, changes []*plan.Change, o MarkdownOptions) {
	per := membershipsPerGroup(changes)
	names := slices.Sorted(maps.Keys(per))
	fmt.Fprintf(b, "<details><summary>Memberships (%d in %d groups)</summary>\n\n", len(changes), len(names))
	b.WriteString("| Group | + add | - remove | adopt |\n|---|---:|---:|---:|\n")
	large := false
	for i, name := range names {
		if i == o.MaxChangesListed {
			fmt.Fprintf(b, "| … and %d more groups | | | |\n", len(names)-i)
			break
		}
		g := per[name]
		if len(g.add)+len(g.remove) > o.MaxMembersListed {
			large = true
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s |\n", mdCode(name), countCell(len(g.add)), countCell(len(g.remove)), countCell(len(g.adopt)))
	}
	b.WriteString("\n")
	b.WriteString("```diff\n")
	for i, name := range names {
		if i == o.MaxChangesListed {
			break
		}
		g := per[name]
		if len(g.add)+len(g.remove) == 0 {
			continue
		}
		if len(g.add)+len(g.remove) > o.MaxMembersListed {
			fmt.Fprintf(b, "# group %s: %d to add, %d to remove (too many to list)\n", strconv.Quote(name), len(g.add), len(g.remove))
			continue
		}
		fmt.Fprintf(b, "# group %s\n", strconv.Quote(name))
		for _, u := range g.add {
			fmt.Fprintf(b, "+ %s\n", strconv.Quote(u))
		}
		for _, u := range g.remove {
			fmt.Fprintf(b, "- %s\n", strconv.Quote(u))
		}
	}
	b.WriteString("```\n\n")
	if large {
		fmt.Fprintf(b, "Groups with more than %d membership changes are counted, not listed; `confsync show --json PLANFILE` lists every one.\n\n", o.MaxMembersListed)
	}
	b.WriteString("</details>\n\n")
}

func countCell(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

// oneLineText makes text safe for one line of a code block.
func oneLineText(s string) string {
	return strings.Join(strings.Fields(s), " ")
}

// mdEscape escapes text for Markdown prose: HTML is neutralised and the
// characters GitHub reads as markup are backslash-escaped, so that names
// coming from an IdP render as the text they are.
func mdEscape(s string) string {
	var sb strings.Builder
	for _, r := range oneLineText(s) {
		switch r {
		case '<':
			sb.WriteString("&lt;")
		case '>':
			sb.WriteString("&gt;")
		case '&':
			sb.WriteString("&amp;")
		case '\\', '`', '*', '_', '[', ']', '(', ')', '#', '|', '~', '!', '@', '{', '}':
			sb.WriteByte('\\')
			sb.WriteRune(r)
		default:
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

// mdCode puts s in an inline code span; a span cannot hold markup, and a
// backtick in s lengthens the fence. Used in tables, | is escaped too.
func mdCode(s string) string {
	s = strings.ReplaceAll(oneLineText(s), "|", `\|`)
	fence := "`"
	for strings.Contains(s, fence) {
		fence += "`"
	}
	if strings.HasPrefix(s, "`") || strings.HasSuffix(s, "`") {
		s = " " + s + " "
	}
	return fence + s + fence
}

func mdCodeList(ss []string) string {
	out := make([]string, len(ss))
	for i, s := range ss {
		out[i] = mdCode(s)
	}
	return strings.Join(out, ", ")
}
