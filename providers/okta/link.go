package okta

import "strings"

// NextLink returns the target of the rel="next" link of a Link header
// (RFC 8288), or "". Okta pages its collections this way; the header may
// be repeated or hold several comma-separated links, and parameters other
// than rel are ignored.
func NextLink(headers []string) string {
	for _, h := range headers {
		for rest := h; rest != ""; {
			rest = strings.TrimLeft(rest, " \t,")
			if !strings.HasPrefix(rest, "<") {
				// Not a link-value: skip to the next comma outside quotes.
				rest = skipValue(rest)
				continue
			}
			end := strings.IndexByte(rest, '>')
			if end < 0 {
				return ""
			}
			target := rest[1:end]
			rest = rest[end+1:]
			var params string
			params, rest = cutParams(rest)
			if hasRel(params, "next") {
				return target
			}
		}
	}
	return ""
}

// cutParams splits the parameters of one link-value from the links after
// it, at the first comma outside a quoted string.
func cutParams(s string) (params, rest string) {
	inQuote := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case c == ',' && !inQuote:
			return s[:i], s[i+1:]
		}
	}
	return s, ""
}

func skipValue(s string) string {
	_, rest := cutParams(s)
	return rest
}

// hasRel reports whether link parameters (";rel=next;title=...") carry a
// rel whose space-separated relation types include want.
func hasRel(params, want string) bool {
	for _, p := range splitParams(params) {
		name, value, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || !strings.EqualFold(strings.TrimSpace(name), "rel") {
			continue
		}
		value = strings.Trim(strings.TrimSpace(value), `"`)
		for _, r := range strings.Fields(value) {
			if strings.EqualFold(r, want) {
				return true
			}
		}
	}
	return false
}

// splitParams splits link parameters at semicolons outside quoted strings.
func splitParams(s string) []string {
	var out []string
	inQuote, start := false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && inQuote:
			i++
		case c == '"':
			inQuote = !inQuote
		case c == ';' && !inQuote:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}
