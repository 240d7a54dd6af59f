package scim

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/confsync/confsync/providers/scim/filter"
)

// readJSONObject reads the request body as one JSON object, numbers kept
// as json.Number so that values are stored as they were sent.
func readJSONObject(r *http.Request) (map[string]any, error) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, badRequest(typeInvalidSyntax, "could not read the request body")
	}
	return decodeObject(body)
}

// decodeObject parses body as one JSON object.
func decodeObject(body []byte) (map[string]any, error) {
	if !utf8.Valid(body) {
		// The decoder would replace the bytes with U+FFFD: a different name
		// than the one sent, which could then collide with another.
		return nil, badRequest(typeInvalidSyntax, "the request body is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, &Error{Status: http.StatusBadRequest, SCIMType: typeInvalidSyntax, Detail: "the request body is not valid JSON: " + jsonErrorDetail(err), Err: err}
	}
	if dec.More() {
		return nil, badRequest(typeInvalidSyntax, "the request body holds more than one JSON value")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, badRequest(typeInvalidSyntax, "the request body must be a JSON object")
	}
	if !cleanStrings(m, 0) {
		return nil, badRequest(typeInvalidValue, "strings may not contain NUL characters, and objects may not nest deeper than 64 levels")
	}
	if tooLong(m) {
		return nil, badRequest(typeInvalidValue, "a value is longer than %d bytes", maxValueBytes)
	}
	if n, ok := badNumber(m); ok {
		return nil, badRequest(typeInvalidValue, "the number %s is out of range: numbers must fit a 64-bit floating point value", truncate(n, 40))
	}
	return m, nil
}

// Limits on single values, so that one request cannot store a value no
// reader wants (a 1 MB userName).
const (
	// maxNameBytes bounds userName, displayName and externalId.
	maxNameBytes = 1024
	// maxValueBytes bounds every string and object key of a body.
	maxValueBytes = 64 << 10
	// maxMultiValues bounds the values of a multi-valued attribute (group
	// members, which are rows, are not bounded).
	maxMultiValues = 1000
)

// tooLong reports whether a string or key in v is longer than maxValueBytes.
func tooLong(v any) bool {
	switch x := v.(type) {
	case string:
		return len(x) > maxValueBytes
	case map[string]any:
		for k, e := range x {
			if len(k) > maxValueBytes || tooLong(e) {
				return true
			}
		}
	case []any:
		for _, e := range x {
			if tooLong(e) {
				return true
			}
		}
	}
	return false
}

// checkStoredLimits checks the attributes about to be stored (group
// members are not among them): the names at most maxNameBytes long and no
// list longer than maxMultiValues.
func checkStoredLimits(attrs map[string]any, names ...string) error {
	for _, n := range names {
		if s := getString(attrs, n); len(s) > maxNameBytes {
			return badRequest(typeInvalidValue, "%s is %d bytes long; at most %d are allowed", n, len(s), maxNameBytes)
		}
	}
	if k, n := longList("", attrs); n > 0 {
		return badRequest(typeInvalidValue, "%s has %d values; at most %d are allowed", k, n, maxMultiValues)
	}
	return nil
}

// longList returns the name and length of a list in v with more than
// maxMultiValues values.
func longList(name string, v any) (string, int) {
	switch x := v.(type) {
	case []any:
		if len(x) > maxMultiValues {
			return name, len(x)
		}
		for _, e := range x {
			if k, n := longList(name, e); n > 0 {
				return k, n
			}
		}
	case map[string]any:
		for k, e := range x {
			if kk, n := longList(k, e); n > 0 {
				return kk, n
			}
		}
	}
	return "", 0
}

// badNumber returns the first number in v that does not fit a float64
// (such as 1e999), which no reader of the stored resource could decode.
func badNumber(v any) (string, bool) {
	switch x := v.(type) {
	case json.Number:
		if _, err := strconv.ParseFloat(string(x), 64); err != nil {
			return string(x), true
		}
	case map[string]any:
		for _, e := range x {
			if n, bad := badNumber(e); bad {
				return n, true
			}
		}
	case []any:
		for _, e := range x {
			if n, bad := badNumber(e); bad {
				return n, true
			}
		}
	}
	return "", false
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "..."
}

// decodeStored decodes a stored resource's attributes, numbers kept as
// json.Number (as they were when written), so that no stored value can
// make a read fail.
func decodeStored(raw []byte) (map[string]any, error) {
	m := map[string]any{}
	if len(raw) == 0 {
		return m, nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil {
		m = map[string]any{}
	}
	return m, nil
}

// cleanStrings reports whether no key or string in v holds a NUL (which
// PostgreSQL cannot store) and v nests at most 64 levels.
func cleanStrings(v any, depth int) bool {
	if depth > 64 {
		return false
	}
	switch x := v.(type) {
	case string:
		return !strings.ContainsRune(x, 0)
	case map[string]any:
		for k, e := range x {
			if strings.ContainsRune(k, 0) || !cleanStrings(e, depth+1) {
				return false
			}
		}
	case []any:
		for _, e := range x {
			if !cleanStrings(e, depth+1) {
				return false
			}
		}
	}
	return true
}

func jsonErrorDetail(err error) string {
	var se *json.SyntaxError
	if errors.As(err, &se) {
		return se.Error() + " at offset " + strconv.FormatInt(se.Offset, 10)
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return "unexpected end of input"
	}
	return "malformed"
}

// bookkeeping are top-level keys the server owns or never keeps.
var bookkeeping = []string{"schemas", "id", "meta", "groups", "password"}

func isBookkeeping(k string) bool {
	for _, b := range bookkeeping {
		if strings.EqualFold(k, b) {
			return true
		}
	}
	return false
}

// normalizeResource turns a decoded request body into the attributes the
// store keeps: bookkeeping removed, known attribute names in their
// canonical case, values checked against their types ("True" accepted for
// booleans), nulls dropped, extension attributes kept. For groups,
// members are left out (the caller takes them first).
func normalizeResource(kind *resourceKind, in map[string]any) (map[string]any, error) {
	out := map[string]any{}
	for k, v := range in {
		if isBookkeeping(k) || (kind == groupKind && strings.EqualFold(k, "members")) {
			continue
		}
		if err := setTopLevel(kind, out, k, v); err != nil {
			return nil, err
		}
	}
	// RFC 7643 §2.4: primary true appears at most once; the first wins.
	onePrimary(kind, out, nil)
	return out, nil
}

// setTopLevel stores one top-level key of a resource into out.
func setTopLevel(kind *resourceKind, out map[string]any, k string, v any) error {
	if strings.HasPrefix(strings.ToLower(k), "urn:") {
		if ext := kind.extension(k); ext != nil {
			obj, ok := v.(map[string]any)
			if v == nil {
				delete(out, ext.ID)
				return nil
			}
			if !ok {
				return badRequest(typeInvalidValue, "%s must be an object", ext.ID)
			}
			dst, _ := out[ext.ID].(map[string]any)
			if dst == nil {
				dst = map[string]any{}
			}
			for ek, ev := range obj {
				if err := setAttr(dst, ext.attr(ek), ek, ev); err != nil {
					return err
				}
			}
			if len(dst) > 0 {
				out[ext.ID] = dst
			} else {
				delete(out, ext.ID)
			}
			return nil
		}
		// An attribute written with its full extension path as the key.
		if ap, err := filter.ParseAttrPath(k); err == nil && ap.Sub == "" {
			if ext := kind.extension(ap.URN); ext != nil {
				dst, _ := out[ext.ID].(map[string]any)
				if dst == nil {
					dst = map[string]any{}
				}
				if err := setAttr(dst, ext.attr(ap.Name), ap.Name, v); err != nil {
					return err
				}
				if len(dst) > 0 {
					out[ext.ID] = dst
				} else {
					delete(out, ext.ID)
				}
				return nil
			}
		}
		// Another extension: kept as sent.
		if v == nil {
			delete(out, k)
		} else {
			out[k] = v
		}
		return nil
	}
	if ext := kind.extensionOf(k); ext != nil {
		return setTopLevel(kind, out, ext.ID, map[string]any{k: v})
	}
	return setAttr(out, kind.def("", k), k, v)
}

// setAttr stores v as attribute k of obj, normalized according to def (nil
// for an unknown attribute, which is kept as sent).
func setAttr(obj map[string]any, def *attrDef, k string, v any) error {
	name := k
	if def != nil {
		name = def.Name
	}
	for ok := range obj {
		if ok != name && strings.EqualFold(ok, name) {
			delete(obj, ok)
		}
	}
	nv, err := normalizeValue(def, name, v)
	if err != nil {
		return err
	}
	if isEmpty(nv) {
		delete(obj, name)
		return nil
	}
	obj[name] = nv
	return nil
}

func isEmpty(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case string:
		return x == ""
	case map[string]any:
		return len(x) == 0
	}
	return false
}

// normalizeValue checks v against def and returns it normalized.
func normalizeValue(def *attrDef, name string, v any) (any, error) {
	if v == nil || def == nil {
		return v, nil
	}
	if def.Multi {
		var items []any
		switch x := v.(type) {
		case []any:
			items = x
		default:
			items = []any{x} // a single value for a multi-valued attribute
		}
		out := make([]any, 0, len(items))
		for _, it := range items {
			nv, err := normalizeSingle(def, name, it)
			if err != nil {
				return nil, err
			}
			if !isEmpty(nv) {
				out = appendDistinct(out, nv)
			}
		}
		return out, nil
	}
	return normalizeSingle(def, name, v)
}

func normalizeSingle(def *attrDef, name string, v any) (any, error) {
	if v == nil {
		return nil, nil
	}
	switch def.Type {
	case "complex":
		if arr, ok := v.([]any); ok && len(arr) == 1 {
			v = arr[0] // a one-element list for a single complex value (Entra's manager)
		}
		switch x := v.(type) {
		case map[string]any:
			out := map[string]any{}
			for k, sv := range x {
				sd := findAttr(def.Sub, k)
				if sd != nil && sd.Mutability == "readOnly" && def.Name != "members" {
					continue
				}
				if err := setAttr(out, sd, k, sv); err != nil {
					return nil, err
				}
			}
			return out, nil
		case string:
			// Entra sends manager (and other references) as a bare id.
			if findAttr(def.Sub, "value") != nil {
				if x == "" {
					return nil, nil
				}
				return map[string]any{"value": x}, nil
			}
		}
		return nil, badRequest(typeInvalidValue, "%s must be an object", name)
	case "boolean":
		switch x := v.(type) {
		case bool:
			return x, nil
		case string:
			if b, err := strconv.ParseBool(strings.ToLower(strings.TrimSpace(x))); err == nil {
				return b, nil
			}
		}
		return nil, badRequest(typeInvalidValue, "%s must be a boolean", name)
	case "integer", "decimal":
		if n, ok := v.(json.Number); ok {
			return n, nil
		}
		return nil, badRequest(typeInvalidValue, "%s must be a number", name)
	case "dateTime":
		s, ok := v.(string)
		if !ok {
			return nil, badRequest(typeInvalidValue, "%s must be a dateTime string", name)
		}
		if s != "" {
			if _, err := time.Parse(time.RFC3339Nano, s); err != nil {
				return nil, badRequest(typeInvalidValue, "%s must be an xsd:dateTime such as 2024-01-02T15:04:05Z", name)
			}
		}
		return s, nil
	default: // string, reference, binary
		if s, ok := v.(string); ok {
			return s, nil
		}
		return nil, badRequest(typeInvalidValue, "%s must be a string", name)
	}
}

// getString returns a top-level string attribute.
func getString(obj map[string]any, name string) string {
	v, _ := filter.Lookup(obj, name)
	s, _ := v.(string)
	return s
}

// timeFormat is how meta times are written.
const timeFormat = "2006-01-02T15:04:05.000Z07:00"

func etag(version int64) string { return `W/"` + strconv.FormatInt(version, 10) + `"` }

// parseETag reads an If-Match value: W/"n", "n", n or *. It returns 0 for
// * (any version) and ok false for a malformed or unmatchable value.
func parseETag(s string) (int64, bool) {
	s = strings.TrimSpace(s)
	if s == "*" {
		return 0, true
	}
	s = strings.TrimPrefix(s, "W/")
	s = strings.Trim(s, `"`)
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil || n <= 0 {
		return 0, false
	}
	return n, true
}

// ifMatch returns the version the request requires (0: none).
func ifMatch(r *http.Request, current int64) (int64, error) {
	h := r.Header.Get("If-Match")
	if h == "" {
		return 0, nil
	}
	for _, part := range strings.Split(h, ",") {
		v, ok := parseETag(part)
		if ok && (v == 0 || v == current) {
			return current, nil
		}
	}
	return 0, errorf(http.StatusPreconditionFailed, typeInvalidVers, "the resource's version %s does not match If-Match", etag(current))
}

// writeVersioned answers a GET of a resource at version v: 304 Not Modified
// when the client's If-None-Match names that version, else the rendered
// resource, each with its ETag.
func writeVersioned(w http.ResponseWriter, r *request, v int64, render func() (map[string]any, error)) error {
	if inm := r.Header.Get("If-None-Match"); inm != "" {
		if cv, ok := parseETag(inm); ok && cv == v {
			w.Header().Set("ETag", etag(v))
			w.WriteHeader(http.StatusNotModified)
			return nil
		}
	}
	res, err := render()
	if err != nil {
		return err
	}
	w.Header().Set("ETag", etag(v))
	return writeJSON(w, http.StatusOK, res)
}

func writeJSON(w http.ResponseWriter, status int, v any) error {
	body, err := json.Marshal(v)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return nil
}

// projection is a request's attributes / excludedAttributes.
type projection struct {
	include []filter.AttrPath
	exclude []filter.AttrPath
	// list is set for list and search answers, where a user's groups are
	// returned only when asked for by name (they cost a query per user).
	list bool
}

func parseProjection(attrs, excluded string) (projection, error) {
	var p projection
	var err error
	if p.include, err = parseAttrList(attrs); err != nil {
		return p, err
	}
	p.exclude, err = parseAttrList(excluded)
	return p, err
}

func parseAttrList(s string) ([]filter.AttrPath, error) {
	var out []filter.AttrPath
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		p, err := filter.ParsePath(part)
		if err != nil {
			return nil, badRequest(typeInvalidValue, "invalid attribute %q: %v", part, err)
		}
		ap := p.Attr
		if p.SubAfter != "" {
			ap.Sub = p.SubAfter
		}
		out = append(out, ap)
	}
	return out, nil
}

