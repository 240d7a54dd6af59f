package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"

	"github.com/confsync/confsync/config"
	"github.com/hashicorp/hcl/v2"
	"github.com/sergi/go-diff/diffmatchpatch"
	"github.com/spf13/cobra"
)

// fmtCheckExitCode is the exit status of fmt --check when a file is not
// formatted, as with terraform fmt -check; syntax errors give 1.
const fmtCheckExitCode = 3

// fmtOptions are the inputs of confsync fmt.
type fmtOptions struct {
	paths     []string
	check     bool
	diff      bool
	recursive bool
	stdin     io.Reader
	stdout    io.Writer
	stderr    io.Writer
}

func newFmtCmd(_ *rootOptions) *cobra.Command {
	opts := fmtOptions{}
	cmd := &cobra.Command{
		Use:   "fmt [flags] [PATH...]",
		Short: "Rewrite configuration files in the canonical format",
		Long: `Fmt rewrites .hcl files in the canonical layout and prints the names of the
files it changed. Each PATH is a file or a directory (default: the current
directory); "-" reads standard input and writes the result to standard
output. Only whitespace changes; a file with syntax errors is reported and
left untouched.

Exit status: 0 on success; 1 when a file has syntax errors or cannot be
read or written; 3 with --check when a file is not formatted.`,
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.paths = args
			opts.stdin = cmd.InOrStdin()
			opts.stdout = cmd.OutOrStdout()
			opts.stderr = cmd.ErrOrStderr()
			return runFmt(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.check, "check", false, "only list the files that are not formatted, and exit 3 if there are any")
	cmd.Flags().BoolVar(&opts.diff, "diff", false, "show a unified diff of the formatting changes")
	cmd.Flags().BoolVar(&opts.recursive, "recursive", false, "also format .hcl files in subdirectories")
	return cmd
}

// runFmt formats every file the paths name and reports what it did.
func runFmt(ctx context.Context, opts fmtOptions) error {
	paths := opts.paths
	if len(paths) == 0 {
		paths = []string{"."}
	}
	failed, unformatted := false, false
	for _, p := range paths {
		if p == "-" {
			changed, err := fmtStream(opts)
			failed = failed || err != nil
			unformatted = unformatted || changed
			continue
		}
		files, err := fmtFiles(p, opts.recursive)
		if err != nil {
			fmt.Fprintf(opts.stderr, "Error: %s\n", err)
			failed = true
			continue
		}
		for _, f := range files {
			if err := ctx.Err(); err != nil {
				return err
			}
			changed, err := fmtFile(f, opts)
			failed = failed || err != nil
			unformatted = unformatted || changed
		}
	}
	switch {
	case failed:
		return &exitError{code: 1}
	case opts.check && unformatted:
		return &exitError{code: fmtCheckExitCode}
	}
	return nil
}

// fmtFiles lists the files to format under p: p itself when it is a file,
// else its .hcl files (and those of its subdirectories when recursive).
func fmtFiles(p string, recursive bool) ([]string, error) {
	fi, err := os.Stat(p)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", p, errors.Unwrap(err))
	}
	if !fi.IsDir() {
		return []string{p}, nil
	}
	var files []string
	err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if path != p && (!recursive || strings.HasPrefix(d.Name(), ".")) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(d.Name(), ".hcl") && (d.Type().IsRegular() || d.Type()&fs.ModeSymlink != 0) {
			files = append(files, path)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cannot list %s: %w", p, err)
	}
	return files, nil
}

// fmtFile formats one file in place (or only checks it) and reports
// whether it was not formatted.
func fmtFile(name string, opts fmtOptions) (bool, error) {
	src, err := os.ReadFile(name)
	if err != nil {
		fmt.Fprintf(opts.stderr, "Error: cannot read %s: %s\n", name, errors.Unwrap(err))
		return false, err
	}
	out, err := formatSource(src, name, opts)
	if err != nil || bytes.Equal(src, out) {
		return false, err
	}
	fmt.Fprintln(opts.stdout, name)
	if opts.diff {
		fmt.Fprint(opts.stdout, unifiedDiff(name, string(src), string(out)))
	}
	if opts.check {
		return true, nil
	}
	// Write through a symbolic link rather than replacing it.
	target, err := filepath.EvalSymlinks(name)
	if err != nil {
		fmt.Fprintf(opts.stderr, "Error: cannot write %s: %s\n", name, err)
		return true, err
	}
	fi, err := os.Stat(target)
	if err != nil {
		fmt.Fprintf(opts.stderr, "Error: cannot write %s: %s\n", name, errors.Unwrap(err))
		return true, err
	}
	if err := writeFileAtomic(target, out, fi.Mode().Perm()); err != nil {
		fmt.Fprintf(opts.stderr, "Error: cannot write %s: %s\n", name, err)
		return true, err
	}
	return true, nil
}

