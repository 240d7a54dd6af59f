package config

import (
	"encoding/hex"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// scimSchema is the body of an idp's scim block.
var scimSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "token_sha256"},
	},
}

// decodeSCIM decodes a scim source block.
func (l *loader) decodeSCIM(block *hcl.Block) (*SCIMSource, hcl.Diagnostics) {
	s := &SCIMSource{}
	content, diags := block.Body.Content(scimSchema)
	attr, ok := content.Attributes["token_sha256"]
	if !ok {
		return s, diags
	}
	items, _, d := l.strList(attr)
	diags = append(diags, d...)
	seen := map[string]bool{}
	for _, it := range items {
		h := strings.ToLower(strings.TrimSpace(it.Value))
		if b, err := hex.DecodeString(h); err != nil || len(b) != 32 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Malformed token hash",
				Detail:   "A token_sha256 entry is the SHA-256 of a bearer token as 64 hexadecimal digits, as printed by `printf %s \"$TOKEN\" | sha256sum`. Never put the token itself here.",
				Subject:  it.Range.Ptr(),
			})
			continue
		}
		if seen[h] {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Duplicate token hash",
				Detail:   "This token hash is listed twice.",
				Subject:  it.Range.Ptr(),
			})
			continue
		}
		seen[h] = true
		s.TokenSHA256 = append(s.TokenSHA256, h)
	}
	return s, diags
}
