package config

import (
	"errors"
	"fmt"
	"os"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/ext/tryfunc"
	"github.com/zclconf/go-cty/cty"
	"github.com/zclconf/go-cty/cty/convert"
	"github.com/zclconf/go-cty/cty/function"
	"github.com/zclconf/go-cty/cty/function/stdlib"
)

// maxFileSize bounds what file() reads: it is for certificates, tokens and
// small lists, not data.
const maxFileSize = 1 << 20

// evalContext is the context attribute expressions are evaluated in:
// var.NAME and the functions.
func (l *loader) evalContext() *hcl.EvalContext {
	vars := make(map[string]cty.Value, len(l.varVals))
	for k, v := range l.varVals {
		vars[k] = v
	}
	return &hcl.EvalContext{
		Variables: map[string]cty.Value{"var": cty.ObjectVal(vars)},
		Functions: l.functions(),
	}
}

// functions are env(), file() and go-cty's string and collection
// functions. Function names are part of the configuration language.
func (l *loader) functions() map[string]function.Function {
	return map[string]function.Function{
		"env":  l.envFunc(),
		"file": l.fileFunc(),

		"try":      tryfunc.TryFunc,
		"can":      tryfunc.CanFunc,
		"coalesce": coalesceFunc,

		"upper":         stdlib.UpperFunc,
		"lower":         stdlib.LowerFunc,
		"title":         stdlib.TitleFunc,
		"trimspace":     stdlib.TrimSpaceFunc,
		"trim":          stdlib.TrimFunc,
		"trimprefix":    stdlib.TrimPrefixFunc,
		"trimsuffix":    stdlib.TrimSuffixFunc,
		"chomp":         stdlib.ChompFunc,
		"replace":       stdlib.ReplaceFunc,
		"regex_replace": stdlib.RegexReplaceFunc,
		"regex":         stdlib.RegexFunc,
		"regexall":      stdlib.RegexAllFunc,
		"substr":        stdlib.SubstrFunc,
		"strlen":        stdlib.StrlenFunc,
		"join":          stdlib.JoinFunc,
		"split":         stdlib.SplitFunc,
		"format":        stdlib.FormatFunc,
		"formatlist":    stdlib.FormatListFunc,
		"indent":        stdlib.IndentFunc,

		"concat":   stdlib.ConcatFunc,
		"distinct": stdlib.DistinctFunc,
		"flatten":  stdlib.FlattenFunc,
		"length":   stdlib.LengthFunc,
		"contains": stdlib.ContainsFunc,
		"compact":  stdlib.CompactFunc,
		"sort":     stdlib.SortFunc,
		"keys":     stdlib.KeysFunc,
		"values":   stdlib.ValuesFunc,
		"lookup":   stdlib.LookupFunc,
		"merge":    stdlib.MergeFunc,
		"tolist":   stdlib.MakeToFunc(cty.List(cty.DynamicPseudoType)),
		"tomap":    stdlib.MakeToFunc(cty.Map(cty.DynamicPseudoType)),
		"tostring": stdlib.MakeToFunc(cty.String),
		"tonumber": stdlib.MakeToFunc(cty.Number),
		"tobool":   stdlib.MakeToFunc(cty.Bool),
		"min":      stdlib.MinFunc,
		"max":      stdlib.MaxFunc,
	}
}

// envFunc is env("NAME"): the environment variable, or "" when unset.
func (l *loader) envFunc() function.Function {
	return function.New(&function.Spec{
		Description: "Returns the value of an environment variable, or an empty string when it is not set.",
		Params:      []function.Parameter{{Name: "name", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			name := args[0].AsString()
			v := l.getenv(name)
			l.envRead[name] = v
			return cty.StringVal(v), nil
		},
	})
}

// fileFunc is file("path"): a UTF-8 file's contents, the path relative to
// the configuration directory.
func (l *loader) fileFunc() function.Function {
	return function.New(&function.Spec{
		Description: "Returns the contents of a UTF-8 text file; a relative path is relative to the configuration directory.",
		Params:      []function.Parameter{{Name: "path", Type: cty.String}},
		Type:        function.StaticReturnType(cty.String),
		Impl: func(args []cty.Value, _ cty.Type) (cty.Value, error) {
			rel := args[0].AsString()
			p := l.resolve(rel)
			if err := fileReadable(p); err != nil {
				return cty.UnknownVal(cty.String), fmt.Errorf("cannot read %s: %w", rel, err)
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return cty.UnknownVal(cty.String), fmt.Errorf("cannot read %s: %w", rel, errors.Unwrap(err))
			}
			if !utf8.Valid(b) {
				return cty.UnknownVal(cty.String), fmt.Errorf("%s is not UTF-8 text", rel)
			}
			// Keyed as written, so that the hash does not depend on where the
			// configuration is checked out.
			l.filesRead[rel] = b
			return cty.StringVal(string(b)), nil
		},
	})
}

// coalesceFunc is coalesce(a, b, ...): the first argument that is neither
// null nor an empty string, as in Terraform (go-cty's own coalesce returns
// an empty string, which makes coalesce(env("X"), "fallback") useless).
var coalesceFunc = function.New(&function.Spec{
	Description: "Returns the first argument that is neither null nor an empty string.",
	VarParam: &function.Parameter{
		Name:             "vals",
		Type:             cty.DynamicPseudoType,
		AllowUnknown:     true,
		AllowDynamicType: true,
		AllowNull:        true,
	},
	Type: func(args []cty.Value) (cty.Type, error) {
		types := make([]cty.Type, len(args))
		for i, v := range args {
			types[i] = v.Type()
		}
		ty, _ := convert.UnifyUnsafe(types)
		if ty == cty.NilType {
			return cty.NilType, errors.New("all arguments must have the same type")
		}
		return ty, nil
	},
	Impl: func(args []cty.Value, ty cty.Type) (cty.Value, error) {
		for _, a := range args {
			v, err := convert.Convert(a, ty)
			if err != nil {
				return cty.UnknownVal(ty), err
			}
			if !v.IsKnown() {
				return cty.UnknownVal(ty), nil
			}
			if v.IsNull() || (ty == cty.String && v.AsString() == "") {
				continue
			}
			return v, nil
		}
		return cty.NilVal, errors.New("no argument is set: every one is null or an empty string")
	},
})

// fileReadable reports why p is not a regular file of reasonable size.
func fileReadable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return errors.New("no such file")
		}
		return errors.Unwrap(err)
	}
	if !fi.Mode().IsRegular() {
		return errors.New("not a regular file")
	}
	if fi.Size() > maxFileSize {
		return fmt.Errorf("larger than %d bytes", maxFileSize)
	}
	return nil
}
