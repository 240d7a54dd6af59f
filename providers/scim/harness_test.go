package scim

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// testToken is the bearer token of the "entra" IdP in tests; "okta" has
// its own.
const (
	testToken     = "entra-test-token-0123456789abcdef"
	testOktaToken = "okta-test-token-0123456789abcdef"
)

func hashHex(tok string) string {
	s := sha256.Sum256([]byte(tok))
	return hex.EncodeToString(s[:])
}

// testServer is a running SCIM server over real HTTP.
type testServer struct {
	t       *testing.T
	srv     *httptest.Server
	st      Store
	mu      sync.Mutex
	changes map[string]int
}

// newTestServer starts a server for the IdPs "entra" and "okta" over st.
func newTestServer(t testing.TB, st Store) *testServer {
	ts := &testServer{st: st, changes: map[string]int{}}
	if tt, ok := t.(*testing.T); ok {
		ts.t = tt
	}
	h := NewServer(Options{
		Store:        st,
		IDPs:         []IDP{{Name: "entra", TokenSHA256: []string{hashHex(testToken)}}, {Name: "okta", TokenSHA256: []string{hashHex(testOktaToken)}}},
		MaxBodyBytes: 1 << 20,
		OnChange: func(idp string) {
			ts.mu.Lock()
			ts.changes[idp]++
			ts.mu.Unlock()
		},
	})
	ts.srv = httptest.NewServer(h)
	t.Cleanup(ts.srv.Close)
	return ts
}

// response is an answer read in full.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("answer is not a JSON object: %v\n%s", err, r.body)
	}
	return m
}

// do sends a request as the "entra" IdP.
func (ts *testServer) do(t testing.TB, method, path string, body any) response {
	t.Helper()
	return ts.doAs(t, testToken, method, "/scim/v2/entra"+path, body, nil)
}

func (ts *testServer) doAs(t testing.TB, token, method, path string, body any, hdr map[string]string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		if err != nil {
			t.Fatal(err)
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, ts.srv.URL+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/scim+json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	res, err := ts.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return response{status: res.StatusCode, header: res.Header, body: raw}
}

// expect fails the test unless the answer has the status.
func expect(t testing.TB, r response, status int) response {
	t.Helper()
	if r.status != status {
		t.Fatalf("status %d, want %d; body: %s", r.status, status, r.body)
	}
	if r.status != http.StatusNoContent && r.status != http.StatusNotModified && r.header.Get("Content-Type") != contentType {
		t.Fatalf("Content-Type %q, want %q", r.header.Get("Content-Type"), contentType)
	}
	return r
}

// expectError checks an RFC 7644 error answer.
func expectError(t testing.TB, r response, status int, scimType string) {
	t.Helper()
	expect(t, r, status)
	m := r.json(t)
	if s, _ := m["status"].(string); s != itoa(status) {
		t.Fatalf("error status %v, want %q; body: %s", m["status"], itoa(status), r.body)
	}
	if st, _ := m["scimType"].(string); st != scimType {
		t.Fatalf("scimType %q, want %q; body: %s", st, scimType, r.body)
	}
	if sc, _ := m["schemas"].([]any); len(sc) != 1 || sc[0] != errorSchema {
		t.Fatalf("error schemas %v; body: %s", m["schemas"], r.body)
	}
}

// get reads a JSON path like "name.givenName" or "emails.0.value" out of m.
func get(m any, path string) any {
	cur := m
	if rest, ok := strings.CutPrefix(path, EnterpriseSchema+"."); ok {
		mm, _ := m.(map[string]any)
		return get(mm[EnterpriseSchema], rest)
	}
	for _, part := range strings.Split(path, ".") {
		switch x := cur.(type) {
		case map[string]any:
			cur = x[part]
		case []any:
			i := 0
			for _, c := range part {
				i = i*10 + int(c-'0')
			}
			if i >= len(x) {
				return nil
			}
			cur = x[i]
		default:
			return nil
		}
	}
	return cur
}
