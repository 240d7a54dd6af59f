package config

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// TestExamples loads every directory in examples/ with an empty
// environment: each must be valid, without a single warning, and already
// formatted, since users copy them.
func TestExamples(t *testing.T) {
	dirs, _ := filepath.Glob("../examples/*")
	dirs = slices.DeleteFunc(dirs, func(d string) bool {
		fi, err := os.Stat(d)
		return err != nil || !fi.IsDir()
	})
	if len(dirs) < 3 {
		t.Fatalf("found %d examples, want at least 3", len(dirs))
	}
	for _, dir := range dirs {
		t.Run(filepath.Base(dir), func(t *testing.T) {
			cfg, diags := Load(LoadOptions{Path: dir, Getenv: func(string) string { return "" }})
			for _, d := range diags {
				t.Errorf("%s: %s: %s", d.Subject, d.Summary, d.Detail)
			}
			if cfg.Confluence == nil || len(cfg.IDPs) == 0 {
				t.Errorf("example has no confluence block or no idp")
			}
			for _, f := range cfg.Files {
				src, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				out, diags := Format(src, f)
				if diags.HasErrors() || !bytes.Equal(src, out) {
					t.Errorf("%s is not formatted: run confsync fmt", f)
				}
			}
		})
	}
}

// TestExampleMultiIDP checks the priorities the multi-idp example is about.
func TestExampleMultiIDP(t *testing.T) {
	cfg := mustLoad(t, LoadOptions{Path: "../examples/multi-idp"})
	want := map[string]struct {
		kind     string
		priority int
	}{"entra": {"scim", 300}, "okta": {"scim", 200}, "partners": {"ldap", 100}}
	if len(cfg.IDPs) != len(want) {
		t.Fatalf("got %d idps, want %d", len(cfg.IDPs), len(want))
	}
	for _, p := range cfg.IDPs {
		w, ok := want[p.Name]
		if !ok || p.Kind() != w.kind || p.Priority != w.priority {
			t.Errorf("idp %s: kind %s priority %d, want %+v", p.Name, p.Kind(), p.Priority, w)
		}
	}
	if cfg.Store.Postgres.Reveal() == "" || cfg.Store.SQLite != "" {
		t.Errorf("store = %+v, want the postgres fallback DSN", cfg.Store)
	}
}
