package scim

import (
	"strings"

	"github.com/confsync/confsync/providers/scim/filter"
)

// applyPath applies op at path p. pathless says the path came from a key of
// a path-less value, where read-only attributes are skipped, not refused.
// Its steps: a whole extension; the schema the attribute is in; attributes
// never stored; the object that holds it; its key; then a value filter, a
// sub-attribute or the attribute itself.
func applyPath(kind *resourceKind, obj map[string]any, op string, p filter.Path, value any, hasValue, pathless bool) error {
	if done, err := applyWholeExtension(kind, obj, op, p, value); done {
		return err
	}
	a := p.Attr
	urn := attrSchema(kind, a)
	if urn == "" && strings.EqualFold(a.Name, "password") {
		return nil // accepted and discarded: confsync never stores passwords
	}
	if urn == "" && readOnlyAttr(a.Name) {
		if pathless {
			return nil
		}
		return badRequest(typeMutability, "%s is read-only", a.Name)
	}
	container, put := attrContainer(kind, obj, urn, op)
	if container == nil {
		return nil // removing from an extension that is not there
	}
	defer put()
	def, key := attrKey(kind, container, urn, a.Name)
	sub := p.Sub()
	var subDef *attrDef
	if def != nil && sub != "" {
		subDef = findAttr(def.Sub, sub)
		if subDef != nil {
			sub = subDef.Name
		}
	}
	if p.Filter != nil {
		return applyFiltered(kind, container, key, def, op, p.Filter, sub, subDef, value, hasValue)
	}
	if sub != "" {
		return applySubAttr(container, key, def, op, sub, subDef, value)
	}
	switch op {
	case "remove":
		applyRemove(container, key, def, value, hasValue)
		return nil
	case "add":
		if done, err := applyAddValues(container, key, def, value); done {
			return err
		}
	}
	return applyReplace(container, key, def, value) // replace, or add of a single value
}

// applyWholeExtension applies op to a path naming a whole extension
// ("urn:...:enterprise:2.0:User"); done is false for any other path.
func applyWholeExtension(kind *resourceKind, obj map[string]any, op string, p filter.Path, value any) (done bool, err error) {
	if p.Filter != nil || p.Attr.Sub != "" {
		return false, nil
	}
	ext := kind.extension(p.Attr.String())
	if ext == nil {
		return false, nil
	}
	if op == "remove" {
		delete(obj, ext.ID)
		return true, nil
	}
	m, ok := value.(map[string]any)
	if !ok {
		return true, badRequest(typeInvalidValue, "%s must be an object", ext.ID)
	}
	if op == "replace" {
		delete(obj, ext.ID)
	}
	return true, setTopLevel(kind, obj, ext.ID, m)
}

// attrSchema returns the extension schema URN the attribute is in, "" for
// the core schema (written with the core URN, or without one).
func attrSchema(kind *resourceKind, a filter.AttrPath) string {
	urn := a.URN
	if urn != "" && (strings.HasPrefix(strings.ToLower(urn), filter.CoreURNPrefix) && kind.extension(urn) == nil) {
		urn = ""
	}
	if urn == "" {
		if ext := kind.extensionOf(a.Name); ext != nil {
			urn = ext.ID
		}
	}
	return urn
}

// attrContainer returns the object that holds the attribute: obj for the
// core schema, else the extension's object, created when missing (nil when
// op is remove and there is none). put, deferred by the caller, stores the
// extension object back, or drops it when it ended up empty.
func attrContainer(kind *resourceKind, obj map[string]any, urn, op string) (container map[string]any, put func()) {
	if urn == "" {
		return obj, func() {}
	}
	extKey := urn
	if ext := kind.extension(urn); ext != nil {
		extKey = ext.ID
	} else if k, _, ok := lookupKey(obj, urn); ok {
		extKey = k
	}
	m, _ := obj[extKey].(map[string]any)
	if m == nil {
		if op == "remove" {
			return nil, nil
		}
		m = map[string]any{}
	}
	return m, func() {
		if len(m) == 0 {
			delete(obj, extKey)
		} else {
			obj[extKey] = m
		}
	}
}

