package graph

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/confsync/confsync/config"
)

// FuzzUserJSON: any user object Graph might send converts without
// panicking; an id always comes through, and a value is only ever read
// from a property that is there.
func FuzzUserJSON(f *testing.F) {
	for _, s := range []string{
		`{"id":"1","accountEnabled":false,"mail":"a@b","otherMails":["x"],"onPremisesExtensionAttributes":{"extensionAttribute1":"e"}}`,
		`{"id":"2","mail":null,"displayName":7}`, `{"id":""}`, `{}`, `{"id":"3","onPremisesExtensionAttributes":"flat"}`,
	} {
		f.Add(s)
	}
	attrs := []string{"mail", "displayName", "otherMails", "onPremisesExtensionAttributes.extensionAttribute1"}
	f.Fuzz(func(t *testing.T, s string) {
		var raw map[string]json.RawMessage
		if json.Unmarshal([]byte(s), &raw) != nil {
			return
		}
		u, ok := sourceUser(raw, attrs)
		if !ok {
			return
		}
		if u.ID == "" {
			t.Fatal("a user without an id was accepted")
		}
		for a := range u.Attributes {
			top, _, _ := strings.Cut(a, ".")
			if _, there := raw[top]; !there {
				t.Fatalf("attribute %s read from an absent property", a)
			}
		}
	})
}

// FuzzAuthError: any token endpoint error body becomes a one-line error
// that never carries the client secret.
func FuzzAuthError(f *testing.F) {
	const secret = "the-client-secret"
	for _, s := range []string{
		`{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret provided.\r\nTrace ID: x","error_codes":[7000215]}`,
		`{"error_description":"the-client-secret"}`, `not json`, `{"error_codes":[1]}`,
	} {
		f.Add(s, 401)
	}
	src := &Source{cfg: config.GraphSource{TenantID: "t", ClientID: "c", ClientSecret: secret}}
	f.Fuzz(func(t *testing.T, body string, status int) {
		msg := src.authError(status, []byte(body)).Error()
		if strings.Contains(msg, secret) || strings.ContainsAny(msg, "\r\n") {
			t.Fatalf("error %q carries the secret or a line break", msg)
		}
	})
}
