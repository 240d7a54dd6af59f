package config

import (
	"fmt"
	"os"
	"strings"
	"testing"
	"time"
)

// TestGraphCertificateCredentials: a graph block with certificate_file and
// private_key_file loads the certificate and its key; the thumbprint is
// the one openssl printed for the fixture (sha1 Fingerprint=76:74:9C:...);
// no formatting of the configuration prints the key.
func TestGraphCertificateCredentials(t *testing.T) {
	cfg := mustLoad(t, LoadOptions{Path: "testdata/valid/graph_certificate.hcl"})
	g := cfg.IDPs[0].Graph
	if g.Certificate == nil || g.ClientSecret != "" {
		t.Fatalf("Certificate = %v, ClientSecret set = %v", g.Certificate, g.ClientSecret != "")
	}
	// openssl x509 -in testdata/valid/certs/graph-app.crt -noout -fingerprint -sha1,
	// as base64url: the x5t.
	if got, want := g.Certificate.Thumbprint(), "dnSc7lj4Bd2eRXpyi2TYmicNTDc"; got != want {
		t.Errorf("Thumbprint = %s, want %s", got, want)
	}
	if g.Certificate.PrivateKey() == nil || !g.Certificate.PrivateKey().PublicKey.Equal(g.Certificate.Certificate().PublicKey) {
		t.Error("the key is not the certificate's")
	}
	pem, err := os.ReadFile("testdata/valid/certs/graph-app.key")
	if err != nil {
		t.Fatal(err)
	}
	keyLine := strings.Split(string(pem), "\n")[1]
	d := g.Certificate.PrivateKey().D.String()
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		out := fmt.Sprintf(format, g) + fmt.Sprintf(format, g.Certificate)
		if strings.Contains(out, keyLine) || strings.Contains(out, d) || strings.Contains(out, d[:20]) {
			t.Errorf("%s of the graph source prints the private key", format)
		}
	}
}

// TestLoadGraphCertificateErrors names the file at fault and never the key.
func TestLoadGraphCertificateErrors(t *testing.T) {
	const dir = "testdata/valid/certs/"
	for _, tc := range []struct {
		cert, key, attr, want string
		now                   time.Time
	}{
		{dir + "graph-app.crt", dir + "other.key", "private_key_file", "not the key of the certificate", time.Now()},
		{dir + "graph-app.crt", dir + "graph-app-encrypted.key", "private_key_file", "encrypted", time.Now()},
		{dir + "graph-app.crt", dir + "nope.key", "private_key_file", "no such file", time.Now()},
		{dir + "graph-app.key", dir + "graph-app.key", "certificate_file", `no PEM "CERTIFICATE" block`, time.Now()},
		{dir + "ec.crt", dir + "ec.key", "certificate_file", "not RSA", time.Now()},
		{dir + "graph-app.crt", dir + "graph-app.crt", "private_key_file", "no PEM", time.Now()},
		{dir + "graph-app.crt", dir + "graph-app.key", "certificate_file", "expired", time.Now().AddDate(200, 0, 0)},
	} {
		_, err := LoadGraphCertificate(tc.cert, tc.key, tc.now)
		fe, ok := err.(*CertificateFileError)
		if !ok || fe.Attr != tc.attr || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("LoadGraphCertificate(%s, %s) = %v; want a %s error saying %q", tc.cert, tc.key, err, tc.attr, tc.want)
			continue
		}
		if strings.Contains(err.Error(), "BEGIN") || strings.Contains(err.Error(), "MII") {
			t.Errorf("the error quotes the file: %v", err)
		}
	}
}
