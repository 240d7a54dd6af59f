package config

import (
	"errors"
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
	// ClientSecret is the app registration's client secret; Certificate,
	// when set instead, is a certificate credential (client assertions).
	ClientSecret Secret
	Certificate  *GraphCertificate
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

	// Credentials: a client secret, or a certificate and its key.
	failed := failedAttrs(a, diags)
	cert, key := a["certificate_file"], a["private_key_file"]
	secretAttr := a["client_secret"]
	switch {
	case cert != nil || key != nil:
		if secretAttr != nil {
			diags = append(diags, &hcl.Diagnostic{
				Severity: hcl.DiagError,
				Summary:  "Conflicting Graph credentials",
				Detail:   "Give either client_secret or certificate_file and private_key_file, not both.",
				Subject:  secretAttr.NameRange.Ptr(),
			})
		}
		s.Certificate, diags = l.graphCertificate(cert, key, diags)
	case (secretAttr == nil || !l.isSet(secretAttr)) && !failed["client_secret"]:
		subject := block.DefRange.Ptr()
		if secretAttr != nil {
			subject = secretAttr.Expr.Range().Ptr()
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Missing Graph credentials",
			Detail:   "A graph block needs client_secret (the value of a client secret of the app registration, from a sensitive variable such as var.graph_secret), or certificate_file and private_key_file (a certificate uploaded to the app registration and its private key, PEM).",
			Subject:  subject,
		})
	}
	return s, diags
}

// graphCertificate loads a certificate credential; problems point at the
// attribute naming the file at fault.
func (l *loader) graphCertificate(cert, key *hcl.Attribute, diags hcl.Diagnostics) (*GraphCertificate, hcl.Diagnostics) {
	if cert == nil || key == nil {
		present, missing := "certificate_file", "private_key_file"
		subject := cert
		if cert == nil {
			present, missing, subject = "private_key_file", "certificate_file", key
		}
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Incomplete certificate credentials",
			Detail:   fmt.Sprintf("A graph block with %s also needs %s: the certificate uploaded to the app registration and the private key that signs for it, both PEM.", present, missing),
			Subject:  subject.NameRange.Ptr(),
		})
	}
	certPath, ok1, d := l.path(cert, false)
	diags = append(diags, d...)
	keyPath, ok2, d := l.path(key, false)
	diags = append(diags, d...)
	if !ok1 || !ok2 {
		return nil, diags
	}
	c, err := LoadGraphCertificate(certPath, keyPath, time.Now())
	if err != nil {
		subject := cert
		var fe *CertificateFileError
		if errors.As(err, &fe) && fe.Attr == "private_key_file" {
			subject = key
		}
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Unusable certificate credentials",
			Detail:   err.Error() + ".",
			Subject:  subject.Expr.Range().Ptr(),
		})
	}
	return c, diags
}
