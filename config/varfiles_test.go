package config

import (
	"bytes"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// precedenceConfig declares one variable per level of precedence, each
// with a default, so that the test can see which source set which.
const precedenceConfig = `
variable "a" { default = "default" }
variable "b" { default = "default" }
variable "c" { default = "default" }
variable "d" { default = "default" }
variable "e" { default = "default" }
variable "n" {
  type    = number
  default = 1
}
confluence {
  url   = "https://confluence.example.com"
  token = "t"
}
`

// TestVariableFilePrecedence: Terraform's order, lowest first: the
// environment, confsync.vars.hcl, *.auto.vars.hcl in lexical order, then
// --var and --var-file in the order given.
func TestVariableFilePrecedence(t *testing.T) {
	dir := writeConfig(t, map[string]string{
		"main.hcl":            precedenceConfig,
		"confsync.vars.hcl":   "a = \"vars\"\nb = \"vars\"\nc = \"vars\"\nd = \"vars\"\n",
		"b.auto.vars.hcl":     "c = \"auto-b\"\nd = \"auto-b\"\n",
		"a.auto.vars.hcl":     "b = \"auto-a\"\nc = \"auto-a\"\nd = \"auto-a\"\nn = 7\n",
		"other.vars.hcl":      "e = \"never read\"\n", // neither configuration nor auto-loaded
		"cli/first.vars.hcl":  "d = \"file-1\"\ne = \"file-1\"\n",
		"cli/second.vars.hcl": "e = \"file-2\"\n",
	})
	env := map[string]string{"CONFSYNC_VAR_a": "env", "CONFSYNC_VAR_b": "env", "CONFSYNC_VAR_e": "env"}
	getenv := func(k string) string { return env[k] }
	for _, tc := range []struct {
		name string
		args []VarArg
		want map[string]string
	}{
		{"files and environment", nil,
			map[string]string{"a": `"vars"`, "b": `"auto-a"`, "c": `"auto-b"`, "d": `"auto-b"`, "e": `"env"`, "n": "7"}},
		{"var-file then var", []VarArg{{File: filepath.Join(dir, "cli/first.vars.hcl")}, {Name: "d", Value: "flag"}, {Name: "e", Value: "flag"}},
			map[string]string{"a": `"vars"`, "d": `"flag"`, "e": `"flag"`}},
		{"var then var-file", []VarArg{{Name: "d", Value: "flag"}, {Name: "e", Value: "flag"}, {File: filepath.Join(dir, "cli/first.vars.hcl")}},
			map[string]string{"d": `"file-1"`, "e": `"file-1"`}},
		{"two var-files", []VarArg{{File: filepath.Join(dir, "cli/second.vars.hcl")}, {File: filepath.Join(dir, "cli/first.vars.hcl")}},
			map[string]string{"e": `"file-1"`}},
		{"a later var wins", []VarArg{{Name: "a", Value: "one"}, {Name: "a", Value: "two"}},
			map[string]string{"a": `"two"`}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, l, diags := load(LoadOptions{Path: dir, CommandLine: tc.args, Getenv: getenv})
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			for name, want := range tc.want {
				if got := l.varText[name]; got != want {
					t.Errorf("var.%s = %s, want %s", name, got, want)
				}
			}
		})
	}
}

// render loads dir and returns its diagnostics as the CLI prints them.
func render(t *testing.T, opts LoadOptions) (hcl.Diagnostics, string) {
	t.Helper()
	if opts.Getenv == nil {
		opts.Getenv = func(string) string { return "" }
	}
	cfg, diags := Load(opts)
	var buf bytes.Buffer
	if err := cfg.NewDiagnosticWriter(&buf, 0, false).WriteDiagnostics(diags); err != nil {
		t.Fatal(err)
	}
	return diags, buf.String()
}

