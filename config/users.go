package config

import (
	"fmt"
	"regexp"

	"github.com/hashicorp/hcl/v2"
)

// usersSchema is the body of an idp's users block.
var usersSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "create"},
		{Name: "update"},
		{Name: "deactivate"},
		{Name: "reactivate"},
		{Name: "delete"},
		{Name: "delete_after"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "username_transform"},
	},
}

func defaultUserSync() UserSync {
	return UserSync{Create: true, Update: true, Deactivate: true, Reactivate: true}
}

// decodeUsers decodes a users block.
func (l *loader) decodeUsers(block *hcl.Block) (*UserSync, hcl.Diagnostics) {
	u := defaultUserSync()
	content, diags := block.Body.Content(usersSchema)
	for _, f := range []struct {
		name string
		dst  *bool
	}{
		{"create", &u.Create},
		{"update", &u.Update},
		{"deactivate", &u.Deactivate},
		{"reactivate", &u.Reactivate},
		{"delete", &u.Delete},
	} {
		if attr, ok := content.Attributes[f.name]; ok {
			b, ok, d := l.boolean(attr)
			diags = append(diags, d...)
			if ok {
				*f.dst = b
			}
		}
	}
	if attr, ok := content.Attributes["delete_after"]; ok {
		d, ok, ds := l.decodeDeleteAfter(attr)
		diags = append(diags, ds...)
		if ok {
			u.DeleteAfter = d
		}
	}
	for i, b := range content.Blocks {
		if i > 0 {
			diags = append(diags, duplicateBlock(b, content.Blocks[0]))
			continue
		}
		r, d := l.decodeRewrite(b)
		diags = append(diags, d...)
		u.UsernameTransform = r
	}
	return &u, diags
}

// rewriteSchema is the body of username_transform and rename blocks.
var rewriteSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "pattern", Required: true},
		{Name: "replace", Required: true},
	},
}

// decodeRewrite decodes a { pattern, replace } block.
func (l *loader) decodeRewrite(block *hcl.Block) (*Rewrite, hcl.Diagnostics) {
	content, diags := block.Body.Content(rewriteSchema)
	r := &Rewrite{}
	if attr, ok := content.Attributes["pattern"]; ok {
		it, ok, d := l.str(attr)
		diags = append(diags, d...)
		if ok {
			re, d := compileRegexp(item{Value: it, Range: attr.Expr.Range()}, attr.Name)
			diags = append(diags, d...)
			r.Pattern = re
		}
	}
	if attr, ok := content.Attributes["replace"]; ok {
		s, ok, d := l.str(attr)
		diags = append(diags, d...)
		if ok {
			r.Replace = s
		}
	}
	if diags.HasErrors() {
		return nil, diags
	}
	return r, diags
}

// compileRegexp compiles a Go (RE2) regular expression.
func compileRegexp(it item, attrName string) (*regexp.Regexp, hcl.Diagnostics) {
	re, err := regexp.Compile(it.Value)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Invalid regular expression",
			Detail:   fmt.Sprintf("The %s regular expression does not compile: %s. The syntax is Go's (RE2): https://pkg.go.dev/regexp/syntax.", attrName, err),
			Subject:  it.Range.Ptr(),
		}}
	}
	return re, nil
}

// duplicateBlock reports a block that may appear only once.
func duplicateBlock(b, first *hcl.Block) *hcl.Diagnostic {
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  fmt.Sprintf("Duplicate %s block", b.Type),
		Detail:   fmt.Sprintf("Only one %s block is allowed here; another was declared at %s.", b.Type, at(first.DefRange)),
		Subject:  b.DefRange.Ptr(),
	}
}
