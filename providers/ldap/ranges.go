package ldap

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// Active Directory returns at most MaxValRange (1,500 by default) values of
// a multi-valued attribute per search. Beyond that the entry carries
// "member;range=0-1499" instead of "member", and the client asks for
// "member;range=1500-*" and so on until a range ends in "*".

// valueRange is the range option of an attribute description.
type valueRange struct {
	low, high int // high is meaningful when !last
	last      bool
}

// parseRangedName splits an attribute description into its base name and
// range option. ok is false when the description has no range option.
func parseRangedName(desc string) (base string, r valueRange, ok bool, err error) {
	parts := strings.Split(desc, ";")
	base = parts[0]
	for _, opt := range parts[1:] {
		spec, found := cutPrefixFold(opt, "range=")
		if !found {
			continue
		}
		lo, hi, dash := strings.Cut(spec, "-")
		if !dash {
			return base, r, false, fmt.Errorf("attribute %q has a malformed range", desc)
		}
		if r.low, err = strconv.Atoi(lo); err != nil || r.low < 0 {
			return base, r, false, fmt.Errorf("attribute %q has a malformed range start", desc)
		}
		if hi == "*" {
			r.last = true
			return base, r, true, nil
		}
		if r.high, err = strconv.Atoi(hi); err != nil || r.high < r.low {
			return base, r, false, fmt.Errorf("attribute %q has a malformed range end", desc)
		}
		return base, r, true, nil
	}
	return base, r, false, nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// attributeValues returns every value of attr in entry e, fetching the
// remaining ranges from the server when the entry carries only the first
// range of an Active Directory ranged attribute. Only the base name of each
// attribute description is compared, case-insensitively.
func attributeValues(ctx context.Context, s searcher, e *goldap.Entry, attr string, timeLimit int) ([]string, error) {
	var values []string
	for _, a := range e.Attributes {
		base, r, ranged, err := parseRangedName(a.Name)
		if !strings.EqualFold(base, attr) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("ldap: %s: %w: %w", e.DN, err, ErrIncompleteRead)
		}
		if !ranged {
			values = append(values, a.Values...)
			continue
		}
		if r.low != 0 {
			return nil, fmt.Errorf("ldap: %s: the first range of %s starts at %d, not 0: %w", e.DN, attr, r.low, ErrIncompleteRead)
		}
		values = append(values, a.Values...)
		if r.last {
			continue
		}
		rest, err := fetchRanges(ctx, s, e.DN, attr, r.high+1, timeLimit)
		if err != nil {
			return nil, err
		}
		values = append(values, rest...)
	}
	return values, nil
}

// fetchRanges reads attr of the entry dn from value number next on, one
// range at a time, until the server marks the last range with "*".
func fetchRanges(ctx context.Context, s searcher, dn, attr string, next, timeLimit int) ([]string, error) {
	var values []string
	for {
		if err := ctx.Err(); err != nil {
			return nil, fmt.Errorf("ldap: range retrieval of %s of %q stopped: %w", attr, dn, err)
		}
		want := fmt.Sprintf("%s;range=%d-*", attr, next)
		req := goldap.NewSearchRequest(dn, goldap.ScopeBaseObject, goldap.NeverDerefAliases, 0, timeLimit, false,
			"(objectClass=*)", []string{want}, nil)
		res, err := s.Search(req)
		if err != nil {
			return nil, searchError(ctx, "group", dn, err)
		}
		if len(res.Entries) != 1 {
			return nil, fmt.Errorf("ldap: range retrieval of %s of %q returned %d entries, want 1: %w", attr, dn, len(res.Entries), ErrIncompleteRead)
		}
		found := false
		for _, a := range res.Entries[0].Attributes {
			base, r, ranged, err := parseRangedName(a.Name)
			if !strings.EqualFold(base, attr) {
				continue
			}
			if err != nil {
				return nil, fmt.Errorf("ldap: %s: %w: %w", dn, err, ErrIncompleteRead)
			}
			if !ranged {
				return nil, fmt.Errorf("ldap: range retrieval of %s of %q returned the attribute without a range: %w", attr, dn, ErrIncompleteRead)
			}
			if r.low != next {
				return nil, fmt.Errorf("ldap: range retrieval of %s of %q asked for values from %d and got %d: %w", attr, dn, next, r.low, ErrIncompleteRead)
			}
			found = true
			values = append(values, a.Values...)
			if r.last {
				return values, nil
			}
			next = r.high + 1
		}
		if !found {
			return nil, fmt.Errorf("ldap: range retrieval of %s of %q returned no values from %d on: %w", attr, dn, next, ErrIncompleteRead)
		}
	}
}