// TestVariableFileErrors: every mistake in a variable file is an error
// with the file and line, and a sensitive value in one is never printed.
func TestVariableFileErrors(t *testing.T) {
	const secret = "s3cret-Value-in-file"
	for _, tc := range []struct {
		name  string
		file  string
		want  []string // in the rendered diagnostics, in order
		count int      // errors
	}{
		{"undeclared", "a = \"x\"\n\ntokn = \"" + secret + "\"\n",
			[]string{"Error: Value for undeclared variable", "on x.vars.hcl:3:1:", "3: tokn = \"****", "sets var.tokn"}, 1},
		{"syntax", "a = \"x\n",
			[]string{"on x.vars.hcl:1:"}, 0},
		{"block", "a = \"x\"\nblock {\n}\n",
			[]string{"Error: Unexpected \"block\" block", "on x.vars.hcl:2:"}, 1},
		{"reference", "a = var.b\n",
			[]string{"Error: Variables not allowed", "on x.vars.hcl:1:5:"}, 1},
		{"function", "a = upper(\"x\")\n",
			[]string{"Error: Function calls not allowed", "on x.vars.hcl:1:5:"}, 1},
		{"wrong type", "n = \"many\"\n",
			[]string{"Error: Invalid value for variable", "on x.vars.hcl:1:5:", "var.n is not a valid number"}, 1},
		{"sensitive wrong type", "token = [\"" + secret + "\"]\n",
			[]string{"Error: Invalid value for variable", "on x.vars.hcl:1:9:", "a string is required, but a tuple was given"}, 1},
		{"set twice", "a = \"x\"\na = \"y\"\n",
			[]string{"Error: Attribute redefined", "on x.vars.hcl:2:1:"}, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeConfig(t, map[string]string{
				"main.hcl":   precedenceConfig + "variable \"token\" {\n  type = string\n  sensitive = true\n  default = \"d\"\n}\n",
				"x.vars.hcl": tc.file,
			})
			t.Chdir(dir)
			diags, out := render(t, LoadOptions{Path: ".", CommandLine: []VarArg{{File: "x.vars.hcl"}}})
			if !diags.HasErrors() {
				t.Fatalf("no error:\n%s", out)
			}
			if tc.count > 0 && len(diags.Errs()) != tc.count {
				t.Errorf("%d errors, want %d:\n%s", len(diags.Errs()), tc.count, out)
			}
			rest := out
			for _, w := range tc.want {
				i := strings.Index(rest, w)
				if i < 0 {
					t.Fatalf("want %q (in order) in:\n%s", w, out)
				}
				rest = rest[i+len(w):]
			}
			if strings.Contains(out, secret) {
				t.Errorf("the secret leaked:\n%s", out)
			}
		})
	}
}

// TestVariableFileOverriddenChecked: a variable file's value that a later
// source overrides is still checked.
func TestVariableFileOverriddenChecked(t *testing.T) {
	dir := writeConfig(t, map[string]string{
		"main.hcl":   precedenceConfig,
		VarsFileName: "a = upper(\"x\")\n",
	})
	diags, out := render(t, LoadOptions{Path: dir, CommandLine: []VarArg{{Name: "a", Value: "flag"}}})
	if len(diags.Errs()) != 1 || !strings.Contains(out, "Function calls not allowed") || !strings.Contains(out, VarsFileName+":1:5:") {
		t.Errorf("want one error in %s:\n%s", VarsFileName, out)
	}
}

// TestVariableFileMissing: a --var-file that cannot be read is an error
// naming it.
func TestVariableFileMissing(t *testing.T) {
	dir := writeConfig(t, map[string]string{"main.hcl": precedenceConfig})
	missing := filepath.Join(dir, "nope.vars.hcl")
	diags, out := render(t, LoadOptions{Path: dir, CommandLine: []VarArg{{File: missing}}})
	if !diags.HasErrors() || !strings.Contains(out, "Cannot read variable file") || !strings.Contains(out, missing) {
		t.Errorf("want an error naming %s:\n%s", missing, out)
	}
}

// TestVariableFileSensitiveSnippet: a sensitive value in a variable file
// is blanked out of the snippet of any diagnostic on that line.
func TestVariableFileSensitiveSnippet(t *testing.T) {
	const secret = "hunter2-in-a-vars-file"
	dir := writeConfig(t, map[string]string{
		"main.hcl": precedenceConfig + `
variable "token" { sensitive = true }
server {
  listen = var.token
}
`,
		VarsFileName: "token = \"" + secret + "\"\n",
	})
	diags, out := render(t, LoadOptions{Path: dir})
	if !diags.HasErrors() || !strings.Contains(out, "Sensitive value not allowed") {
		t.Fatalf("want a sensitive-value error:\n%s", out)
	}
	if strings.Contains(out, secret) {
		t.Errorf("the secret leaked:\n%s", out)
	}
}

