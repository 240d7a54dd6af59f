// Package oneline makes text that a remote service answered (an error
// code, a message) fit for a one-line error message of ours: secrets
// redacted, control and line-breaking characters as spaces, bounded in
// length. The pulled sources (Graph, Okta) share it.
package oneline

import "strings"

// Clean returns v with every non-empty secret replaced by "(sensitive)",
// control characters and line and paragraph separators as spaces, cut to
// at most max bytes (and "..." added) without splitting a character, and
// trimmed of surrounding space.
func Clean(v string, max int, secrets ...string) string {
	for _, sec := range secrets {
		if sec != "" {
			v = strings.ReplaceAll(v, sec, "(sensitive)")
		}
	}
	v = strings.Map(func(r rune) rune {
		if r < 0x20 || r == 0x7f || r == 0x85 || r == 0x2028 || r == 0x2029 {
			return ' '
		}
		return r
	}, v)
	if len(v) > max {
		v = strings.ToValidUTF8(v[:max], "") + "..."
	}
	return strings.TrimSpace(v)
}
