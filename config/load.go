package config

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclparse"
	"github.com/hashicorp/hcl/v2/hclsyntax"
)

// LoadOptions says where a configuration is and which variable values come
// from outside it.
type LoadOptions struct {
	// Path is a .hcl file or a directory of .hcl files (not recursive).
	Path string
	// CommandLine are the --var and --var-file flags in the order given:
	// a later one wins over an earlier one, and all win over the variable
	// files of the configuration directory, which win over CONFSYNC_VAR_NAME
	// environment variables, which win over defaults (Terraform's order).
	CommandLine []VarArg
	// Vars are more --var NAME=VALUE settings, applied after CommandLine.
	Vars map[string]string
	// Getenv reads the environment, for env() and CONFSYNC_VAR_NAME;
	// nil means os.Getenv.
	Getenv func(string) string
}

// Load reads, decodes and statically validates a configuration. It does no
// network I/O. It returns every problem found, each with a source range.
//
// The returned Config is never nil, so that diagnostics can always be
// rendered with Config.NewDiagnosticWriter; when diags has errors, use it for
// nothing else.
func Load(opts LoadOptions) (*Config, hcl.Diagnostics) {
	cfg, _, diags := load(opts)
	return cfg, diags
}

// load is Load, also returning the loader, whose variable values tests
// inspect.
func load(opts LoadOptions) (*Config, *loader, hcl.Diagnostics) {
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg := &Config{Variables: map[string]*Variable{}}
	files, dir, diags := configFiles(opts.Path)
	cfg.Dir = dir
	cfg.Files = files
	if diags.HasErrors() {
		return cfg, nil, diags
	}

	l := &loader{cfg: cfg, getenv: getenv, envRead: map[string]string{}, filesRead: map[string][]byte{}}
	parser := hclparse.NewParser()
	var bodies []*hcl.File
	for _, name := range files {
		f, fdiags := parseFile(parser, name, "configuration file")
		diags = append(diags, fdiags...)
		switch {
		case fdiags.HasErrors():
			// A half-parsed file would only cause misleading follow-on
			// errors: report its syntax errors and decode the other files.
			l.partial = true
		case f != nil:
			bodies = append(bodies, f)
		}
	}

	// Gather every top-level block of every file first: variables must be
	// known before anything else is evaluated.
	var blocks hcl.Blocks
	for _, f := range bodies {
		content, cdiags := f.Body.Content(rootSchema)
		diags = append(diags, cdiags...)
		blocks = append(blocks, content.Blocks...)
	}

	assigned, broken, vdiags := varAssignments(parser, opts, dir)
	diags = append(diags, vdiags...)
	cfg.sources = parser.Files()
	for _, name := range broken {
		if f := cfg.sources[name]; f != nil {
			cfg.sources[name] = &hcl.File{Body: f.Body, Bytes: blankValues(f.Bytes), Nav: f.Nav}
		}
	}
	diags = append(diags, l.decodeVariables(blocks.OfType("variable"), assigned)...)
	l.ctx = l.evalContext()

	diags = append(diags, l.decodeRoot(blocks)...)

	cfg.Hash = l.hash(files)
	diags = l.redact(diags)
	sortDiagnostics(diags, files)
	return cfg, l, diags
}

// sortDiagnostics orders diagnostics by file, in the order the files were
// read, then by position, so that a user can work down the list.
func sortDiagnostics(diags hcl.Diagnostics, files []string) {
	rank := make(map[string]int, len(files))
	for i, f := range files {
		rank[f] = i + 1
	}
	key := func(d *hcl.Diagnostic) (int, int) {
		if d.Subject == nil {
			return 0, 0
		}
		r, ok := rank[d.Subject.Filename]
		if !ok {
			r = len(files) + 1 // a variable file: after the configuration
		}
		return r, d.Subject.Start.Byte
	}
	sort.SliceStable(diags, func(i, j int) bool {
		fi, bi := key(diags[i])
		fj, bj := key(diags[j])
		if fi != fj {
			return fi < fj
		}
		return bi < bj
	})
}

