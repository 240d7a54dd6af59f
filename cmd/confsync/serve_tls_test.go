package main

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/http/httptrace"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// writeTestCert writes a self-signed certificate for 127.0.0.1 named cn
// to dir/cert.pem and dir/key.pem (replacing them) and returns its PEM.
func writeTestCert(t *testing.T, dir, cn string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(time.Now().UnixNano()),
		Subject:      pkix.Name{CommonName: cn},
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
	// Key first, then certificate: the pair on disk is briefly mismatched,
	// as with a real renewal; only a SIGHUP reads them.
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	return certPEM
}

// TestServeTLSReloadOnSIGHUP: serve over real HTTPS; the certificate is
// renewed on disk and the process gets a real SIGHUP: new connections
// get the new certificate, a keep-alive connection opened before goes on
// serving on the old one (nothing dropped), and a broken renewal keeps
// the certificate in use.
func TestServeTLSReloadOnSIGHUP(t *testing.T) {
	dir := t.TempDir()
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(writeTestCert(t, dir, "cert-a"))
	hcl := `
confluence {
  url   = "https://confluence.example.com"
  token = "x"
}

server {
  tls_cert = "cert.pem"
  tls_key  = "key.pem"
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
			root: &rootOptions{configPath: dir, logLevel: "info"}, listen: "127.0.0.1:0",
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
	url := "https://" + addr + "/healthz"

	// get does one request on client and says which certificate the
	// server showed and whether the connection was reused.
	get := func(client *http.Client) (cn string, reused bool) {
		t.Helper()
		req, _ := http.NewRequest("GET", url, nil)
		req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
			GotConn: func(i httptrace.GotConnInfo) { reused = i.Reused },
		}))
		res, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		// Read to the end: a body closed early closes its connection.
		io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("GET /healthz: %d", res.StatusCode)
		}
		return res.TLS.PeerCertificates[0].Subject.CommonName, reused
	}
	newClient := func() *http.Client {
		return &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	}
	kept := newClient()
	if cn, _ := get(kept); cn != "cert-a" {
		t.Fatalf("first certificate %q, want cert-a", cn)
	}

	pool.AppendCertsFromPEM(writeTestCert(t, dir, "cert-b"))
	// Without a SIGHUP the files are not read again.
	if cn, _ := get(newClient()); cn != "cert-a" {
		t.Fatalf("certificate %q before SIGHUP, want cert-a", cn)
	}
	hup := func() {
		if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
			t.Fatal(err)
		}
	}
	hup()
	waitFor(t, 10*time.Second, "the reload", func() bool { return strings.Contains(stderr.String(), "reloaded the TLS certificate") })
	if cn, _ := get(newClient()); cn != "cert-b" {
		t.Fatalf("new connection after SIGHUP got %q, want cert-b", cn)
	}
	if cn, reused := get(kept); !reused || cn != "cert-a" {
		t.Fatalf("the connection opened before SIGHUP: reused %t, certificate %q; want it kept, on cert-a", reused, cn)
	}

	// A broken renewal: the previous certificate stays.
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), []byte("not a certificate\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	hup()
	waitFor(t, 10*time.Second, "the failed reload", func() bool {
		return strings.Contains(stderr.String(), "was not reloaded; serving the previous one")
	})
	if cn, _ := get(newClient()); cn != "cert-b" {
		t.Fatalf("after a failed reload: %q, want cert-b", cn)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}
