package config

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
)

// writeConfig writes files into a fresh directory and returns it.
func writeConfig(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, src := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(src), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const tokenConfig = `
variable "token" {
  sensitive = true
  default   = "from-default"
}
confluence {
  url   = "https://confluence.example.com"
  token = var.token
}
`

// TestVariablePrecedence: --var wins over CONFSYNC_VAR_NAME, which wins
// over the default.
func TestVariablePrecedence(t *testing.T) {
	dir := writeConfig(t, map[string]string{"main.hcl": tokenConfig})
	for _, tc := range []struct {
		name string
		vars map[string]string
		env  map[string]string
		want string
	}{
		{"default", nil, nil, "from-default"},
		{"environment", nil, map[string]string{"CONFSYNC_VAR_token": "from-env"}, "from-env"},
		{"flag", map[string]string{"token": "from-flag"}, map[string]string{"CONFSYNC_VAR_token": "from-env"}, "from-flag"},
		{"empty flag", map[string]string{"token": ""}, nil, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := mustLoad(t, LoadOptions{Path: dir, Vars: tc.vars, Getenv: func(k string) string { return tc.env[k] }})
			if got := cfg.Confluence.Token.Reveal(); got != tc.want {
				t.Errorf("token = %q, want %q", got, tc.want)
			}
		})
	}
}

// TestVariableTypes: values given as text are parsed as HCL for
// non-string types.
func TestVariableTypes(t *testing.T) {
	dir := writeConfig(t, map[string]string{"main.hcl": `
variable "parallel" {
  type    = number
  default = 2
}
variable "admins" {
  type = list(string)
}
confluence {
  url             = "https://confluence.example.com"
  token           = "t"
  parallelism     = var.parallel
  protected_users = var.admins
}
`})
	cfg := mustLoad(t, LoadOptions{Path: dir, Vars: map[string]string{"parallel": "7", "admins": `["root", "admin"]`}})
	if cfg.Confluence.Parallelism != 7 || strings.Join(cfg.Confluence.ProtectedUsers, ",") != "root,admin" {
		t.Errorf("got parallelism %d, protected users %v", cfg.Confluence.Parallelism, cfg.Confluence.ProtectedUsers)
	}
	_, diags := Load(LoadOptions{Path: dir, Vars: map[string]string{"parallel": "many", "admins": "[]"}, Getenv: func(string) string { return "" }})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "Invalid value for variable") {
		t.Errorf("diags = %v, want an invalid value error", diags)
	}
}

// TestUndeclaredFlagVariable: --var for a variable nobody declared is an
// error, as a typo would otherwise go unnoticed.
func TestUndeclaredFlagVariable(t *testing.T) {
	dir := writeConfig(t, map[string]string{"main.hcl": tokenConfig})
	_, diags := Load(LoadOptions{Path: dir, Vars: map[string]string{"tokn": "x"}, Getenv: func(string) string { return "" }})
	if !diags.HasErrors() || !strings.Contains(diags.Error(), "Value for undeclared variable") {
		t.Errorf("diags = %v, want an undeclared variable error", diags)
	}
}

// TestSensitiveNeverPrinted provokes every kind of diagnostic a sensitive
// value can reach and checks that the rendered output never holds it.
func TestSensitiveNeverPrinted(t *testing.T) {
	const secret = "hunter2-Very-Secret"
	dir := writeConfig(t, map[string]string{
		"main.hcl": `
variable "token" {
  sensitive = true
}
variable "n" {
  type      = number
  sensitive = true
  default   = 3
}
confluence {
  url         = "https://${var.token}.example.com"
  token       = var.token
  parallelism = tonumber(var.token)
  ca_file     = var.token
}
idp "entra" {
  scim {
    token_sha256 = [var.token]
  }
  groups {
    include = [regex_replace(var.token, "(", "")]
    map "x" {
      to = [upper(var.token)]
    }
  }
  users {
    username_transform {
      pattern = file(var.token)
      replace = var.token
    }
  }
}
safety {
  max_deletions = var.token
}
`,
		"other.hcl": "server {\n  listen = \"" + secret + "\"\n}\n",
	})
	cfg, diags := Load(LoadOptions{Path: dir, Vars: map[string]string{"token": secret}, Getenv: func(string) string { return "" }})
	if !diags.HasErrors() {
		t.Fatal("want errors")
	}
	var buf bytes.Buffer
	if err := cfg.NewDiagnosticWriter(&buf, 0, false).WriteDiagnostics(diags); err != nil {
		t.Fatal(err)
	}
	out := buf.String() + fmt.Sprintf("%v %+v %#v", diags, cfg.Confluence, cfg.Confluence)
	if strings.Contains(out, secret) || strings.Contains(strings.ToUpper(out), strings.ToUpper(secret)) {
		t.Errorf("the secret leaked:\n%s", out)
	}
	if n := strings.Count(buf.String(), "Error:"); n < 7 {
		t.Errorf("only %d errors reported:\n%s", n, buf.String())
	}
}

