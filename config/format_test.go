package config

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

var update = flag.Bool("update", false, "rewrite golden files")

// TestFormatGolden formats testdata/fmt/*.in and compares with the
// matching .golden file; go test -run TestFormatGolden -update rewrites
// them.
func TestFormatGolden(t *testing.T) {
	ins, _ := filepath.Glob("testdata/fmt/*.in")
	if len(ins) == 0 {
		t.Fatal("no golden inputs")
	}
	for _, in := range ins {
		name := strings.TrimSuffix(filepath.Base(in), ".in")
		t.Run(name, func(t *testing.T) {
			src, err := os.ReadFile(in)
			if err != nil {
				t.Fatal(err)
			}
			got, diags := Format(src, in)
			if diags.HasErrors() {
				t.Fatal(diags)
			}
			golden := strings.TrimSuffix(in, ".in") + ".golden"
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("Format(%s) =\n%s\nwant\n%s", in, got, want)
			}
			checkFormatted(t, src, got)
		})
	}
}

// checkFormatted checks the properties fmt promises: formatting is
// idempotent and changes nothing but whitespace.
func checkFormatted(t *testing.T, src, out []byte) {
	t.Helper()
	again, diags := Format(out, "formatted.hcl")
	if diags.HasErrors() {
		t.Fatalf("formatted output does not parse: %s", diags)
	}
	if !bytes.Equal(again, out) {
		t.Errorf("Format is not idempotent:\n%s\nthen\n%s", out, again)
	}
	if a, b := significantTokens(t, src), significantTokens(t, out); a != b {
		t.Errorf("formatting changed more than whitespace:\n%s\nbecame\n%s", a, b)
	}
}

// significantTokens renders the tokens of src but the newlines, with
// comments' trailing whitespace trimmed: what formatting must not change.
func significantTokens(t *testing.T, src []byte) string {
	t.Helper()
	toks, _ := hclsyntax.LexConfig(src, "x.hcl", hcl.InitialPos)
	var b strings.Builder
	for _, tok := range toks {
		if tok.Type == hclsyntax.TokenNewline {
			continue
		}
		b.WriteString(strings.TrimSpace(string(tok.Bytes)))
		b.WriteByte(' ')
	}
	return b.String()
}

// TestFormatSyntaxError: a file that does not parse is not formatted.
func TestFormatSyntaxError(t *testing.T) {
	out, diags := Format([]byte("confluence {\n  url = \n}\n"), "bad.hcl")
	if out != nil || !diags.HasErrors() || diags[0].Subject == nil || diags[0].Subject.Filename != "bad.hcl" {
		t.Errorf("Format = %q, %v; want nil and a positioned syntax error", out, diags)
	}
}