// rootSchema lists the top-level blocks of a configuration file.
var rootSchema = &hcl.BodySchema{
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "variable", LabelNames: []string{"name"}},
		{Type: "confluence"},
		{Type: "store"},
		{Type: "server"},
		{Type: "idp", LabelNames: []string{"name"}},
		{Type: "safety"},
	},
}

// decodeRoot decodes every top-level block except variables, in order,
// and runs the checks that span blocks.
func (l *loader) decodeRoot(blocks hcl.Blocks) hcl.Diagnostics {
	var diags hcl.Diagnostics
	cfg := l.cfg
	seen := map[string]*hcl.Block{}
	single := func(b *hcl.Block) bool {
		if prev, ok := seen[b.Type]; ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Duplicate %s block", b.Type),
				Detail:   fmt.Sprintf("Only one %s block is allowed; another was declared at %s.", b.Type, at(prev.DefRange)),
				Subject:  b.DefRange.Ptr(),
			})
			return false
		}
		seen[b.Type] = b
		return true
	}

	storeSet := false
	idpByName := map[string]*IDP{}
	for _, b := range blocks {
		switch b.Type {
		case "confluence":
			if !single(b) {
				continue
			}
			c, d := l.decodeConfluence(b)
			diags = append(diags, d...)
			cfg.Confluence = c
		case "store":
			if !single(b) {
				continue
			}
			s, d := l.decodeStore(b)
			diags = append(diags, d...)
			if s != nil {
				cfg.Store = *s
				storeSet = true
			}
		case "server":
			if !single(b) {
				continue
			}
			s, d := l.decodeServer(b)
			diags = append(diags, d...)
			if s != nil {
				cfg.Server = *s
			}
		case "safety":
			if !single(b) {
				continue
			}
			s, d := l.decodeSafety(b)
			diags = append(diags, d...)
			if s != nil {
				cfg.Safety = *s
			}
		case "idp":
			p, d := l.decodeIDP(b)
			diags = append(diags, d...)
			if p == nil {
				continue
			}
			if prev, ok := idpByName[p.Name]; ok {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Duplicate idp name",
					Detail:   fmt.Sprintf("An idp named %q was already declared at %s; names must be unique.", p.Name, at(prev.DeclRange)),
					Subject:  b.LabelRanges[0].Ptr(),
				})
				continue
			}
			idpByName[p.Name] = p
			cfg.IDPs = append(cfg.IDPs, p)
		}
	}
	if !storeSet {
		cfg.Store = Store{SQLite: filepath.Join(cfg.Dir, "confsync.db")}
	}
	if _, ok := seen["server"]; !ok {
		cfg.Server = defaultServer()
	}
	diags = append(diags, l.checkProtectedGroups()...)
	if b, ok := seen["server"]; ok && cfg.Server.AutoApply && seen["safety"] == nil {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "auto_apply without safety thresholds",
			Detail:   "serve applies plans without review, and there is no safety block: a mistake in an IdP (a wrong provisioning scope, an emptied group) could deactivate every user. Add safety { max_deactivations = \"5%\" } or similar.",
			Subject:  b.DefRange.Ptr(),
		})
	}
	return diags
}

