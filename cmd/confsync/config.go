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

// parseVars turns --var NAME=VALUE flags into a map; a later flag for the
// same name wins.
func parseVars(flags []string) (map[string]string, error) {
	vars := make(map[string]string, len(flags))
	for _, f := range flags {
		name, value, ok := strings.Cut(f, "=")
		name = strings.TrimSpace(name)
		if !ok || name == "" {
			// Never echo f: it may hold a secret.
			return nil, fmt.Errorf("invalid --var: expected NAME=VALUE (the value may be empty, as in NAME=)")
		}
		vars[name] = value
	}
	return vars, nil
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
	vars, err := parseVars(ro.vars)
	if err != nil {
		return nil, nil, &exitError{code: 1, err: err}
	}
	cfg, diags := config.Load(config.LoadOptions{Path: configPath(ro), Vars: vars})
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
