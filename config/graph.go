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
	Attributes: []hcl.AttributeSchema{
		{Name: "tenant_id", Required: true},
		{Name: "client_id", Required: true},
		{Name: "client_secret"},
		{Name: "certificate_file"},
		{Name: "private_key_file"},
		{Name: "authority"},
		{Name: "endpoint"},
		{Name: "groups"},
		{Name: "user_filter"},
		{Name: "parallelism"},
		{Name: "timeout"},
		{Name: "poll_interval"},
	},
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
	if attr, ok := a["groups"]; ok {
		items, _, d := l.strList(attr)
		diags = append(diags, d...)
		s.Groups = groupNames(items, &diags)
	}
	if attr, ok := a["user_filter"]; ok {
		v, ok, d := l.str(attr)
		diags = append(diags, d...)
		if ok {
			if problem := checkFilter(v, '\'', `an OData $filter such as "accountEnabled eq true"`); problem != "" {
				diags = append(diags, attrError(attr, "Invalid user_filter", problem))
			} else {
				s.UserFilter = strings.TrimSpace(v)
			}
		}
	}
	if attr, ok := a["parallelism"]; ok {
		n, ok, d := l.integer(attr, 1, maxGraphParallelism)
		diags = append(diags, d...)
		if ok {
			s.Parallelism = int(n)
		}
	}
	if attr, ok := a["timeout"]; ok {
		v, ok, d := l.duration(attr, time.Second, time.Hour)
		diags = append(diags, d...)
		if ok {
			s.Timeout = v
		}
	}
	if attr, ok := a["poll_interval"]; ok {
		if v, ok := l.pollInterval(attr, &diags); ok {
			s.PollInterval = v
		}
	}

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

// groupNames checks a list of IdP group names: not empty, no duplicates.
func groupNames(items []item, diags *hcl.Diagnostics) []string {
	var out []string
	seen := map[string]bool{}
	for _, it := range items {
		v := strings.TrimSpace(it.Value)
		switch {
		case v == "":
			*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagError, Summary: "Empty group name",
				Detail: "Each entry of groups is the display name of a group in the IdP.", Subject: it.Range.Ptr()})
		case seen[strings.ToLower(v)]:
			*diags = append(*diags, &hcl.Diagnostic{Severity: hcl.DiagWarning, Summary: "Duplicate group name",
				Detail: "This group is listed twice.", Subject: it.Range.Ptr()})
		default:
			seen[strings.ToLower(v)] = true
			out = append(out, v)
		}
	}
	return out
}

// checkFilter reports what is wrong with a user_filter written in the
// configuration, or "". It catches what can be caught without the server:
// emptiness, unbalanced quotes and parentheses, control characters. The
// IdP itself judges the rest and its answer is reported. quote is the
// string delimiter (' for OData, " for Okta), doubled inside a string.
func checkFilter(f string, quote rune, example string) string {
	f = strings.TrimSpace(f)
	if f == "" {
		return "The user_filter is " + example + "; leave it out to read every user."
	}
	depth, inQuote := 0, false
	for _, r := range f {
		switch {
		case r < 0x20 || r == 0x7f:
			return "The user_filter contains a control character."
		case r == quote:
			inQuote = !inQuote // a doubled quote inside a string toggles twice
		case inQuote:
		case r == '(':
			depth++
		case r == ')':
			depth--
			if depth < 0 {
				return "The user_filter has a ) without its (."
			}
		}
	}
	if inQuote {
		return fmt.Sprintf("The user_filter has an unterminated string: strings are in %c quotes.", quote)
	}
	if depth != 0 {
		return "The user_filter has a ( without its )."
	}
	return ""
}

// pollInterval decodes a poll_interval: 0 (no polling) or 10s to 24h.
func (l *loader) pollInterval(attr *hcl.Attribute, diags *hcl.Diagnostics) (time.Duration, bool) {
	v, ok, d := l.duration(attr, 0, 24*time.Hour)
	*diags = append(*diags, d...)
	if ok && v != 0 && v < minPollInterval {
		*diags = append(*diags, attrError(attr, "Poll interval too short",
			fmt.Sprintf("The poll_interval is 0 (serve does not poll; the IdP is still read on each reconcile) or at least %s, so that confsync does not hammer the IdP.", minPollInterval)))
		return 0, false
	}
	return v, ok
}