// configFiles lists the .hcl files of path, a file or a directory, and the
// directory relative paths are resolved against.
func configFiles(path string) ([]string, string, hcl.Diagnostics) {
	if path == "" {
		path = "."
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, path, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read configuration", Detail: err.Error()}}
	}
	fi, err := os.Stat(abs)
	if errors.Is(err, os.ErrNotExist) {
		return nil, abs, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "Configuration not found",
			Detail:   fmt.Sprintf("There is no file or directory %s. Give --config (or CONFSYNC_CONFIG) a .hcl file or a directory of .hcl files.", path),
		}}
	}
	if err != nil {
		return nil, abs, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read configuration", Detail: fmt.Sprintf("%s.", err)}}
	}
	if !fi.IsDir() {
		return []string{path}, filepath.Dir(abs), nil
	}
	entries, err := os.ReadDir(abs)
	if err != nil {
		return nil, abs, hcl.Diagnostics{{Severity: hcl.DiagError, Summary: "Cannot read configuration", Detail: fmt.Sprintf("%s.", err)}}
	}
	var files []string
	for _, e := range entries {
		n := e.Name()
		if e.IsDir() || !strings.HasSuffix(n, ".hcl") || strings.HasPrefix(n, ".") || strings.HasSuffix(n, VarsFileSuffix) {
			continue
		}
		files = append(files, filepath.Join(path, n))
	}
	if len(files) == 0 {
		return nil, abs, hcl.Diagnostics{{
			Severity: hcl.DiagError,
			Summary:  "No configuration files",
			Detail:   fmt.Sprintf("The directory %s holds no .hcl files. Give --config (or CONFSYNC_CONFIG) a .hcl file or a directory of .hcl files.", abs),
		}}
	}
	return files, abs, nil
}

// hash is a SHA-256 over what the files say, the variable values and
// whatever env() and file() read, so that a plan can be tied to the
// configuration that made it without recording any value.
//
// A file is hashed as its token stream, so that comments, indentation,
// alignment and line breaks (what confsync fmt changes, and what a reviewer
// adds) do not make a saved plan stale, as they would not in Terraform.
func (l *loader) hash(files []string) string {
	h := sha256.New()
	for _, name := range files {
		f := l.cfg.sources[name]
		if f == nil {
			continue
		}
		fmt.Fprintf(h, "file %q\n", filepath.Base(name))
		hashTokens(h, f.Bytes, name)
	}
	writeSorted := func(kind string, m map[string]string) {
		keys := make([]string, 0, len(m))
		for k := range m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			fmt.Fprintf(h, "%s %q %d\n%s", kind, k, len(m[k]), m[k])
		}
	}
	writeSorted("var", l.varText)
	writeSorted("env", l.envRead)
	fileText := map[string]string{}
	for k, v := range l.filesRead {
		fileText[k] = string(v)
	}
	writeSorted("readfile", fileText)
	return hex.EncodeToString(h.Sum(nil))
}

// hashTokens writes the meaningful tokens of an HCL file to h: not its
// comments, not its line breaks, and not a comma that only ends a list or
// an object. Each token is written with its type and length, so that two
// different streams never write the same bytes. A file that does not lex is
// hashed as it is.
func hashTokens(h io.Writer, src []byte, filename string) {
	toks, diags := hclsyntax.LexConfig(src, filename, hcl.InitialPos)
	if diags.HasErrors() {
		fmt.Fprintf(h, "raw %d\n", len(src))
		h.Write(src)
		return
	}
	buf := make([]byte, 0, len(src)+len(toks)*8)
	put := func(ty hclsyntax.TokenType, b []byte) {
		buf = strconv.AppendInt(buf, int64(ty), 10)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, int64(len(b)), 10)
		buf = append(buf, '\n')
		buf = append(buf, b...)
	}
	comma := false // a comma seen but not written yet
	for _, t := range toks {
		switch t.Type {
		case hclsyntax.TokenComment, hclsyntax.TokenNewline:
			continue
		case hclsyntax.TokenComma:
			comma = true
			continue
		case hclsyntax.TokenCBrack, hclsyntax.TokenCBrace:
			comma = false // a trailing comma means nothing
		}
		if comma {
			put(hclsyntax.TokenComma, []byte{','})
			comma = false
		}
		put(t.Type, t.Bytes)
	}
	h.Write(buf)
}

