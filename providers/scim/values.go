package scim

import (
	"maps"
	"reflect"
	"strings"
)

// appendDistinct appends v to list unless list already holds the same
// value (RFC 7643 §2.4: a multi-valued attribute has no duplicate values).
// A duplicate marked primary passes the mark to the value kept.
func appendDistinct(list []any, v any) []any {
	for i, el := range list {
		if !duplicateValue(el, v) {
			continue
		}
		if isPrimary(v) && !isPrimary(el) {
			m := maps.Clone(el.(map[string]any))
			m["primary"] = true
			list[i] = m
		}
		return list
	}
	return append(list, v)
}

// duplicateValue reports whether two values of a multi-valued attribute
// are the same value: equal value and type sub-attributes for values that
// have a value, equal sub-attributes (primary aside) otherwise.
func duplicateValue(a, b any) bool {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if !aok || !bok {
		return !aok && !bok && equalScalar(a, b)
	}
	av, aHas := am["value"]
	bv, bHas := bm["value"]
	if aHas || bHas {
		at, _ := am["type"].(string)
		bt, _ := bm["type"].(string)
		return aHas && bHas && equalScalar(av, bv) && strings.EqualFold(at, bt)
	}
	strip := func(m map[string]any) map[string]any {
		c := maps.Clone(m)
		delete(c, "primary")
		return c
	}
	return reflect.DeepEqual(strip(am), strip(bm))
}
