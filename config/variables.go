package config

import (
	"fmt"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/typeexpr"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	ctyjson "github.com/zclconf/go-cty/cty/json"
)

// EnvVarPrefix prefixes the environment variables that set configuration
// variables: CONFSYNC_VAR_token sets var.token.
const EnvVarPrefix = "CONFSYNC_VAR_"

// variableSchema is the body of a variable "NAME" block.
var variableSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "type"},
		{Name: "default"},
		{Name: "sensitive"},
		{Name: "description"},
	},
}

// variableDecl is a decoded variable block before its value is known.
type variableDecl struct {
	v       *Variable
	ty      cty.Type
	def     cty.Value
	hasDef  bool
	defExpr hcl.Expression
}

// decodeVariable decodes one variable block. Its default may call
// functions but may not refer to other variables.
func (l *loader) decodeVariable(block *hcl.Block) (*variableDecl, hcl.Diagnostics) {
	name := block.Labels[0]
	v := &Variable{Name: name, DeclRange: block.DefRange}
	decl := &variableDecl{v: v, ty: cty.DynamicPseudoType}
	content, diags := block.Body.Content(variableSchema)
	if !hclsyntax.ValidIdentifier(name) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid variable name",
			Detail:   "A variable name must start with a letter or underscore and may contain only letters, digits, underscores and dashes.",
			Subject:  block.LabelRanges[0].Ptr(),
		})
		return nil, diags
	}
	// Only functions: a default cannot depend on another variable.
	ctx := &hcl.EvalContext{Functions: l.functions()}

	if attr, ok := content.Attributes["description"]; ok {
		val, d := attr.Expr.Value(ctx)
		diags = append(diags, d...)
		if !d.HasErrors() {
			if s, err := convert.Convert(val, cty.String); err != nil || s.IsNull() || !s.IsKnown() {
				diags = append(diags, attrError(attr, "Invalid description", "The description must be a string."))
			} else {
				v.Description = s.AsString()
			}
		}
	}
	if attr, ok := content.Attributes["sensitive"]; ok {
		val, d := attr.Expr.Value(ctx)
		diags = append(diags, d...)
		if !d.HasErrors() {
			if b, err := convert.Convert(val, cty.Bool); err != nil || b.IsNull() || !b.IsKnown() {
				diags = append(diags, attrError(attr, "Invalid sensitive flag", "The sensitive attribute must be true or false."))
			} else {
				v.Sensitive = b.True()
			}
		}
	}
	if attr, ok := content.Attributes["type"]; ok {
		ty, d := typeexpr.TypeConstraint(attr.Expr)
		diags = append(diags, d...)
		if !d.HasErrors() {
			decl.ty = ty
		}
	}
	if attr, ok := content.Attributes["default"]; ok {
		decl.defExpr = attr.Expr
		if v.Sensitive {
			// Whatever goes wrong below, the default as written must not
			// reach a snippet or a message.
			l.blank = append(l.blank, attr.Expr.Range())
		}
		val, d := attr.Expr.Value(ctx)
		if v.Sensitive && d.HasErrors() {
			// A function's error may quote its argument, and which literal
			// is the secret is not known: blank them all out.
			l.secrets = append(l.secrets, literalStrings(attr.Expr)...)
		}
		for _, t := range attr.Expr.Variables() {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Variables not allowed",
				Detail:   "A variable's default cannot refer to variables; it may call functions such as env().",
				Subject:  t.SourceRange().Ptr(),
			})
		}
		if len(attr.Expr.Variables()) == 0 {
			diags = append(diags, d...)
		}
		if !diags.HasErrors() {
			if v.Sensitive {
				l.secrets = append(l.secrets, stringLeaves(val)...)
			}
			cv, err := convert.Convert(val, decl.ty)
			if err != nil {
				diags = append(diags, attrError(attr, "Invalid default value for variable",
					fmt.Sprintf("The default does not match the variable's type: %s.", typeErr(err, decl.ty, val.Type(), v.Sensitive))))
			} else {
				decl.def, decl.hasDef = cv, true
			}
		}
	}
	return decl, diags
}

