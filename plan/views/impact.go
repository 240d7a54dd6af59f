package views

import (
	"fmt"
	"strings"

	"github.com/confsync/confsync/plan"
)

// maxNamesListed bounds the spaces and users one permission loss lists.
const maxNamesListed = 10

// writeImpact writes what the plan's removals take away, per change.
func writeImpact(b *strings.Builder, p *plan.Plan, pt painter) {
	imp := p.Impact
	if imp == nil || (len(imp.Changes) == 0 && len(imp.Unknown) == 0) {
		return
	}
	b.WriteString(pt.bold("Access these changes take away") + " (Confluence's space and global permissions):\n")
	if len(imp.Unknown) > 0 {
		b.WriteString(pt.paint("33", "  ! unknown: ") + "a permission read failed, so what is listed here may be incomplete\n")
	}
	for _, ci := range imp.Changes {
		verb := ""
		if ci.Change >= 0 && ci.Change < len(p.Changes) {
			verb = " (" + p.Changes[ci.Change].Action.String() + ")"
		}
		b.WriteString("\n  " + pt.paint("31", "-") + " " + ci.Object + verb + "\n")
		for _, l := range ci.Losses {
			b.WriteString("      " + l.Summary() + "\n")
			if len(l.Spaces) > 0 {
				b.WriteString("        spaces: " + listSome(l.Spaces) + "\n")
			}
			if len(l.Users) > 1 {
				b.WriteString("        users: " + listSome(l.Users) + "\n")
			}
		}
	}
	fmt.Fprintf(b, "\n  %d %s where a user loses space access.\n\n", imp.SpaceAccessLost, plural("(user, space) pair", imp.SpaceAccessLost))
}

func listSome(names []string) string {
	if len(names) <= maxNamesListed {
		return strings.Join(names, ", ")
	}
	return strings.Join(names[:maxNamesListed], ", ") + fmt.Sprintf(" and %d more", len(names)-maxNamesListed)
}
