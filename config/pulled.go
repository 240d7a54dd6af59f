package config

import (
	"fmt"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// pulledAttrs are the attributes the blocks of the pulled sources (graph,
// okta) share: where decodePulledAttrs puts them, and how it checks them.
type pulledAttrs struct {
	groups       *[]string
	userFilter   *string
	parallelism  *int
	timeout      *time.Duration
	pollInterval *time.Duration

	// maxParallelism bounds parallelism; quote and filterExample are
	// checkFilter's for the IdP's filter syntax.
	maxParallelism int
	quote          rune
	filterExample  string
}

// pulledAttrSchema is the schema of the attributes in pulledAttrs.
var pulledAttrSchema = []hcl.AttributeSchema{
	{Name: "groups"},
	{Name: "user_filter"},
	{Name: "parallelism"},
	{Name: "timeout"},
	{Name: "poll_interval"},
}

// decodePulledAttrs decodes groups, user_filter, parallelism, timeout and
// poll_interval of a pulled source block into the fields p points at; an
// attribute that is absent or invalid leaves its field (the default) as
// it is.
func (l *loader) decodePulledAttrs(a hcl.Attributes, p pulledAttrs) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if attr, ok := a["groups"]; ok {
		items, _, d := l.strList(attr)
		diags = append(diags, d...)
		*p.groups = groupNames(items, &diags)
	}
	if attr, ok := a["user_filter"]; ok {
		v, ok, d := l.str(attr)
		diags = append(diags, d...)
		if ok {
			if problem := checkFilter(v, p.quote, p.filterExample); problem != "" {
				diags = append(diags, attrError(attr, "Invalid user_filter", problem))
			} else {
				*p.userFilter = strings.TrimSpace(v)
			}
		}
	}
	if attr, ok := a["parallelism"]; ok {
		n, ok, d := l.integer(attr, 1, int64(p.maxParallelism))
		diags = append(diags, d...)
		if ok {
			*p.parallelism = int(n)
		}
	}
	if attr, ok := a["timeout"]; ok {
		v, ok, d := l.duration(attr, time.Second, time.Hour)
		diags = append(diags, d...)
		if ok {
			*p.timeout = v
		}
	}
	if attr, ok := a["poll_interval"]; ok {
		if v, ok := l.pollInterval(attr, &diags); ok {
			*p.pollInterval = v
		}
	}
	return diags
}

// groupNames checks a list of IdP group names: not empty, no duplicates.
func groupNames(items []item, diags *hcl.Diagnostics) []string {
	var out []string
	seen := map[string]bool{}
	for _, it := range items {
		v := strings.TrimSpace(it.Value)
		switch {
		case v == "":
			*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Empty group name",
				Detail: "Each entry of groups is the display name of a group in the IdP.", Subject: it.Range.Ptr()})
		case seen[strings.ToLower(v)]:
			*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Duplicate group name",
				Detail: "This group is listed twice.", Subject: it.Range.Ptr()})
		default:
			seen[strings.ToLower(v)] = true
			out = append(out, v)
		}
	}
	return out
}

// checkFilter reports what is wrong with a user_filter written in the
// configuration, or "". It catches what can be caught without the server:
// emptiness, unbalanced quotes and parentheses, control characters. The
// IdP itself judges the rest and its answer is reported. quote is the
// string delimiter (' for OData, " for Okta), doubled inside a string.
func checkFilter(f string, quote rune, example string) string {
	f = strings.TrimSpace(f)
	if f == "" {
		return "The user_filter is " + example + "; leave it out to read every user."
	}
	depth, inQuote := 0, false
	for _, r := range f {
		switch {
		case r < 0x20 || r == 0x7f:
			return "The user_filter contains a control character."
		case r == quote:
			inQuote = !inQuote // a doubled quote inside a string toggles twice
		case inQuote:
		case r == '(':
			depth++
		case r == ')':
			depth--
			if depth < 0 {
				return "The user_filter has a ) without its (."
			}
		}
	}
	if inQuote {
		return fmt.Sprintf("The user_filter has an unterminated string: strings are in %c quotes.", quote)
	}
	if depth != 0 {
		return "The user_filter has a ( without its )."
	}
	return ""
}

// pollInterval decodes a poll_interval: 0 (no polling) or 10s to 24h.
func (l *loader) pollInterval(attr *hcl.Attribute, diags *hcl.Diagnostics) (time.Duration, bool) {
	v, ok, d := l.duration(attr, 0, 24*time.Hour)
	*diags = append(*diags, d...)
	if ok && v != 0 && v < minPollInterval {
		*diags = append(*diags, attrError(attr, "Poll interval too short",
			fmt.Sprintf("The poll_interval is 0 (serve does not poll; the IdP is still read on each reconcile) or at least %s, so that confsync does not hammer the IdP.", minPollInterval)))
		return 0, false
	}
	return v, ok
}