// names reports whether attributes names a top-level attribute.
func (p projection) names(name string) bool {
	for _, a := range p.include {
		if a.URN == "" && strings.EqualFold(a.Name, name) {
			return true
		}
	}
	return false
}

// wants reports whether a top-level attribute is returned.
func (p projection) wants(name string) bool {
	for _, a := range p.exclude {
		if a.URN == "" && a.Sub == "" && strings.EqualFold(a.Name, name) {
			return false
		}
	}
	if len(p.include) == 0 {
		return true
	}
	for _, a := range p.include {
		if a.URN == "" && strings.EqualFold(a.Name, name) {
			return true
		}
	}
	return false
}

// apply filters a rendered resource. id, schemas and meta.resourceType... are
// always returned (RFC 7643 "returned": "always" for id).
func (p projection) apply(kind *resourceKind, res map[string]any) map[string]any {
	if len(p.include) > 0 {
		out := map[string]any{"schemas": res["schemas"], "id": res["id"]}
		for _, a := range p.include {
			copyPath(kind, out, res, a)
		}
		res = out
	}
	for _, a := range p.exclude {
		removePath(kind, res, a)
	}
	return res
}

// container returns the object holding a's attribute (the resource or an
// extension object) and the key under which it lives in res.
func containerKey(kind *resourceKind, a filter.AttrPath) (string, bool) {
	if a.URN == "" || strings.HasPrefix(strings.ToLower(a.URN), filter.CoreURNPrefix) {
		return "", true
	}
	if ext := kind.extension(a.URN); ext != nil {
		return ext.ID, true
	}
	return a.URN, true
}

