package config

import (
	"fmt"
	"math/big"
	"path/filepath"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
)

// loader carries what every decode function needs: the evaluation context
// and what was read while evaluating.
type loader struct {
	cfg    *Config
	getenv func(string) string
	ctx    *hcl.EvalContext

	varVals map[string]cty.Value // by variable name; unknown when unset
	varText map[string]string    // canonical text of each value, for the hash
	// secrets are the string values of sensitive variables, blanked out of
	// every diagnostic.
	secrets []string
	// blank are the source ranges of sensitive defaults, blanked out of
	// snippets whatever they hold.
	blank []hcl.Range

	envRead   map[string]string // env() calls, for the hash
	filesRead map[string][]byte // file() calls, for the hash

	// partial is set when a file had syntax errors and was not decoded:
	// a variable it declares is then not reported as undeclared.
	partial bool

	// groupRefs records every Confluence group a mapping writes to, for the
	// protected-group check that spans blocks.
	groupRefs []groupRef
}

// groupRef is a Confluence group named by a mapping.
type groupRef struct {
	name string
	what string // "map.to", "default_groups_new", ...
	idp  string
	rng  hcl.Range
}

// sensitiveMark marks cty values that come from sensitive variables.
type sensitiveMark struct{}

// item is one evaluated element of a list, with its own range.
type item struct {
	Value string
	Range hcl.Range
}

// eval evaluates expr in the configuration's context, reporting references
// to undeclared variables by name.
func (l *loader) eval(expr hcl.Expression) (cty.Value, hcl.Diagnostics) {
	var diags hcl.Diagnostics
	for _, t := range expr.Variables() {
		if t.RootName() != "var" {
			continue
		}
		if len(t) < 2 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid variable reference",
				Detail:   `Refer to a variable by name, as var.NAME.`,
				Subject:  t.SourceRange().Ptr(),
			})
			continue
		}
		var name string
		switch s := t[1].(type) {
		case hcl.TraverseAttr:
			name = s.Name
		case hcl.TraverseIndex:
			if s.Key.Type() == cty.String && s.Key.IsKnown() && !s.Key.IsNull() {
				name = s.Key.AsString()
			}
		}
		if _, ok := l.cfg.Variables[name]; !ok {
			if l.partial {
				// Perhaps declared in the file that did not parse.
				return cty.DynamicVal, diags
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Reference to undeclared variable",
				Detail:   fmt.Sprintf("No variable named %q is declared. Declare it with a variable %q { } block.", name, name),
				Subject:  t.SourceRange().Ptr(),
			})
		}
	}
	if diags.HasErrors() {
		return cty.DynamicVal, diags
	}
	v, d := expr.Value(l.ctx)
	return v, append(diags, d...)
}

