package emulator

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"
)

// client signs in to an emulated tenant and sends Graph requests the way
// Microsoft's documentation shows them.
type client struct {
	t   *testing.T
	srv *httptest.Server
	tok string
}

func newClient(t *testing.T, s *Server) *client {
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	c := &client{t: t, srv: srv}
	status, body := c.token("tenant-1", "app-1", "secret-1")
	if status != 200 {
		t.Fatalf("token: %d %v", status, body)
	}
	c.tok = body["access_token"].(string)
	return c
}

func (c *client) token(tenant, id, secret string) (int, map[string]any) {
	form := url.Values{"client_id": {id}, "scope": {"https://graph.microsoft.com/.default"}, "client_secret": {secret}, "grant_type": {"client_credentials"}}
	resp, err := http.PostForm(c.srv.URL+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&m)
	return resp.StatusCode, m
}

func (c *client) get(path string, header ...string) (int, map[string]any) {
	req, _ := http.NewRequest(http.MethodGet, c.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+c.tok)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		c.t.Fatalf("GET %s: %d %q is not JSON", path, resp.StatusCode, b)
	}
	return resp.StatusCode, m
}

func newTenant() *Server {
	return New(Options{TenantID: "tenant-1", ClientID: "app-1", ClientSecret: "secret-1"})
}

func TestTokenErrors(t *testing.T) {
	s := newTenant()
	c := newClient(t, s)
	for _, tt := range []struct {
		tenant, id, secret string
		status             int
		oauth, code        string
	}{
		{"tenant-2", "app-1", "secret-1", 400, "invalid_request", "AADSTS90002"},
		{"tenant-1", "app-2", "secret-1", 400, "unauthorized_client", "AADSTS700016"},
		{"tenant-1", "app-1", "wrong", 401, "invalid_client", "AADSTS7000215"},
		{"tenant-1", "app-1", "", 401, "invalid_client", "AADSTS7000218"},
	} {
		status, body := c.token(tt.tenant, tt.id, tt.secret)
		desc, _ := body["error_description"].(string)
		if status != tt.status || body["error"] != tt.oauth || !strings.HasPrefix(desc, tt.code+": ") {
			t.Errorf("token(%s, %s, %s) = %d %v, want %d %s %s", tt.tenant, tt.id, tt.secret, status, body, tt.status, tt.oauth, tt.code)
		}
	}
}

func TestAuthentication(t *testing.T) {
	now := time.Now()
	s := New(Options{TenantID: "tenant-1", ClientID: "app-1", ClientSecret: "secret-1", Now: func() time.Time { return now }})
	c := newClient(t, s)
	if status, _ := c.get("/v1.0/users"); status != 200 {
		t.Fatalf("GET /users with a fresh token: %d", status)
	}
	now = now.Add(2 * time.Hour)
	status, body := c.get("/v1.0/users")
	if status != 401 || body["error"].(map[string]any)["code"] != "InvalidAuthenticationToken" {
		t.Errorf("expired token: %d %v", status, body)
	}
	c.tok = "forged"
	if status, _ := c.get("/v1.0/users"); status != 401 {
		t.Errorf("unknown token: %d", status)
	}
}

func TestUsersQuery(t *testing.T) {
	s := newTenant()
	for _, upn := range []string{"adele@contoso.com", "alex@contoso.com", "bianca@contoso.com"} {
		s.AddUser(map[string]any{"userPrincipalName": upn, "displayName": upn[:3], "accountEnabled": upn != "alex@contoso.com"})
	}
	c := newClient(t, s)

	// The default properties, without accountEnabled.
	_, body := c.get("/v1.0/users")
	u := body["value"].([]any)[0].(map[string]any)
	if _, ok := u["accountEnabled"]; ok || u["userPrincipalName"] != "adele@contoso.com" || len(u) != len(defaultUserProperties) {
		t.Errorf("default properties: %v", u)
	}
	// $select, $top and paging.
	var got []string
	next := "/v1.0/users?$select=id,userPrincipalName&$top=2"
	pages := 0
	for next != "" {
		status, body := c.get(next)
		if status != 200 {
			t.Fatalf("GET %s: %d %v", next, status, body)
		}
		pages++
		for _, v := range body["value"].([]any) {
			m := v.(map[string]any)
			if len(m) != 2 {
				t.Errorf("$select=id,userPrincipalName returned %v", m)
			}
			got = append(got, m["userPrincipalName"].(string))
		}
		next, _ = body["@odata.nextLink"].(string)
		next = strings.TrimPrefix(next, c.srv.URL)
	}
	if pages != 2 || strings.Join(got, " ") != "adele@contoso.com alex@contoso.com bianca@contoso.com" {
		t.Errorf("paged %d pages: %v", pages, got)
	}
	// $filter.
	for filter, want := range map[string]int{
		"accountEnabled eq true":                                        2,
		"startswith(userPrincipalName,'a')":                             2,
		"startswith(userPrincipalName,'a') and accountEnabled eq false": 1,
		"not(accountEnabled eq true) or displayName eq 'BIA'":           2,
	} {
		_, body := c.get("/v1.0/users?$filter=" + url.QueryEscape(filter))
		if n := len(body["value"].([]any)); n != want {
			t.Errorf("$filter=%s: %d users, want %d", filter, n, want)
		}
	}
	for _, bad := range []string{"/v1.0/users?$top=1000", "/v1.0/users?$top=0", "/v1.0/users?$select=nosuch", "/v1.0/users?$filter=" + url.QueryEscape("accountEnabled gt 1"), "/v1.0/users?$skiptoken=garbage"} {
		if status, body := c.get(bad); status != 400 || body["error"] == nil {
			t.Errorf("GET %s = %d %v, want a 400 error body", bad, status, body)
		}
	}
}