// TestNotText: a configuration or variable file that is binary or not
// UTF-8 gets one diagnostic naming it, with the line of the first bad
// byte, however many bad bytes it holds.
func TestNotText(t *testing.T) {
	binary := append([]byte("confluence {\n  url = \"x\"\n"), bytes.Repeat([]byte{0, 0xff, 0x13, 0x80}, 500)...)
	latin1 := []byte("# Konfiguration f\xfcr Confluence\nconfluence {\n  url = \"M\xfcnchen\"\n}\n")
	for _, tc := range []struct {
		name, file string
		src        []byte
		args       []VarArg
		want       string
	}{
		{"binary configuration", "main.hcl", binary, nil, "on main.hcl:3:1:"},
		{"latin-1 configuration", "main.hcl", latin1, nil, "on main.hcl:1:18:"},
		{"binary auto variable file", "x.auto.vars.hcl", binary, nil, "on x.auto.vars.hcl:3:1:"},
		{"latin-1 --var-file", "cli.vars.hcl", latin1, []VarArg{{File: "cli.vars.hcl"}}, "on cli.vars.hcl:1:18:"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			files := map[string]string{tc.file: string(tc.src)}
			if tc.file != "main.hcl" {
				files["main.hcl"] = precedenceConfig
			}
			dir := writeConfig(t, files)
			t.Chdir(dir)
			diags, out := render(t, LoadOptions{Path: ".", CommandLine: tc.args})
			if len(diags) != 1 {
				t.Fatalf("%d diagnostics, want 1:\n%s", len(diags), out)
			}
			if !strings.Contains(out, "Error: File is not UTF-8 text") || !strings.Contains(out, tc.want) || !strings.Contains(out, tc.file) {
				t.Errorf("want one error at %s:\n%s", tc.want, out)
			}
		})
	}
}

// TestFormatNotText: confsync fmt gives a binary file one error too, and
// never a snippet of it.
func TestFormatNotText(t *testing.T) {
	src := append([]byte("a = 1\n\x7fELF"), bytes.Repeat([]byte{0, 1, 0xfe}, 300)...)
	out, diags := Format(src, "x.hcl")
	if out != nil || len(diags) != 1 || diags[0].Subject == nil || diags[0].Subject.Start.Line != 2 {
		t.Fatalf("Format = %q, %v; want one error on line 2", out, diags)
	}
	var buf bytes.Buffer
	files := map[string]*hcl.File{"x.hcl": {Bytes: src}}
	if err := NewDiagnosticWriter(&buf, files, 0, false).WriteDiagnostics(diags); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(buf.String(), "ELF") || !strings.Contains(buf.String(), "on x.hcl:2:5:") {
		t.Errorf("rendered:\n%s", buf.String())
	}
}

// TestVariableFileSyntaxErrorBlanked: in a variable file that does not
// parse, which values are secrets is not known: the snippets show names,
// never values.
func TestVariableFileSyntaxErrorBlanked(t *testing.T) {
	const secret = "hunter2-before-a-typo"
	dir := writeConfig(t, map[string]string{
		"main.hcl":   precedenceConfig,
		VarsFileName: "a = \"x\"\ntoken = \"" + secret + "\" oops\nb = <<EOT\n" + secret + "\nEOT\n",
	})
	diags, out := render(t, LoadOptions{Path: dir})
	if !diags.HasErrors() || !strings.Contains(out, VarsFileName+":2:") {
		t.Fatalf("want a syntax error on line 2:\n%s", out)
	}
	if strings.Contains(out, secret) || strings.Contains(out, "hunter2") {
		t.Errorf("a value reached a snippet:\n%s", out)
	}
	if !strings.Contains(out, "token =") {
		t.Errorf("the snippet lost the names:\n%s", out)
	}
}
