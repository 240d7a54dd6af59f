package config

import (
	"fmt"
	"net"
	"strconv"
	"time"

	"github.com/hashicorp/hcl/v2"
)

// Defaults of the server block.
const (
	DefaultListen            = "127.0.0.1:8080"
	DefaultDebounce          = 2 * time.Second
	DefaultReconcileInterval = time.Hour
	DefaultMaxBodyBytes      = 10 << 20
	// DefaultSCIMRequestsPerSecond and DefaultSCIMRequestBurst are each
	// SCIM bearer token's request budget: four times the 25 requests a
	// second quoted for Entra ID's provisioning service.
	DefaultSCIMRequestsPerSecond = 100
	DefaultSCIMRequestBurst      = 200
	// MinOperatorTokenLen is the shortest server.operator_token accepted.
	MinOperatorTokenLen = 16
)

// serverSchema is the body of the server block.
var serverSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "listen"},
		{Name: "tls_cert"},
		{Name: "tls_key"},
		{Name: "auto_apply"},
		{Name: "debounce"},
		{Name: "reconcile_interval"},
		{Name: "max_body_bytes"},
		{Name: "scim_requests_per_second"},
		{Name: "scim_request_burst"},
		{Name: "operator_token"},
	},
}

func defaultServer() Server {
	return Server{
		Listen:                DefaultListen,
		Debounce:              DefaultDebounce,
		ReconcileInterval:     DefaultReconcileInterval,
		MaxBodyBytes:          DefaultMaxBodyBytes,
		SCIMRequestsPerSecond: DefaultSCIMRequestsPerSecond,
		SCIMRequestBurst:      DefaultSCIMRequestBurst,
	}
}

// decodeServer decodes the server block.
func (l *loader) decodeServer(block *hcl.Block) (*Server, hcl.Diagnostics) {
	s := defaultServer()
	content, diags := block.Body.Content(serverSchema)
	a := content.Attributes
	if attr, ok := a["listen"]; ok {
		v, ok, d := l.str(attr)
		diags = append(diags, d...)
		if ok {
			if problem := checkListen(v); problem != "" {
				diags = append(diags, attrError(attr, "Invalid listen address", problem))
			} else {
				s.Listen = v
			}
		}
	}
	if attr, ok := a["tls_cert"]; ok {
		p, ok, d := l.path(attr, true)
		diags = append(diags, d...)
		if ok {
			s.TLSCert = p
		}
	}
	if attr, ok := a["tls_key"]; ok {
		p, ok, d := l.path(attr, true)
		diags = append(diags, d...)
		if ok {
			s.TLSKey = p
		}
	}
	if attr, ok := a["auto_apply"]; ok {
		b, ok, d := l.boolean(attr)
		diags = append(diags, d...)
		if ok {
			s.AutoApply = b
		}
	}
	if attr, ok := a["debounce"]; ok {
		v, ok, d := l.duration(attr, 0, 24*time.Hour)
		diags = append(diags, d...)
		if ok {
			s.Debounce = v
		}
	}
	if attr, ok := a["reconcile_interval"]; ok {
		v, ok, d := l.duration(attr, 0, 30*24*time.Hour)
		diags = append(diags, d...)
		if ok {
			if v != 0 && v < time.Minute {
				diags = append(diags, attrError(attr, "Reconcile interval too short",
					`The reconcile_interval must be at least "1m", or "0s" to disable periodic reconciles.`))
			} else {
				s.ReconcileInterval = v
			}
		}
	}
	if attr, ok := a["max_body_bytes"]; ok {
		n, ok, d := l.integer(attr, 1024, 1<<30)
		diags = append(diags, d...)
		if ok {
			s.MaxBodyBytes = n
		}
	}
	diags = append(diags, decodeSCIMRateLimit(l, a, &s)...)
	if attr, ok := a["operator_token"]; ok {
		v, ok, d := l.secret(attr)
		diags = append(diags, d...)
		if ok {
			if len(v.Reveal()) < MinOperatorTokenLen {
				diags = append(diags, attrError(attr, "Operator token too short",
					fmt.Sprintf("The operator_token must be at least %d characters; generate one with `openssl rand -hex 32`.", MinOperatorTokenLen)))
			} else {
				s.OperatorToken = v
			}
		}
	}
	_, hasCert := a["tls_cert"]
	_, hasKey := a["tls_key"]
	if hasCert != hasKey {
		present, missing := "tls_cert", "tls_key"
		if hasKey {
			present, missing = "tls_key", "tls_cert"
		}
		diags = append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  fmt.Sprintf("%s without %s", present, missing),
			Detail:   "Serving TLS needs both a certificate (tls_cert) and its private key (tls_key).",
			Subject:  a[present].NameRange.Ptr(),
		})
	}
	return &s, diags
}

// checkListen says what is wrong with a host:port listen address.
func checkListen(v string) string {
	host, port, err := net.SplitHostPort(v)
	if err != nil {
		return `The listen address is host:port, such as "127.0.0.1:8080" or ":8443".`
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return "The port must be a number from 0 to 65535."
	}
	if host != "" && net.ParseIP(host) == nil {
		for _, r := range host {
			if !(r == '.' || r == '-' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
				return "The host is neither an IP address nor a host name."
			}
		}
	}
	return ""
}

// decodeSCIMRateLimit decodes the SCIM request budget of each bearer token:
// scim_requests_per_second (0 turns the limit off) and scim_request_burst.
func decodeSCIMRateLimit(l *loader, a hcl.Attributes, s *Server) hcl.Diagnostics {
	var diags hcl.Diagnostics
	if attr, ok := a["scim_requests_per_second"]; ok {
		n, ok, d := l.integer(attr, 0, 1_000_000)
		diags = append(diags, d...)
		if ok {
			s.SCIMRequestsPerSecond = int(n)
		}
	}
	if attr, ok := a["scim_request_burst"]; ok {
		n, ok, d := l.integer(attr, 1, 1_000_000)
		diags = append(diags, d...)
		if ok {
			s.SCIMRequestBurst = int(n)
		}
	}
	return diags
}