func TestMembers(t *testing.T) {
	s := newTenant()
	a := s.AddUser(map[string]any{"userPrincipalName": "a@x"})
	b := s.AddUser(map[string]any{"userPrincipalName": "b@x"})
	inner := s.AddGroup("inner", b)
	outer := s.AddGroup("outer", a, inner)
	s.AddMembers(inner, outer) // cycle
	c := newClient(t, s)
	_, body := c.get("/v1.0/groups/" + outer + "/members?$select=id")
	var types []string
	for _, v := range body["value"].([]any) {
		types = append(types, v.(map[string]any)["@odata.type"].(string))
	}
	if strings.Join(types, ",") != "#microsoft.graph.user,#microsoft.graph.group" {
		t.Errorf("direct members: %v", types)
	}
	_, body = c.get("/v1.0/groups/" + inner + "/transitiveMembers/microsoft.graph.user?$select=id")
	if n := len(body["value"].([]any)); n != 2 {
		t.Errorf("transitive users of inner through the cycle: %d, want 2", n)
	}
	if status, _ := c.get("/v1.0/groups/" + inner + "/members?$filter=" + url.QueryEscape("userPrincipalName eq 'a@x'")); status != 400 {
		t.Errorf("filtering members without ConsistencyLevel: %d, want 400", status)
	}
	if status, _ := c.get("/v1.0/groups/" + NewID() + "/members"); status != 404 {
		t.Errorf("members of an unknown group: %d, want 404", status)
	}
}

func TestFaults(t *testing.T) {
	s := newTenant()
	c := newClient(t, s)
	s.Inject(Fault{Path: "/users", Status: 429, RetryAfter: "3", Times: 1})
	req, _ := http.NewRequest(http.MethodGet, c.srv.URL+"/v1.0/users", nil)
	req.Header.Set("Authorization", "Bearer "+c.tok)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 429 || resp.Header.Get("Retry-After") != "3" {
		t.Errorf("throttled answer: %d Retry-After %q", resp.StatusCode, resp.Header.Get("Retry-After"))
	}
	if status, _ := c.get("/v1.0/users"); status != 200 {
		t.Errorf("after the fault: %d", status)
	}
}

// FuzzFilter: the $filter parser never panics, and whatever it compiles
// runs on a user.
func FuzzFilter(f *testing.F) {
	for _, s := range []string{"accountEnabled eq true", "startswith(displayName,'A''s')", "not(a eq 'x') or (b ne null and c eq false)", "((", "'", "a eq"} {
		f.Add(s)
	}
	user := map[string]any{"displayName": "Ann", "accountEnabled": true, "x": map[string]any{"y": "z"}}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := parseFilter(s)
		if err == nil {
			p(user)
		}
	})
}

func TestDelta(t *testing.T) {
	s := newTenant()
	a := s.AddUser(map[string]any{"userPrincipalName": "a@x"})
	b := s.AddUser(map[string]any{"userPrincipalName": "b@x"})
	g := s.AddGroup("g", a)
	c := newClient(t, s)
	// A first round, one user a page, ends with a deltaLink.
	next, pages := "/v1.0/users/delta?$select=userPrincipalName", 0
	var deltaLink string
	for next != "" {
		_, body := c.get(next, "Prefer", "odata.maxpagesize=1")
		pages++
		next, _ = body["@odata.nextLink"].(string)
		next = strings.TrimPrefix(next, c.srv.URL)
		deltaLink, _ = body["@odata.deltaLink"].(string)
	}
	if pages != 2 || deltaLink == "" {
		t.Fatalf("first round: %d pages, deltaLink %q", pages, deltaLink)
	}
	_, gbody := c.get("/v1.0/groups/delta?$select=displayName,members")
	groupsLink := strings.TrimPrefix(gbody["@odata.deltaLink"].(string), c.srv.URL)
	// Changes: one user removed, one membership added.
	s.DeleteUser(b)
	s.AddMembers(g, a) // re-adding is still a change
	_, body := c.get(strings.TrimPrefix(deltaLink, c.srv.URL))
	vals := body["value"].([]any)
	if len(vals) != 1 || vals[0].(map[string]any)["@removed"] == nil {
		t.Errorf("users delta after a deletion: %v", vals)
	}
	_, body = c.get(groupsLink)
	if vals := body["value"].([]any); len(vals) != 1 || len(vals[0].(map[string]any)["members@delta"].([]any)) != 1 {
		t.Errorf("groups delta after a membership change: %v", body)
	}
	s.ExpireDeltaTokens()
	if status, _ := c.get(strings.TrimPrefix(deltaLink, c.srv.URL)); status != http.StatusGone {
		t.Errorf("expired delta token: %d, want 410", status)
	}
}
