package emulator

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// newCert returns a self-signed RSA certificate and its key.
func newCert(t *testing.T) (*x509.Certificate, *rsa.PrivateKey) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "confsync test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert, key
}

// sign builds a client assertion the way Microsoft's certificate
// credentials page shows one, with the header and claims given.
func sign(t *testing.T, key *rsa.PrivateKey, alg string, header, claims map[string]any) string {
	t.Helper()
	enc := base64.RawURLEncoding
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	in := enc.EncodeToString(hb) + "." + enc.EncodeToString(cb)
	d := sha256.Sum256([]byte(in))
	var sig []byte
	var err error
	if alg == "PS256" {
		sig, err = rsa.SignPSS(rand.Reader, key, crypto.SHA256, d[:], nil)
	} else {
		sig, err = rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	}
	if err != nil {
		t.Fatal(err)
	}
	return in + "." + enc.EncodeToString(sig)
}

// TestCertificateCredentials: the token endpoint accepts an assertion
// signed by a registered certificate's key (both documented forms) and
// answers each documented problem with its AADSTS code.
func TestCertificateCredentials(t *testing.T) {
	cert, key := newCert(t)
	stranger, strangerKey := newCert(t)
	s := New(Options{TenantID: "tenant-1", ClientID: "app-1", Certificates: []*x509.Certificate{cert}})
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	tokenURL := srv.URL + "/tenant-1/oauth2/v2.0/token"
	enc := base64.RawURLEncoding
	s1 := sha1.Sum(cert.Raw) //nolint:gosec // x5t
	s256 := sha256.Sum256(cert.Raw)
	st1 := sha1.Sum(stranger.Raw) //nolint:gosec // x5t
	now := time.Now().Unix()
	claims := func(change map[string]any) map[string]any {
		c := map[string]any{"aud": tokenURL, "iss": "app-1", "sub": "app-1", "jti": "00aa00aa-bb11-cc22-dd33-44ee44ee44ee", "nbf": now, "iat": now, "exp": now + 600}
		for k, v := range change {
			if v == nil {
				delete(c, k)
			} else {
				c[k] = v
			}
		}
		return c
	}
	rs256 := map[string]any{"alg": "RS256", "typ": "JWT", "x5t": enc.EncodeToString(s1[:])}
	good := sign(t, key, "RS256", rs256, claims(nil))
	tampered := good[:len(good)-4] + "AAAA"
	if tampered == good {
		tampered = good[:len(good)-4] + "BBBB"
	}
	for _, tc := range []struct {
		name, typ, assertion string
		want                 int // AADSTS code, 0 for a token
	}{
		{"RS256 with x5t", clientAssertionType, good, 0},
		{"PS256 with x5t#S256", clientAssertionType, sign(t, key, "PS256", map[string]any{"alg": "PS256", "typ": "JWT", "x5t#S256": enc.EncodeToString(s256[:])}, claims(nil)), 0},
		{"v1 token endpoint as aud", clientAssertionType, sign(t, key, "RS256", rs256, claims(map[string]any{"aud": srv.URL + "/tenant-1/oauth2/token"})), 0},
		{"invalid signature", clientAssertionType, tampered, 700027},
		{"signed by another key", clientAssertionType, sign(t, strangerKey, "RS256", rs256, claims(nil)), 700027},
		{"unregistered certificate", clientAssertionType, sign(t, strangerKey, "RS256", map[string]any{"alg": "RS256", "typ": "JWT", "x5t": enc.EncodeToString(st1[:])}, claims(nil)), 700027},
		{"HS256", clientAssertionType, sign(t, key, "RS256", map[string]any{"alg": "HS256", "x5t": enc.EncodeToString(s1[:])}, claims(nil)), 700027},
		{"another client", clientAssertionType, sign(t, key, "RS256", rs256, claims(map[string]any{"iss": "app-2", "sub": "app-2"})), 700021},
		{"another audience", clientAssertionType, sign(t, key, "RS256", rs256, claims(map[string]any{"aud": "https://login.microsoftonline.com/other/oauth2/v2.0/token"})), 700023},
		{"expired", clientAssertionType, sign(t, key, "RS256", rs256, claims(map[string]any{"nbf": now - 1200, "exp": now - 600})), 700024},
		{"not yet valid", clientAssertionType, sign(t, key, "RS256", rs256, claims(map[string]any{"nbf": now + 3600, "exp": now + 4200})), 700024},
		{"no exp", clientAssertionType, sign(t, key, "RS256", rs256, claims(map[string]any{"exp": nil})), 700024},
		{"no jti", clientAssertionType, sign(t, key, "RS256", rs256, claims(map[string]any{"jti": nil})), 50027},
		{"not a JWT", clientAssertionType, "abc.def", 50027},
		{"wrong assertion type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer", good, 50027},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := url.Values{"client_id": {"app-1"}, "scope": {"https://graph.microsoft.com/.default"}, "grant_type": {"client_credentials"},
				"client_assertion_type": {tc.typ}, "client_assertion": {tc.assertion}}
			resp, err := http.PostForm(tokenURL, form)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var body map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&body)
			if tc.want == 0 {
				if resp.StatusCode != 200 || body["access_token"] == nil {
					t.Fatalf("%d %v; want a token", resp.StatusCode, body)
				}
				return
			}
			codes, _ := body["error_codes"].([]any)
			if resp.StatusCode != http.StatusUnauthorized || body["error"] != "invalid_client" || len(codes) != 1 || codes[0] != float64(tc.want) {
				t.Fatalf("%d %v; want 401 invalid_client AADSTS%d", resp.StatusCode, body, tc.want)
			}
			if !strings.HasPrefix(body["error_description"].(string), "AADSTS") {
				t.Errorf("error_description %q", body["error_description"])
			}
		})
	}
	// Without a secret registered, no secret signs in.
	resp, err := http.PostForm(tokenURL, url.Values{"client_id": {"app-1"}, "scope": {"https://graph.microsoft.com/.default"}, "grant_type": {"client_credentials"}, "client_secret": {""}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode == 200 {
		t.Error("an empty client secret signed in to an app with only a certificate")
	}
}