// TestFunctions exercises env(), file() and a few string functions.
func TestFunctions(t *testing.T) {
	dir := writeConfig(t, map[string]string{
		"main.hcl": `
confluence {
  url              = format("https://%s.example.com", lower(env("SITE")))
  token            = trimspace(file("secrets/token"))
  protected_users  = split(",", replace(env("ADMINS"), " ", ""))
  protected_groups = concat(["a"], [join("-", ["b", "c"])])
  context_path     = coalesce(env("UNSET"), "/wiki")
  username         = null
}
`,
		"secrets/token": "  pat-123\n",
	})
	env := map[string]string{"SITE": "WIKI", "ADMINS": "admin, root"}
	cfg := mustLoad(t, LoadOptions{Path: dir, Getenv: func(k string) string { return env[k] }})
	c := cfg.Confluence
	got := fmt.Sprintf("%s|%s|%v|%v|%s", c.URL, c.Token.Reveal(), c.ProtectedUsers, c.ProtectedGroups, c.ContextPath)
	if want := "https://wiki.example.com|pat-123|[admin root]|[a b-c]|/wiki"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// TestHash: the hash changes with the files, the variable values and what
// env() reads, and never contains a value.
func TestHash(t *testing.T) {
	dir := writeConfig(t, map[string]string{"main.hcl": tokenConfig + "\nidp \"x\" {\n  scim {}\n  groups {\n    default_groups_all = [env(\"G\")]\n  }\n}\n"})
	load := func(vars map[string]string, g string) string {
		return mustLoad(t, LoadOptions{Path: dir, Vars: vars, Getenv: func(k string) string {
			if k == "G" {
				return g
			}
			return ""
		}}).Hash
	}
	base := load(nil, "staff")
	if len(base) != 64 {
		t.Fatalf("hash %q is not hex SHA-256", base)
	}
	if load(nil, "staff") != base {
		t.Error("hash is not deterministic")
	}
	if load(map[string]string{"token": "other"}, "staff") == base {
		t.Error("hash ignores variable values")
	}
	if load(nil, "everyone") == base {
		t.Error("hash ignores env()")
	}
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(tokenConfig+"\nidp \"x\" {\n  scim {}\n  groups {\n    default_groups_all = [env(\"G\"), \"more\"]\n  }\n}\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if load(nil, "staff") == base {
		t.Error("hash ignores the files")
	}
}

// TestHashFollowsMeaning: comments and layout do not change the hash, so
// that a saved plan survives them; any edit to what the configuration says
// does.
func TestHashFollowsMeaning(t *testing.T) {
	const base = `variable "token" {
  sensitive = true
  default   = "from-default"
}
confluence {
  url              = "https://confluence.example.com"
  token            = var.token
  protected_groups = ["a", "b"]
}
`
	hash := func(src string) string {
		t.Helper()
		return mustLoad(t, LoadOptions{Path: writeConfig(t, map[string]string{"main.hcl": src})}).Hash
	}
	want := hash(base)
	same := map[string]string{
		"line comment": "# the Confluence we provision\n" + base,
		"trailing comment": strings.Replace(base, `var.token
`, `var.token // from the vault
`, 1),
		"block comment": strings.Replace(base, "confluence {", "/* prod */ confluence {", 1),
		"alignment":     strings.Replace(base, "url              =", "url =", 1),
		"blank lines":   strings.Replace(base, "}\nconfluence", "}\n\n\nconfluence", 1),
		"wrapped list":  strings.Replace(base, `["a", "b"]`, "[\n    \"a\",\n    \"b\",\n  ]", 1),
		"tabs and CRLF": strings.ReplaceAll(strings.ReplaceAll(base, "  ", "\t"), "\n", "\r\n"),
	}
	for name, src := range same {
		if got := hash(src); got != want {
			t.Errorf("%s changed the hash", name)
		}
	}
	differ := map[string]string{
		"value":             strings.Replace(base, `"a", "b"`, `"a", "c"`, 1),
		"order":             strings.Replace(base, `"a", "b"`, `"b", "a"`, 1),
		"space in a string": strings.Replace(base, `"from-default"`, `"from-default "`, 1),
		"hash in a string":  strings.Replace(base, `"from-default"`, `"from-default#x"`, 1),
		"new attribute":     strings.Replace(base, "confluence {", "confluence {\n  parallelism = 2", 1),
		"reference":         strings.Replace(base, "token            = var.token", `token = "t"`, 1),
	}
	for name, src := range differ {
		if hash(src) == want {
			t.Errorf("%s left the hash unchanged", name)
		}
	}
}

// TestMultiFile: a directory of files is one configuration; variables
// declared in one file are used in another, and mistakes in several files
// are all reported with their file names.
func TestMultiFile(t *testing.T) {
	dir := writeConfig(t, map[string]string{
		"variables.hcl":  "variable \"token\" {\n  default = \"t\"\n}\n",
		"confluence.hcl": "confluence {\n  url   = \"https://c.example.com\"\n  token = var.token\n}\n",
		"notes.txt":      "not configuration",
	})
	cfg := mustLoad(t, LoadOptions{Path: dir})
	if len(cfg.Files) != 2 || cfg.Confluence.Token.Reveal() != "t" {
		t.Errorf("files %v, token %q", cfg.Files, cfg.Confluence.Token.Reveal())
	}
	if cfg.Store.SQLite != filepath.Join(dir, DefaultSQLiteFile) {
		t.Errorf("default store %q, want confsync.db beside the configuration", cfg.Store.SQLite)
	}
}

func TestLoadMissingPath(t *testing.T) {
	for _, p := range []string{filepath.Join(t.TempDir(), "nope"), t.TempDir()} {
		_, diags := Load(LoadOptions{Path: p})
		if !diags.HasErrors() {
			t.Errorf("Load(%s): no error", p)
		}
	}
}

var _ hcl.DiagnosticWriter = (*diagnosticWriter)(nil)

// TestSecretAttributesRedacted: a secret written in a secret attribute
// (here read with env()) is blanked out of diagnostics too, though it
// never passed through a sensitive variable.
func TestSecretAttributesRedacted(t *testing.T) {
	const secret = "pat-0123456789"
	dir := writeConfig(t, map[string]string{"main.hcl": `
confluence {
  url         = "https://confluence.example.com"
  token       = env("TOKEN")
  parallelism = tonumber(env("TOKEN"))
}
`})
	cfg, diags := Load(LoadOptions{Path: dir, Getenv: func(string) string { return secret }})
	var buf bytes.Buffer
	if err := cfg.NewDiagnosticWriter(&buf, 0, false).WriteDiagnostics(diags); err != nil {
		t.Fatal(err)
	}
	if !diags.HasErrors() || strings.Contains(buf.String(), secret) {
		t.Errorf("want an error that does not show the secret, got:\n%s", buf.String())
	}
}

// TestHashIndependentOfLocation: the same configuration checked out in two
// places has the same hash, so that a plan made on one machine can be
// applied on another.
func TestHashIndependentOfLocation(t *testing.T) {
	files := map[string]string{
		"main.hcl":  "confluence {\n  url   = \"https://c.example.com\"\n  token = file(\"token.txt\")\n}\n",
		"token.txt": "pat",
	}
	a := mustLoad(t, LoadOptions{Path: writeConfig(t, files)})
	b := mustLoad(t, LoadOptions{Path: writeConfig(t, files)})
	if a.Hash != b.Hash {
		t.Errorf("hashes differ: %s and %s", a.Hash, b.Hash)
	}
}

// TestSensitiveDefaultNeverPrinted: a sensitive variable's default that is
// wrong is blanked out of the snippet, and the message still says which
// type was expected and which was given.
func TestSensitiveDefaultNeverPrinted(t *testing.T) {
	const secret = "notANumberSecretDefault"
	for _, tc := range []struct {
		name, src string
		want      []string
		noSnippet bool // the diagnostic points elsewhere
	}{
		{"used where it may not be", `variable "n" {
  sensitive = true
  default   = "` + secret + `"
}
server {
  listen = var.n
}
`, []string{"Sensitive value not allowed here"}, true},
		{"wrong type", `variable "n" {
  type      = number
  sensitive = true
  default   = "` + secret + `"
}
`, []string{"Invalid default value for variable", "number is required", "string was given"}, false},
		{"sensitive declared last", `variable "n" {
  type      = list(number)
  default   = ["` + secret + `"]
  sensitive = true
}
`, []string{"Invalid default value for variable", "list of number is required"}, false},
		{"function error", `variable "n" {
  sensitive = true
  default   = regex("(` + secret + `", "x")
}
`, []string{"Invalid function argument"}, false},
		{"file error", `variable "n" {
  sensitive = true
  default   = file("` + secret + `")
}
`, []string{"Error in function call"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeConfig(t, map[string]string{"main.hcl": tc.src})
			cfg, diags := Load(LoadOptions{Path: dir, Getenv: func(string) string { return "" }})
			var buf bytes.Buffer
			if err := cfg.NewDiagnosticWriter(&buf, 0, false).WriteDiagnostics(diags); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if strings.Contains(out, secret) || strings.Contains(fmt.Sprintf("%v", diags), secret) {
				t.Errorf("the default leaked:\n%s", out)
			}
			if !tc.noSnippet && (!strings.Contains(out, "default   = ") || !strings.Contains(out, "****")) {
				t.Errorf("want the default line blanked out in the snippet:\n%s", out)
			}
			for _, w := range tc.want {
				if !strings.Contains(out, w) {
					t.Errorf("want %q in:\n%s", w, out)
				}
			}
		})
	}
}

// TestSensitiveOutsideValueWrongType: a sensitive value from --var or
// CONFSYNC_VAR_ that is not of the variable's type is reported by type,
// never by value.
func TestSensitiveOutsideValueWrongType(t *testing.T) {
	const secret = "notANumberSecretValue"
	dir := writeConfig(t, map[string]string{"main.hcl": "variable \"n\" {\n  type      = number\n  sensitive = true\n}\n"})
	for _, tc := range []struct {
		name string
		vars map[string]string
		env  map[string]string
		want string
	}{
		{"flag, wrong type", map[string]string{"n": `"` + secret + `"`}, nil, "number is required, but a string was given"},
		{"flag, not HCL", map[string]string{"n": secret + ` "(`}, nil, "does not parse"},
		{"environment", nil, map[string]string{"CONFSYNC_VAR_n": `["` + secret + `"]`}, "number is required, but a tuple was given"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg, diags := Load(LoadOptions{Path: dir, Vars: tc.vars, Getenv: func(k string) string { return tc.env[k] }})
			var buf bytes.Buffer
			if err := cfg.NewDiagnosticWriter(&buf, 0, false).WriteDiagnostics(diags); err != nil {
				t.Fatal(err)
			}
			out := buf.String()
			if !diags.HasErrors() || strings.Contains(out, secret) {
				t.Errorf("want an error without the value, got:\n%s", out)
			}
			if !strings.Contains(out, tc.want) {
				t.Errorf("want %q in:\n%s", tc.want, out)
			}
		})
	}
}

// TestSensitiveDefaultArgumentsReadable: the arguments of a sensitive
// default that evaluates, such as a file name, are not secrets and stay
// readable in other messages; only the value is blanked out.
func TestSensitiveDefaultArgumentsReadable(t *testing.T) {
	dir := writeConfig(t, map[string]string{
		"main.hcl": `variable "tok" {
  sensitive = true
  default   = file("token.txt")
}
confluence {
  url     = "https://c.example.com"
  token   = var.tok
  ca_file = "token.txt.pem"
}
`,
		"token.txt": "pat-0123456789",
	})
	cfg, diags := Load(LoadOptions{Path: dir, Getenv: func(string) string { return "" }})
	var buf bytes.Buffer
	if err := cfg.NewDiagnosticWriter(&buf, 0, false).WriteDiagnostics(diags); err != nil {
		t.Fatal(err)
	}
	out := buf.String()
	if !strings.Contains(out, "token.txt.pem, which cannot be read") || strings.Contains(out, "pat-0123456789") {
		t.Errorf("want the missing file named and the token hidden:\n%s", out)
	}
}