// typeErr renders a conversion error. For a sensitive value it names only
// the types, since go-cty's messages may quote part of the value.
func typeErr(err error, want, got cty.Type, sensitive bool) string {
	if sensitive {
		return fmt.Sprintf("%s is required, but %s was given", withArticle(want.FriendlyNameForConstraint()), withArticle(got.FriendlyName()))
	}
	return err.Error()
}

// withArticle puts "a" or "an" before a type name.
func withArticle(name string) string {
	if name != "" && strings.ContainsRune("aeiou", rune(name[0])) {
		return "an " + name
	}
	return "a " + name
}

// literalStrings lists the strings written literally in expr, so that a
// sensitive default is blanked out of messages even when it never
// evaluated.
func literalStrings(expr hcl.Expression) []string {
	se, ok := expr.(hclsyntax.Expression)
	if !ok {
		return nil
	}
	var out []string
	_ = hclsyntax.VisitAll(se, func(n hclsyntax.Node) hcl.Diagnostics {
		if lit, ok := n.(*hclsyntax.LiteralValueExpr); ok && lit.Val.Type() == cty.String && lit.Val.IsKnown() && !lit.Val.IsNull() {
			out = append(out, lit.Val.AsString())
		}
		return nil
	})
	return out
}

// decodeVariables decodes every variable block and settles each value
// from assigned, the values given from outside the configuration lowest
// precedence first (the last one for a name wins), else CONFSYNC_VAR_NAME,
// else the default.
func (l *loader) decodeVariables(blocks hcl.Blocks, assigned []varAssignment) hcl.Diagnostics {
	var diags hcl.Diagnostics
	l.varVals = map[string]cty.Value{}
	l.varText = map[string]string{}
	decls := map[string]*variableDecl{}
	var order []*variableDecl
	for _, b := range blocks {
		decl, d := l.decodeVariable(b)
		diags = append(diags, d...)
		if decl == nil {
			continue
		}
		name := decl.v.Name
		if prev, ok := l.cfg.Variables[name]; ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Duplicate variable declaration",
				Detail:   fmt.Sprintf("A variable named %q was already declared at %s.", name, at(prev.DeclRange)),
				Subject:  b.LabelRanges[0].Ptr(),
			})
			continue
		}
		l.cfg.Variables[name] = decl.v
		decls[name] = decl
		order = append(order, decl)
	}

	winner := map[string]*varAssignment{}
	undeclared := map[string]bool{}
	for i := range assigned {
		a := &assigned[i]
		decl := decls[a.name]
		if a.expr != nil && decl != nil && decl.v.Sensitive {
			// Blank the value as written out of snippets, whatever it holds.
			l.blank = append(l.blank, a.expr.Range())
		}
		if decl == nil {
			if a.expr != nil {
				// Perhaps a misspelt secret: keep its value out of the
				// snippet.
				l.blank = append(l.blank, a.expr.Range())
			}
			// A variable file's line names its place; --var is reported
			// once per name. A file that did not parse may declare it.
			if !l.partial && (a.rng != nil || !undeclared[a.name]) {
				diags = append(diags, undeclaredDiag(a))
			}
			undeclared[a.name] = true
			continue
		}
		if prev := winner[a.name]; prev != nil && prev.expr != nil {
			// Overridden, but a mistake in a variable file is reported
			// all the same.
			if _, d := l.assignedValue(prev, decl); d.HasErrors() {
				diags = append(diags, d...)
			}
		}
		winner[a.name] = a
	}

	for _, decl := range order {
		name := decl.v.Name
		a := winner[name]
		if a == nil {
			if s := l.getenv(EnvVarPrefix + name); s != "" {
				a = &varAssignment{name: name, text: s, source: "the environment variable " + EnvVarPrefix + name}
			}
		}
		var val cty.Value
		switch {
		case a != nil:
			v, d := l.assignedValue(a, decl)
			diags = append(diags, d...)
			if d.HasErrors() {
				val = cty.UnknownVal(decl.ty)
			} else {
				val = v
			}
		case decl.hasDef:
			val = decl.def
		case decl.defExpr != nil:
			val = cty.UnknownVal(decl.ty) // a bad default, already reported
		default:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "No value for required variable",
				Detail: fmt.Sprintf("The variable %q has no default. Set it with --var %s=VALUE, in a variable file (%s, *%s or --var-file), or with the environment variable %s%s.",
					name, name, VarsFileName, AutoVarsFileSuffix, EnvVarPrefix, name),
				Subject: decl.v.DeclRange.Ptr(),
			})
			val = cty.UnknownVal(decl.ty)
		}
		if val.IsWhollyKnown() {
			if js, err := ctyjson.Marshal(val, val.Type()); err == nil {
				l.varText[name] = string(js)
			}
		}
		if decl.v.Sensitive {
			l.secrets = append(l.secrets, stringLeaves(val)...)
			val = val.Mark(sensitiveMark{})
		}
		l.varVals[name] = val
	}
	l.secrets = nonEmpty(l.secrets)
	return diags
}

