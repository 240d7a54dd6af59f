package config

import (
	"fmt"
	"regexp"
	"sort"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/hclsyntax"

	"github.com/confsync/confsync/providers/scim/filter"
)

// attributesSchema is the body of an idp's attributes block.
var attributesSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "username"},
		{Name: "email"},
		{Name: "display_name"},
		{Name: "custom"},
	},
}

// defaultAttributes are what Entra ID sends over SCIM and what Active
// Directory holds.
func defaultAttributes(kind string) Attributes {
	switch kind {
	case "ldap":
		return Attributes{Username: DefaultLDAPUsername, Email: DefaultLDAPEmail, DisplayName: DefaultLDAPDisplayName}
	case "graph":
		return Attributes{Username: DefaultGraphUsername, Email: DefaultGraphEmail, DisplayName: DefaultGraphDisplayName}
	case "okta":
		return Attributes{Username: DefaultOktaUsername, Email: DefaultOktaEmail, DisplayName: DefaultOktaDisplayName}
	}
	return Attributes{Username: DefaultSCIMUsername, Email: DefaultSCIMEmail, DisplayName: DefaultSCIMDisplayName}
}

// ldapAttrName is an LDAP attribute description: a name or numeric OID,
// with options such as ;binary.
var ldapAttrName = regexp.MustCompile(`^(?:[A-Za-z][A-Za-z0-9-]*|[0-9]+(?:\.[0-9]+)+)(?:;[A-Za-z0-9-]+)*$`)

// graphAttrName is a Graph user property, or a property of a complex one
// (onPremisesExtensionAttributes.extensionAttribute1).
var graphAttrName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,119}(?:\.[A-Za-z][A-Za-z0-9_]{0,119})?$`)

// oktaAttrName is an Okta user profile property.
var oktaAttrName = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_]{0,99}$`)

// CheckSourceAttribute reports why attr is not a source attribute for an
// IdP of the given kind ("scim": a SCIM attribute path; "ldap": an LDAP
// attribute name; "graph": a Microsoft Graph user property, optionally
// one level into a complex one; "okta": an Okta profile property), or nil.
func CheckSourceAttribute(kind, attr string) error {
	switch kind {
	case "ldap":
		if !ldapAttrName.MatchString(attr) {
			return fmt.Errorf("%q is not an LDAP attribute name such as sAMAccountName or mail", attr)
		}
		return nil
	case "graph":
		if !graphAttrName.MatchString(attr) {
			return fmt.Errorf("%q is not a Microsoft Graph user property such as userPrincipalName, onPremisesSamAccountName, extension_<app id>_<name> or onPremisesExtensionAttributes.extensionAttribute1", attr)
		}
		return nil
	case "okta":
		if !oktaAttrName.MatchString(attr) {
			return fmt.Errorf("%q is not an Okta profile property such as login, email or employeeNumber", attr)
		}
		return nil
	}
	// The one SCIM path grammar, the SCIM server's, in its strict form.
	_, err := filter.ParseStrictPath(attr)
	return err
}

// decodeAttributes decodes an attributes block for an IdP of the given kind.
func (l *loader) decodeAttributes(block *hcl.Block, kind string) (*Attributes, hcl.Diagnostics) {
	a := defaultAttributes(kind)
	content, diags := block.Body.Content(attributesSchema)
	check := func(attrName string, it item) bool {
		if err := CheckSourceAttribute(kind, it.Value); err != nil {
			what := map[string]string{"ldap": "LDAP attribute name", "graph": "Graph user property", "okta": "Okta profile property"}[kind]
			if what == "" {
				what = "SCIM attribute path"
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Invalid " + what,
				Detail:   fmt.Sprintf("In %s: %s. This is a %s idp, so source attributes are %ss.", attrName, err, kind, what),
				Subject:  it.Range.Ptr(),
			})
			return false
		}
		return true
	}
	for _, f := range []struct {
		name string
		dst  *string
	}{
		{"username", &a.Username},
		{"email", &a.Email},
		{"display_name", &a.DisplayName},
	} {
		attr, ok := content.Attributes[f.name]
		if !ok {
			continue
		}
		s, ok, d := l.str(attr)
		diags = append(diags, d...)
		if ok && check(f.name, item{Value: s, Range: attr.Expr.Range()}) {
			*f.dst = s
		}
	}
	if attr, ok := content.Attributes["custom"]; ok {
		m, _, d := l.strMap(attr)
		diags = append(diags, d...)
		names := make([]string, 0, len(m))
		for k := range m {
			names = append(names, k)
		}
		sort.Strings(names)
		for _, k := range names {
			it := m[k]
			if !hclsyntax.ValidIdentifier(k) {
				diags = append(diags, &hcl.Diagnostic{
					Severity: hcl.DiagError,
					Summary:  "Invalid custom attribute name",
					Detail:   fmt.Sprintf("%q is not a valid name: use letters, digits, underscores and dashes, starting with a letter.", k),
					Subject:  it.Range.Ptr(),
				})
				continue
			}
			if check("custom."+k, it) {
				if a.Custom == nil {
					a.Custom = map[string]string{}
				}
				a.Custom[k] = it.Value
			}
		}
		if len(m) > 0 {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Custom attributes are not written to Confluence",
				Detail:   "Confluence Data Center's REST API has no user properties, so custom attributes are kept in confsync's state and shown in plans, but never written to Confluence.",
				Subject:  attr.NameRange.Ptr(),
			})
		}
	}
	return &a, diags
}
