package scim

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/confsync/confsync/providers/store"
)

// checkClientError fails unless err is nil or an *Error with a 4xx status:
// nothing a client sends may become a server fault.
func checkClientError(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var se *Error
	if !errors.As(err, &se) || se.Status < 400 || se.Status >= 500 {
		t.Fatalf("client input gave a non-client error: %v", err)
	}
}

// FuzzDecodeUser decodes a user body as POST and PUT do, then renders it.
func FuzzDecodeUser(f *testing.F) {
	for _, s := range []string{
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"a","active":"True","emails":[{"Primary":true,"type":"work","value":"a@b"}]}`,
		`{"userName":"b","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"Department":"d","Manager":{"Value":"m"}},"meta":{"resourceType":"User"}}`,
		`{"userName":"c","addresses":null,"manager":null,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"manager":"id"}}`,
		`{"userName":"d","emails":{"value":"single"},"roles":[{"primary":"True","value":"{\"id\":1}"}],"x":[1,2,{"a":null}]}`,
		`{"userName":1}`, `{"userName":"e","active":"maybe"}`, `[]`, `"x"`, `{"acve": tre`, `{"userName":"f","name":"str"}`,
		`{"userName":"g","urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User:tag":"t"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := decodeObject(body)
		if err != nil {
			checkClientError(t, err)
			return
		}
		u, attrs, err := userFromBody("entra", m)
		if err != nil {
			checkClientError(t, err)
			return
		}
		if u.UserName == "" {
			t.Fatal("accepted a user without userName")
		}
		u.ID = "id"
		res := userResource(u, attrs, "http://x/scim/v2/entra")
		if _, err := json.Marshal(res); err != nil {
			t.Fatalf("rendering: %v", err)
		}
		stored, err := userMap(u)
		if err != nil {
			t.Fatalf("stored attributes do not decode: %v", err)
		}
		// Normalizing what was stored changes nothing.
		again, err := normalizeResource(userKind, stored)
		if err != nil {
			t.Fatalf("stored attributes do not normalize: %v", err)
		}
		a, _ := json.Marshal(again)
		b, _ := json.Marshal(stored)
		if string(a) != string(b) {
			t.Fatalf("normalization not idempotent:\n%s\n%s", a, b)
		}
	})
}

// FuzzDecodeGroup decodes a group body and its members.
func FuzzDecodeGroup(f *testing.F) {
	for _, s := range []string{
		`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:Group","http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"],"externalId":"e","displayName":"g","meta":{"resourceType":"Group"}}`,
		`{"displayName":"g","members":[{"value":"1","display":"VP"},{"$ref":null,"value":"2","type":"Group"}]}`,
		`{"displayName":"g","members":"string id 1"}`, `{"displayName":"g","members":[{"value":3}]}`, `{"members":[]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := decodeObject(body)
		if err != nil {
			checkClientError(t, err)
			return
		}
		attrs, err := normalizeResource(groupKind, m)
		if err != nil {
			checkClientError(t, err)
			return
		}
		g := &store.Group{}
		if err := fillGroupFields(g, attrs); err != nil {
			checkClientError(t, err)
			return
		}
		mv, _ := lookupAny(m, "members")
		refs, err := parseMembers(mv)
		checkClientError(t, err)
		for _, r := range refs {
			if r.ID == "" {
				t.Fatal("a member without an id")
			}
		}
	})
}

// FuzzPatchUser parses a PATCH body and applies it to a user.
func FuzzPatchUser(f *testing.F) {
	for _, s := range []string{
		`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"x@y"},{"op":"Replace","path":"name.familyName","value":"F"}]}`,
		`{"Operations":[{"op":"replace","value":{"displayName":"D","name.givenName":"G","urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"1"}}]}`,
		`{"Operations":[{"op":"Replace","path":"active","value":"False"}]}`,
		`{"Operations":[{"op":"add","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":"m"}]}`,
		`{"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager","value":{"value":""}}]}`,
		`{"Operations":[{"op":"remove","path":"emails[type eq \"home\"]"},{"op":"add","path":"emails","value":[{"value":"n@y"}]}]}`,
		`{"Operations":[{"op":"remove","path":"name.givenName"},{"op":"remove","path":"emails","value":[{"value":"x@y"}]}]}`,
		`{"Operations":[{"op":"add","path":"roles","value":[{"value":"{\"id\":\"1\"}"}]}]}`,
		`{"Operations":[{"op":"replace","path":"id","value":"x"}]}`, `{"Operations":[]}`, `{"Operations":[{"op":"move"}]}`,
		`{"Operations":[{"op":"replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User","value":{"department":"x"}}]}`,
	} {
		f.Add([]byte(s))
	}
	base := map[string]any{}
	_ = json.Unmarshal([]byte(`{"userName":"u","active":true,"name":{"givenName":"G","familyName":"F"},
		"emails":[{"value":"x@y","type":"work","primary":true},{"value":"h@y","type":"home"}],
		"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User":{"department":"d","manager":{"value":"m"}}}`), &base)
	f.Fuzz(func(t *testing.T, body []byte) {
		m, err := decodeObject(body)
		if err != nil {
			checkClientError(t, err)
			return
		}
		ops, err := parsePatch(m)
		if err != nil {
			checkClientError(t, err)
			return
		}
		raw, _ := json.Marshal(base)
		var attrs map[string]any
		_ = json.Unmarshal(raw, &attrs)
		for _, op := range ops {
			if err := applyOp(userKind, attrs, op); err != nil {
				checkClientError(t, err)
				return
			}
		}
		u := &store.User{}
		if err := fillUserFields(u, attrs); err != nil {
			checkClientError(t, err)
			return
		}
		if _, err := json.Marshal(attrs); err != nil {
			t.Fatalf("patched resource does not render: %v", err)
		}
	})
}

// FuzzHandler sends arbitrary requests to the whole handler (in memory,
// over a fake store) and checks that nothing a client sends is answered
// with a server error or a malformed answer.
func FuzzHandler(f *testing.F) {
	seeds := []struct{ method, path, body string }{
		{"GET", "/Users?filter=userName+eq+%22a%22", ""},
		{"GET", "/Users/u1?attributes=emails%5Btype+eq+%22work%22%5D", ""},
		{"PATCH", "/Users/u1", `{"Operations":[{"op":"Replace","path":"emails[type eq \"work\"].value","value":"x"}]}`},
		{"PATCH", "/Groups/g1", `{"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"u1"}]}]}`},
		{"PATCH", "/Groups/g1", `{"Operations":[{"op":"remove","path":"members[type eq \"User\"]"}]}`},
		{"PUT", "/Groups/g1", `{"displayName":"g1","members":["u1"]}`},
		{"POST", "/Users", `{"userName":"n","active":"True"}`},
		{"POST", "/.search", `{"filter":"userName pr","count":2}`},
		{"GET", "/Groups?filter=members%5Bvalue+eq+%22u1%22%5D", ""},
		{"DELETE", "/Users/u2", ""},
		{"GET", "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User", ""},
	}
	for _, s := range seeds {
		f.Add(s.method, s.path, []byte(s.body))
	}
	st := newMemStore()
	ctx := context.Background()
	_ = st.CreateUser(ctx, &store.User{IDP: "entra", ID: "u1", UserName: "u1", Active: true, Attributes: []byte(`{"userName":"u1","emails":[{"type":"work","value":"a@b"}]}`)})
	_ = st.CreateUser(ctx, &store.User{IDP: "entra", ID: "u2", UserName: "u2", Active: true, Attributes: []byte(`{"userName":"u2"}`)})
	_ = st.CreateGroup(ctx, &store.Group{IDP: "entra", ID: "g1", DisplayName: "g1", Attributes: []byte(`{"displayName":"g1"}`)}, []store.Member{{ID: "u1", Type: "User"}})
	h := NewServer(Options{Store: st, IDPs: []IDP{{Name: "entra", TokenSHA256: []string{hashHex(testToken)}}}, MaxBodyBytes: 1 << 16})
	f.Fuzz(func(t *testing.T, method, path string, body []byte) {
		u, err := url.Parse("http://x/scim/v2/entra" + path)
		if err != nil || strings.ContainsAny(method, " \t\r\n") || method == "" {
			return
		}
		req := httptest.NewRequest("GET", "http://x/", bytes.NewReader(body))
		req.Method = method
		req.URL = u
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 && rec.Code != http.StatusNotImplemented {
			t.Fatalf("%s %s %q: %d %s", method, path, body, rec.Code, rec.Body)
		}
		if rec.Code != http.StatusNoContent && rec.Code != http.StatusNotModified {
			var v any
			if err := json.Unmarshal(rec.Body.Bytes(), &v); err != nil {
				t.Fatalf("%s %s: answer is not JSON: %v %q", method, path, err, rec.Body)
			}
		}
	})
}
