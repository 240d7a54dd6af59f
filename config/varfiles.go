package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
)

// Variable files set variables as name = value lines, as Terraform's
// .tfvars files do. Their names end in VarsFileSuffix, so that a directory
// can hold both: a file so named is never read as configuration.
const (
	// VarsFileSuffix ends the name of every variable file.
	VarsFileSuffix = ".vars.hcl"
	// VarsFileName is the variable file read from the configuration
	// directory when it exists, like terraform.tfvars.
	VarsFileName = "confsync.vars.hcl"
	// AutoVarsFileSuffix ends the names of the variable files read from the
	// configuration directory in lexical order after VarsFileName, like
	// *.auto.tfvars.
	AutoVarsFileSuffix = ".auto.vars.hcl"
)

// VarArg is one --var or --var-file on the command line.
type VarArg struct {
	// Name and Value are a --var NAME=VALUE.
	Name, Value string
	// File is a --var-file, relative to the working directory. When it is
	// set, Name and Value are not used.
	File string
}

// varAssignment is one value given to a variable from outside the
// configuration: a --var (text, parsed for the variable's type) or a line
// of a variable file (an HCL expression).
type varAssignment struct {
	name   string
	text   string         // a --var or an environment variable
	expr   hcl.Expression // a line of a variable file; nil for text
	source string         // "--var NAME", "the environment variable ...", "file conf/x.vars.hcl"
	rng    *hcl.Range     // the name in a variable file; nil for text
}

// autoVarFiles lists the variable files read from the configuration
// directory dir, in the order they are applied: VarsFileName, then every
// *.auto.vars.hcl in lexical order. shown is the directory as the user
// gave it, to name the files in messages.
func autoVarFiles(dir, shown string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil // configFiles has reported it
	}
	var files, auto []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || strings.HasPrefix(n, ".") {
			continue
		}
		switch {
		case n == VarsFileName:
			files = append(files, filepath.Join(shown, n))
		case strings.HasSuffix(n, AutoVarsFileSuffix):
			auto = append(auto, filepath.Join(shown, n))
		}
	}
	sort.Strings(auto)
	return append(files, auto...)
}

// parseVarFile reads one variable file into assignments, in file order.
func parseVarFile(parser *hclparse.Parser, name string) ([]varAssignment, hcl.Diagnostics) {
	f, diags := parseFile(parser, name, "variable file")
	if f == nil || diags.HasErrors() {
		return nil, diags
	}
	attrs, d := f.Body.JustAttributes()
	diags = append(diags, d...)
	list := make([]*hcl.Attribute, 0, len(attrs))
	for _, a := range attrs {
		list = append(list, a)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].Range.Start.Byte < list[j].Range.Start.Byte })
	out := make([]varAssignment, 0, len(list))
	for _, a := range list {
		out = append(out, varAssignment{name: a.Name, expr: a.Expr, source: "file " + name, rng: a.NameRange.Ptr()})
	}
	return out, diags
}

// parseFile reads and parses one HCL file. A file that is not UTF-8 text
// gets one diagnostic naming it, instead of one per byte the lexer cannot
// read, and is not parsed.
func parseFile(parser *hclparse.Parser, name, what string) (*hcl.File, hcl.Diagnostics) {
	src, err := os.ReadFile(name)
	if err != nil {
		return nil, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("Cannot read %s", what),
			Detail:   fmt.Sprintf("%s.", err),
		}}
	}
	if d := checkText(src, name, what); d != nil {
		return nil, hcl.Diagnostics{d}
	}
	return parser.ParseHCL(src, name)
}

