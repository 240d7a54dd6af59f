package graph_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"log/slog"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/graph"
	"github.com/confsync/confsync/providers/graph/emulator"
)

// writeCert generates an RSA certificate and writes it and its key as
// PEM files; it returns the loaded credential, the certificate and the
// key's PEM text.
func writeCert(t *testing.T, name string) (*config.GraphCertificate, *x509.Certificate, string) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: name},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pk, _ := x509.MarshalPKCS8PrivateKey(key)
	keyPEM := string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk}))
	dir := t.TempDir()
	cf, kf := filepath.Join(dir, name+".crt"), filepath.Join(dir, name+".key")
	if err := os.WriteFile(cf, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(kf, []byte(keyPEM), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.LoadGraphCertificate(cf, kf, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return c, cert, keyPEM
}

// TestCertificateSignIn: with a certificate credential the source signs
// in with a client assertion the emulator verifies against the registered
// certificate, sends no client secret, and reads; an assertion signed for
// a certificate the app registration does not have is AADSTS700027, one
// line, without the key.
func TestCertificateSignIn(t *testing.T) {
	cred, cert, keyPEM := writeCert(t, "app")
	emu := emulator.New(emulator.Options{TenantID: tenant, ClientID: clientID, Certificates: []*x509.Certificate{cert}})
	emu.AddUser(map[string]any{"userPrincipalName": "a@contoso.com", "mail": "a@contoso.com"})
	var mu sync.Mutex
	var forms []map[string][]string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
			_ = r.ParseForm()
			mu.Lock()
			forms = append(forms, r.PostForm)
			mu.Unlock()
		}
		emu.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	cfg := &config.GraphSource{TenantID: tenant, ClientID: clientID, Certificate: cred,
		Authority: srv.URL, Endpoint: srv.URL, Parallelism: 2, Timeout: 10 * time.Second}
	var logs bytes.Buffer
	src, err := graph.NewSource(cfg, graph.Options{Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	snap, err := src.Read(context.Background(), plan.ReadRequest{Attributes: []string{"userPrincipalName"}})
	if err != nil {
		t.Fatalf("Read with a certificate: %v", err)
	}
	if len(snap.Users) != 1 {
		t.Errorf("%d users, want 1", len(snap.Users))
	}

	// What was sent, checked against Microsoft's page, not our encoder.
	if len(forms) != 1 {
		t.Fatalf("%d token requests, want 1", len(forms))
	}
	f := forms[0]
	if _, ok := f["client_secret"]; ok {
		t.Error("a client_secret was sent with a certificate credential")
	}
	if got := f["client_assertion_type"]; len(got) != 1 || got[0] != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		t.Errorf("client_assertion_type = %v", got)
	}
	parts := strings.Split(f["client_assertion"][0], ".")
	if len(parts) != 3 {
		t.Fatalf("client_assertion has %d parts", len(parts))
	}
	var header map[string]string
	var claims map[string]any
	hb, _ := base64.RawURLEncoding.DecodeString(parts[0])
	cb, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		t.Fatalf("assertion header %s claims %s", hb, cb)
	}
	if header["alg"] != "RS256" || header["typ"] != "JWT" || header["x5t"] != cred.Thumbprint() {
		t.Errorf("header %v; want RS256, JWT and x5t %s", header, cred.Thumbprint())
	}
	tokenURL := srv.URL + "/" + tenant + "/oauth2/v2.0/token"
	nbf, _ := claims["nbf"].(float64)
	exp, _ := claims["exp"].(float64)
	jti, _ := claims["jti"].(string)
	if claims["aud"] != tokenURL || claims["iss"] != clientID || claims["sub"] != clientID ||
		!regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`).MatchString(jti) ||
		exp-nbf != 600 || time.Since(time.Unix(int64(nbf), 0)) > time.Minute {
		t.Errorf("claims %v; want aud %s, iss = sub = %s, a GUID jti, nbf now and exp 10 minutes later", claims, tokenURL, clientID)
	}

	// The app registration has another certificate only.
	_, other, _ := writeCert(t, "other")
	emu2 := emulator.New(emulator.Options{TenantID: tenant, ClientID: clientID, Certificates: []*x509.Certificate{other}})
	srv2 := httptest.NewServer(emu2)
	t.Cleanup(srv2.Close)
	cfg2 := *cfg
	cfg2.Authority, cfg2.Endpoint = srv2.URL, srv2.URL
	src2, err := graph.NewSource(&cfg2, graph.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	_, err = src2.Read(context.Background(), plan.ReadRequest{})
	var ae *graph.AuthError
	if !errors.As(err, &ae) || ae.Code != "AADSTS700027" {
		t.Fatalf("Read with an unregistered certificate = %v, want AADSTS700027", err)
	}
	keyLine := strings.Split(keyPEM, "\n")[1]
	for what, text := range map[string]string{"error": err.Error(), "log": logs.String()} {
		if strings.Contains(text, keyLine) || strings.Contains(text, parts[2]) || strings.Contains(text, "\n") && what == "error" {
			t.Errorf("the %s holds the key or an assertion, or is not one line: %s", what, text)
		}
	}
	t.Logf("unregistered certificate: %v", err)
}
