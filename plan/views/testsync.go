package views

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
)

// TestSyncEntry is one IdP user as Test Sync (confsync source search)
// shows it, whatever the kind of IdP.
type TestSyncEntry struct {
	Title      string   // "Directory entry", "Entra ID user"
	Locator    []string // lines under the title: "dn: ...", "id: ..."
	Attributes []TestSyncAttribute
	IDLabel    string // what the stable id is: "objectGUID", "object id"
	User       plan.SourceUser
	// Inactive says how the IdP marks the user disabled, for the Account
	// line.
	Inactive   string
	GroupsHead string // "Directory groups (nested groups included)"
	GroupKind  string // "directory group", for "(from directory group X)"
	Groups     []string
	// OutOfScope, when not empty, says why plan does not read the user.
	OutOfScope string
	// UsernameAttribute is the attribute the user was found by, which
	// the Confluence username comes from.
	UsernameAttribute string
}

// TestSyncAttribute is one raw attribute of the user, with its values.
type TestSyncAttribute struct {
	Name   string
	Values []string
}

// TestSync renders a Test Sync result: the user's attributes, groups and
// what confsync makes of them. It reports false when the user could not
// become a Confluence user.
func TestSync(w io.Writer, idp *config.IDP, e *TestSyncEntry) (bool, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s of idp %q\n", e.Title, idp.Name)
	for _, l := range e.Locator {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, a := range e.Attributes {
		for i, v := range a.Values {
			name := a.Name + ":"
			if i > 0 {
				name = ""
			}
			fmt.Fprintf(tw, "  %s\t%s\n", name, escapeNewlines(v))
		}
	}
	tw.Flush()

	fmt.Fprintf(&b, "\nStable id (%s): %s\n", e.IDLabel, e.User.ID)
	if e.User.Active {
		b.WriteString("Account: active\n")
	} else {
		fmt.Fprintf(&b, "Account: %s; confsync deactivates it in Confluence\n", e.Inactive)
	}

	fmt.Fprintf(&b, "\n%s:\n", e.GroupsHead)
	gm := plan.NewGroupMapper(idp)
	if len(e.Groups) == 0 {
		b.WriteString("  (none)\n")
	}
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, g := range e.Groups {
		var to []string
		for _, m := range gm.Map(g) {
			to = append(to, m.Name)
		}
		target := "not mapped to a Confluence group"
		if len(to) > 0 {
			target = "-> " + strings.Join(to, ", ")
		}
		fmt.Fprintf(tw, "  %s\t%s\n", escapeNewlines(g), target)
	}
	tw.Flush()

	b.WriteString("\nConfluence view:\n")
	if e.OutOfScope != "" {
		fmt.Fprintf(&b, "  This user is not synchronised: %s\n", e.OutOfScope)
		_, err := io.WriteString(w, b.String())
		return false, err
	}
	m, mapErr := plan.MapUser(idp, e.User)
	if mapErr != nil {
		fmt.Fprintf(&b, "  This user cannot be synchronised: %s\n", mapErr)
		_, err := io.WriteString(w, b.String())
		return false, err
	}
	ua, ea, da := e.UsernameAttribute, idp.Attributes.Email, idp.Attributes.DisplayName
	if ea == "" {
		ea = config.DefaultLDAPEmail
	}
	if da == "" {
		da = config.DefaultLDAPDisplayName
	}
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  Username:\t%s\t(from %s %q)\n", m.Username, ua, m.SourceUsername)
	fmt.Fprintf(tw, "  Email:\t%s\t(from %s)\n", m.Email, ea)
	displaySource := "(from " + da + ")"
	if strings.TrimSpace(e.User.Attributes[da]) == "" {
		displaySource = "(" + da + " is empty: the username)"
	}
	fmt.Fprintf(tw, "  Display name:\t%s\t%s\n", escapeNewlines(m.DisplayName), displaySource)
	status := "active"
	if !m.Active {
		status = "inactive (deactivated in Confluence)"
	}
	fmt.Fprintf(tw, "  Status:\t%s\n", status)
	tw.Flush()

	if len(idp.Attributes.Custom) > 0 {
		b.WriteString("  Custom attributes:\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, name := range slices.Sorted(maps.Keys(idp.Attributes.Custom)) {
			src := idp.Attributes.Custom[name]
			v, ok := m.Custom[name]
			if !ok {
				v = "(not set)"
			}
			fmt.Fprintf(tw, "    %s\t%s\t(from %s)\n", name, escapeNewlines(v), src)
		}
		tw.Flush()
	}

	b.WriteString("  Confluence groups:\n")
	existing := plan.MapGroups(idp, e.Groups, false)
	all := plan.MapGroups(idp, e.Groups, true)
	inExisting := map[string]bool{}
	for _, g := range existing {
		inExisting[g.Name] = true
	}
	if len(all) == 0 {
		b.WriteString("    (none)\n")
	}
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, g := range all {
		why := fmt.Sprintf("(from %s %q)", e.GroupKind, g.From)
		switch {
		case !inExisting[g.Name]:
			why = "(default group for users confsync creates)"
		case g.From == "":
			why = "(default group for every user)"
		}
		fmt.Fprintf(tw, "    %s\t%s\n", g.Name, why)
	}
	tw.Flush()
	_, err := io.WriteString(w, b.String())
	return true, err
}

// escapeNewlines keeps a multi-line value (postalAddress, description) on
// one line of the table.
func escapeNewlines(s string) string {
	return strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\r`).Replace(s)
}
