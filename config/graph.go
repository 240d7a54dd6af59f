package config

import (
	"fmt"
	"regexp"
	"strings"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Defaults of the graph block.
const (
	DefaultGraphAuthority = "https://login.microsoftonline.com"
	DefaultGraphEndpoint  = "https://graph.microsoft.com"
	DefaultGraphTimeout   = 60 * time.Second
	// DefaultPollInterval is how often serve reads a pulled IdP.
	DefaultPollInterval = 60 * time.Second
	minPollInterval     = 10 * time.Second
	// DefaultGraphParallelism bounds the Graph requests in flight.
	DefaultGraphParallelism = 4
	maxGraphParallelism     = 16

	DefaultGraphUsername    = "userPrincipalName"
	DefaultGraphEmail       = "mail"
	DefaultGraphDisplayName = "displayName"
)

// GraphSource is a Microsoft Entra ID tenant confsync reads through
// Microsoft Graph with an app registration's client credentials.
type GraphSource struct {
	TenantID string
	ClientID string
	// ClientSecret is the app registration's client secret.
	ClientSecret Secret
	// Authority is the Microsoft identity platform host (default
	// DefaultGraphAuthority; sovereign clouds override it).
	Authority string
	// Endpoint is the Graph host (default DefaultGraphEndpoint); the token
	// scope is Endpoint + "/.default".
	Endpoint string
	// Groups, when set, limits the users to the transitive members of these
	// groups (by displayName), and the groups read to these and the groups
	// nested in them.
	Groups []string
	// UserFilter is an OData $filter on /users, such as
	// "accountEnabled eq true".
	UserFilter string
	// Parallelism bounds the requests in flight (default 4).
	Parallelism int
	// Timeout bounds one request (default 60s).
	Timeout time.Duration
	// PollInterval is how often confsync serve (with auto_apply) reads the
	// IdP for changes (default 60s; 0 disables polling).
	PollInterval time.Duration

	DeclRange hcl.Range
}

// graphSchema is the body of an idp's graph block.
var graphSchema = &hcl.BodySchema{
	Attributes: append([]hcl.AttributeSchema{
		{Name: "tenant_id", Required: true},
		{Name: "client_id", Required: true},
		{Name: "client_secret"},
		{Name: "certificate_file"},
		{Name: "private_key_file"},
		{Name: "authority"},
		{Name: "endpoint"},
	}, pulledAttrSchema...),
}

// tenantID is a directory (tenant) id: a GUID, or a verified domain name
// such as contoso.onmicrosoft.com.
var tenantID = regexp.MustCompile(`^(?:[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}\.)+[A-Za-z]{2,63})$`)

// clientID is an application (client) id: a GUID.
var clientID = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// decodeGraph decodes a graph source block and fills in the defaults.
func (l *loader) decodeGraph(block *hcl.Block) (*GraphSource, hcl.Diagnostics) {
	s := &GraphSource{
		Authority:    DefaultGraphAuthority,
		Endpoint:     DefaultGraphEndpoint,
		Parallelism:  DefaultGraphParallelism,
		Timeout:      DefaultGraphTimeout,
		PollInterval: DefaultPollInterval,
		DeclRange:    block.DefRange,
	}
	content, diags := block.Body.Content(graphSchema)
	a := content.Attributes

	idAttr := func(name string, re *regexp.Regexp, detail string, dst *string) {
		if attr, ok := a[name]; ok {
			v, ok, d := l.str(attr)
			diags = append(diags, d...)
			if !ok {
				return
			}
			v = strings.TrimSpace(v)
			if !re.MatchString(v) {
				diags = append(diags, attrError(attr, "Invalid "+strings.ReplaceAll(name, "_", " "), detail))
				return
			}
			*dst = v
		}
	}
	idAttr("tenant_id", tenantID, `The tenant_id is the directory (tenant) id from the app registration's overview, a GUID such as "72f988bf-86f1-41af-91ab-2d7cd011db47", or the tenant's domain such as "contoso.onmicrosoft.com".`, &s.TenantID)
	idAttr("client_id", clientID, `The client_id is the application (client) id from the app registration's overview, a GUID such as "00001111-aaaa-2222-bbbb-3333cccc4444".`, &s.ClientID)
	if attr, ok := a["client_secret"]; ok {
		v, _, d := l.secret(attr)
		diags = append(diags, d...)
		s.ClientSecret = v
	}
	urlAttr := func(name string, dst *string) {
		if attr, ok := a[name]; ok {
			v, ok, d := l.str(attr)
			diags = append(diags, d...)
			if !ok {
				return
			}
			u, problem := httpURL(v)
			if problem == "" && strings.Count(strings.TrimPrefix(strings.TrimPrefix(u, "https://"), "http://"), "/") > 0 {
				problem = fmt.Sprintf(`The %s names only the host, such as %q; confsync adds the paths.`, name, *dst)
			}
			if problem != "" {
				diags = append(diags, attrError(attr, "Invalid "+name+" URL", problem))
				return
			}
			*dst = u
		}
	}
	urlAttr("authority", &s.Authority)
	urlAttr("endpoint", &s.Endpoint)
	diags = append(diags, l.decodePulledAttrs(a, pulledAttrs{
		groups: &s.Groups, userFilter: &s.UserFilter, parallelism: &s.Parallelism, timeout: &s.Timeout, pollInterval: &s.PollInterval,
		maxParallelism: maxGraphParallelism, quote: '\'', filterExample: `an OData $filter such as "accountEnabled eq true"`,
	})...)

	for _, f := range []struct{ name, v string }{{"authority", s.Authority}, {"endpoint", s.Endpoint}} {
		name := f.name
		if attr := a[name]; attr != nil && strings.HasPrefix(f.v, "http://") {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagWarning,
				Summary:  "Graph credentials sent in clear text",
				Detail:   fmt.Sprintf("The %s is http://, so the client secret or the access token crosses the network unencrypted. Microsoft's clouds are served over https://.", name),
				Subject:  attr.Expr.Range().Ptr(),
			})
		}
	}

	// Credentials: a client secret, or a certificate (not implemented yet).
	failed := failedAttrs(a, diags)
	cert, key := a["certificate_file"], a["private_key_file"]
	if cert != nil || key != nil {
		subject := cert
		if subject == nil {
			subject = key
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Certificate credentials are not supported yet",
			Detail:   "This version of confsync authenticates to Microsoft Graph with a client secret only: add a client secret to the app registration (Certificates & secrets) and set client_secret from a sensitive variable, instead of certificate_file and private_key_file.",
			Subject:  subject.NameRange.Ptr(),
		})
	} else if attr := a["client_secret"]; (attr == nil || !l.isSet(attr)) && !failed["client_secret"] {
		subject := block.DefRange.Ptr()
		if attr != nil {
			subject = attr.Expr.Range().Ptr()
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing Graph credentials",
			Detail:   "A graph block needs client_secret: the value of a client secret of the app registration, from a sensitive variable such as var.graph_secret.",
			Subject:  subject,
		})
	}
	return s, diags
}
