package emulator

import (
	"fmt"
	"strings"
)

// The filter and search expression subset the emulator understands, from
// Okta's "Filter" and "Search" reference: attribute comparisons with eq,
// ne, sw, pr (present), joined by and, or, and parentheses. Values are in
// double quotes, \" inside. Attributes are status, id, type, and
// profile.NAME. Anything else is a 400 E0000031, as Okta answers.

type pred func(obj map[string]any) bool

type exprParser struct {
	toks []string
	pos  int
}

func parseExpr(src string) (pred, error) {
	toks, err := lex(src)
	if err != nil {
		return nil, err
	}
	if len(toks) == 0 {
		return nil, fmt.Errorf("empty expression")
	}
	p := &exprParser{toks: toks}
	f, err := p.or()
	if err != nil {
		return nil, err
	}
	if p.pos != len(toks) {
		return nil, fmt.Errorf("unexpected %q", toks[p.pos])
	}
	return f, nil
}

func lex(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t' || c == '+':
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case c == '"':
			var b strings.Builder
			b.WriteByte('"')
			j := i + 1
			for ; ; j++ {
				if j >= len(s) {
					return nil, fmt.Errorf("unterminated string")
				}
				if s[j] == '\\' && j+1 < len(s) {
					j++
					b.WriteByte(s[j])
					continue
				}
				if s[j] == '"' {
					break
				}
				b.WriteByte(s[j])
			}
			toks = append(toks, b.String())
			i = j + 1
		default:
			j := i
			for j < len(s) && s[j] != ' ' && s[j] != '\t' && s[j] != '(' && s[j] != ')' && s[j] != '"' {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	return toks, nil
}

func (p *exprParser) peek() string {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return ""
}

func (p *exprParser) next() string {
	t := p.peek()
	if p.pos < len(p.toks) {
		p.pos++
	}
	return t
}

func (p *exprParser) or() (pred, error) {
	l, err := p.and()
	for err == nil && strings.EqualFold(p.peek(), "or") {
		p.next()
		var r pred
		if r, err = p.and(); err == nil {
			a := l
			l = func(o map[string]any) bool { return a(o) || r(o) }
		}
	}
	return l, err
}

func (p *exprParser) and() (pred, error) {
	l, err := p.term()
	for err == nil && strings.EqualFold(p.peek(), "and") {
		p.next()
		var r pred
		if r, err = p.term(); err == nil {
			a := l
			l = func(o map[string]any) bool { return a(o) && r(o) }
		}
	}
	return l, err
}

func (p *exprParser) term() (pred, error) {
	if p.peek() == "(" {
		p.next()
		f, err := p.or()
		if err != nil {
			return nil, err
		}
		if p.next() != ")" {
			return nil, fmt.Errorf("missing )")
		}
		return f, nil
	}
	attr := p.next()
	if attr != "status" && attr != "id" && attr != "type" && !strings.HasPrefix(attr, "profile.") {
		return nil, fmt.Errorf("unsupported attribute %q", attr)
	}
	op := strings.ToLower(p.next())
	if op == "pr" {
		return func(o map[string]any) bool { _, ok := value(o, attr); return ok }, nil
	}
	lit := p.next()
	if op != "eq" && op != "ne" && op != "sw" {
		return nil, fmt.Errorf("unsupported operator %q", op)
	}
	if !strings.HasPrefix(lit, `"`) {
		return nil, fmt.Errorf("expected a quoted value, found %q", lit)
	}
	want := lit[1:]
	return func(o map[string]any) bool {
		v, ok := value(o, attr)
		switch op {
		case "eq":
			return ok && strings.EqualFold(v, want)
		case "ne":
			return !ok || !strings.EqualFold(v, want)
		default:
			return ok && strings.HasPrefix(strings.ToLower(v), strings.ToLower(want))
		}
	}, nil
}

// value reads an attribute of a user or group object as text.
func value(o map[string]any, attr string) (string, bool) {
	if name, ok := strings.CutPrefix(attr, "profile."); ok {
		prof, _ := o["profile"].(map[string]any)
		s, ok := prof[name].(string)
		return s, ok
	}
	s, ok := o[attr].(string)
	return s, ok
}
