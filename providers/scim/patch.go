package scim

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"

	"github.com/confsync/confsync/providers/scim/filter"
)

// patchOp is one parsed PATCH operation.
type patchOp struct {
	op       string       // add, replace, remove
	path     *filter.Path // nil: no path
	value    any
	hasValue bool
}

// maxPatchOps bounds the operations of one PATCH request.
const maxPatchOps = 10000

// parsePatch reads a PatchOp request body (RFC 7644 §3.5.2). Operation
// names are matched case-insensitively (Entra sends "Replace").
func parsePatch(body map[string]any) ([]patchOp, error) {
	rawOps, ok := lookupAny(body, "Operations")
	if !ok {
		return nil, badRequest(typeInvalidSyntax, "a PATCH body needs Operations")
	}
	list, ok := rawOps.([]any)
	if !ok {
		return nil, badRequest(typeInvalidSyntax, "Operations must be a list")
	}
	if len(list) == 0 {
		return nil, badRequest(typeInvalidValue, "Operations is empty")
	}
	if len(list) > maxPatchOps {
		return nil, errorf(http.StatusRequestEntityTooLarge, typeTooMany, "at most %d operations per PATCH", maxPatchOps)
	}
	ops := make([]patchOp, 0, len(list))
	for i, it := range list {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, badRequest(typeInvalidSyntax, "operation %d is not an object", i+1)
		}
		opv, _ := lookupAny(m, "op")
		name, _ := opv.(string)
		op := patchOp{op: strings.ToLower(strings.TrimSpace(name))}
		switch op.op {
		case "add", "replace", "remove":
		default:
			return nil, badRequest(typeInvalidSyntax, "operation %d: op must be add, replace or remove", i+1)
		}
		if pv, ok := lookupAny(m, "path"); ok && pv != nil {
			ps, ok := pv.(string)
			if !ok {
				return nil, badRequest(typeInvalidPath, "operation %d: path must be a string", i+1)
			}
			if strings.TrimSpace(ps) != "" {
				p, err := filter.ParsePath(ps)
				if err != nil {
					return nil, &Error{Status: http.StatusBadRequest, SCIMType: typeInvalidPath, Detail: "operation " + itoa(i+1) + ": invalid path: " + err.Error(), Err: err}
				}
				op.path = &p
			}
		}
		var present bool
		op.value, present = lookupAny(m, "value")
		op.hasValue = op.value != nil
		if present && !op.hasValue && op.op != "remove" && op.path != nil {
			// Setting null unassigns (RFC 7643 §2.5); Entra's validator does it.
			op.op = "remove"
		}
		switch {
		case op.op == "remove" && op.path == nil:
			return nil, badRequest(typeNoTarget, "operation %d: remove needs a path", i+1)
		case op.op != "remove" && !op.hasValue:
			return nil, badRequest(typeInvalidValue, "operation %d: %s needs a value", i+1, op.op)
		case op.op != "remove" && op.path == nil:
			if _, ok := op.value.(map[string]any); !ok {
				return nil, badRequest(typeInvalidValue, "operation %d: %s without a path needs an object value", i+1, op.op)
			}
		}
		ops = append(ops, op)
	}
	return ops, nil
}

func itoa(i int) string { return strconv.Itoa(i) }

// readOnlyAttr reports whether a top-level core attribute cannot be
// written by PATCH.
func readOnlyAttr(name string) bool {
	for _, n := range []string{"id", "meta", "groups", "schemas"} {
		if strings.EqualFold(n, name) {
			return true
		}
	}
	return false
}

// applyOp applies one operation to a resource's attributes. When it adds
// or replaces a value marked primary, the other values of that attribute
// lose their primary mark (RFC 7644 §3.5.2).
func applyOp(kind *resourceKind, obj map[string]any, op patchOp) error {
	before := primaries(kind, obj)
	if err := applyOneOp(kind, obj, op); err != nil {
		return err
	}
	onePrimary(kind, obj, before)
	return nil
}

// primaries returns, per multi-valued attribute with a primary
// sub-attribute, the JSON of the values marked primary.
func primaries(kind *resourceKind, obj map[string]any) map[string]map[string]bool {
	out := map[string]map[string]bool{}
	for k, v := range obj {
		arr, ok := v.([]any)
		if !ok || !hasPrimary(kind, k) {
			continue
		}
		for _, el := range arr {
			if isPrimary(el) {
				if out[k] == nil {
					out[k] = map[string]bool{}
				}
				out[k][valueKey(el)] = true
			}
		}
	}
	return out
}

