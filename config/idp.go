package config

import (
	"fmt"
	"regexp"

	"github.com/hashicorp/hcl/v2"
)

// idpSchema is the body of an idp "NAME" block.
var idpSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "priority"},
	},
	Blocks: []hcl.BlockHeaderSchema{
		{Type: "scim"},
		{Type: "ldap"},
		{Type: "graph"},
		{Type: "okta"},
		{Type: "users"},
		{Type: "attributes"},
		{Type: "groups"},
	},
}

// validIDPName is what an IdP name may look like: it appears in URLs
// (/scim/v2/NAME), metrics and the store.
var validIDPName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// isSourceBlock reports whether an idp's nested block of this type is its
// source block.
func isSourceBlock(typ string) bool {
	switch typ {
	case "scim", "ldap", "graph", "okta":
		return true
	}
	return false
}

// decodePulledSource decodes a graph or okta source block into p.
func (l *loader) decodePulledSource(p *IDP, src *hcl.Block, diags *hcl.Diagnostics) {
	switch src.Type {
	case "graph":
		s, d := l.decodeGraph(src)
		*diags = append(*diags, d...)
		p.Graph = s
	case "okta":
		s, d := l.decodeOkta(src)
		*diags = append(*diags, d...)
		p.Okta = s
	}
}

// decodeIDP decodes an idp block: exactly one source block, then the sync
// settings, whose defaults depend on the kind of source.
func (l *loader) decodeIDP(block *hcl.Block) (*IDP, hcl.Diagnostics) {
	name := block.Labels[0]
	p := &IDP{Name: name, DeclRange: block.DefRange}
	content, diags := block.Body.Content(idpSchema)
	if !validIDPName.MatchString(name) {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Invalid idp name",
			Detail:   "An idp name is 1 to 63 lower-case letters, digits, dashes and underscores, starting with a letter or digit; it appears in the SCIM URL /scim/v2/NAME.",
			Subject:  block.LabelRanges[0].Ptr(),
		})
	}
	if attr, ok := content.Attributes["priority"]; ok {
		n, ok, d := l.integer(attr, -1000000, 1000000)
		diags = append(diags, d...)
		if ok {
			p.Priority = int(n)
		}
	}

	// The source block.
	var sources hcl.Blocks
	for _, b := range content.Blocks {
		if isSourceBlock(b.Type) {
			sources = append(sources, b)
		}
	}
	switch len(sources) {
	case 0:
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing source block",
			Detail:   fmt.Sprintf("The idp %q needs one source block: scim { } for an IdP that pushes over SCIM (Entra ID, Okta), ldap { } for a directory confsync reads, graph { } for Entra ID read through Microsoft Graph, or okta { } for Okta read through its API.", name),
			Subject:  block.DefRange.Ptr(),
		})
	default:
		for _, extra := range sources[1:] {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "More than one source block",
				Detail:   fmt.Sprintf("The idp %q already has a %s block at %s; an idp has exactly one source block. Declare another idp for another source.", name, sources[0].Type, at(sources[0].DefRange)),
				Subject:  extra.DefRange.Ptr(),
			})
		}
		fallthrough
	case 1:
		switch src := sources[0]; src.Type {
		case "scim":
			s, d := l.decodeSCIM(src)
			diags = append(diags, d...)
			p.SCIM = s
		case "ldap":
			s, d := l.decodeLDAP(src)
			diags = append(diags, d...)
			p.LDAP = s
			if p.LDAP == nil {
				// Keep the kind right for the defaults below.
				p.LDAP = &LDAPSource{DeclRange: src.DefRange}
			}
		case "graph", "okta":
			l.decodePulledSource(p, src, &diags)
		}
	}
	if p.SCIM == nil && p.LDAP == nil && p.Graph == nil && p.Okta == nil {
		p.SCIM = &SCIMSource{}
	}

	single := map[string]*hcl.Block{}
	p.Users = defaultUserSync()
	p.Attributes = defaultAttributes(p.Kind())
	p.Groups = defaultGroupSync()
	for _, b := range content.Blocks {
		if isSourceBlock(b.Type) {
			continue
		}
		if prev, ok := single[b.Type]; ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  fmt.Sprintf("Duplicate %s block", b.Type),
				Detail:   fmt.Sprintf("An idp has at most one %s block; another was declared at %s.", b.Type, at(prev.DefRange)),
				Subject:  b.DefRange.Ptr(),
			})
			continue
		}
		single[b.Type] = b
		switch b.Type {
		case "users":
			u, d := l.decodeUsers(b)
			diags = append(diags, d...)
			if u != nil {
				p.Users = *u
			}
		case "attributes":
			a, d := l.decodeAttributes(b, p.Kind())
			diags = append(diags, d...)
			if a != nil {
				p.Attributes = *a
			}
		case "groups":
			g, d := l.decodeGroups(b, name)
			diags = append(diags, d...)
			if g != nil {
				p.Groups = *g
			}
		}
	}
	return p, diags
}
