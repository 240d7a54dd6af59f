package main

import (
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/confsync/confsync/config"
	"github.com/hashicorp/hcl/v2"
	"golang.org/x/term"
)

// configEnv names the environment variable that gives the configuration
// path when --config is not set.
const configEnv = "CONFSYNC_CONFIG"

// configPath resolves --config, else CONFSYNC_CONFIG, else ".".
func configPath(ro *rootOptions) string {
	if ro.configPath != "" {
		return ro.configPath
	}
	if p := os.Getenv(configEnv); p != "" {
		return p
	}
	return "."
}

// varArg is one --var (s is NAME=VALUE) or --var-file (s is a path), as
// given.
type varArg struct {
	file bool
	s    string
}

// varFlag is --var or --var-file. Both append to one list, so that the
// order of the command line, which decides which value wins, is kept.
// Set never fails: pflag would quote the argument, which may hold a
// secret, in its error; parseVars checks it.
type varFlag struct {
	args *[]varArg
	file bool
}

func (f *varFlag) Set(s string) error {
	*f.args = append(*f.args, varArg{file: f.file, s: s})
	return nil
}

func (f *varFlag) String() string { return "" }

func (f *varFlag) Type() string { return "stringArray" }

// parseVars turns the --var and --var-file flags into the loader's
// command-line values, in order.
func parseVars(args []varArg) ([]config.VarArg, error) {
	out := make([]config.VarArg, 0, len(args))
	for _, a := range args {
		if a.file {
			if strings.TrimSpace(a.s) == "" {
				return nil, fmt.Errorf("invalid --var-file: expected a file name")
			}
			out = append(out, config.VarArg{File: a.s})
			continue
		}
		name, value, ok := strings.Cut(a.s, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			// Never echo the argument: it may hold a secret.
			return nil, fmt.Errorf("invalid --var: expected NAME=VALUE (the value may be empty, as in NAME=)")
		}
		out = append(out, config.VarArg{Name: name, Value: value})
	}
	return out, nil
}

// loadConfig loads the configuration the root flags point at and prints
// every diagnostic, errors and warnings, to stderr. On error it returns an
// *exitError whose message has already been printed.
func loadConfig(ro *rootOptions, stderr io.Writer) (*config.Config, error) {
	cfg, _, err := loadConfigDiags(ro, stderr)
	return cfg, err
}

// loadConfigDiags is loadConfig, also returning the diagnostics it printed.
func loadConfigDiags(ro *rootOptions, stderr io.Writer) (*config.Config, hcl.Diagnostics, error) {
	vars, err := parseVars(ro.varArgs)
	if err != nil {
		return nil, nil, &exitError{code: 1, err: err}
	}
	cfg, diags := config.Load(config.LoadOptions{Path: configPath(ro), CommandLine: vars})
	if len(diags) > 0 {
		if werr := writeDiagnostics(stderr, cfg, diags); werr != nil {
			return nil, diags, &exitError{code: 1, err: werr}
		}
	}
	if diags.HasErrors() {
		return nil, diags, &exitError{code: 1}
	}
	return cfg, diags, nil
}

// writeDiagnostics prints diagnostics with their source snippets.
func writeDiagnostics(w io.Writer, cfg *config.Config, diags hcl.Diagnostics) error {
	width, color := diagnosticStyle(w)
	return cfg.NewDiagnosticWriter(w, width, color).WriteDiagnostics(diags)
}

// diagnosticStyle says how to render diagnostics on w: wrapped to its width
// and in colour when it is a terminal and NO_COLOR is not set, plain
// otherwise.
func diagnosticStyle(w io.Writer) (width uint, color bool) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return 0, false
	}
	if cols, _, err := term.GetSize(int(f.Fd())); err == nil && cols > 0 {
		width = uint(cols)
	}
	// https://no-color.org: a non-empty NO_COLOR turns colour off.
	return width, os.Getenv("NO_COLOR") == ""
}