func hasPrimary(kind *resourceKind, name string) bool {
	d := kind.def("", name)
	return d != nil && d.Multi && findAttr(d.Sub, "primary") != nil
}

func isPrimary(el any) bool {
	m, ok := el.(map[string]any)
	if !ok {
		return false
	}
	b, _ := m["primary"].(bool)
	return b
}

func valueKey(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// onePrimary leaves at most one value marked primary in each multi-valued
// attribute: the first of those that were not primary before (the value
// just added or replaced), else the first one. The others get primary
// false (a copy of the value: values may be shared with the request).
func onePrimary(kind *resourceKind, obj map[string]any, before map[string]map[string]bool) {
	for k, v := range obj {
		arr, ok := v.([]any)
		if !ok || !hasPrimary(kind, k) {
			continue
		}
		var marked []int
		keep := -1
		for i, el := range arr {
			if !isPrimary(el) {
				continue
			}
			marked = append(marked, i)
			if keep < 0 && !before[k][valueKey(el)] {
				keep = i
			}
		}
		if len(marked) < 2 {
			continue
		}
		if keep < 0 {
			keep = marked[0]
		}
		out := make([]any, len(arr))
		copy(out, arr)
		for _, i := range marked {
			if i == keep {
				continue
			}
			src := arr[i].(map[string]any)
			m := make(map[string]any, len(src))
			for mk, mv := range src {
				m[mk] = mv
			}
			m["primary"] = false
			out[i] = m
		}
		obj[k] = out
	}
}

func applyOneOp(kind *resourceKind, obj map[string]any, op patchOp) error {
	if op.path != nil {
		return applyPath(kind, obj, op.op, *op.path, op.value, op.hasValue, false)
	}
	// No path: the value's keys are attribute names or, as Entra sends them,
	// attribute paths ("name.givenName", full extension URNs).
	for k, v := range op.value.(map[string]any) {
		if readOnlyAttr(k) || strings.EqualFold(k, "password") {
			continue // Okta repeats id in a path-less replace
		}
		if ext := kind.extension(k); ext != nil {
			m, ok := v.(map[string]any)
			if !ok {
				if v == nil {
					continue
				}
				return badRequest(typeInvalidValue, "%s must be an object", ext.ID)
			}
			for ek, ev := range m {
				if err := applyPath(kind, obj, op.op, filter.Path{Attr: filter.AttrPath{URN: ext.ID, Name: ek}}, ev, ev != nil, true); err != nil {
					return err
				}
			}
			continue
		}
		p, err := filter.ParsePath(k)
		if err != nil || (strings.HasPrefix(strings.ToLower(k), "urn:") && isObject(v) && kind.def(p.Attr.URN, p.Attr.Name) == nil) {
			// An unknown extension object, or a key that is no path: kept as sent.
			if v == nil {
				delete(obj, k)
			} else {
				obj[k] = v
			}
			continue
		}
		if err := applyPath(kind, obj, op.op, p, v, v != nil, true); err != nil {
			return err
		}
	}
	return nil
}

func isObject(v any) bool { _, ok := v.(map[string]any); return ok }

// isEmptyComplex reports whether v is a complex value with nothing in it
// but empty strings and nulls.
func isEmptyComplex(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case map[string]any:
		for _, sv := range x {
			if !isEmptyComplex(sv) {
				return false
			}
		}
		return true
	case []any:
		for _, sv := range x {
			if !isEmptyComplex(sv) {
				return false
			}
		}
		return true
	}
	return false
}

func deleteFold(m map[string]any, k string) {
	for mk := range m {
		if strings.EqualFold(mk, k) {
			delete(m, mk)
		}
	}
}

// containsValue reports whether list holds v, comparing complex values by
// their "value" sub-attribute when both have one.
func containsValue(list []any, v any) bool {
	for _, el := range list {
		if sameValue(el, v) {
			return true
		}
	}
	return false
}

func sameValue(a, b any) bool {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if aok && bok {
		av, ok1 := lookupAny(am, "value")
		bv, ok2 := lookupAny(bm, "value")
		if ok1 && ok2 {
			return equalScalar(av, bv)
		}
		if len(am) != len(bm) {
			return false
		}
		for k, v := range am {
			w, ok := lookupAny(bm, k)
			if !ok || !equalScalar(v, w) {
				return false
			}
		}
		return true
	}
	if aok {
		av, _ := lookupAny(am, "value")
		return equalScalar(av, b)
	}
	if bok {
		bv, _ := lookupAny(bm, "value")
		return equalScalar(a, bv)
	}
	return equalScalar(a, b)
}

