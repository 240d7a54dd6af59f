package emulator

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// token is the Microsoft identity platform's token endpoint,
// POST /{tenant}/oauth2/v2.0/token, for the client credentials grant with
// a shared secret or a certificate credential (assertion.go). Errors carry the documented OAuth error, an AADSTS code
// in error_description and error_codes.
func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	tenant := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/"), "/oauth2/v2.0/token")
	if r.Method != http.MethodPost {
		tokenError(w, http.StatusMethodNotAllowed, "invalid_request", 900561, "The endpoint only accepts POST requests.")
		return
	}
	if err := r.ParseForm(); err != nil {
		tokenError(w, http.StatusBadRequest, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	f := r.PostForm
	switch {
	case !strings.EqualFold(tenant, s.opts.TenantID):
		tokenError(w, http.StatusBadRequest, "invalid_request", 90002,
			fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
	case f.Get("grant_type") != "client_credentials":
		tokenError(w, http.StatusBadRequest, "unsupported_grant_type", 70003, "The app requested an unsupported grant type.")
	case f.Get("client_id") != s.opts.ClientID:
		tokenError(w, http.StatusBadRequest, "unauthorized_client", 700016,
			fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'.", f.Get("client_id"), tenant))
	case !strings.HasSuffix(f.Get("scope"), "/.default"):
		tokenError(w, http.StatusBadRequest, "invalid_scope", 1002012,
			"The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).")
	case f.Get("client_secret") == "" && f.Get("client_assertion") == "":
		tokenError(w, http.StatusUnauthorized, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
	case f.Get("client_assertion") != "" || f.Get("client_assertion_type") != "":
		if aadsts, desc := s.checkAssertion(r, tenant, f.Get("client_id"), f.Get("client_assertion_type"), f.Get("client_assertion")); aadsts != 0 {
			tokenError(w, http.StatusUnauthorized, "invalid_client", aadsts, desc)
			return
		}
		s.issueToken(w)
	case f.Get("client_secret") != s.opts.ClientSecret || s.opts.ClientSecret == "":
		tokenError(w, http.StatusUnauthorized, "invalid_client", 7000215,
			fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", s.opts.ClientID))
	default:
		s.issueToken(w)
	}
}

// issueToken answers a successful token request.
func (s *Server) issueToken(w http.ResponseWriter) {
	{
		var b [24]byte
		_, _ = rand.Read(b[:])
		tok := "eyJ0eXAiOiJKV1QifQ." + base64.RawURLEncoding.EncodeToString(b[:])
		s.mu.Lock()
		s.tokens[tok] = s.opts.Now().Add(s.opts.TokenLifetime)
		s.stats.Tokens++
		s.mu.Unlock()
		secs := int(s.opts.TokenLifetime/time.Second) - 1
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store, no-cache")
		_ = json.NewEncoder(w).Encode(map[string]any{"token_type": "Bearer", "expires_in": secs, "ext_expires_in": secs, "access_token": tok})
	}
}

func tokenError(w http.ResponseWriter, status int, code string, aadsts int, desc string) {
	now := time.Now().UTC()
	trace, corr := NewID(), NewID()
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: %s Correlation ID: %s Timestamp: %s", aadsts, desc, trace, corr, now.Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{aadsts},
		"timestamp":         now.Format("2006-01-02 15:04:05Z"),
		"trace_id":          trace,
		"correlation_id":    corr,
		"error_uri":         "https://login.microsoftonline.com/error?code=" + fmt.Sprint(aadsts),
	})
}
