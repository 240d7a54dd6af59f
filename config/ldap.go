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

// Defaulted returns s with every setting left empty at its default: the
// one place LDAP defaults are applied, by decodeLDAP and by the LDAP
// source for a configuration built in code.
func (s LDAPSource) Defaulted() LDAPSource {
	def := func(v *string, d string) {
		if *v == "" {
			*v = d
		}
	}
	def(&s.UserFilter, DefaultLDAPUserFilter)
	def(&s.UserScope, DefaultLDAPScope)
	def(&s.UserIDAttribute, DefaultLDAPUserIDAttribute)
	def(&s.GroupFilter, DefaultLDAPGroupFilter)
	def(&s.GroupScope, DefaultLDAPScope)
	def(&s.GroupNameAttribute, DefaultLDAPGroupName)
	def(&s.GroupIDAttribute, s.UserIDAttribute)
	if s.UserMemberOfAttribute == "" {
		def(&s.GroupMemberAttribute, DefaultLDAPMemberAttribute)
	}
	if s.PageSize == 0 {
		s.PageSize = DefaultLDAPPageSize
	}
	if s.Timeout == 0 {
		s.Timeout = DefaultLDAPTimeout
	}
	return s
}

// decodeLDAP decodes an ldap source block and fills in the defaults. It is
// the one validator of LDAP settings: the LDAP source only derives its
// connection from what it returns.
func (l *loader) decodeLDAP(block *hcl.Block) (*LDAPSource, hcl.Diagnostics) {
	s := &LDAPSource{DeclRange: block.DefRange}
	content, diags := block.Body.Content(ldapSchema)
	clean := !diags.HasErrors()
	a := content.Attributes

	scheme, d := l.decodeLDAPConnection(a, s)
	diags = append(diags, d...)
	diags = append(diags, l.decodeLDAPSearches(a, s)...)
	diags = append(diags, l.decodeLDAPAttributeNames(a, s)...)
	diags = append(diags, l.decodeLDAPLimits(a, s)...)
	*s = s.Defaulted()
	diags = append(diags, l.checkLDAPSettings(a, s, scheme, clean, diags)...)
	diags = append(diags, ldapWarnings(a, s, scheme)...)
	return s, diags
}

// decodeLDAPConnection decodes where and how to connect and bind: url,
// start_tls, ca_file, insecure_skip_verify, bind_dn and bind_password. It
// returns the url's scheme ("" when the url is invalid).
func (l *loader) decodeLDAPConnection(a hcl.Attributes, s *LDAPSource) (scheme string, diags hcl.Diagnostics) {
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
	diags = append(diags, l.ldapBool(a, "start_tls", &s.StartTLS)...)
	diags = append(diags, l.ldapBool(a, "insecure_skip_verify", &s.InsecureSkipVerify)...)
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
	return scheme, diags
}

// decodeLDAPSearches decodes the two searches: their bases, filters and
// scopes.
func (l *loader) decodeLDAPSearches(a hcl.Attributes, s *LDAPSource) (diags hcl.Diagnostics) {
	diags = append(diags, l.ldapDN(a, "user_base", &s.UserBase)...)
	diags = append(diags, l.ldapDN(a, "group_base", &s.GroupBase)...)
	diags = append(diags, l.ldapFilter(a, "user_filter", &s.UserFilter)...)
	diags = append(diags, l.ldapFilter(a, "group_filter", &s.GroupFilter)...)
	diags = append(diags, l.ldapScope(a, "user_scope", &s.UserScope)...)
	diags = append(diags, l.ldapScope(a, "group_scope", &s.GroupScope)...)
	return diags
}

// decodeLDAPAttributeNames decodes the directory attributes confsync
// reads identities and memberships from, and nested_groups.
func (l *loader) decodeLDAPAttributeNames(a hcl.Attributes, s *LDAPSource) (diags hcl.Diagnostics) {
	for _, n := range []struct {
		name string
		dst  *string
	}{
		{"user_id_attribute", &s.UserIDAttribute},
		{"group_name_attribute", &s.GroupNameAttribute},
		{"group_id_attribute", &s.GroupIDAttribute},
		{"group_member_attribute", &s.GroupMemberAttribute},
		{"user_member_of_attribute", &s.UserMemberOfAttribute},
	} {
		diags = append(diags, l.ldapAttrName(a, n.name, n.dst)...)
	}
	diags = append(diags, l.ldapBool(a, "nested_groups", &s.NestedGroups)...)
	return diags
}

