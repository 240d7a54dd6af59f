package config

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/go-ldap/ldap/v3"
	"github.com/hashicorp/hcl/v2"
)

// Defaults of the ldap block.
const (
	DefaultLDAPPageSize        = 500
	DefaultLDAPTimeout         = 30 * time.Second
	DefaultLDAPUserFilter      = "(objectClass=person)"
	DefaultLDAPGroupFilter     = "(objectClass=groupOfNames)"
	DefaultLDAPMemberAttribute = "member"
	DefaultLDAPUserIDAttribute = "entryUUID"
	DefaultLDAPGroupName       = "cn"
	DefaultLDAPScope           = "sub"
	maxLDAPPageSize            = 10000
)

// ldapSchema is the body of an idp's ldap block.
var ldapSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "url", Required: true},
		{Name: "start_tls"},
		{Name: "ca_file"},
		{Name: "insecure_skip_verify"},
		{Name: "bind_dn"},
		{Name: "bind_password"},
		{Name: "user_base", Required: true},
		{Name: "user_filter"},
		{Name: "user_scope"},
		{Name: "user_id_attribute"},
		{Name: "group_base"},
		{Name: "group_filter"},
		{Name: "group_scope"},
		{Name: "group_name_attribute"},
		{Name: "group_id_attribute"},
		{Name: "group_member_attribute"},
		{Name: "user_member_of_attribute"},
		{Name: "nested_groups"},
		{Name: "page_size"},
		{Name: "timeout"},
	},
}