// attrKey returns the attribute's definition (nil when unknown) and the key
// it is stored under, folding differently-cased duplicates into that key.
func attrKey(kind *resourceKind, container map[string]any, urn, name string) (*attrDef, string) {
	def := kind.def(urn, name)
	key := name
	if def != nil {
		key = def.Name
	} else if k, _, ok := lookupKey(container, name); ok {
		key = k
	}
	for k := range container {
		if k != key && strings.EqualFold(k, key) {
			container[key] = container[k]
			delete(container, k)
		}
	}
	return def, key
}

// applySubAttr applies op to a sub-attribute without a value filter.
func applySubAttr(container map[string]any, key string, def *attrDef, op, sub string, subDef *attrDef, value any) error {
	if def != nil && def.Type != "complex" {
		return badRequest(typeInvalidPath, "%s has no sub-attributes", key)
	}
	cur := container[key]
	if arr, ok := cur.([]any); ok || (def != nil && def.Multi) {
		if op != "remove" {
			return badRequest(typeInvalidPath, "%s.%s: use a value filter to select which %s to change", key, sub, key)
		}
		for _, el := range arr {
			if m, ok := el.(map[string]any); ok {
				deleteFold(m, sub)
			}
		}
		return nil
	}
	m, _ := cur.(map[string]any)
	if op == "remove" {
		if m != nil {
			deleteFold(m, sub)
			if len(m) == 0 {
				delete(container, key)
			}
		}
		return nil
	}
	if m == nil {
		m = map[string]any{}
	}
	if err := setAttr(m, subDef, sub, value); err != nil {
		return err
	}
	if len(m) == 0 {
		delete(container, key)
	} else {
		container[key] = m
	}
	return nil
}

// applyRemove removes the attribute, or with a value the listed values of
// a multi-valued one (Entra removes members this way).
func applyRemove(container map[string]any, key string, def *attrDef, value any, hasValue bool) {
	if arr, isArr := container[key].([]any); hasValue && isArr {
		del, _ := normalizeValue(def, key, value)
		if dl, ok := del.([]any); ok || del != nil {
			if !ok {
				dl = []any{del}
			}
			kept := arr[:0:0]
			for _, el := range arr {
				if !containsValue(dl, el) {
					kept = append(kept, el)
				}
			}
			if len(kept) == 0 {
				delete(container, key)
			} else {
				container[key] = kept
			}
			return
		}
	}
	delete(container, key)
}

// applyAddValues appends to a multi-valued attribute that is present;
// done is false when the add sets a single value instead (applyReplace).
func applyAddValues(container map[string]any, key string, def *attrDef, value any) (done bool, err error) {
	cur, exists := container[key]
	if arr, isArr := cur.([]any); isArr && def == nil {
		// An unknown multi-valued attribute: append, as for known ones.
		items, ok := value.([]any)
		if !ok {
			items = []any{value}
		}
		for _, el := range items {
			if !containsValue(arr, el) {
				arr = append(arr, el)
			}
		}
		container[key] = arr
		return true, nil
	}
	if exists && def != nil && def.Multi {
		nv, err := normalizeValue(def, key, value)
		if err != nil {
			return true, err
		}
		arr, _ := cur.([]any)
		for _, el := range nv.([]any) {
			if !containsValue(arr, el) {
				arr = append(arr, el)
			}
		}
		container[key] = arr
		return true, nil
	}
	return false, nil
}

// applyReplace sets the attribute; a single-valued complex one that is
// present is merged into, and replacing it with an empty value clears it
// (Entra's manager removal).
func applyReplace(container map[string]any, key string, def *attrDef, value any) error {
	cur, exists := container[key]
	if m, ok := cur.(map[string]any); ok && exists && def != nil && def.Type == "complex" && !def.Multi {
		nv, err := normalizeValue(def, key, value)
		if err != nil {
			return err
		}
		nm, _ := nv.(map[string]any)
		if len(nm) == 0 {
			if isEmptyComplex(value) {
				delete(container, key)
			}
			return nil
		}
		for k, v := range nm {
			deleteFold(m, k)
			m[k] = v
		}
		return nil
	}
	return setAttr(container, def, key, value)
}