// decodeLDAPLimits decodes page_size and timeout.
func (l *loader) decodeLDAPLimits(a hcl.Attributes, s *LDAPSource) (diags hcl.Diagnostics) {
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
	return diags
}

// checkLDAPSettings runs the cross-field checks. They run when the
// attributes they read decoded cleanly, whatever else is wrong in the
// block. A check that reports something missing also needs the block's
// schema to be clean (clean): a misspelt attribute may be the missing one.
func (l *loader) checkLDAPSettings(a hcl.Attributes, s *LDAPSource, scheme string, clean bool, sofar hcl.Diagnostics) (diags hcl.Diagnostics) {
	failed := failedAttrs(a, sofar)
	for _, name := range []string{"url", "user_base"} {
		if attr := a[name]; attr != nil && !failed[name] && !l.isSet(attr) {
			diags = append(diags, attrError(attr, "Missing LDAP setting", fmt.Sprintf("The %s attribute must not be null.", name)))
		}
	}
	_, hasMember := a["group_member_attribute"]
	_, hasMemberOf := a["user_member_of_attribute"]
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
	if scheme == "ldap" && !s.StartTLS && (s.CAFile != "" || s.InsecureSkipVerify) {
		name := "ca_file"
		if s.CAFile == "" {
			name = "insecure_skip_verify"
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  name + " without TLS",
			Detail:   "ca_file and insecure_skip_verify tune TLS, which an ldap:// url without start_tls does not use: use an ldaps:// url or start_tls = true.",
			Subject:  a[name].NameRange.Ptr(),
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
	return diags
}

// ldapWarnings warns of settings that work but expose the bind password.
func ldapWarnings(a hcl.Attributes, s *LDAPSource, scheme string) (diags hcl.Diagnostics) {
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
	return diags
}

func (l *loader) ldapBool(a hcl.Attributes, name string, dst *bool) hcl.Diagnostics {
	attr, ok := a[name]
	if !ok {
		return nil
	}
	b, ok, diags := l.boolean(attr)
	if ok {
		*dst = b
	}
	return diags
}

// ldapString decodes the string attribute name into dst when check
// accepts it. check returns the value to keep, or the detail of an error
// with summary.
func (l *loader) ldapString(a hcl.Attributes, name, summary string, dst *string, check func(v string) (keep, problem string)) hcl.Diagnostics {
	attr, ok := a[name]
	if !ok {
		return nil
	}
	v, ok, diags := l.str(attr)
	if !ok {
		return diags
	}
	keep, problem := check(v)
	if problem != "" {
		return append(diags, attrError(attr, summary, problem))
	}
	*dst = keep
	return diags
}

func (l *loader) ldapDN(a hcl.Attributes, name string, dst *string) hcl.Diagnostics {
	return l.ldapString(a, name, "Invalid search base", dst, func(v string) (string, string) {
		if _, err := ldap.ParseDN(v); err != nil || strings.TrimSpace(v) == "" {
			return "", fmt.Sprintf(`The %s is a distinguished name such as "OU=Staff,DC=example,DC=com".`, name)
		}
		return v, ""
	})
}

func (l *loader) ldapFilter(a hcl.Attributes, name string, dst *string) hcl.Diagnostics {
	return l.ldapString(a, name, "Invalid LDAP filter", dst, func(v string) (string, string) {
		v = strings.TrimSpace(v)
		if _, err := ldap.CompileFilter(v); err != nil {
			return "", fmt.Sprintf("The %s does not parse as an LDAP filter (RFC 4515), such as \"(&(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))\": %s.", name, ldapErrText(err))
		}
		return v, ""
	})
}

func (l *loader) ldapScope(a hcl.Attributes, name string, dst *string) hcl.Diagnostics {
	return l.ldapString(a, name, "Invalid search scope", dst, func(v string) (string, string) {
		if v != "sub" && v != "one" {
			return "", fmt.Sprintf(`The %s is "sub" (the whole subtree) or "one" (one level).`, name)
		}
		return v, ""
	})
}

func (l *loader) ldapAttrName(a hcl.Attributes, name string, dst *string) hcl.Diagnostics {
	return l.ldapString(a, name, "Invalid LDAP attribute name", dst, func(v string) (string, string) {
		if !ldapAttrName.MatchString(v) {
			return "", fmt.Sprintf("The %s is an LDAP attribute name such as objectGUID, cn or member.", name)
		}
		return v, ""
	})
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
