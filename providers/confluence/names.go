package confluence

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

const forbiddenChars = "\\,+<>'\""

// ValidateUsername reports why Confluence would reject a username for a
// new user, or nil. The rules are those Atlassian documents for
// POST /rest/api/admin/user.
func ValidateUsername(name string) error {
	return validateName("username", name)
}

// ValidateGroupName reports why a group name cannot be managed, or nil.
// Confluence stores group names in lower case and matches them
// case-insensitively; confsync holds group names to the same rules as
// usernames so that every name round-trips through a URL path segment
// unchanged. A "/" is also refused: servlet containers reject an encoded
// slash in a path.
func ValidateGroupName(name string) error {
	if err := validateName("group name", name); err != nil {
		return err
	}
	if strings.Contains(name, "/") {
		return errors.New(`group name must not contain "/"`)
	}
	return nil
}

func validateName(what, name string) error {
	switch {
	case name == "" || strings.TrimSpace(name) == "":
		return fmt.Errorf("%s must not be empty", what)
	case !utf8.ValidString(name):
		return fmt.Errorf("%s is not valid UTF-8", what)
	case strings.ContainsAny(name, forbiddenChars):
		return fmt.Errorf(`%s %q contains a character Confluence forbids (one of \ , + < > ' ")`, what, name)
	case strings.IndexFunc(name, unicode.IsSpace) >= 0:
		return fmt.Errorf("%s %q contains whitespace, which Confluence forbids", what, name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("%s %q contains a control character", what, name)
	case strings.IndexFunc(name, unicode.IsUpper) >= 0:
		return fmt.Errorf("%s %q contains upper-case letters; Confluence requires lower case", what, name)
	case strings.EqualFold(name, "anonymous"):
		return fmt.Errorf(`%s must not be "anonymous", which Confluence reserves`, what)
	case name == "." || name == "..":
		return fmt.Errorf("%s %q is not usable: it cannot travel as a URL path segment", what, name)
	case len(name) > 255:
		return fmt.Errorf("%s is longer than 255 bytes", what)
	}
	return nil
}
