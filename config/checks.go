package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

func lowerName(s string) string { return strings.ToLower(s) }

// checkProtectedGroups reports every mapping that would write to a
// protected group: confsync never changes those, so the mapping is a
// contradiction the user must resolve.
func (l *loader) checkProtectedGroups() hcl.Diagnostics {
	c := l.cfg.Confluence
	if c == nil || len(c.ProtectedGroups) == 0 {
		return nil
	}
	protected := map[string]bool{}
	for _, g := range c.ProtectedGroups {
		protected[g] = true
	}
	var diags hcl.Diagnostics
	for _, ref := range l.groupRefs {
		if !protected[ref.name] {
			continue
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Mapping writes to a protected group",
			Detail:   fmt.Sprintf("The idp %q would change the membership of %q through %s, but confluence.protected_groups lists it, and confsync never changes a protected group. Remove one or the other.", ref.idp, ref.name, ref.what),
			Subject:  ref.rng.Ptr(),
		})
	}
	return diags
}

// at renders where a range starts, as file:line:column, for diagnostics
// that point at a second place.
func at(r hcl.Range) string {
	return fmt.Sprintf("%s:%d:%d", r.Filename, r.Start.Line, r.Start.Column)
}

// failedAttrs names the attributes an error diagnostic points into. A
// cross-field check runs whenever the attributes it reads are not among
// them, so that a mistake elsewhere in the block does not hide it and a
// mistake in those attributes does not cause a second, misleading report.
func failedAttrs(a hcl.Attributes, diags hcl.Diagnostics) map[string]bool {
	failed := map[string]bool{}
	for _, d := range diags {
		if d.Severity != hcl.DiagError || d.Subject == nil {
			continue
		}
		for name, attr := range a {
			r := attr.Range
			if d.Subject.Filename == r.Filename && d.Subject.Start.Byte >= r.Start.Byte && d.Subject.End.Byte <= r.End.Byte {
				failed[name] = true
			}
		}
	}
	return failed
}

// anyFailed reports whether one of names is in failed.
func anyFailed(failed map[string]bool, names ...string) bool {
	for _, n := range names {
		if failed[n] {
			return true
		}
	}
	return false
}
