package main

import (
	"strings"
)

// applyHint is the command that applies the plan saved to file, with the
// flags the plan was made with that apply needs to load the same
// configuration: --config as given, and every --var and --var-file in
// their order. A --var shows its name only: its value may be a secret, so
// the user types it again in place of the "...".
func applyHint(ro *rootOptions, file string) string {
	parts := []string{"confsync", "apply"}
	if ro.configPath != "" {
		parts = append(parts, "--config", shellQuote(ro.configPath))
	}
	for _, a := range ro.varArgs {
		if a.file {
			parts = append(parts, "--var-file", shellQuote(a.s))
			continue
		}
		name, _, _ := strings.Cut(a.s, "=")
		parts = append(parts, "--var", shellQuote(strings.TrimSpace(name))+"=...")
	}
	parts = append(parts, shellQuote(file))
	hint := strings.Join(parts, " ")
	if hasVar(ro.varArgs) {
		hint += "\n\n  (replace each ... with the value given to plan; values are never shown)"
	}
	return hint
}

func hasVar(args []varArg) bool {
	for _, a := range args {
		if !a.file {
			return true
		}
	}
	return false
}

// shellQuote quotes s for a POSIX shell when it holds anything but
// characters that are safe unquoted.
func shellQuote(s string) string {
	if s != "" && strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_./:@%+=,") == "" {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
