package config

import (
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"
)

// SCIMPath is a parsed SCIM attribute path (RFC 7644 section 3.10), the
// form attributes take in the attributes block of a scim IdP:
//
//	userName
//	name.givenName
//	emails[type eq "work"].value
//	urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department
type SCIMPath struct {
	// URN is the schema URN of an extension attribute, "" for core ones.
	URN string
	// Attribute is the attribute name.
	Attribute string
	// Filter is the value filter between brackets, as written, or "".
	Filter string
	// SubAttribute is the sub-attribute after the dot, or "".
	SubAttribute string
}

// String renders the path in its canonical form.
func (p SCIMPath) String() string {
	var b strings.Builder
	if p.URN != "" {
		b.WriteString(p.URN)
		b.WriteByte(':')
	}
	b.WriteString(p.Attribute)
	if p.Filter != "" {
		b.WriteString("[" + p.Filter + "]")
	}
	if p.SubAttribute != "" {
		b.WriteString("." + p.SubAttribute)
	}
	return b.String()
}

// ParseSCIMPath parses a SCIM attribute path: an attribute, optionally
// prefixed by an extension schema URN, optionally with a value filter in
// brackets and a sub-attribute.
func ParseSCIMPath(s string) (SCIMPath, error) {
	var p SCIMPath
	if s == "" {
		return p, errors.New("the path is empty")
	}
	if !utf8.ValidString(s) {
		return p, errors.New("the path is not UTF-8 text")
	}
	head, rest := s, ""
	if i := strings.IndexByte(s, '['); i >= 0 {
		head, rest = s[:i], s[i:]
	}
	if len(head) > 4 && strings.EqualFold(head[:4], "urn:") {
		i := strings.LastIndexByte(head, ':')
		p.URN, head = head[:i], head[i+1:]
		if err := checkURN(p.URN); err != nil {
			return p, err
		}
	}
	name, sub, hasSub := strings.Cut(head, ".")
	if err := checkAttrName(name); err != nil {
		return p, err
	}
	p.Attribute = name
	if hasSub {
		if rest != "" {
			return p, errors.New("a value filter [...] follows the attribute, before any sub-attribute")
		}
		if err := checkAttrName(sub); err != nil {
			return p, fmt.Errorf("sub-attribute: %w", err)
		}
		p.SubAttribute = sub
		return p, nil
	}
	if rest == "" {
		return p, nil
	}
	end := closingBracket(rest)
	if end < 0 {
		return p, errors.New("the value filter has no closing ]")
	}
	p.Filter = strings.TrimSpace(rest[1:end])
	if p.Filter == "" {
		return p, errors.New("the value filter [] is empty")
	}
	if err := checkSCIMFilter(p.Filter); err != nil {
		return p, fmt.Errorf("value filter: %w", err)
	}
	tail := rest[end+1:]
	if tail == "" {
		return p, nil
	}
	if tail[0] != '.' {
		return p, fmt.Errorf("unexpected %q after the value filter; only .subAttribute may follow", tail)
	}
	if err := checkAttrName(tail[1:]); err != nil {
		return p, fmt.Errorf("sub-attribute: %w", err)
	}
	p.SubAttribute = tail[1:]
	return p, nil
}

// closingBracket finds the ] that closes the [ at s[0], skipping quoted
// strings.
func closingBracket(s string) int {
	inStr := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case inStr && c == '\\':
			i++
		case c == '"':
			inStr = !inStr
		case !inStr && c == ']':
			return i
		}
	}
	return -1
}

func checkURN(u string) error {
	parts := strings.Split(u, ":")
	if len(parts) < 3 {
		return fmt.Errorf("%q is not a schema URN such as urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", u)
	}
	for _, part := range parts {
		if part == "" {
			return fmt.Errorf("the schema URN %q has an empty part", u)
		}
		for _, r := range part {
			if r <= ' ' || r == '"' || r == '[' || r == ']' || r >= 0x7f {
				return fmt.Errorf("the schema URN %q contains %q", u, r)
			}
		}
	}
	return nil
}

// checkAttrName checks ATTRNAME = ALPHA *(nameChar), nameChar = "-" / "_"
// / DIGIT / ALPHA, plus the special "$ref".
func checkAttrName(n string) error {
	if n == "$ref" {
		return nil
	}
	if n == "" {
		return errors.New("an attribute name is missing")
	}
	for i, r := range n {
		alpha := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if i == 0 && !alpha {
			return fmt.Errorf("the attribute name %q must start with a letter", n)
		}
		if !alpha && !(r >= '0' && r <= '9') && r != '-' && r != '_' {
			return fmt.Errorf("the attribute name %q contains %q", n, r)
		}
	}
	return nil
}
