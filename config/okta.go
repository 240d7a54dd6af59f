package config

import (
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Defaults of the okta block.
const (
	DefaultOktaTimeout     = 60 * time.Second
	DefaultOktaParallelism = 4
	maxOktaParallelism     = 16

	DefaultOktaUsername    = "login"
	DefaultOktaEmail       = "email"
	DefaultOktaDisplayName = "displayName"
)

// OktaSource is an Okta org confsync reads through Okta's management API
// with an API token.
type OktaSource struct {
	// OrgURL is the org's URL, such as https://example.okta.com.
	OrgURL string
	// Token is an Okta API token, sent as "Authorization: SSWS token".
	Token Secret
	// Groups, when set, limits the users to the members of these groups
	// (by profile.name), and the groups read to these.
	Groups []string
	// UserFilter is a filter or search expression on /api/v1/users, such as
	// `status eq "ACTIVE"`.
	UserFilter  string
	Parallelism int
	Timeout     time.Duration
	// PollInterval is how often confsync serve (with auto_apply) reads the
	// IdP for changes (default 60s; 0 disables polling).
	PollInterval time.Duration

	DeclRange hcl.Range
}

// oktaSchema is the body of an idp's okta block.
var oktaSchema = &hcl.BodySchema{
	Attributes: append([]hcl.AttributeSchema{
		{Name: "org_url", Required: true},
		{Name: "token", Required: true},
	}, pulledAttrSchema...),
}

// decodeOkta decodes an okta source block and fills in the defaults.
func (l *loader) decodeOkta(block *hcl.Block) (*OktaSource, hcl.Diagnostics) {
	s := &OktaSource{Parallelism: DefaultOktaParallelism, Timeout: DefaultOktaTimeout, PollInterval: DefaultPollInterval, DeclRange: block.DefRange}
	content, diags := block.Body.Content(oktaSchema)
	a := content.Attributes

	if attr, ok := a["org_url"]; ok {
		v, ok, d := l.str(attr)
		diags = append(diags, d...)
		if ok {
			u, problem := httpURL(v)
			if problem == "" {
				if p, _ := url.Parse(u); p.Path != "" {
					problem = `The org_url is the org's address only, such as "https://example.okta.com"; confsync adds /api/v1.`
				}
			}
			if problem != "" {
				diags = append(diags, attrError(attr, "Invalid Okta org URL", problem))
			} else {
				s.OrgURL = u
			}
		}
	}
	if attr, ok := a["token"]; ok {
		// An empty token (an unset environment variable) is reported when
		// the IdP is read, so that validate works without the secrets.
		v, _, d := l.secret(attr)
		diags = append(diags, d...)
		s.Token = v
	}
	diags = append(diags, l.decodePulledAttrs(a, pulledAttrs{
		groups: &s.Groups, userFilter: &s.UserFilter, parallelism: &s.Parallelism, timeout: &s.Timeout, pollInterval: &s.PollInterval,
		maxParallelism: maxOktaParallelism, quote: '"', filterExample: `an Okta filter expression such as 'status eq "ACTIVE"'`,
	})...)
	if s.OrgURL != "" && strings.HasPrefix(s.OrgURL, "http://") {
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagWarning,
			Summary:  "Okta API token sent in clear text",
			Detail:   fmt.Sprintf("The org_url %s is http://, so the API token crosses the network unencrypted. Okta orgs are served over https://.", s.OrgURL),
			Subject:  a["org_url"].Expr.Range().Ptr(),
		})
	}
	return s, diags
}