// evalAs evaluates an attribute and converts it to ty. ok is false when
// the value is null (the attribute counts as unset), unknown (a variable
// without a value, already reported) or wrong. Sensitive values are refused unless allowSensitive.
func (l *loader) evalAs(attr *hcl.Attribute, ty cty.Type, what string, allowSensitive bool) (cty.Value, bool, hcl.Diagnostics) {
	v, diags := l.eval(attr.Expr)
	if diags.HasErrors() || !v.IsWhollyKnown() {
		return cty.NilVal, false, diags
	}
	if v.IsNull() {
		// As in Terraform, null means "not set": the default applies.
		return cty.NilVal, false, diags
	}
	sensitive := v.ContainsMarked()
	if sensitive && !allowSensitive {
		return cty.NilVal, false, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Sensitive value not allowed here",
			Detail:   fmt.Sprintf("The %s attribute is not secret and may be shown in plans and logs, so it cannot take a value derived from a sensitive variable.", attr.Name),
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	uv, _ := v.UnmarkDeep()
	cv, err := convert.Convert(uv, ty)
	if err != nil {
		return cty.NilVal, false, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Incorrect attribute value type",
			Detail:   fmt.Sprintf("Inappropriate value for attribute %q: %s required.", attr.Name, what),
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	if !cv.IsWhollyKnown() {
		return cty.NilVal, false, diags
	}
	return cv, true, diags
}

// isSet reports whether attr is present and not null.
func (l *loader) isSet(attr *hcl.Attribute) bool {
	if attr == nil {
		return false
	}
	v, _ := attr.Expr.Value(l.ctx)
	return !v.IsNull()
}

// str decodes a string attribute that may not be sensitive.
func (l *loader) str(attr *hcl.Attribute) (string, bool, hcl.Diagnostics) {
	v, ok, diags := l.evalAs(attr, cty.String, "string", false)
	if !ok {
		return "", false, diags
	}
	return v.AsString(), true, diags
}

// secret decodes a string attribute that holds a secret.
func (l *loader) secret(attr *hcl.Attribute) (Secret, bool, hcl.Diagnostics) {
	v, ok, diags := l.evalAs(attr, cty.String, "string", true)
	if !ok {
		return "", false, diags
	}
	// Whatever its origin (a literal, env(), file()), a secret is blanked
	// out of every diagnostic like a sensitive variable.
	if s := v.AsString(); strings.TrimSpace(s) != "" {
		l.secrets = append(l.secrets, s)
	}
	return Secret(v.AsString()), true, diags
}

// boolean decodes a bool attribute.
func (l *loader) boolean(attr *hcl.Attribute) (bool, bool, hcl.Diagnostics) {
	v, ok, diags := l.evalAs(attr, cty.Bool, "bool", false)
	if !ok {
		return false, false, diags
	}
	return v.True(), true, diags
}

// integer decodes a whole-number attribute within [lo, hi].
func (l *loader) integer(attr *hcl.Attribute, lo, hi int64) (int64, bool, hcl.Diagnostics) {
	v, ok, diags := l.evalAs(attr, cty.Number, "number", false)
	if !ok {
		return 0, false, diags
	}
	bf := v.AsBigFloat()
	n, acc := bf.Int64()
	if !bf.IsInt() || acc != big.Exact {
		return 0, false, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid number",
			Detail:   fmt.Sprintf("The %s attribute must be a whole number.", attr.Name),
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	if n < lo || n > hi {
		return 0, false, append(diags, rangeDiag(attr, fmt.Sprintf("between %d and %d", lo, hi)))
	}
	return n, true, diags
}

// number decodes a number attribute within [lo, hi].
func (l *loader) number(attr *hcl.Attribute, lo, hi float64) (float64, bool, hcl.Diagnostics) {
	v, ok, diags := l.evalAs(attr, cty.Number, "number", false)
	if !ok {
		return 0, false, diags
	}
	f, _ := v.AsBigFloat().Float64()
	if f < lo || f > hi {
		return 0, false, append(diags, rangeDiag(attr, fmt.Sprintf("between %g and %g", lo, hi)))
	}
	return f, true, diags
}

func rangeDiag(attr *hcl.Attribute, want string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Value out of range",
		Detail:   fmt.Sprintf("The %s attribute must be %s.", attr.Name, want),
		Subject:  attr.Expr.Range().Ptr(),
	}
}

// duration decodes a Go duration string ("30s", "1h30m") within [lo, hi].
func (l *loader) duration(attr *hcl.Attribute, lo, hi time.Duration) (time.Duration, bool, hcl.Diagnostics) {
	s, ok, diags := l.str(attr)
	if !ok {
		return 0, false, diags
	}
	d, err := time.ParseDuration(strings.TrimSpace(s))
	if err != nil {
		return 0, false, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid duration",
			Detail:   fmt.Sprintf("The %s attribute must be a duration such as \"30s\", \"5m\" or \"1h\".", attr.Name),
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	if d < lo || d > hi {
		return 0, false, append(diags, rangeDiag(attr, fmt.Sprintf("between %s and %s", lo, hi)))
	}
	return d, true, diags
}

// strList decodes a list of strings, keeping each element's range when the
// list is written literally.
func (l *loader) strList(attr *hcl.Attribute) ([]item, bool, hcl.Diagnostics) {
	if exprs, d := hcl.ExprList(attr.Expr); !d.HasErrors() {
		var diags hcl.Diagnostics
		items := make([]item, 0, len(exprs))
		ok := true
		for _, e := range exprs {
			v, ok1, d := l.evalAs(&hcl.Attribute{Name: attr.Name, Expr: e, Range: e.Range(), NameRange: attr.NameRange}, cty.String, "list of strings", false)
			diags = append(diags, d...)
			if !ok1 {
				ok = false
				continue
			}
			items = append(items, item{Value: v.AsString(), Range: e.Range()})
		}
		return items, ok, diags
	}
	v, ok, diags := l.evalAs(attr, cty.List(cty.String), "list of strings", false)
	if !ok {
		return nil, false, diags
	}
	var items []item
	for it := v.ElementIterator(); it.Next(); {
		_, ev := it.Element()
		if ev.IsNull() {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing value", Detail: fmt.Sprintf("The %s list must not contain null.", attr.Name), Subject: attr.Expr.Range().Ptr()})
			ok = false
			continue
		}
		items = append(items, item{Value: ev.AsString(), Range: attr.Expr.Range()})
	}
	return items, ok, diags
}

// strMap decodes a map of strings, keeping each entry's key range when the
// map is written literally.
func (l *loader) strMap(attr *hcl.Attribute) (map[string]item, bool, hcl.Diagnostics) {
	v, ok, diags := l.evalAs(attr, cty.Map(cty.String), "map of strings", false)
	if !ok {
		return nil, false, diags
	}
	ranges := map[string]hcl.Range{}
	if pairs, d := hcl.ExprMap(attr.Expr); !d.HasErrors() {
		for _, p := range pairs {
			if k, kd := p.Key.Value(nil); !kd.HasErrors() && k.Type() == cty.String && k.IsKnown() && !k.IsNull() {
				ranges[k.AsString()] = hcl.RangeBetween(p.Key.Range(), p.Value.Range())
			}
		}
	}
	out := map[string]item{}
	for it := v.ElementIterator(); it.Next(); {
		k, ev := it.Element()
		r, ok := ranges[k.AsString()]
		if !ok {
			r = attr.Expr.Range()
		}
		if ev.IsNull() {
			diags = append(diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Missing value", Detail: fmt.Sprintf("The %s map must not contain null.", attr.Name), Subject: r.Ptr()})
			continue
		}
		out[k.AsString()] = item{Value: ev.AsString(), Range: r}
	}
	return out, true, diags
}

// path decodes a local file path, resolved against the configuration
// directory; it must exist.
func (l *loader) path(attr *hcl.Attribute, mustExist bool) (string, bool, hcl.Diagnostics) {
	s, ok, diags := l.str(attr)
	if !ok {
		return "", false, diags
	}
	if s == "" {
		return "", false, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Empty path",
			Detail:   fmt.Sprintf("The %s attribute must name a file; remove it to leave it unset.", attr.Name),
			Subject:  attr.Expr.Range().Ptr(),
		})
	}
	p := l.resolve(s)
	if mustExist {
		if err := fileReadable(p); err != nil {
			return "", false, append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "File not found",
				Detail:   fmt.Sprintf("The %s attribute names %s, which cannot be read: %s.", attr.Name, s, err),
				Subject:  attr.Expr.Range().Ptr(),
			})
		}
	}
	return p, true, diags
}

// resolve makes p absolute against the configuration directory.
func (l *loader) resolve(p string) string {
	if strings.HasPrefix(p, "~/") {
		if home := l.getenv("HOME"); home != "" {
			p = filepath.Join(home, p[2:])
		}
	}
	if filepath.IsAbs(p) {
		return filepath.Clean(p)
	}
	return filepath.Join(l.cfg.Dir, p)
}

// attrError is the usual diagnostic for a bad attribute value.
func attrError(attr *hcl.Attribute, summary, detail string) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  summary,
		Detail:   detail,
		Subject:  attr.Expr.Range().Ptr(),
	}
}
