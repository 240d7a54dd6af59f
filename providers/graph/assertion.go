package graph

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"time"

	"github.com/confsync/confsync/config"
)

// ClientAssertionType is the client_assertion_type of a certificate
// credential (RFC 7523 §2.2).
const ClientAssertionType = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

// assertionLifetime is how long a client assertion is valid: Microsoft's
// "certificate credentials" page asks for 5-10 minutes after nbf at most.
const assertionLifetime = 10 * time.Minute

// clientAssertion signs the JWT that proves the app holds the private key
// of a certificate uploaded to its registration, as Microsoft's
// "Microsoft identity platform application authentication certificate
// credentials" describes it: header alg RS256, typ JWT, x5t the base64url
// SHA-1 thumbprint of the certificate; claims aud (the token endpoint),
// iss and sub (the client id), jti (unique), nbf, iat and exp. The key and
// the assertion never leave this function but in the token request.
func clientAssertion(cert *config.GraphCertificate, clientID, tokenURL string, now time.Time) (string, error) {
	header, err := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT", "x5t": cert.Thumbprint()})
	if err != nil {
		return "", err
	}
	var id [16]byte
	if _, err := rand.Read(id[:]); err != nil {
		return "", err
	}
	id[6] = id[6]&0x0f | 0x40 // a version 4 GUID, as the page's example
	id[8] = id[8]&0x3f | 0x80
	claims, err := json.Marshal(map[string]any{
		"aud": tokenURL,
		"iss": clientID,
		"sub": clientID,
		"jti": fmt.Sprintf("%x-%x-%x-%x-%x", id[0:4], id[4:6], id[6:8], id[8:10], id[10:]),
		"nbf": now.Unix(),
		"iat": now.Unix(),
		"exp": now.Add(assertionLifetime).Unix(),
	})
	if err != nil {
		return "", err
	}
	enc := base64.RawURLEncoding
	signed := enc.EncodeToString(header) + "." + enc.EncodeToString(claims)
	digest := sha256.Sum256([]byte(signed))
	sig, err := rsa.SignPKCS1v15(rand.Reader, cert.PrivateKey(), crypto.SHA256, digest[:])
	if err != nil {
		return "", fmt.Errorf("graph: sign the client assertion with %s: %w", cert.PrivateKeyFile, err)
	}
	return signed + "." + enc.EncodeToString(sig), nil
}