func equalScalar(a, b any) bool {
	as, aok := a.(string)
	bs, bok := b.(string)
	if aok && bok {
		return as == bs
	}
	switch a.(type) {
	case map[string]any, []any:
		return false
	}
	switch b.(type) {
	case map[string]any, []any:
		return false
	}
	return a == b
}

// applyFiltered applies op to the elements of a multi-valued attribute
// selected by f (emails[type eq "work"], emails[type eq "work"].value).
func applyFiltered(kind *resourceKind, container map[string]any, key string, def *attrDef, op string, f filter.Expr, sub string, subDef *attrDef, value any, hasValue bool) error {
	var arr []any
	switch x := container[key].(type) {
	case []any:
		arr = x
	case map[string]any:
		arr = []any{x}
	case nil:
	default:
		return badRequest(typeInvalidPath, "%s is not multi-valued", key)
	}
	parent := key
	ce := func(_, name, _ string) bool { return kind.caseExact("", parent, name) }
	var matches []int
	for i, el := range arr {
		if m, ok := el.(map[string]any); ok && filter.Match(f, m, ce) {
			matches = append(matches, i)
		}
	}
	store := func(a []any) {
		if len(a) == 0 {
			delete(container, key)
		} else {
			container[key] = a
		}
	}
	if op == "remove" {
		if sub != "" {
			for _, i := range matches {
				deleteFold(arr[i].(map[string]any), sub)
			}
			store(arr)
			return nil
		}
		kept := arr[:0:0]
		j := 0
		for i, el := range arr {
			if j < len(matches) && matches[j] == i {
				j++
				continue
			}
			kept = append(kept, el)
		}
		store(kept)
		return nil
	}
	elemDef := def
	if def != nil {
		d := *def
		d.Multi = false
		elemDef = &d
	}
	if len(matches) == 0 {
		// Entra replaces emails[type eq "work"].value on a user without a
		// work e-mail and expects the element to be created.
		seed, ok := equalities(f)
		if !ok {
			return badRequest(typeNoTarget, "no value of %s matches the filter, and the filter does not say how to create one", key)
		}
		el := map[string]any{}
		for k, v := range seed {
			el[k] = v
		}
		if sub != "" {
			if err := setAttr(el, subDef, sub, value); err != nil {
				return err
			}
		} else {
			nv, err := normalizeSingle(orString(elemDef), key, value)
			if err != nil {
				return err
			}
			if m, ok := nv.(map[string]any); ok {
				for k, v := range m {
					el[k] = v
				}
			}
		}
		if isEmptyComplex(el) || (sub != "" && isEmpty(value)) {
			return nil
		}
		store(append(arr, el))
		return nil
	}
	for _, i := range matches {
		el := arr[i].(map[string]any)
		if sub != "" {
			if err := setAttr(el, subDef, sub, value); err != nil {
				return err
			}
			continue
		}
		nv, err := normalizeSingle(orString(elemDef), key, value)
		if err != nil {
			return err
		}
		nm, ok := nv.(map[string]any)
		if !ok {
			return badRequest(typeInvalidValue, "%s values are objects", key)
		}
		if op == "replace" {
			seed, _ := equalities(f)
			fresh := map[string]any{}
			for k, v := range seed {
				fresh[k] = v
			}
			for k, v := range nm {
				fresh[k] = v
			}
			arr[i] = fresh
		} else {
			for k, v := range nm {
				deleteFold(el, k)
				el[k] = v
			}
		}
	}
	store(arr)
	return nil
}

// orString returns d, or a complex definition without sub-attributes for
// unknown multi-valued attributes.
func orString(d *attrDef) *attrDef {
	if d != nil {
		return d
	}
	return &attrDef{Type: "complex"}
}

// equalities returns the attribute values a filter made only of `eq`
// comparisons joined by `and` requires.
func equalities(f filter.Expr) (map[string]any, bool) {
	switch x := f.(type) {
	case *filter.Compare:
		if x.Op != filter.Eq || x.Attr.Sub != "" || x.Attr.URN != "" {
			return nil, false
		}
		return map[string]any{x.Attr.Name: x.Value}, true
	case *filter.And:
		l, ok := equalities(x.L)
		if !ok {
			return nil, false
		}
		r, ok := equalities(x.R)
		if !ok {
			return nil, false
		}
		for k, v := range r {
			l[k] = v
		}
		return l, true
	}
	return nil, false
}
