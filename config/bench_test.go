package config

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// BenchmarkLoadExample loads the multi-idp example: the cost of every
// command's start.
func BenchmarkLoadExample(b *testing.B) {
	env := func(string) string { return "" }
	for b.Loop() {
		if _, diags := Load(LoadOptions{Path: "../examples/multi-idp", Getenv: env}); diags.HasErrors() {
			b.Fatal(diags)
		}
	}
}

// BenchmarkLoadLarge loads a configuration with many IdPs and mappings.
func BenchmarkLoadLarge(b *testing.B) {
	var sb strings.Builder
	sb.WriteString("confluence {\n  url = \"https://c.example.com\"\n  token = \"t\"\n}\n")
	for i := range 50 {
		fmt.Fprintf(&sb, "idp \"idp%d\" {\n  scim {}\n  groups {\n", i)
		for j := range 100 {
			fmt.Fprintf(&sb, "    map \"Group %d\" {\n      to = [\"g-%d-%d\", \"all\"]\n    }\n", j, i, j)
		}
		sb.WriteString("  }\n}\n")
	}
	dir := b.TempDir()
	p := filepath.Join(dir, "large.hcl")
	if err := os.WriteFile(p, []byte(sb.String()), 0o644); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(sb.Len()))
	env := func(string) string { return "" }
	for b.Loop() {
		if _, diags := Load(LoadOptions{Path: p, Getenv: env}); diags.HasErrors() {
			b.Fatal(diags)
		}
	}
}
