package filter

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Expr is a parsed filter expression.
type Expr interface {
	String() string
	isExpr()
}

// Op is a comparison operator of RFC 7644 §3.4.2.2, lower-case.
type Op string

// The comparison operators.
const (
	Eq Op = "eq"
	Ne Op = "ne"
	Co Op = "co"
	Sw Op = "sw"
	Ew Op = "ew"
	Gt Op = "gt"
	Ge Op = "ge"
	Lt Op = "lt"
	Le Op = "le"
)

var compareOps = map[string]Op{"eq": Eq, "ne": Ne, "co": Co, "sw": Sw, "ew": Ew, "gt": Gt, "ge": Ge, "lt": Lt, "le": Le}

// Compare is `attrPath op value`.
type Compare struct {
	Attr AttrPath
	Op   Op
	// Value is a string, a float64, a bool or nil (null).
	Value any
	// Raw is the value's text as written, without quotes; an unquoted
	// number compared with a string attribute compares as this text.
	Raw string
}

// Present is `attrPath pr`.
type Present struct{ Attr AttrPath }

// And is `L and R`.
type And struct{ L, R Expr }

// Or is `L or R`.
type Or struct{ L, R Expr }

// Not is `not (X)`.
type Not struct{ X Expr }

// ValuePath is `attr[filter]`, optionally followed by a comparison on a
// sub-attribute of the matching elements (`emails[type eq "work"].value eq "x"`,
// a form Entra ID uses for uniqueness queries). Then Sub is set and Cmp is
// the comparison (Cmp.Attr is Sub).
type ValuePath struct {
	Attr   AttrPath
	Filter Expr
	Sub    string
	Cmp    Expr // a *Compare or *Present on Sub, or nil
}

func (*Compare) isExpr()   {}
func (*Present) isExpr()   {}
func (*And) isExpr()       {}
func (*Or) isExpr()        {}
func (*Not) isExpr()       {}
func (*ValuePath) isExpr() {}

func (c *Compare) String() string {
	var v string
	switch x := c.Value.(type) {
	case string:
		b, _ := json.Marshal(x)
		v = string(b)
	case nil:
		v = "null"
	default:
		v = fmt.Sprint(x)
	}
	return c.Attr.String() + " " + string(c.Op) + " " + v
}
func (p *Present) String() string { return p.Attr.String() + " pr" }
func (a *And) String() string     { return "(" + a.L.String() + " and " + a.R.String() + ")" }
func (o *Or) String() string      { return "(" + o.L.String() + " or " + o.R.String() + ")" }
func (n *Not) String() string     { return "not (" + n.X.String() + ")" }
func (v *ValuePath) String() string {
	s := v.Attr.String() + "[" + v.Filter.String() + "]"
	if v.Cmp != nil {
		s += "." + v.Cmp.String()
	}
	return s
}

// Parse parses a filter expression.
func Parse(s string) (Expr, error) {
	if strings.TrimSpace(s) == "" {
		return nil, &Error{Msg: "empty filter"}
	}
	if len(s) > MaxLength {
		return nil, &Error{Msg: "filter too long"}
	}
	if !utf8.ValidString(s) || strings.ContainsRune(s, 0) {
		return nil, &Error{Msg: "filter is not valid UTF-8 or contains NUL"}
	}
	p := &parser{src: s}
	e, err := p.or(0)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos != len(s) {
		return nil, p.errf("unexpected %q", p.rest())
	}
	return e, nil
}

type parser struct {
	src string
	pos int
	// strict turns off the leniencies for IdPs (ParseStrictPath).
	strict bool
}

func (p *parser) errf(format string, args ...any) error {
	return &Error{Msg: fmt.Sprintf(format, args...), Pos: p.pos}
}

func (p *parser) rest() string {
	r := p.src[p.pos:]
	if len(r) > 20 {
		r = r[:20] + "..."
	}
	return r
}

func (p *parser) skipSpace() {
	for p.pos < len(p.src) && (p.src[p.pos] == ' ' || p.src[p.pos] == '\t' || p.src[p.pos] == '\n' || p.src[p.pos] == '\r') {
		p.pos++
	}
}

// keyword reports whether the next word is kw (case-insensitive) followed by
// a delimiter, and consumes it if so.
func (p *parser) keyword(kw string) bool {
	p.skipSpace()
	end := p.pos + len(kw)
	if end > len(p.src) || !strings.EqualFold(p.src[p.pos:end], kw) {
		return false
	}
	if end < len(p.src) && p.src[end] != ' ' && p.src[end] != '(' && p.src[end] != '\t' {
		return false
	}
	p.pos = end
	return true
}

