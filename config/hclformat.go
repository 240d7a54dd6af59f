package config

import (
	"io"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"
	"github.com/hashicorp/hcl/v2/hclwrite"
)

// Format returns src, an HCL file, in canonical form: the layout confsync
// fmt writes. Only whitespace changes. A file that does not parse is not
// formatted: Format returns nil and the syntax errors, so that a broken file
// is never rewritten. A file that is not UTF-8 text gets one error.
func Format(src []byte, filename string) ([]byte, hcl.Diagnostics) {
	if d := checkText(src, filename, "file"); d != nil {
		return nil, hcl.Diagnostics{d}
	}
	_, diags := hclsyntax.ParseConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		return nil, diags
	}
	return hclwrite.Format(src), diags
}

// NewDiagnosticWriter renders diagnostics about files (by name) as
// hcl.NewDiagnosticTextWriter does, with the column in each position, such
// as "on main.hcl:12:3". Width 0 means no wrapping.
func NewDiagnosticWriter(w io.Writer, files map[string]*hcl.File, width uint, color bool) hcl.DiagnosticWriter {
	return &diagnosticWriter{w: w, files: files, width: width, color: color}
}