func copyPath(kind *resourceKind, dst, src map[string]any, a filter.AttrPath) {
	ck, _ := containerKey(kind, a)
	// attributes=urn:...:enterprise:2.0:User names the whole extension.
	if a.URN != "" && a.Sub == "" {
		if _, ok := filter.Lookup(src, a.URN+":"+a.Name); ok {
			ck = ""
			a = filter.AttrPath{Name: a.URN + ":" + a.Name}
		}
	}
	from, to := src, dst
	if ck != "" {
		ext, ok := filter.Lookup(src, ck)
		m, isMap := ext.(map[string]any)
		if !ok || !isMap {
			return
		}
		from = m
		tm, _ := dst[ck].(map[string]any)
		if tm == nil {
			tm = map[string]any{}
			dst[ck] = tm
		}
		to = tm
	}
	key, v, ok := lookupKey(from, a.Name)
	if !ok {
		return
	}
	if a.Sub == "" {
		to[key] = v
		return
	}
	switch x := v.(type) {
	case map[string]any:
		sk, sv, ok := lookupKey(x, a.Sub)
		if !ok {
			return
		}
		tm, _ := to[key].(map[string]any)
		if tm == nil {
			tm = map[string]any{}
			to[key] = tm
		}
		tm[sk] = sv
	case []any:
		if _, full := to[key].([]any); full {
			return
		}
		var out []any
		for _, el := range x {
			if m, ok := el.(map[string]any); ok {
				if sk, sv, ok := lookupKey(m, a.Sub); ok {
					out = append(out, map[string]any{sk: sv})
				}
			}
		}
		if out != nil {
			to[key] = out
		}
	}
}

func removePath(kind *resourceKind, res map[string]any, a filter.AttrPath) {
	if strings.EqualFold(a.Name, "id") && a.URN == "" || strings.EqualFold(a.Name, "schemas") {
		return
	}
	ck, _ := containerKey(kind, a)
	obj := res
	if ck != "" {
		m, ok := res[ck].(map[string]any)
		if !ok {
			return
		}
		obj = m
	}
	key, v, ok := lookupKey(obj, a.Name)
	if !ok {
		return
	}
	if a.Sub == "" {
		delete(obj, key)
		return
	}
	switch x := v.(type) {
	case map[string]any:
		if sk, _, ok := lookupKey(x, a.Sub); ok {
			delete(x, sk)
		}
	case []any:
		for _, el := range x {
			if m, ok := el.(map[string]any); ok {
				if sk, _, ok := lookupKey(m, a.Sub); ok {
					delete(m, sk)
				}
			}
		}
	}
}

func lookupKey(obj map[string]any, name string) (string, any, bool) {
	if v, ok := obj[name]; ok {
		return name, v, true
	}
	for k, v := range obj {
		if strings.EqualFold(k, name) {
			return k, v, true
		}
	}
	return "", nil, false
}
