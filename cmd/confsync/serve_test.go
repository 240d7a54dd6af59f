package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/confsync/confsync/providers/store/sqlstore"
)

// syncBuffer is a bytes.Buffer safe for the server's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestServe runs `confsync serve` in-process on a free port with a real
// SQLite store: SCIM answers over HTTP for each IdP with its own token,
// the base URLs are printed and the token never is, and cancelling the
// context shuts the server down gracefully.
func TestServe(t *testing.T) {
	dir := t.TempDir()
	const token = "serve-test-token-0123456789abcdef0123"
	sum := sha256.Sum256([]byte(token))
	hcl := `
confluence {
  url   = "https://confluence.example.com"
  token = "x"
}

idp "entra" {
  scim {
    token_sha256 = ["` + hex.EncodeToString(sum[:]) + `"]
  }
}

idp "okta" {
  scim {}
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	opts := &serveOptions{
		root:   &rootOptions{configPath: dir, logLevel: "info"},
		listen: "127.0.0.1:0",
		stdout: &stdout, stderr: &stderr,
		ready: func(addr string) { ready <- addr },
	}
	done := make(chan error, 1)
	go func() { done <- runServe(ctx, opts) }()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve stopped: %v\n%s", err, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	base := "http://" + addr + "/scim/v2/"
	do := func(method, path, tok, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Content-Type", "application/scim+json")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	if code, body := do("POST", "entra/Users", token, `{"userName":"alice@example.com"}`); code != 201 {
		t.Fatalf("create: %d %s", code, body)
	}
	if code, body := do("GET", "entra/Users?filter=userName+eq+%22ALICE%40example.com%22", token, ""); code != 200 || !strings.Contains(body, `"totalResults":1`) {
		t.Fatalf("filter: %d %s", code, body)
	}
	if code, _ := do("GET", "okta/Users", token, ""); code != 401 {
		t.Fatalf("entra's token opened okta: %d", code)
	}
	for _, want := range []string{"SCIM base URL for entra: http://" + addr + "/scim/v2/entra", "SCIM base URL for okta: http://" + addr + "/scim/v2/okta"} {
		if !strings.Contains(stdout.String(), want) {
			t.Errorf("stdout lacks %q:\n%s", want, stdout.String())
		}
	}
	// A request in flight when the shutdown starts still gets its answer:
	// send the headers and half of the body, shut down, send the rest.
	conn, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	body := `{"userName":"bob@example.com"}`
	fmt.Fprintf(conn, "POST /scim/v2/entra/Users HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/scim+json\r\nContent-Length: %d\r\n\r\n%s", addr, token, len(body), body[:10])
	// A full request on a second connection: the server accepts in order,
	// so once it is answered the first connection has been accepted.
	if code, _ := do("GET", "entra/ServiceProviderConfig", token, ""); code != 200 {
		t.Fatalf("ServiceProviderConfig: %d", code)
	}
	cancel()
	if _, err := io.WriteString(conn, body[10:]); err != nil {
		t.Fatal(err)
	}
	res, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("the request in flight got no answer: %v", err)
	}
	res.Body.Close()
	if res.StatusCode != 201 {
		t.Fatalf("the request in flight got %d", res.StatusCode)
	}
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve: %v\n%s", err, stderr.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not stop")
	}
	if strings.Contains(stdout.String()+stderr.String(), token) {
		t.Fatal("the token appears in serve's output")
	}
	if !strings.Contains(stderr.String(), `"msg":"stopped"`) {
		t.Fatalf("no JSON log of the shutdown:\n%s", stderr.String())
	}
	// The store kept the write.
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(dir, "confsync.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if n, err := st.CountUsers(context.Background(), "entra"); err != nil || n != 2 {
		t.Fatalf("users in the store: %d, %v", n, err)
	}
}

// TestServeTLS serves over TLS with server.tls_cert and tls_key: HTTPS
// base URLs, TLS 1.2 at least.
func TestServeTLS(t *testing.T) {
	dir := t.TempDir()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "127.0.0.1"},
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	const token = "tls-test-token-0123456789abcdef0123456"
	sum := sha256.Sum256([]byte(token))
	hcl := `
confluence {
  url   = "https://confluence.example.com"
  token = "x"
}

server {
  tls_cert = "cert.pem"
  tls_key  = "key.pem"
}

idp "entra" {
  scim {
    token_sha256 = ["` + hex.EncodeToString(sum[:]) + `"]
  }
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- runServe(ctx, &serveOptions{
			root: &rootOptions{configPath: dir, logLevel: "warn"}, listen: "127.0.0.1:0",
			stdout: &stdout, stderr: &stderr, ready: func(a string) { ready <- a },
		})
	}()
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve stopped: %v\n%s", err, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	if !strings.Contains(stdout.String(), "SCIM base URL for entra: https://"+addr+"/scim/v2/entra") {
		t.Fatalf("stdout: %s", stdout.String())
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, _ := http.NewRequest("GET", "https://"+addr+"/scim/v2/entra/Users", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	res, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.TLS == nil {
		t.Fatalf("HTTPS answer %d (TLS %v)", res.StatusCode, res.TLS != nil)
	}
	old := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool, MaxVersion: tls.VersionTLS11}}}
	if res, err := old.Get("https://" + addr + "/scim/v2/entra/Users"); err == nil {
		res.Body.Close()
		t.Fatal("TLS 1.1 was accepted")
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