// fmtStream formats standard input to standard output.
func fmtStream(opts fmtOptions) (bool, error) {
	src, err := io.ReadAll(opts.stdin)
	if err != nil {
		fmt.Fprintf(opts.stderr, "Error: cannot read standard input: %s\n", err)
		return false, err
	}
	out, err := formatSource(src, "<stdin>", opts)
	if err != nil {
		return false, err
	}
	changed := !bytes.Equal(src, out)
	if opts.check && changed {
		// As for files: the name of what is not formatted.
		fmt.Fprintln(opts.stdout, "<stdin>")
	}
	switch {
	case opts.diff:
		if changed {
			fmt.Fprint(opts.stdout, unifiedDiff("<stdin>", string(src), string(out)))
		}
	case !opts.check:
		opts.stdout.Write(out)
	}
	return changed, nil
}

// formatSource formats src, printing its syntax errors if it has any.
func formatSource(src []byte, name string, opts fmtOptions) ([]byte, error) {
	out, diags := config.Format(src, name)
	if diags.HasErrors() {
		files := map[string]*hcl.File{name: {Bytes: src}}
		width, color := diagnosticStyle(opts.stderr)
		if err := config.NewDiagnosticWriter(opts.stderr, files, width, color).WriteDiagnostics(diags); err != nil {
			return nil, err
		}
		return nil, errors.New("syntax errors")
	}
	return out, nil
}

// writeFileAtomic replaces name with data through a temporary file in the
// same directory, so that a crash never leaves half a configuration.
func writeFileAtomic(name string, data []byte, perm fs.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), name)
}

// unifiedDiff renders the line changes from a to b as a unified diff with
// three lines of context, computed with go-diff.
func unifiedDiff(name, a, b string) string {
	dmp := diffmatchpatch.New()
	ca, cb, lines := dmp.DiffLinesToRunes(a, b)
	diffs := dmp.DiffCharsToLines(dmp.DiffMainRunes(ca, cb, false), lines)

	// Flatten into one op per line.
	type line struct {
		op   diffmatchpatch.Operation
		text string
	}
	var ls []line
	for _, d := range diffs {
		text := d.Text
		for text != "" {
			i := strings.IndexByte(text, '\n')
			var l string
			if i < 0 {
				l, text = text+"\n\\ No newline at end of file\n", ""
			} else {
				l, text = text[:i+1], text[i+1:]
			}
			ls = append(ls, line{d.Type, l})
		}
	}

	const context = 3
	var out strings.Builder
	fmt.Fprintf(&out, "--- %s\n+++ %s\n", name, name)
	for i := 0; i < len(ls); {
		if ls[i].op == diffmatchpatch.DiffEqual {
			i++
			continue
		}
		// A hunk: from context lines before the change to context lines
		// after the last change that is within 2*context of the next.
		start := max(i-context, 0)
		end := i
		for j := i; j < len(ls); j++ {
			if ls[j].op != diffmatchpatch.DiffEqual {
				end = j
			} else if j-end > 2*context {
				break
			}
		}
		stop := min(end+context+1, len(ls))
		aStart, bStart := 1, 1
		for _, l := range ls[:start] {
			if l.op != diffmatchpatch.DiffInsert {
				aStart++
			}
			if l.op != diffmatchpatch.DiffDelete {
				bStart++
			}
		}
		aLen, bLen := 0, 0
		var body strings.Builder
		for _, l := range ls[start:stop] {
			switch l.op {
			case diffmatchpatch.DiffEqual:
				aLen++
				bLen++
				body.WriteString(" " + l.text)
			case diffmatchpatch.DiffDelete:
				aLen++
				body.WriteString("-" + l.text)
			case diffmatchpatch.DiffInsert:
				bLen++
				body.WriteString("+" + l.text)
			}
		}
		fmt.Fprintf(&out, "@@ -%s +%s @@\n%s", hunkRange(aStart, aLen), hunkRange(bStart, bLen), body.String())
		i = stop
	}
	return out.String()
}

// hunkRange renders a unified diff range: "start,len", with the start
// one before the hunk when it is empty.
func hunkRange(start, n int) string {
	if n == 0 {
		start--
	}
	if n == 1 {
		return fmt.Sprint(start)
	}
	return fmt.Sprintf("%d,%d", start, n)
}
