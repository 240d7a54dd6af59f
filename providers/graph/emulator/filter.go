package emulator

import (
	"fmt"
	"strings"
	"unicode"
)

// The $filter subset the emulator understands, from Microsoft Graph's
// "Use the $filter query parameter" page: comparisons with eq and ne on
// string and Boolean properties, startswith(property,'prefix'), the
// logical operators and, or, not, and parentheses. String literals are in
// single quotes, a quote inside doubled. Anything else is answered 400 as
// Graph answers an unsupported query.

// predicate is a compiled filter.
type predicate func(obj map[string]any) bool

type filterParser struct {
	src  string
	toks []string
	pos  int
}

// parseFilter compiles a $filter expression.
func parseFilter(src string) (predicate, error) {
	toks, err := tokenize(src)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty filter")
	}
	p := &filterParser{src: src, toks: toks}
	pred, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(p.toks) {
		return nil, fmt.Errorf("syntax error at %q", p.toks[p.pos])
	}
	return pred, nil
}

func tokenize(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')' || c == ',':
			toks = append(toks, string(c))
			i++
		case c == '\'':
			var b strings.Builder
			b.WriteByte('\'')
			j := i + 1
			for {
				if j >= len(s) {
					return nil, fmt.Errorf("unterminated string literal")
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			toks = append(toks, b.String())
			i = j + 1
		default:
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '.' || s[j] == '/' || unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j]))) {
				j++
			}
			if j == i {
				return nil, fmt.Errorf("unexpected character %q", c)
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}

func (p *filterParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *filterParser) next() string {
	t := p.peek()
	if p.pos < len(p.toks) {
		p.pos++
	}
	return t
}

func (p *filterParser) expect(t string) error {
	if got := p.next(); got != t {
		return fmt.Errorf("expected %q, found %q", t, got)
	}
	return nil
}

func (p *filterParser) or() (predicate, error) {
	left, err := p.and()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "or") {
		p.next()
		right, err := p.and()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(o map[string]any) bool { return l(o) || right(o) }
	}
	return left, nil
}

func (p *filterParser) and() (predicate, error) {
	left, err := p.unary()
	if err != nil {
		return nil, err
	}
	for strings.EqualFold(p.peek(), "and") {
		p.next()
		right, err := p.unary()
		if err != nil {
			return nil, err
		}
		l := left
		left = func(o map[string]any) bool { return l(o) && right(o) }
	}
	return left, nil
}

func (p *filterParser) unary() (predicate, error) {
	switch t := p.peek(); {
	case strings.EqualFold(t, "not"):
		p.next()
		inner, err := p.unary()
		if err != nil {
			return nil, err
		}
		return func(o map[string]any) bool { return !inner(o) }, nil
	case t == "(":
		p.next()
		inner, err := p.or()
		if err != nil {
			return nil, err
		}
		return inner, p.expect(")")
	case strings.EqualFold(t, "startswith"):
		p.next()
		if err := p.expect("("); err != nil {
			return nil, err
		}
		prop := p.next()
		if !isProperty(prop) {
			return nil, fmt.Errorf("startswith needs a property, found %q", prop)
		}
		if err := p.expect(","); err != nil {
			return nil, err
		}
		lit := p.next()
		if !strings.HasPrefix(lit, "'") {
			return nil, fmt.Errorf("startswith needs a string literal, found %q", lit)
		}
		prefix := strings.ToLower(lit[1:])
		if err := p.expect(")"); err != nil {
			return nil, err
		}
		return func(o map[string]any) bool {
			s, ok := lookup(o, prop).(string)
			return ok && strings.HasPrefix(strings.ToLower(s), prefix)
		}, nil
	}
	return p.comparison()
}

func (p *filterParser) comparison() (predicate, error) {
	prop := p.next()
	if !isProperty(prop) {
		return nil, fmt.Errorf("expected a property, found %q", prop)
	}
	op := strings.ToLower(p.next())
	if op != "eq" && op != "ne" {
		return nil, fmt.Errorf("unsupported operator %q", op)
	}
	lit := p.next()
	var want any
	switch {
	case strings.HasPrefix(lit, "'"):
		want = lit[1:]
	case lit == "true" || lit == "false":
		want = lit == "true"
	case lit == "null":
		want = nil
	default:
		return nil, fmt.Errorf("unsupported literal %q", lit)
	}
	return func(o map[string]any) bool {
		got := lookup(o, prop)
		eq := false
		switch w := want.(type) {
		case string:
			s, ok := got.(string)
			eq = ok && strings.EqualFold(s, w) // string comparisons are case-insensitive in Entra ID
		default:
			eq = got == w
		}
		if op == "ne" {
			return !eq
		}
		return eq
	}, nil
}

func isProperty(t string) bool {
	if t == "" || t == "(" || t == ")" || t == "," || strings.HasPrefix(t, "'") {
		return false
	}
	switch strings.ToLower(t) {
	case "and", "or", "not", "eq", "ne", "true", "false", "null":
		return false
	}
	return unicode.IsLetter(rune(t[0]))
}

// lookup reads a property, following one "/" into a complex one
// (onPremisesExtensionAttributes/extensionAttribute1).
func lookup(o map[string]any, prop string) any {
	head, rest, nested := strings.Cut(prop, "/")
	v, ok := o[head]
	if !ok {
		return nil
	}
	if !nested {
		return v
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil
	}
	return m[rest]
}
