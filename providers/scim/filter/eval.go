package filter

import (
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// CoreURNPrefix starts the URN of every core schema; attribute paths with a
// core schema URN address top-level attributes.
const CoreURNPrefix = "urn:ietf:params:scim:schemas:core:2.0:"

// CaseExactFunc says whether an attribute compares case-sensitively. urn is
// "" for core attributes; name and sub are as written in the filter.
type CaseExactFunc func(urn, name, sub string) bool

// Match evaluates e against a resource decoded from JSON (objects as
// map[string]any, numbers as json.Number or float64). Attribute names match
// case-insensitively. Multi-valued attributes match when any value does.
func Match(e Expr, res map[string]any, caseExact CaseExactFunc) bool {
	if caseExact == nil {
		caseExact = func(string, string, string) bool { return false }
	}
	return match(e, res, "", caseExact)
}

// match evaluates e in the context of obj; parent is the name of the
// multi-valued attribute whose element obj is (inside a value filter).
func match(e Expr, obj map[string]any, parent string, ce CaseExactFunc) bool {
	switch x := e.(type) {
	case *And:
		return match(x.L, obj, parent, ce) && match(x.R, obj, parent, ce)
	case *Or:
		return match(x.L, obj, parent, ce) || match(x.R, obj, parent, ce)
	case *Not:
		return !match(x.X, obj, parent, ce)
	case *Present:
		for _, v := range Resolve(obj, x.Attr) {
			if present(v) {
				return true
			}
		}
		return false
	case *Compare:
		exact := caseExactFor(x.Attr, parent, ce)
		vals := Resolve(obj, x.Attr)
		if len(vals) == 0 {
			return x.Op == Ne && x.Value != nil
		}
		for _, v := range vals {
			if compare(v, x, exact) {
				return true
			}
		}
		return false
	case *ValuePath:
		for _, el := range Resolve(obj, x.Attr) {
			m, ok := el.(map[string]any)
			if !ok {
				continue
			}
			if !match(x.Filter, m, x.Attr.Name, ce) {
				continue
			}
			if x.Cmp == nil || match(x.Cmp, m, x.Attr.Name, ce) {
				return true
			}
		}
		return false
	}
	return false
}

func caseExactFor(a AttrPath, parent string, ce CaseExactFunc) bool {
	urn := a.URN
	if strings.HasPrefix(strings.ToLower(urn), CoreURNPrefix) {
		urn = ""
	}
	if parent != "" {
		return ce(urn, parent, a.Name)
	}
	return ce(urn, a.Name, a.Sub)
}

// Lookup returns obj's value for key, matching the key case-insensitively
// (an exact match wins).
func Lookup(obj map[string]any, key string) (any, bool) {
	if v, ok := obj[key]; ok {
		return v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// Resolve returns the values a path addresses in obj, multi-valued
// attributes flattened; complex elements are returned as maps.
func Resolve(obj map[string]any, a AttrPath) []any {
	container := obj
	if a.URN != "" && !strings.HasPrefix(strings.ToLower(a.URN), CoreURNPrefix) {
		ext, ok := Lookup(obj, a.URN)
		if !ok {
			return nil
		}
		m, ok := ext.(map[string]any)
		if !ok {
			return nil
		}
		container = m
	}
	v, ok := Lookup(container, a.Name)
	if !ok || v == nil {
		return nil
	}
	var out []any
	add := func(v any) {
		if a.Sub == "" {
			if v != nil {
				out = append(out, v)
			}
			return
		}
		if m, ok := v.(map[string]any); ok {
			if sv, ok := Lookup(m, a.Sub); ok && sv != nil {
				if arr, ok := sv.([]any); ok {
					out = append(out, arr...)
				} else {
					out = append(out, sv)
				}
			}
		}
	}
	if arr, ok := v.([]any); ok {
		for _, el := range arr {
			add(el)
		}
	} else {
		add(v)
	}
	return out
}

func present(v any) bool {
	switch x := v.(type) {
	case nil:
		return false
	case string:
		return x != ""
	case []any:
		return len(x) > 0
	case map[string]any:
		return len(x) > 0
	}
	return true
}

func compare(v any, c *Compare, exact bool) bool {
	if m, ok := v.(map[string]any); ok {
		// A complex value compares by its "value" sub-attribute.
		sv, ok := Lookup(m, "value")
		if !ok {
			return false
		}
		v = sv
	}
	switch x := v.(type) {
	case string:
		return compareString(x, c, exact)
	case bool:
		var b bool
		switch cv := c.Value.(type) {
		case bool:
			b = cv
		case string:
			pb, err := strconv.ParseBool(strings.ToLower(cv))
			if err != nil {
				return c.Op == Ne
			}
			b = pb
		default:
			return c.Op == Ne
		}
		switch c.Op {
		case Eq:
			return x == b
		case Ne:
			return x != b
		}
		return false
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return compareString(x.String(), c, exact)
		}
		return compareNumber(f, x.String(), c, exact)
	case float64:
		return compareNumber(x, strconv.FormatFloat(x, 'f', -1, 64), c, exact)
	}
	return false
}

func compareNumber(f float64, text string, c *Compare, exact bool) bool {
	cf, ok := c.Value.(float64)
	if !ok {
		return compareString(text, c, exact)
	}
	switch c.Op {
	case Eq:
		return f == cf
	case Ne:
		return f != cf
	case Gt:
		return f > cf
	case Ge:
		return f >= cf
	case Lt:
		return f < cf
	case Le:
		return f <= cf
	case Co, Sw, Ew:
		return compareString(text, c, exact)
	}
	return false
}

func compareString(s string, c *Compare, exact bool) bool {
	if c.Value == nil {
		return c.Op == Ne
	}
	if _, isBool := c.Value.(bool); isBool {
		// "True" stored as a string compares with a boolean.
		if b, err := strconv.ParseBool(strings.ToLower(s)); err == nil {
			return compare(b, c, exact)
		}
	}
	want := c.Raw
	switch c.Op {
	case Gt, Ge, Lt, Le, Eq, Ne:
		if t1, ok := parseTime(s); ok {
			if t2, ok := parseTime(want); ok {
				return orderOK(t1.Compare(t2), c.Op)
			}
		}
	}
	if !exact {
		s, want = strings.ToLower(s), strings.ToLower(want)
	}
	switch c.Op {
	case Eq:
		return s == want
	case Ne:
		return s != want
	case Co:
		return strings.Contains(s, want)
	case Sw:
		return strings.HasPrefix(s, want)
	case Ew:
		return strings.HasSuffix(s, want)
	default:
		return orderOK(strings.Compare(s, want), c.Op)
	}
}

func orderOK(cmp int, op Op) bool {
	switch op {
	case Eq:
		return cmp == 0
	case Ne:
		return cmp != 0
	case Gt:
		return cmp > 0
	case Ge:
		return cmp >= 0
	case Lt:
		return cmp < 0
	case Le:
		return cmp <= 0
	}
	return false
}

// ParseTime reads a filter value as an xsd:dateTime, the way comparisons
// with dateTime attributes do (RFC 3339, or without a zone as UTC).
func ParseTime(s string) (time.Time, bool) { return parseTime(s) }

func parseTime(s string) (time.Time, bool) {
	if len(s) < 19 || s[4] != '-' || s[10] != 'T' && s[10] != 't' {
		return time.Time{}, false
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		t, err = time.Parse("2006-01-02T15:04:05.999999999", s)
		if err != nil {
			return time.Time{}, false
		}
	}
	return t, true
}
