package config

import (
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // the x5t thumbprint is SHA-1 by definition (RFC 7515 §4.1.7)
	"crypto/x509"
	"encoding/base64"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"time"
)

// GraphCertificate is a certificate credential of an app registration:
// the certificate uploaded to it (certificate_file) and the private key
// that signs the client assertions (private_key_file), both PEM, loaded
// and checked when the configuration loads. The key is never printed:
// String, GoString and the error messages name only the files and the
// thumbprint.
type GraphCertificate struct {
	CertificateFile string
	PrivateKeyFile  string
	cert            *x509.Certificate
	key             *rsa.PrivateKey
}

// Certificate is the parsed certificate.
func (c *GraphCertificate) Certificate() *x509.Certificate { return c.cert }

// PrivateKey is the RSA key matching the certificate.
func (c *GraphCertificate) PrivateKey() *rsa.PrivateKey { return c.key }

// Thumbprint is the certificate's x5t: the base64url SHA-1 of its DER
// encoding, which the app registration's Certificates page shows in hex.
func (c *GraphCertificate) Thumbprint() string {
	sum := sha1.Sum(c.cert.Raw) //nolint:gosec // see the import
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

func (c *GraphCertificate) String() string {
	return fmt.Sprintf("certificate %s (x5t %s), private key %s", c.CertificateFile, c.Thumbprint(), c.PrivateKeyFile)
}

// GoString keeps %#v from printing the key.
func (c *GraphCertificate) GoString() string { return "config.GraphCertificate{" + c.String() + "}" }

// CertificateFileError is a problem with one of the two files; Attr is
// "certificate_file" or "private_key_file".
type CertificateFileError struct {
	Attr, Path string
	Problem    string
}

func (e *CertificateFileError) Error() string { return e.Attr + " " + e.Path + ": " + e.Problem }

// LoadGraphCertificate reads and checks a certificate credential: the
// first CERTIFICATE block of certFile (an RSA certificate, not expired),
// the first private key block of keyFile (PKCS #8 or PKCS #1, not
// encrypted; the two may be one file), and that the key is the
// certificate's. Errors are *CertificateFileError and never quote the key.
func LoadGraphCertificate(certFile, keyFile string, now time.Time) (*GraphCertificate, error) {
	certErr := func(p string) error {
		return &CertificateFileError{Attr: "certificate_file", Path: certFile, Problem: p}
	}
	keyErr := func(p string) error {
		return &CertificateFileError{Attr: "private_key_file", Path: keyFile, Problem: p}
	}
	cb, err := readPEMFile(certFile)
	if err != nil {
		return nil, certErr(err.Error())
	}
	var cert *x509.Certificate
	for blk, rest := pem.Decode(cb); blk != nil; blk, rest = pem.Decode(rest) {
		if blk.Type == "CERTIFICATE" {
			if cert, err = x509.ParseCertificate(blk.Bytes); err != nil {
				return nil, certErr("the CERTIFICATE block is not an X.509 certificate: " + err.Error())
			}
			break
		}
	}
	if cert == nil {
		return nil, certErr(`no PEM "CERTIFICATE" block (export the certificate as Base-64 encoded X.509, .pem or .cer)`)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return nil, certErr("the certificate's key is not RSA: Microsoft Entra ID signs client assertions of app registrations with RSA keys")
	}
	if now.After(cert.NotAfter) {
		return nil, certErr("the certificate expired on " + cert.NotAfter.UTC().Format(time.RFC3339))
	}
	kb, err := readPEMFile(keyFile)
	if err != nil {
		return nil, keyErr(err.Error())
	}
	var key *rsa.PrivateKey
	for blk, rest := pem.Decode(kb); blk != nil && key == nil; blk, rest = pem.Decode(rest) {
		switch blk.Type {
		case "ENCRYPTED PRIVATE KEY":
			return nil, keyErr("the private key is encrypted; give an unencrypted PEM key (openssl pkey -in KEY -out KEY.pem) kept readable only by confsync")
		case "PRIVATE KEY":
			k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
			if err != nil {
				return nil, keyErr("the PRIVATE KEY block is not a PKCS #8 key")
			}
			if key, ok = k.(*rsa.PrivateKey); !ok {
				return nil, keyErr("the private key is not RSA")
			}
		case "RSA PRIVATE KEY":
			if blk.Headers["Proc-Type"] != "" {
				return nil, keyErr("the private key is encrypted; give an unencrypted PEM key kept readable only by confsync")
			}
			if key, err = x509.ParsePKCS1PrivateKey(blk.Bytes); err != nil {
				return nil, keyErr("the RSA PRIVATE KEY block is not a PKCS #1 key")
			}
		}
	}
	if key == nil {
		return nil, keyErr(`no PEM "PRIVATE KEY" or "RSA PRIVATE KEY" block`)
	}
	if !key.PublicKey.Equal(pub) {
		return nil, keyErr("the private key is not the key of the certificate in " + certFile)
	}
	return &GraphCertificate{CertificateFile: certFile, PrivateKeyFile: keyFile, cert: cert, key: key}, nil
}

func readPEMFile(p string) ([]byte, error) {
	if err := fileReadable(p); err != nil {
		return nil, fmt.Errorf("cannot be read: %w", err)
	}
	b, err := os.ReadFile(p)
	if err != nil {
		var pe *os.PathError
		if errors.As(err, &pe) {
			err = pe.Err
		}
		return nil, fmt.Errorf("cannot be read: %w", err)
	}
	return b, nil
}
