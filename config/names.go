package config

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
)

// maxNameLength is the longest user or group name Confluence stores.
const maxNameLength = 255

// forbiddenNameChars are refused by Confluence Data Center in user and
// group names.
const forbiddenNameChars = `\,+<>'"`

// ValidUsername reports why name cannot be a Confluence Data Center
// username, or nil. Confluence refuses blank names, whitespace, upper-case
// letters, any of \ , + < > ' " and the name "anonymous"; lower-case a
// name (strings.ToLower) before checking it.
func ValidUsername(name string) error {
	return validName(name, "username")
}

// ValidGroupName reports why name cannot be a Confluence Data Center group
// name, or nil. The rules are those of usernames: Confluence stores group
// names in lower case, so lower-case a name before checking it.
//
// A "/" is refused too: a group name travels as a URL path segment, and
// servlet containers reject an encoded slash in a path.
func ValidGroupName(name string) error {
	if err := validName(name, "group name"); err != nil {
		return err
	}
	if strings.Contains(name, "/") {
		return errors.New(`a group name must not contain "/": it would not survive as a URL path segment`)
	}
	return nil
}

func validName(name, what string) error {
	switch {
	case name == "" || strings.TrimSpace(name) == "":
		return fmt.Errorf("a %s must not be blank", what)
	case !utf8.ValidString(name):
		return fmt.Errorf("a %s must be UTF-8 text", what)
	case len(name) > maxNameLength:
		return fmt.Errorf("a %s must be at most %d bytes long", what, maxNameLength)
	case strings.EqualFold(name, "anonymous"):
		return fmt.Errorf(`%q is reserved and cannot be a %s`, name, what)
	case name == "." || name == "..":
		return fmt.Errorf("%q cannot be a %s: it would not survive as a URL path segment", name, what)
	}
	for _, r := range name {
		switch {
		case unicode.IsSpace(r):
			return fmt.Errorf("a %s must not contain whitespace", what)
		case unicode.IsControl(r):
			return fmt.Errorf("a %s must not contain control characters", what)
		case strings.ContainsRune(forbiddenNameChars, r):
			return fmt.Errorf("a %s must not contain %q (none of %s is allowed)", what, r, spaced(forbiddenNameChars))
		case unicode.IsUpper(r):
			return errUpperCase
		}
	}
	return nil
}

// errUpperCase is returned for names that are only wrong in their case.
var errUpperCase = errors.New("names are lower-case in Confluence")

func spaced(s string) string {
	return strings.Join(strings.Split(s, ""), " ")
}

// names decodes a list of Confluence user or group names: each is
// lower-cased, with a warning when that changes it, and checked with check.
func (l *loader) names(items []item, attrName, what string, check func(string) error) ([]string, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	out := make([]string, 0, len(items))
	seen := map[string]bool{}
	for _, it := range items {
		lower := strings.ToLower(it.Value)
		if err := check(lower); err != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Invalid Confluence %s", what),
				Detail:   fmt.Sprintf("In %s, %q is not a valid Confluence %s: %s.", attrName, it.Value, what, err),
				Subject:  it.Range.Ptr(),
			})
			continue
		}
		if lower != it.Value {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  fmt.Sprintf("Confluence %s will be lower-cased", what),
				Detail:   fmt.Sprintf("Confluence stores %ss in lower case, so %q in %s means %q. Write it in lower case to silence this warning.", what, it.Value, attrName, lower),
				Subject:  it.Range.Ptr(),
			})
		}
		if seen[lower] {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  fmt.Sprintf("Duplicate %s", what),
				Detail:   fmt.Sprintf("%q appears more than once in %s.", lower, attrName),
				Subject:  it.Range.Ptr(),
			})
			continue
		}
		seen[lower] = true
		out = append(out, lower)
	}
	return out, diags
}
