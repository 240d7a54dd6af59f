package emulator

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha1" //nolint:gosec // x5t is a SHA-1 thumbprint by definition
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// clientAssertionType is the only client_assertion_type of a certificate
// credential (RFC 7523 §2.2).
const clientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// clockSkew is how far nbf may be ahead of the emulator's clock.
const clockSkew = 5 * time.Minute

// checkAssertion verifies a certificate credential as Microsoft's
// "Microsoft identity platform application authentication certificate
// credentials" page describes it: a JWT whose header names the certificate
// by its thumbprint (x5t, SHA-1, with alg RS256 in the page's earlier
// revision; x5t#S256, SHA-256, with alg PS256 in the current one), signed
// by the key of a certificate uploaded to the app registration, with aud
// the token endpoint, iss and sub the client id, a jti, and nbf/exp
// bracketing now. It returns the AADSTS code and description of the first
// problem, or 0.
func (s *Server) checkAssertion(r *http.Request, tenant, clientID, typ, assertion string) (int, string) {
	if typ != clientAssertionType {
		return 50027, "JWT token is invalid or malformed. client_assertion_type must be '" + clientAssertionType + "'."
	}
	parts := strings.Split(assertion, ".")
	if len(parts) != 3 {
		return 50027, "JWT token is invalid or malformed."
	}
	enc := base64.RawURLEncoding
	var header struct {
		Alg     string `json:"alg"`
		Typ     string `json:"typ"`
		X5t     string `json:"x5t"`
		X5tS256 string `json:"x5t#S256"`
	}
	var claims struct {
		Aud any    `json:"aud"`
		Iss string `json:"iss"`
		Sub string `json:"sub"`
		Jti string `json:"jti"`
		Nbf *int64 `json:"nbf"`
		Exp *int64 `json:"exp"`
	}
	hb, err1 := enc.DecodeString(parts[0])
	cb, err2 := enc.DecodeString(parts[1])
	sig, err3 := enc.DecodeString(parts[2])
	if err1 != nil || err2 != nil || err3 != nil || json.Unmarshal(hb, &header) != nil || json.Unmarshal(cb, &claims) != nil {
		return 50027, "JWT token is invalid or malformed."
	}

	// The certificate, by thumbprint.
	var cert *x509.Certificate
	for _, c := range s.opts.Certificates {
		s1 := sha1.Sum(c.Raw) //nolint:gosec // see the import
		s256 := sha256.Sum256(c.Raw)
		if (header.X5t != "" && header.X5t == enc.EncodeToString(s1[:])) || (header.X5tS256 != "" && header.X5tS256 == enc.EncodeToString(s256[:])) {
			cert = c
			break
		}
	}
	if cert == nil {
		thumb := header.X5t
		if b, err := enc.DecodeString(thumb); err == nil {
			thumb = strings.ToUpper(hex.EncodeToString(b))
		}
		return 700027, fmt.Sprintf("Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '%s']", thumb)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return 700027, "Client assertion failed signature validation. [Reason - The key is not an RSA key.]"
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	var err error
	switch header.Alg {
	case "RS256":
		err = rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig)
	case "PS256":
		err = rsa.VerifyPSS(pub, crypto.SHA256, digest[:], sig, nil)
	default:
		return 700027, fmt.Sprintf("Client assertion failed signature validation. [Reason - The algorithm '%s' is not supported.]", header.Alg)
	}
	if err != nil {
		return 700027, "Client assertion failed signature validation."
	}

	// The claims.
	if claims.Iss != clientID || claims.Sub != clientID {
		return 700021, "Client assertion application identifier doesn't match 'client_id' parameter. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials ."
	}
	aud, _ := claims.Aud.(string)
	base := "http://" + r.Host
	if r.TLS != nil {
		base = "https://" + r.Host
	}
	if aud != base+"/"+tenant+"/oauth2/v2.0/token" && aud != base+"/"+tenant+"/oauth2/token" {
		return 700023, "Client assertion audience claim does not match Realm issuer. Review the documentation at https://learn.microsoft.com/entra/identity-platform/certificate-credentials ."
	}
	if claims.Jti == "" {
		return 50027, "JWT token is invalid or malformed. The 'jti' claim is missing."
	}
	now := s.opts.Now()
	if claims.Exp == nil || claims.Nbf == nil || !now.Before(time.Unix(*claims.Exp, 0)) || now.Add(clockSkew).Before(time.Unix(*claims.Nbf, 0)) {
		return 700024, "Client assertion is not within its valid time range."
	}
	if now.After(cert.NotAfter) {
		return 700027, "Client assertion failed signature validation. [Reason - The certificate has expired.]"
	}
	return 0, ""
}
