package ldap

import (
	"encoding/base64"
	"encoding/binary"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"
)

// FormatGUID renders a 16-byte Active Directory objectGUID in the canonical
// form AD tools show (lower-case here): the first three fields are stored
// little-endian, the last two as bytes in order.
func FormatGUID(b []byte) (string, error) {
	if len(b) != 16 {
		return "", fmt.Errorf("objectGUID has %d bytes, want 16", len(b))
	}
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		binary.LittleEndian.Uint32(b[0:4]),
		binary.LittleEndian.Uint16(b[4:6]),
		binary.LittleEndian.Uint16(b[6:8]),
		b[8:10], b[10:16]), nil
}

// FormatSID renders a binary Windows security identifier (objectSid) as
// S-1-5-21-....
func FormatSID(b []byte) (string, error) {
	if len(b) < 8 || b[0] != 1 || len(b) != 8+4*int(b[1]) {
		return "", fmt.Errorf("objectSid of %d bytes is malformed", len(b))
	}
	var auth uint64
	for _, c := range b[2:8] {
		auth = auth<<8 | uint64(c)
	}
	var sb strings.Builder
	sb.WriteString("S-1-")
	sb.WriteString(strconv.FormatUint(auth, 10))
	for i := 0; i < int(b[1]); i++ {
		sb.WriteByte('-')
		sb.WriteString(strconv.FormatUint(uint64(binary.LittleEndian.Uint32(b[8+4*i:])), 10))
	}
	return sb.String(), nil
}

// FormatValue renders one raw attribute value as text: a GUID or SID for
// the Active Directory binary identifiers, the value itself when it is
// UTF-8 text, and "base64:" plus its base64 encoding otherwise.
func FormatValue(attr string, raw []byte) string {
	switch {
	case strings.EqualFold(attr, attrObjectGUID):
		if s, err := FormatGUID(raw); err == nil {
			return s
		}
	case strings.EqualFold(attr, attrObjectSID):
		if s, err := FormatSID(raw); err == nil {
			return s
		}
	}
	if utf8.Valid(raw) && printable(raw) {
		return string(raw)
	}
	return "base64:" + base64.StdEncoding.EncodeToString(raw)
}

// printable reports whether b holds no control characters other than tab
// and newline, which would garble a terminal.
func printable(b []byte) bool {
	for _, c := range b {
		if c < 0x20 && c != '\t' && c != '\n' || c == 0x7f {
			return false
		}
	}
	return true
}

// stableID renders the value of an id attribute: a GUID for objectGUID,
// lower-cased text (entryUUID, nsUniqueId, ...) otherwise.
func stableID(attr string, raw []byte) (string, error) {
	if strings.EqualFold(attr, attrObjectGUID) {
		return FormatGUID(raw)
	}
	if len(raw) == 0 {
		return "", fmt.Errorf("%s is empty", attr)
	}
	if !utf8.Valid(raw) {
		return "base64:" + base64.StdEncoding.EncodeToString(raw), nil
	}
	return strings.ToLower(string(raw)), nil
}

// accountDisabled reports whether an Active Directory userAccountControl
// value has the ACCOUNTDISABLE bit set.
func accountDisabled(uac string) (bool, error) {
	n, err := strconv.ParseInt(strings.TrimSpace(uac), 10, 64)
	if err != nil {
		return false, fmt.Errorf("userAccountControl %q is not a number", uac)
	}
	return n&uacAccountDisable != 0, nil
}
