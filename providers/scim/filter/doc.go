// Package filter parses and evaluates the SCIM 2.0 filter grammar of
// RFC 7644 §3.4.2.2 and the attribute paths of PATCH operations
// (RFC 7644 §3.5.2), both of which arrive from identity providers and are
// therefore untrusted input.
//
// The parser is lenient where Entra ID and Okta are known to deviate from
// the RFC: operator and attribute names are matched case-insensitively,
// comparison values may be unquoted (`name.familyName eq Employee`), and a
// value path may carry a trailing sub-attribute inside a filter
// (`emails[type eq "work"].value eq "x"`).
package filter