// checkText returns a diagnostic when src is not UTF-8 text: it holds a
// NUL byte (a binary file) or bytes that are not UTF-8. The diagnostic
// points at the first such byte.
func checkText(src []byte, name, what string) *hcl.Diagnostic {
	at, why := -1, ""
	if i := bytes.IndexByte(src, 0); i >= 0 {
		at, why = i, "a NUL byte: it looks like a binary file"
	}
	if !utf8.Valid(src) {
		if i := firstInvalidUTF8(src); at < 0 || i < at {
			at, why = i, "bytes that are not UTF-8"
		}
	}
	if at < 0 {
		return nil
	}
	pos := posOf(src, at)
	return &hcl.Diagnostic{
		Severity: hcl.DiagError,
		Summary:  "File is not UTF-8 text",
		Detail: fmt.Sprintf("The %s %s holds %s (first at line %d, column %d). confsync reads HCL files as UTF-8 text: "+
			"check that the intended file was named, or convert this one to UTF-8.", what, name, why, pos.Line, pos.Column),
		Subject: &hcl.Range{Filename: name, Start: pos, End: hcl.Pos{Line: pos.Line, Column: pos.Column + 1, Byte: at + 1}},
		Extra:   notText{},
	}
}

// notText marks the diagnostic of checkText, whose file is rendered
// without a snippet.
type notText struct{}

// firstInvalidUTF8 returns the offset of the first byte of src that does
// not start a valid UTF-8 sequence.
func firstInvalidUTF8(src []byte) int {
	for i := 0; i < len(src); {
		r, n := utf8.DecodeRune(src[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(src)
}

// posOf returns the position of byte offset at in src, counting columns
// in characters as HCL does.
func posOf(src []byte, at int) hcl.Pos {
	before := src[:at]
	line := 1 + bytes.Count(before, []byte{'\n'})
	col := 1 + utf8.RuneCount(before[bytes.LastIndexByte(before, '\n')+1:])
	return hcl.Pos{Line: line, Column: col, Byte: at}
}

// shownDir is the configuration directory as the user gave it (path, or
// the directory of the file path names), to name variable files in
// messages as the configuration files are named.
func shownDir(path string) string {
	if path == "" {
		return "."
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return path
	}
	return filepath.Dir(path)
}

// varAssignments gathers the values given from outside the configuration,
// lowest precedence first: the variable files of the configuration
// directory dir, then the command line in its order, then opts.Vars.
// (Environment variables, lower still, are read for each declared
// variable.) Every variable file is parsed, and so reported, even when a
// later source overrides what it sets.
//
// broken lists the variable files with syntax errors: which of their values
// are secrets is not known, so none may reach a snippet.
func varAssignments(parser *hclparse.Parser, opts LoadOptions, dir string) (out []varAssignment, broken []string, diags hcl.Diagnostics) {
	read := func(name string) {
		a, d := parseVarFile(parser, name)
		out, diags = append(out, a...), append(diags, d...)
		if d.HasErrors() {
			broken = append(broken, name)
		}
	}
	for _, name := range autoVarFiles(dir, shownDir(opts.Path)) {
		read(name)
	}
	for _, arg := range opts.CommandLine {
		if arg.File != "" {
			read(arg.File)
			continue
		}
		out = append(out, varAssignment{name: arg.Name, text: arg.Value, source: "--var " + arg.Name})
	}
	names := make([]string, 0, len(opts.Vars))
	for name := range opts.Vars {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		out = append(out, varAssignment{name: name, text: opts.Vars[name], source: "--var " + name})
	}
	return out, broken, diags
}

// blankValues returns src with every value blanked out: on each line,
// whatever follows the first "=", and the whole of a line without one (it
// may continue a value), keeping the shape that blankRange keeps.
func blankValues(src []byte) []byte {
	b := bytes.Clone(src)
	start := 0
	for start < len(b) {
		end := bytes.IndexByte(b[start:], '\n')
		if end < 0 {
			end = len(b)
		} else {
			end += start
		}
		from := start
		if eq := bytes.IndexByte(b[start:end], '='); eq >= 0 {
			from = start + eq + 1
		}
		blankRange(b, hcl.Range{Start: hcl.Pos{Byte: from}, End: hcl.Pos{Byte: end}})
		start = end + 1
	}
	return b
}