// decodeLDAP decodes an ldap source block and fills in the defaults.
func (l *loader) decodeLDAP(block *hcl.Block) (*LDAPSource, hcl.Diagnostics) {
	s := &LDAPSource{
		UserFilter:         DefaultLDAPUserFilter,
		UserScope:          DefaultLDAPScope,
		UserIDAttribute:    DefaultLDAPUserIDAttribute,
		GroupFilter:        DefaultLDAPGroupFilter,
		GroupScope:         DefaultLDAPScope,
		GroupNameAttribute: DefaultLDAPGroupName,
		PageSize:           DefaultLDAPPageSize,
		Timeout:            DefaultLDAPTimeout,
		DeclRange:          block.DefRange,
	}
	content, diags := block.Body.Content(ldapSchema)
	clean := !diags.HasErrors()
	a := content.Attributes

	var scheme string
	if attr, ok := a["url"]; ok {
		v, ok, d := l.str(attr)
		diags = append(diags, d...)
		if ok {
			u, err := url.Parse(strings.TrimSpace(v))
			switch {
			case err != nil || u.Host == "" || (u.Scheme != "ldap" && u.Scheme != "ldaps"):
				diags = append(diags, attrError(attr, "Invalid LDAP URL",
					`The url is ldaps://host[:port] (TLS) or ldap://host[:port], such as "ldaps://dc1.example.com:636".`))
			case u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil:
				diags = append(diags, attrError(attr, "Invalid LDAP URL",
					"The url names only the server: put the search base in user_base and group_base, and the credentials in bind_dn and bind_password."))
			default:
				s.URL = u.Scheme + "://" + u.Host
				scheme = u.Scheme
			}
		}
	}
	boolAttr := func(name string, dst *bool) {
		if attr, ok := a[name]; ok {
			b, ok, d := l.boolean(attr)
			diags = append(diags, d...)
			if ok {
				*dst = b
			}
		}
	}
	boolAttr("start_tls", &s.StartTLS)
	boolAttr("insecure_skip_verify", &s.InsecureSkipVerify)
	boolAttr("nested_groups", &s.NestedGroups)
	if attr, ok := a["ca_file"]; ok {
		p, ok, d := l.path(attr, true)
		diags = append(diags, d...)
		if ok {
			s.CAFile = p
		}
	}
	if attr, ok := a["bind_dn"]; ok {
		v, ok, d := l.str(attr)
		diags = append(diags, d...)
		if ok {
			if !ValidBindName(v) {
				diags = append(diags, attrError(attr, "Invalid bind DN", `The bind_dn is a distinguished name such as "CN=confsync,OU=Service Accounts,DC=example,DC=com" (Active Directory also accepts "svc-confsync@example.com" and "EXAMPLE\svc-confsync").`))
			} else {
				s.BindDN = v
			}
		}
	}
	if attr, ok := a["bind_password"]; ok {
		v, ok, d := l.secret(attr)
		diags = append(diags, d...)
		if ok {
			s.BindPassword = v
		}
	}
	dnAttr := func(name string, dst *string) {
		if attr, ok := a[name]; ok {
			v, ok, d := l.str(attr)
			diags = append(diags, d...)
			if !ok {
				return
			}
			if _, err := ldap.ParseDN(v); err != nil || strings.TrimSpace(v) == "" {
				diags = append(diags, attrError(attr, "Invalid search base", fmt.Sprintf(`The %s is a distinguished name such as "OU=Staff,DC=example,DC=com".`, name)))
				return
			}
			*dst = v
		}
	}
	dnAttr("user_base", &s.UserBase)
	dnAttr("group_base", &s.GroupBase)
	filterAttr := func(name string, dst *string) {
		if attr, ok := a[name]; ok {
			v, ok, d := l.str(attr)
			diags = append(diags, d...)
			if !ok {
				return
			}
			v = strings.TrimSpace(v)
			if _, err := ldap.CompileFilter(v); err != nil {
				diags = append(diags, attrError(attr, "Invalid LDAP filter",
					fmt.Sprintf("The %s does not parse as an LDAP filter (RFC 4515), such as \"(&(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))\": %s.", name, ldapErrText(err))))
				return
			}
			*dst = v
		}
	}
	filterAttr("user_filter", &s.UserFilter)
	filterAttr("group_filter", &s.GroupFilter)
	scopeAttr := func(name string, dst *string) {
		if attr, ok := a[name]; ok {
			v, ok, d := l.str(attr)
			diags = append(diags, d...)
			if !ok {
				return
			}
			if v != "sub" && v != "one" {
				diags = append(diags, attrError(attr, "Invalid search scope", fmt.Sprintf(`The %s is "sub" (the whole subtree) or "one" (one level).`, name)))
				return
			}
			*dst = v
		}
	}
	scopeAttr("user_scope", &s.UserScope)
	scopeAttr("group_scope", &s.GroupScope)
	nameAttr := func(name string, dst *string) {
		if attr, ok := a[name]; ok {
			v, ok, d := l.str(attr)
			diags = append(diags, d...)
			if !ok {
				return
			}
			if !ldapAttrName.MatchString(v) {
				diags = append(diags, attrError(attr, "Invalid LDAP attribute name", fmt.Sprintf("The %s is an LDAP attribute name such as objectGUID, cn or member.", name)))
				return
			}
			*dst = v
		}
	}
	nameAttr("user_id_attribute", &s.UserIDAttribute)
	nameAttr("group_name_attribute", &s.GroupNameAttribute)
	nameAttr("group_id_attribute", &s.GroupIDAttribute)
	nameAttr("group_member_attribute", &s.GroupMemberAttribute)
	nameAttr("user_member_of_attribute", &s.UserMemberOfAttribute)
	if attr, ok := a["page_size"]; ok {
		n, ok, d := l.integer(attr, 1, maxLDAPPageSize)
		diags = append(diags, d...)
		if ok {
			s.PageSize = int(n)
		}
	}
	if attr, ok := a["timeout"]; ok {
		v, ok, d := l.duration(attr, time.Second, time.Hour)
		diags = append(diags, d...)
		if ok {
			s.Timeout = v
		}
	}

	if s.GroupIDAttribute == "" {
		s.GroupIDAttribute = s.UserIDAttribute
	}
	_, hasMember := a["group_member_attribute"]
	_, hasMemberOf := a["user_member_of_attribute"]
	if !hasMember && !hasMemberOf {
		s.GroupMemberAttribute = DefaultLDAPMemberAttribute
	}

	// Cross-field checks run when the attributes they read decoded
	// cleanly, whatever else is wrong in the block. A check that reports
	// something missing also needs the block's schema to be clean: a
	// misspelt attribute may be the missing one.
	failed := failedAttrs(a, diags)
	for _, name := range []string{"url", "user_base"} {
		if attr := a[name]; attr != nil && !failed[name] && !l.isSet(attr) {
			diags = append(diags, attrError(attr, "Missing LDAP setting", fmt.Sprintf("The %s attribute must not be null.", name)))
		}
	}
	if hasMember && hasMemberOf {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Conflicting membership attributes",
			Detail:   "Set group_member_attribute (members listed on the group, such as member) or user_member_of_attribute (groups listed on the user, such as memberOf), not both.",
			Subject:  a["user_member_of_attribute"].NameRange.Ptr(),
		})
	}
	if s.StartTLS && scheme == "ldaps" {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "start_tls with ldaps://",
			Detail:   "An ldaps:// connection is already TLS; start_tls upgrades a plain ldap:// connection. Use one or the other.",
			Subject:  a["start_tls"].NameRange.Ptr(),
		})
	}
	if _, ok := a["bind_password"]; ok && s.BindDN == "" && clean && !failed["bind_dn"] {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "bind_password without bind_dn",
			Detail:   "A bind_password is sent with a bind_dn; set the DN of the account confsync binds as.",
			Subject:  a["bind_password"].NameRange.Ptr(),
		})
	}
	if _, ok := a["bind_dn"]; ok && clean {
		if _, ok := a["bind_password"]; !ok {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "bind_dn without bind_password",
				Detail:   "Binding as bind_dn needs its bind_password; keep it in a sensitive variable.",
				Subject:  a["bind_dn"].NameRange.Ptr(),
			})
		}
	}
	if scheme == "ldap" && !s.StartTLS && s.BindPassword != "" {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Bind password sent in clear text",
			Detail:   "The url is ldap:// without start_tls, so the bind password crosses the network unencrypted. Use ldaps:// or start_tls = true.",
			Subject:  a["url"].Expr.Range().Ptr(),
		})
	}
	if s.InsecureSkipVerify {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "TLS certificate verification is off",
			Detail:   "insecure_skip_verify accepts any server certificate, so anyone on the path can read the bind password. Give ca_file instead.",
			Subject:  a["insecure_skip_verify"].NameRange.Ptr(),
		})
	}
	return s, diags
}

// adBindName matches the other names Active Directory accepts in a simple
// bind: a user principal name or a down-level logon name.
var adBindName = regexp.MustCompile(`^(?:[^@\s\\]+@[^@\s\\]+|[^@\s\\]+\\[^@\s\\]+)$`)

// ValidBindName reports whether v can be bound as: a DN, or one of Active
// Directory's other forms (a user principal name, a down-level logon
// name). It is the one rule for bind names: the LDAP source binds with
// whatever it accepts.
func ValidBindName(v string) bool {
	if strings.TrimSpace(v) == "" {
		return false
	}
	if adBindName.MatchString(v) {
		return true
	}
	_, err := ldap.ParseDN(v)
	return err == nil
}

// ldapErrText strips go-ldap's result-code prefix from an error.
func ldapErrText(err error) string {
	msg := err.Error()
	if i := strings.LastIndex(msg, ": "); i >= 0 {
		msg = msg[i+2:]
	}
	return strings.TrimSuffix(msg, ".")
}