// redact removes every sensitive value from the diagnostics' text and keeps
// redacted copies of the sources for rendering snippets.
//
// Values are never formatted into confsync's own messages; this is the
// safety net for messages that quote an argument, such as a function's.
// A secret is replaced where it appears quoted; one of at least
// minRedactLen bytes is replaced wherever it appears.
func (l *loader) redact(diags hcl.Diagnostics) hcl.Diagnostics {
	secrets := l.secrets
	if len(secrets) == 0 && len(l.blank) == 0 {
		return diags
	}
	// Longest first, so that a secret containing another is replaced whole.
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	var text, src []string // replacer pairs
	for _, s := range secrets {
		q := strconv.Quote(s)
		text = append(text, q, `"(sensitive value)"`)
		src = append(src, q, `"`+strings.Repeat("*", len(q)-2)+`"`)
		if len(s) >= minRedactLen {
			text = append(text, s, "(sensitive value)")
			// Same length, so that ranges still point at the right bytes.
			src = append(src, s, strings.Repeat("*", len(s)))
		}
	}
	textR, srcR := strings.NewReplacer(text...), strings.NewReplacer(src...)
	for _, d := range diags {
		d.Summary = textR.Replace(d.Summary)
		d.Detail = textR.Replace(d.Detail)
		// The text writer would print the values of the variables an
		// expression refers to; it skips marked ones, but drop the
		// context altogether to be safe.
		d.EvalContext = nil
	}
	redacted := make(map[string]*hcl.File, len(l.cfg.sources))
	for name, f := range l.cfg.sources {
		b := []byte(srcR.Replace(string(f.Bytes)))
		for _, r := range l.blank {
			if r.Filename == name {
				blankRange(b, r)
			}
		}
		redacted[name] = &hcl.File{Body: f.Body, Bytes: b, Nav: f.Nav}
	}
	l.cfg.sources = redacted
	return diags
}

// blankRange replaces every byte of r in b with '*', keeping quotes,
// brackets and line breaks so that the snippet keeps its shape and ranges
// still point at the right bytes.
func blankRange(b []byte, r hcl.Range) {
	if r.Start.Byte < 0 || r.End.Byte > len(b) || r.Start.Byte > r.End.Byte {
		return
	}
	for i := r.Start.Byte; i < r.End.Byte; i++ {
		switch b[i] {
		case '"', '\n', '\r', '\t', ' ', '[', ']', '{', '}', ',', '(', ')':
		default:
			b[i] = '*' // byte by byte, so a UTF-8 letter becomes several

		}
	}
}

// minRedactLen is the shortest secret blanked out wherever it appears;
// shorter ones are blanked out where they appear quoted, since replacing
// every "t" would leave nothing readable.
const minRedactLen = 4

// NewDiagnosticWriter returns a writer that renders diagnostics as
// hcl.NewDiagnosticTextWriter does, with the column added to the position
// ("on main.hcl:12:3"); width 0 means no wrapping. Sensitive values are
// blanked out of the snippets.
func (c *Config) NewDiagnosticWriter(w io.Writer, width uint, color bool) hcl.DiagnosticWriter {
	return NewDiagnosticWriter(w, c.sources, width, color)
}

type diagnosticWriter struct {
	w     io.Writer
	files map[string]*hcl.File
	width uint
	color bool
}

func (dw *diagnosticWriter) WriteDiagnostic(d *hcl.Diagnostic) error {
	var buf bytes.Buffer
	files := dw.files
	if _, ok := d.Extra.(notText); ok {
		files = nil // no snippet of a binary file on the terminal
	}
	if err := hcl.NewDiagnosticTextWriter(&buf, files, dw.width, dw.color).WriteDiagnostic(d); err != nil {
		return err
	}
	out := buf.Bytes()
	if s := d.Subject; s != nil {
		from := fmt.Sprintf("  on %s line %d", s.Filename, s.Start.Line)
		to := fmt.Sprintf("  on %s:%d:%d", s.Filename, s.Start.Line, s.Start.Column)
		out = bytes.Replace(out, []byte(from), []byte(to), 1)
	}
	_, err := dw.w.Write(out)
	return err
}

func (dw *diagnosticWriter) WriteDiagnostics(diags hcl.Diagnostics) error {
	for _, d := range diags {
		if err := dw.WriteDiagnostic(d); err != nil {
			return err
		}
	}
	return nil
}
