package ldap

import (
	"regexp"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
)

// dnKey returns a comparison key for a DN: attribute types and values
// lower-cased, spaces around separators removed, escapes resolved. Two
// spellings of the same DN (as an entry's name and as a member value, say)
// get the same key. Matching rules other than case-insensitive string
// matching are not modelled: directories use those for naming attributes.
func dnKey(dn string) string {
	if !strings.ContainsAny(dn, "\\\"+#<>;") {
		if key, ok := dnKeyFast(dn); ok {
			return key
		}
	}
	parsed, err := goldap.ParseDN(dn)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(dn))
	}
	var sb strings.Builder
	for i, rdn := range parsed.RDNs {
		if i > 0 {
			sb.WriteByte(',')
		}
		for j, a := range rdn.Attributes {
			if j > 0 {
				sb.WriteByte('+')
			}
			sb.WriteString(strings.ToLower(a.Type))
			sb.WriteByte('=')
			writeEscaped(&sb, strings.ToLower(a.Value))
		}
	}
	return sb.String()
}

// dnKeyFast handles the common DN with no escapes, quotes or multi-valued
// RDNs without parsing it into a tree.
func dnKeyFast(dn string) (string, bool) {
	var sb strings.Builder
	sb.Grow(len(dn))
	for i, part := range strings.Split(dn, ",") {
		typ, val, ok := strings.Cut(part, "=")
		if !ok || strings.Contains(val, "=") {
			return "", false
		}
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(strings.ToLower(strings.TrimSpace(typ)))
		sb.WriteByte('=')
		sb.WriteString(strings.ToLower(strings.TrimSpace(val)))
	}
	return sb.String(), true
}

// writeEscaped writes v with the characters that separate DN parts escaped,
// so that keys of different DNs never collide.
func writeEscaped(sb *strings.Builder, v string) {
	for _, r := range v {
		switch r {
		case ',', '+', '=', '\\':
			sb.WriteByte('\\')
		}
		sb.WriteRune(r)
	}
}

// uniqueMemberUID matches the optional UID suffix of a nameAndOptionalUID
// value (uniqueMember): "cn=x,dc=example#'0101'B".
var uniqueMemberUID = regexp.MustCompile(`#'[01]*'B$`)

// memberDNKey returns the DN key of a member attribute value.
func memberDNKey(v string) string {
	if strings.HasSuffix(v, "'B") {
		v = uniqueMemberUID.ReplaceAllString(v, "")
	}
	return dnKey(v)
}
