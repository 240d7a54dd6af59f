package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// checkSCIMFilter checks the syntax of a SCIM filter (RFC 7644 section
// 3.4.2.2) as used inside a value path: comparisons, pr, and, or, not and
// parentheses.
func checkSCIMFilter(s string) error {
	toks, err := scimTokens(s)
	if err != nil {
		return err
	}
	fp := &filterParser{toks: toks}
	if err := fp.or(); err != nil {
		return err
	}
	if fp.pos < len(fp.toks) {
		return fmt.Errorf("unexpected %q", fp.toks[fp.pos])
	}
	return nil
}

// scimTokens splits a filter into words, parentheses and quoted strings.
func scimTokens(s string) ([]string, error) {
	var toks []string
	for i := 0; i < len(s); {
		switch c := s[i]; {
		case c == ' ' || c == '\t':
			i++
		case c == '(' || c == ')':
			toks = append(toks, string(c))
			i++
		case c == '"':
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' {
					j++
				}
			}
			if j >= len(s) {
				return nil, errors.New("a string has no closing quote")
			}
			toks = append(toks, s[i:j+1])
			i = j + 1
		default:
			j := i
			for j < len(s) && !strings.ContainsRune(" \t()\"", rune(s[j])) {
				j++
			}
			toks = append(toks, s[i:j])
			i = j
		}
	}
	if len(toks) == 0 {
		return nil, errors.New("the filter is empty")
	}
	return toks, nil
}

type filterParser struct {
	toks  []string
	pos   int
	depth int
}

func (fp *filterParser) peek() string {
	if fp.pos < len(fp.toks) {
		return fp.toks[fp.pos]
	}
	return ""
}

func (fp *filterParser) next() string {
	t := fp.peek()
	fp.pos++
	return t
}

func (fp *filterParser) or() error {
	if err := fp.and(); err != nil {
		return err
	}
	for strings.EqualFold(fp.peek(), "or") {
		fp.pos++
		if err := fp.and(); err != nil {
			return err
		}
	}
	return nil
}

func (fp *filterParser) and() error {
	if err := fp.unary(); err != nil {
		return err
	}
	for strings.EqualFold(fp.peek(), "and") {
		fp.pos++
		if err := fp.unary(); err != nil {
			return err
		}
	}
	return nil
}

func (fp *filterParser) unary() error {
	fp.depth++
	defer func() { fp.depth-- }()
	if fp.depth > 50 {
		return errors.New("the filter nests too deeply")
	}
	t := fp.next()
	switch {
	case t == "":
		return errors.New("the filter ends too early")
	case strings.EqualFold(t, "not"):
		if fp.next() != "(" {
			return errors.New(`"not" must be followed by a parenthesised filter`)
		}
		return fp.group()
	case t == "(":
		return fp.group()
	}
	if _, err := ParseSCIMPath(t); err != nil || strings.Contains(t, "[") {
		return fmt.Errorf("%q is not an attribute path", t)
	}
	op := strings.ToLower(fp.next())
	switch op {
	case "pr":
		return nil
	case "eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le":
	case "":
		return fmt.Errorf("an operator must follow %q", t)
	default:
		return fmt.Errorf("%q is not a SCIM operator (eq, ne, co, sw, ew, gt, ge, lt, le, pr)", op)
	}
	v := fp.next()
	switch {
	case v == "":
		return fmt.Errorf("a value must follow %q", op)
	case strings.HasPrefix(v, `"`):
		if _, err := strconv.Unquote(v); err != nil {
			return fmt.Errorf("the string %s is malformed", v)
		}
	case v == "true" || v == "false" || v == "null":
	default:
		if _, err := strconv.ParseFloat(v, 64); err != nil {
			return fmt.Errorf("%q is not a value: write strings in double quotes", v)
		}
	}
	return nil
}

func (fp *filterParser) group() error {
	if err := fp.or(); err != nil {
		return err
	}
	if fp.next() != ")" {
		return errors.New("a ( has no closing )")
	}
	return nil
}
