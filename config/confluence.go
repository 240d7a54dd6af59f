package config

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// Defaults of the confluence block.
const (
	DefaultParallelism = 4
	maxParallelism     = 64
)

// confluenceSchema is the body of the confluence block.
var confluenceSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "url", Required: true},
		{Name: "context_path"},
		{Name: "token"},
		{Name: "username"},
		{Name: "password"},
		{Name: "ca_file"},
		{Name: "protected_users"},
		{Name: "protected_groups"},
		{Name: "parallelism"},
		{Name: "requests_per_second"},
	},
}

// decodeConfluence decodes the confluence block.
func (l *loader) decodeConfluence(block *hcl.Block) (*Confluence, hcl.Diagnostics) {
	c := &Confluence{Parallelism: DefaultParallelism, DeclRange: block.DefRange}
	content, diags := block.Body.Content(confluenceSchema)
	clean := !diags.HasErrors()
	a := content.Attributes

	if attr, ok := a["url"]; ok {
		s, ok, d := l.str(attr)
		diags = append(diags, d...)
		if ok {
			u, problem := httpURL(s)
			if problem != "" {
				diags = append(diags, attrError(attr, "Invalid Confluence URL", problem))
			} else {
				c.URL = u
			}
		}
	}
	if attr, ok := a["context_path"]; ok {
		s, ok, d := l.str(attr)
		diags = append(diags, d...)
		if ok {
			s = strings.TrimRight(s, "/")
			if s != "" && (!strings.HasPrefix(s, "/") || strings.ContainsAny(s, "?# ")) {
				diags = append(diags, attrError(attr, "Invalid context path",
					`The context_path is the path Confluence is served under, such as "/confluence"; it starts with "/".`))
			} else {
				c.ContextPath = s
			}
		}
	}
	var hasToken, hasUser, hasPassword bool
	if attr, ok := a["token"]; ok {
		s, _, d := l.secret(attr)
		diags = append(diags, d...)
		c.Token, hasToken = s, l.isSet(attr)
	}
	if attr, ok := a["username"]; ok {
		s, _, d := l.str(attr)
		diags = append(diags, d...)
		c.Username, hasUser = s, l.isSet(attr)
	}
	if attr, ok := a["password"]; ok {
		s, _, d := l.secret(attr)
		diags = append(diags, d...)
		c.Password, hasPassword = s, l.isSet(attr)
	}
	if attr, ok := a["ca_file"]; ok {
		p, ok, d := l.path(attr, true)
		diags = append(diags, d...)
		if ok {
			c.CAFile = p
		}
	}
	if attr, ok := a["protected_users"]; ok {
		items, _, d := l.strList(attr)
		diags = append(diags, d...)
		names, d := l.names(items, "protected_users", "username", ValidUsername)
		diags = append(diags, d...)
		c.ProtectedUsers = names
	}
	if attr, ok := a["protected_groups"]; ok {
		items, _, d := l.strList(attr)
		diags = append(diags, d...)
		names, d := l.names(items, "protected_groups", "group name", ValidGroupName)
		diags = append(diags, d...)
		c.ProtectedGroups = names
	}
	if attr, ok := a["parallelism"]; ok {
		n, ok, d := l.integer(attr, 1, maxParallelism)
		diags = append(diags, d...)
		if ok {
			c.Parallelism = int(n)
		}
	}
	if attr, ok := a["requests_per_second"]; ok {
		f, ok, d := l.number(attr, 0, 1e6)
		diags = append(diags, d...)
		if ok {
			c.RequestsPerSecond = f
		}
	}

	// Cross-field checks run when the attributes they read decoded
	// cleanly, whatever else is wrong in the block. A check that reports
	// something missing also needs the block's schema to be clean: a
	// misspelt attribute may be the missing one.
	failed := failedAttrs(a, diags)
	if attr := a["url"]; attr != nil && !failed["url"] && !l.isSet(attr) {
		diags = append(diags, attrError(attr, "Missing Confluence URL", `The url attribute must not be null; it is the base URL, such as "https://confluence.example.com".`))
	}
	if !anyFailed(failed, "token", "username", "password") {
		switch {
		case hasToken && (hasUser || hasPassword):
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Conflicting Confluence credentials",
				Detail:   "Give either token (a personal access token) or username and password, not both.",
				Subject:  a["token"].NameRange.Ptr(),
			})
		case !clean:
		case hasUser != hasPassword:
			missing, present := "password", "username"
			if hasPassword {
				missing, present = "username", "password"
			}
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Incomplete Confluence credentials",
				Detail:   fmt.Sprintf("The %s attribute needs %s as well; or use token instead.", present, missing),
				Subject:  a[present].NameRange.Ptr(),
			})
		case !hasToken && !hasUser:
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Missing Confluence credentials",
				Detail:   "The confluence block needs either token (a personal access token of a Confluence administrator) or username and password.",
				Subject:  block.DefRange.Ptr(),
			})
		}
	}
	if hasUser && c.Username != "" && !failed["username"] {
		if err := ValidUsername(strings.ToLower(c.Username)); err != nil {
			diags = append(diags, attrError(a["username"], "Invalid Confluence username", err.Error()+"."))
		}
	}
	return c, diags
}

// httpURL checks that s is an absolute http or https URL with a host and
// returns it without a trailing slash, or says what is wrong with it.
func httpURL(s string) (string, string) {
	u, err := url.Parse(strings.TrimSpace(s))
	switch {
	case err != nil:
		return "", "The URL does not parse."
	case u.Scheme != "http" && u.Scheme != "https":
		return "", `The URL must start with https:// (or http://), such as "https://confluence.example.com".`
	case u.Host == "":
		return "", "The URL has no host name."
	case u.User != nil:
		return "", "The URL must not carry credentials; use token, or username and password."
	case u.RawQuery != "" || u.Fragment != "":
		return "", "The URL must not have a query or fragment."
	}
	return strings.TrimRight(u.String(), "/"), ""
}
