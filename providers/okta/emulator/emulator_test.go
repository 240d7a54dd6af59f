package emulator

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
)

func get(t *testing.T, srv *httptest.Server, path, token string) (*http.Response, []map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
	req.Header.Set("Authorization", "SSWS "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var items []map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&items)
	return resp, items
}

func TestListing(t *testing.T) {
	s := New(Options{Token: "tok", RateLimit: 3})
	a := s.AddUser("", map[string]any{"login": "a@x", "email": "a@x"})
	s.AddUser("DEPROVISIONED", map[string]any{"login": "d@x"})
	s.AddUser("", map[string]any{"login": "b@x"})
	s.AddGroup("Everyone", a)
	srv := httptest.NewServer(s)
	defer srv.Close()

	if resp, _ := get(t, srv, "/api/v1/users", "wrong"); resp.StatusCode != 401 {
		t.Errorf("wrong token: %d", resp.StatusCode)
	}
	resp, items := get(t, srv, "/api/v1/users?limit=1", "tok")
	if len(items) != 1 || resp.Header.Get("X-Rate-Limit-Remaining") != "2" || len(resp.Header.Values("Link")) != 2 {
		t.Errorf("first page: %d items, headers %v", len(items), resp.Header)
	}
	_, items = get(t, srv, "/api/v1/users?search="+url.QueryEscape(`status eq "DEPROVISIONED"`), "tok")
	if len(items) != 1 || items[0]["profile"].(map[string]any)["login"] != "d@x" {
		t.Errorf("search for deprovisioned users: %v", items)
	}
	resp, _ = get(t, srv, "/api/v1/users?search="+url.QueryEscape(`status gt 1`), "tok")
	if resp.StatusCode != 400 {
		t.Errorf("bad search: %d", resp.StatusCode)
	}
	resp, _ = get(t, srv, "/api/v1/users", "tok")
	if resp.StatusCode != 429 || resp.Header.Get("X-Rate-Limit-Reset") == "" {
		t.Errorf("fourth request in the minute: %d, want 429 with X-Rate-Limit-Reset", resp.StatusCode)
	}
}

// FuzzExpr: the filter and search parser never panics, and what it
// compiles runs.
func FuzzExpr(f *testing.F) {
	for _, s := range []string{`status eq "ACTIVE"`, `(profile.login sw "a" or id eq "x") and profile.email pr`, `"`, `((`, `status eq`} {
		f.Add(s)
	}
	u := map[string]any{"id": "00u1", "status": "ACTIVE", "profile": map[string]any{"login": "a@x"}}
	f.Fuzz(func(t *testing.T, s string) {
		if p, err := parseExpr(s); err == nil {
			p(u)
		}
	})
}
