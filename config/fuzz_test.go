package config

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzLoad feeds arbitrary files to Load: it must never panic, every
// diagnostic must render, and a configuration without errors must hold
// the invariants the rest of confsync relies on. The seed corpus is
// testdata/fuzz/FuzzLoad plus every fixture and example.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.hcl")
	more, _ := filepath.Glob("../examples/*/*.hcl")
	for _, p := range append(seeds, more...) {
		if src, err := os.ReadFile(p); err == nil {
			f.Add(src)
		}
	}
	dir := f.TempDir()
	name := filepath.Join(dir, "fuzz.hcl")
	f.Fuzz(func(t *testing.T, src []byte) {
		if err := os.WriteFile(name, src, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, diags := Load(LoadOptions{
			Path:   name,
			Vars:   map[string]string{},
			Getenv: func(k string) string { return "fuzz-" + strings.ToLower(k) },
		})
		if cfg == nil {
			t.Fatal("Load returned a nil Config")
		}
		var buf bytes.Buffer
		if err := cfg.NewDiagnosticWriter(&buf, 80, false).WriteDiagnostics(diags); err != nil {
			t.Fatalf("rendering diagnostics: %v", err)
		}
		if diags.HasErrors() {
			return
		}
		checkInvariants(t, cfg)
	})
}

// checkInvariants checks what a valid configuration guarantees.
func checkInvariants(t *testing.T, cfg *Config) {
	t.Helper()
	if (cfg.Store.SQLite == "") == (cfg.Store.Postgres == "") {
		t.Errorf("store %+v: want exactly one backend", cfg.Store)
	}
	if c := cfg.Confluence; c != nil {
		if c.Parallelism < 1 || !strings.HasPrefix(c.URL, "http") {
			t.Errorf("confluence %+v", c)
		}
		for _, g := range c.ProtectedGroups {
			if ValidGroupName(g) != nil {
				t.Errorf("protected group %q is invalid", g)
			}
		}
	}
	names := map[string]bool{}
	for _, p := range cfg.IDPs {
		if names[p.Name] {
			t.Errorf("duplicate idp %q", p.Name)
		}
		names[p.Name] = true
		if (p.SCIM == nil) == (p.LDAP == nil) {
			t.Errorf("idp %q: want exactly one source", p.Name)
		}
		if p.Groups.Mode != GroupModeManual && p.Groups.Mode != GroupModeOnTheFly {
			t.Errorf("idp %q: mode %q", p.Name, p.Groups.Mode)
		}
		if l := p.LDAP; l != nil && (l.PageSize < 1 || l.Timeout <= 0 || l.URL == "") {
			t.Errorf("idp %q: ldap %+v", p.Name, l)
		}
		for _, m := range p.Groups.Map {
			for _, g := range m.To {
				if ValidGroupName(g) != nil {
					t.Errorf("idp %q maps to invalid group %q", p.Name, g)
				}
			}
		}
	}
	for _, th := range []Threshold{cfg.Safety.MaxDeactivations, cfg.Safety.MaxDeletions, cfg.Safety.MaxMembershipRemovals} {
		if th.Count < 0 || th.Percent < 0 || th.Percent > 100 {
			t.Errorf("threshold %+v", th)
		}
	}
}

// FuzzFormat: Format never panics, and what it formats stays formatted
// and keeps its tokens.
func FuzzFormat(f *testing.F) {
	ins, _ := filepath.Glob("testdata/fmt/*.in")
	for _, p := range ins {
		if src, err := os.ReadFile(p); err == nil {
			f.Add(src)
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		out, diags := Format(src, "fuzz.hcl")
		if diags.HasErrors() {
			if out != nil {
				t.Fatal("Format returned output for a file with syntax errors")
			}
			return
		}
		checkFormatted(t, src, out)
	})
}

// FuzzVarFile: a variable file of any content never panics Load, its
// diagnostics render, and a sensitive variable's value from it never
// reaches them.
func FuzzVarFile(f *testing.F) {
	for _, s := range []string{
		"token = \"fuzz-secret-value\"\nn = 3\nnames = [\"a\", \"b\"]\n",
		"token = [\"fuzz-secret-value\"]\n", "n = \"x\"\n", "undeclared = 1\n",
		"token = upper(\"fuzz-secret-value\")\n", "token = var.n\n", "block {\n}\n",
		"token = \"fuzz-secret-value\n", "\x00\xff", "n = 1\nn = 2\n", "",
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(`
variable "token" {
  type      = string
  sensitive = true
  default   = "d"
}
variable "n" {
  type    = number
  default = 1
}
variable "names" {
  type    = list(string)
  default = []
}
confluence {
  url         = "https://confluence.example.com"
  token       = var.token
  parallelism = var.n
}
`), 0o600); err != nil {
		f.Fatal(err)
	}
	name := filepath.Join(dir, VarsFileName)
	f.Fuzz(func(t *testing.T, src []byte) {
		if err := os.WriteFile(name, src, 0o600); err != nil {
			t.Fatal(err)
		}
		cfg, diags := Load(LoadOptions{Path: dir, Getenv: func(string) string { return "" }})
		var buf bytes.Buffer
		if err := cfg.NewDiagnosticWriter(&buf, 80, false).WriteDiagnostics(diags); err != nil {
			t.Fatalf("rendering diagnostics: %v", err)
		}
		// The value is the sensitive token's when it is the first line's
		// and nowhere else.
		if bytes.HasPrefix(src, []byte("token = \"fuzz-secret-value\"\n")) && bytes.Count(src, []byte("fuzz-secret-value")) == 1 &&
			strings.Contains(buf.String(), "fuzz-secret-value") {
			t.Errorf("the sensitive value reached the diagnostics:\n%s", buf.String())
		}
	})
}
