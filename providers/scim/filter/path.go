package filter

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// AttrPath names an attribute, optionally a sub-attribute of it, optionally
// inside an extension schema: `userName`, `name.familyName`,
// `urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value`.
type AttrPath struct {
	// URN is the schema URN prefix as written, or "" for the core schema.
	URN string
	// Name is the attribute name as written.
	Name string
	// Sub is the sub-attribute name as written, or "".
	Sub string
}

// String renders the path in SCIM syntax.
func (p AttrPath) String() string {
	var b strings.Builder
	if p.URN != "" {
		b.WriteString(p.URN)
		b.WriteByte(':')
	}
	b.WriteString(p.Name)
	if p.Sub != "" {
		b.WriteByte('.')
		b.WriteString(p.Sub)
	}
	return b.String()
}

// Path is a PATCH operation path (RFC 7644 §3.5.2): an attribute path, or
// a value path `attr[filter]` optionally followed by `.subAttr`.
type Path struct {
	Attr AttrPath
	// Filter selects elements of a multi-valued attribute; nil when the path
	// has no brackets.
	Filter Expr
	// SubAfter is the sub-attribute after a value filter
	// (`emails[type eq "work"].value` has SubAfter "value"); Attr.Sub is then "".
	SubAfter string
}

// String renders the path in SCIM syntax.
func (p Path) String() string {
	s := p.Attr.String()
	if p.Filter != nil {
		s += "[" + p.Filter.String() + "]"
		if p.SubAfter != "" {
			s += "." + p.SubAfter
		}
	}
	return s
}

// Sub returns the sub-attribute the path targets, wherever it was written.
func (p Path) Sub() string {
	if p.SubAfter != "" {
		return p.SubAfter
	}
	return p.Attr.Sub
}

// MaxLength bounds the length of a filter or path this package parses.
const MaxLength = 8192

// maxDepth bounds the nesting of parentheses, `not` and value filters.
const maxDepth = 32

// Error is a parse error. Its message is safe to show to the client.
type Error struct {
	Msg string
	Pos int // byte offset into the input
}

func (e *Error) Error() string { return fmt.Sprintf("%s at position %d", e.Msg, e.Pos+1) }

// ParsePath parses a PATCH path.
func ParsePath(s string) (Path, error) { return parsePath(s, false) }

// ParseStrictPath parses an attribute path as a configuration file writes
// it (the attributes block of a scim IdP): the grammar of ParsePath
// without the leniencies for IdPs. Comparison values are quoted strings,
// true, false, null or numbers; attribute names start with a letter
// ("$ref" excepted); an extension schema URN has at least three non-empty
// parts. What it accepts, ParsePath accepts to the same Path.
func ParseStrictPath(s string) (Path, error) { return parsePath(s, true) }

func parsePath(s string, strict bool) (Path, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Path{}, &Error{Msg: "empty path"}
	}
	if len(s) > MaxLength {
		return Path{}, &Error{Msg: "path too long"}
	}
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return Path{}, &Error{Msg: "path is not valid UTF-8 or contains NUL"}
	}
	p := &parser{src: s, strict: strict}
	path, err := p.parsePath()
	if err != nil {
		return Path{}, err
	}
	if p.pos != len(s) {
		return Path{}, p.errf("unexpected %q", s[p.pos:])
	}
	return path, nil
}

// ParseAttrPath parses an attribute path without a value filter.
func ParseAttrPath(s string) (AttrPath, error) {
	p, err := ParsePath(s)
	if err != nil {
		return AttrPath{}, err
	}
	if p.Filter != nil {
		return AttrPath{}, &Error{Msg: "value filter not allowed here"}
	}
	return p.Attr, nil
}

func (p *parser) parsePath() (Path, error) {
	ap, err := p.attrPath()
	if err != nil {
		return Path{}, err
	}
	path := Path{Attr: ap}
	if p.pos < len(p.src) && p.src[p.pos] == '[' {
		if ap.Sub != "" {
			return Path{}, p.errf("value filter after a sub-attribute")
		}
		f, err := p.valueFilter(1)
		if err != nil {
			return Path{}, err
		}
		path.Filter = f
		if p.pos < len(p.src) && p.src[p.pos] == '.' {
			p.pos++
			start := p.pos
			for p.pos < len(p.src) && isNameChar(p.src[p.pos]) {
				p.pos++
			}
			if start == p.pos {
				return Path{}, p.errf("missing sub-attribute name")
			}
			path.SubAfter = p.src[start:p.pos]
			if p.strict {
				if err := strictAttrPath(AttrPath{Name: "x", Sub: path.SubAfter}); err != "" {
					p.pos = start
					return Path{}, p.errf("%s", err)
				}
			}
		}
	}
	return path, nil
}

// attrPath reads an attribute path at p.pos: the longest run of characters
// allowed in a name, a URN or a dot, then splits it.
func (p *parser) attrPath() (AttrPath, error) {
	start := p.pos
	for p.pos < len(p.src) && (isNameChar(p.src[p.pos]) || p.src[p.pos] == ':' || p.src[p.pos] == '.') {
		p.pos++
	}
	raw := p.src[start:p.pos]
	if raw == "" {
		return AttrPath{}, p.errf("attribute name expected")
	}
	ap, ok := splitAttrPath(raw)
	if !ok {
		p.pos = start
		return AttrPath{}, p.errf("invalid attribute path %q", raw)
	}
	if p.strict {
		if err := strictAttrPath(ap); err != "" {
			p.pos = start
			return AttrPath{}, p.errf("%s", err)
		}
	}
	return ap, nil
}

// strictAttrPath says what ParseStrictPath refuses in an attribute path
// that ParsePath takes, or "".
func strictAttrPath(ap AttrPath) string {
	if ap.URN != "" {
		parts := strings.Split(ap.URN, ":")
		if len(parts) < 3 {
			return fmt.Sprintf("%q is not a schema URN such as urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", ap.URN)
		}
		for _, part := range parts {
			if part == "" {
				return fmt.Sprintf("the schema URN %q has an empty part", ap.URN)
			}
		}
	}
	for _, n := range []string{ap.Name, ap.Sub} {
		if n != "" && n != "$ref" && !(n[0]|0x20 >= 'a' && n[0]|0x20 <= 'z') {
			return fmt.Sprintf("the attribute name %q must start with a letter", n)
		}
	}
	return ""
}

// splitAttrPath splits `urn:...:attr.sub` into its parts.
func splitAttrPath(raw string) (AttrPath, bool) {
	var ap AttrPath
	rest := raw
	if i := strings.LastIndexByte(raw, ':'); i >= 0 {
		if !strings.HasPrefix(strings.ToLower(raw), "urn:") {
			return ap, false
		}
		ap.URN = raw[:i]
		rest = raw[i+1:]
	}
	name, sub, hasSub := strings.Cut(rest, ".")
	if !validName(name) || (hasSub && !validName(sub)) {
		return ap, false
	}
	ap.Name, ap.Sub = name, sub
	return ap, true
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isNameChar(s[i]) {
			return false
		}
	}
	// A name starts with a letter; "$ref" is the one exception SCIM uses.
	c := s[0]
	return c == '$' || c == '_' || (c|0x20 >= 'a' && c|0x20 <= 'z')
}

func isNameChar(c byte) bool {
	return c == '$' || c == '_' || c == '-' || (c >= '0' && c <= '9') || (c|0x20 >= 'a' && c|0x20 <= 'z')
}