// undeclaredDiag reports a value given for a variable the configuration
// does not declare: an error, as in Terraform, so that a misspelt name
// does not leave the variable at its default unnoticed.
func undeclaredDiag(a *varAssignment) *hcl.Diagnostic {
	if a.rng == nil {
		return &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Value for undeclared variable",
			Detail:   fmt.Sprintf("A value was given for var.%s with --var, but no variable %q is declared in the configuration.", a.name, a.name),
		}
	}
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "Value for undeclared variable",
		Detail:   fmt.Sprintf("This variable file sets var.%s, but no variable %q is declared in the configuration. Declare it with a variable %q { } block, or remove this line.", a.name, a.name, a.name),
		Subject:  a.rng,
	}
}

// assignedValue evaluates a value given from outside the configuration
// and converts it to the variable's type.
func (l *loader) assignedValue(a *varAssignment, decl *variableDecl) (cty.Value, hcl.Diagnostics) {
	v := decl.v
	if a.expr == nil {
		if v.Sensitive {
			l.secrets = append(l.secrets, a.text)
		}
		return parseVarValue(a.text, decl.ty, v, a.source)
	}
	// A variable file holds constants: no variables, no functions.
	val, diags := a.expr.Value(nil)
	if v.Sensitive {
		if diags.HasErrors() {
			l.secrets = append(l.secrets, literalStrings(a.expr)...)
		} else {
			l.secrets = append(l.secrets, stringLeaves(val)...)
		}
	}
	if diags.HasErrors() {
		return cty.NilVal, diags
	}
	cv, err := convert.Convert(val, decl.ty)
	if err != nil {
		return cty.NilVal, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("The value of var.%s is not a valid %s: %s.", v.Name, typeexpr.TypeString(decl.ty), typeErr(err, decl.ty, val.Type(), v.Sensitive)),
			Subject:  a.expr.Range().Ptr(),
		}}
	}
	return cv, nil
}

// parseVarValue turns a value given as text into the variable's type: text
// as is for strings, an HCL expression otherwise.
func parseVarValue(raw string, ty cty.Type, v *Variable, source string) (cty.Value, hcl.Diagnostics) {
	if ty == cty.String || ty == cty.DynamicPseudoType {
		return cty.StringVal(raw), nil
	}
	bad := func(why string) hcl.Diagnostics {
		return hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid value for variable",
			Detail:   fmt.Sprintf("The value of var.%s given by %s is not a valid %s: %s.", v.Name, source, typeexpr.TypeString(ty), why),
			Subject:  v.DeclRange.Ptr(),
		}}
	}
	expr, d := hclsyntax.ParseExpression([]byte(raw), source, hcl.Pos{Line: 1, Column: 1})
	if d.HasErrors() {
		return cty.NilVal, bad("it does not parse as an HCL expression")
	}
	val, d := expr.Value(nil)
	if d.HasErrors() {
		return cty.NilVal, bad("it must be a constant value")
	}
	cv, err := convert.Convert(val, ty)
	if err != nil {
		return cty.NilVal, bad(typeErr(err, ty, val.Type(), v.Sensitive))
	}
	return cv, nil
}

// stringLeaves lists every string inside v.
func stringLeaves(v cty.Value) []string {
	var out []string
	_ = cty.Walk(v, func(_ cty.Path, x cty.Value) (bool, error) {
		if x.IsKnown() && !x.IsNull() && x.Type() == cty.String {
			ux, _ := x.Unmark()
			out = append(out, ux.AsString())
		}
		return true, nil
	})
	return out
}

func nonEmpty(ss []string) []string {
	out := ss[:0]
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}