func (p *parser) or(depth int) (Expr, error) {
	l, err := p.and(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("or") {
		r, err := p.and(depth)
		if err != nil {
			return nil, err
		}
		l = &Or{L: l, R: r}
	}
	return l, nil
}

func (p *parser) and(depth int) (Expr, error) {
	l, err := p.unary(depth)
	if err != nil {
		return nil, err
	}
	for p.keyword("and") {
		r, err := p.unary(depth)
		if err != nil {
			return nil, err
		}
		l = &And{L: l, R: r}
	}
	return l, nil
}

func (p *parser) unary(depth int) (Expr, error) {
	if depth > maxDepth {
		return nil, p.errf("filter nested too deeply")
	}
	p.skipSpace()
	if p.keyword("not") {
		p.skipSpace()
		x, err := p.unary(depth + 1)
		if err != nil {
			return nil, err
		}
		return &Not{X: x}, nil
	}
	if p.pos < len(p.src) && p.src[p.pos] == '(' {
		p.pos++
		e, err := p.or(depth + 1)
		if err != nil {
			return nil, err
		}
		p.skipSpace()
		if p.pos >= len(p.src) || p.src[p.pos] != ')' {
			return nil, p.errf("missing )")
		}
		p.pos++
		return e, nil
	}
	return p.attrExpr(depth)
}

func (p *parser) attrExpr(depth int) (Expr, error) {
	ap, err := p.attrPath()
	if err != nil {
		return nil, err
	}
	if p.pos < len(p.src) && p.src[p.pos] == '[' {
		if ap.Sub != "" {
			return nil, p.errf("value filter after a sub-attribute")
		}
		f, err := p.valueFilter(depth + 1)
		if err != nil {
			return nil, err
		}
		vp := &ValuePath{Attr: ap, Filter: f}
		if p.pos < len(p.src) && p.src[p.pos] == '.' {
			p.pos++
			start := p.pos
			for p.pos < len(p.src) && isNameChar(p.src[p.pos]) {
				p.pos++
			}
			vp.Sub = p.src[start:p.pos]
			if !validName(vp.Sub) {
				return nil, p.errf("invalid sub-attribute name")
			}
			cmp, err := p.comparison(AttrPath{Name: vp.Sub})
			if err != nil {
				return nil, err
			}
			vp.Cmp = cmp
		}
		return vp, nil
	}
	return p.comparison(ap)
}

// valueFilter reads `[filter]` at p.pos.
func (p *parser) valueFilter(depth int) (Expr, error) {
	if depth > maxDepth {
		return nil, p.errf("filter nested too deeply")
	}
	p.pos++ // '['
	f, err := p.or(depth)
	if err != nil {
		return nil, err
	}
	p.skipSpace()
	if p.pos >= len(p.src) || p.src[p.pos] != ']' {
		return nil, p.errf("missing ]")
	}
	p.pos++
	return f, nil
}

func (p *parser) comparison(ap AttrPath) (Expr, error) {
	p.skipSpace()
	start := p.pos
	for p.pos < len(p.src) && p.src[p.pos] != ' ' && p.src[p.pos] != '\t' && p.src[p.pos] != ')' && p.src[p.pos] != ']' {
		p.pos++
	}
	word := strings.ToLower(p.src[start:p.pos])
	if word == "pr" {
		return &Present{Attr: ap}, nil
	}
	op, ok := compareOps[word]
	if !ok {
		p.pos = start
		if word == "" {
			return nil, p.errf("operator expected after %s", ap)
		}
		return nil, p.errf("unknown operator %q", word)
	}
	p.skipSpace()
	v, raw, err := p.value()
	if err != nil {
		return nil, err
	}
	return &Compare{Attr: ap, Op: op, Value: v, Raw: raw}, nil
}

// value reads a comparison value: a JSON string, true, false, null, a
// number, or (leniently) an unquoted word.
func (p *parser) value() (any, string, error) {
	if p.pos >= len(p.src) {
		return nil, "", p.errf("value expected")
	}
	if p.src[p.pos] == '"' {
		end := p.pos + 1
		for end < len(p.src) && p.src[end] != '"' {
			if p.src[end] == '\\' {
				end++
			}
			end++
		}
		if end >= len(p.src) {
			return nil, "", p.errf("unterminated string")
		}
		var s string
		if err := json.Unmarshal([]byte(p.src[p.pos:end+1]), &s); err != nil {
			return nil, "", p.errf("invalid string")
		}
		if strings.ContainsRune(s, 0) || !utf8.ValidString(s) {
			return nil, "", p.errf("a string may not contain NUL or invalid UTF-8")
		}
		p.pos = end + 1
		return s, s, nil
	}
	start := p.pos
	for p.pos < len(p.src) && p.src[p.pos] != ' ' && p.src[p.pos] != '\t' && p.src[p.pos] != ')' && p.src[p.pos] != ']' {
		p.pos++
	}
	raw := p.src[start:p.pos]
	if raw == "" {
		return nil, "", p.errf("value expected")
	}
	if p.strict && raw != "true" && raw != "false" && raw != "null" {
		if _, err := strconv.ParseFloat(raw, 64); err != nil {
			p.pos = start
			return nil, "", p.errf("%q is not a value: write strings in double quotes", raw)
		}
	}
	switch strings.ToLower(raw) {
	case "true":
		return true, raw, nil
	case "false":
		return false, raw, nil
	case "null":
		return nil, raw, nil
	}
	if c := raw[0]; c == '-' || (c >= '0' && c <= '9') {
		if f, err := strconv.ParseFloat(raw, 64); err == nil {
			return f, raw, nil
		}
	}
	return raw, raw, nil
}
