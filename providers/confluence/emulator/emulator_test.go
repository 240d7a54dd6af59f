package emulator_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/confsync/confsync/providers/confluence/emulator"
)

const token = "admin-pat"

// answer is one HTTP exchange, made without confsync's client.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(a.body, &m); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", a.status, err, a.body)
	}
	return m
}

type rawClient struct {
	t    *testing.T
	base string
	auth string
}

func newRaw(t *testing.T, opts emulator.Options) (*emulator.Server, *rawClient) {
	t.Helper()
	if opts.AdminToken == "" {
		opts.AdminToken = token
	}
	s, base := emulator.Start(t, opts)
	t.Cleanup(func() { recordStats(s.Stats().Status) })
	return s, &rawClient{t: t, base: base, auth: "Bearer " + opts.AdminToken}
}

func (c *rawClient) as(auth string) *rawClient { return &rawClient{t: c.t, base: c.base, auth: auth} }

func (c *rawClient) do(method, path, body string) answer {
	c.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, c.base+path, rd)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.auth != "" {
		req.Header.Set("Authorization", c.auth)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data}
}

func (c *rawClient) expect(method, path, body string, status int) answer {
	c.t.Helper()
	a := c.do(method, path, body)
	if a.status != status {
		c.t.Fatalf("%s %s: status %d, want %d\n%s", method, path, a.status, status, a.body)
	}
	return a
}

// expectRestError checks Confluence's RestError envelope.
func (c *rawClient) expectRestError(method, path, body string, status int) string {
	c.t.Helper()
	a := c.expect(method, path, body, status)
	if ct := a.header.Get("Content-Type"); !strings.Contains(ct, "application/json") {
		c.t.Fatalf("%s %s: content type %q", method, path, ct)
	}
	m := a.json(c.t)
	if got := m["statusCode"]; got != float64(status) {
		c.t.Errorf("statusCode = %v, want %d", got, status)
	}
	data, ok := m["data"].(map[string]any)
	if !ok {
		c.t.Fatalf("no data object in %s", a.body)
	}
	for _, k := range []string{"authorized", "valid", "errors", "successful", "allowedInReadOnlyMode"} {
		if _, ok := data[k]; !ok {
			c.t.Errorf("data.%s missing in %s", k, a.body)
		}
	}
	if m["reason"] != http.StatusText(status) {
		c.t.Errorf("reason = %v", m["reason"])
	}
	msg, _ := m["message"].(string)
	if msg == "" {
		c.t.Errorf("empty message in %s", a.body)
	}
	return msg
}

func TestFreshInstance(t *testing.T) {
	_, c := newRaw(t, emulator.Options{})
	groups := c.expect("GET", "/rest/api/group", "", 200).json(t)
	var names []string
	for _, g := range groups["results"].([]any) {
		gm := g.(map[string]any)
		if gm["type"] != "group" {
			t.Errorf("group type %v", gm["type"])
		}
		names = append(names, gm["name"].(string))
	}
	if diff := cmp.Diff([]string{"confluence-administrators", "confluence-users"}, names); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}
	for _, g := range names {
		m := c.expect("GET", "/rest/api/group/"+g+"/member", "", 200).json(t)
		res := m["results"].([]any)
		if len(res) != 1 || res[0].(map[string]any)["username"] != "admin" {
			t.Errorf("members of %s: %v", g, res)
		}
	}
	me := c.expect("GET", "/rest/api/user/current", "", 200).json(t)
	if me["type"] != "known" || me["username"] != "admin" || me["userKey"] == "" {
		t.Errorf("current user: %v", me)
	}
}

func TestPersonShape(t *testing.T) {
	_, c := newRaw(t, emulator.Options{})
	p := c.expect("GET", "/rest/api/user?username=ADMIN", "", 200).json(t)
	for _, k := range []string{"type", "username", "userKey", "displayName", "profilePicture", "_links", "_expandable", "email"} {
		if _, ok := p[k]; !ok {
			t.Errorf("person lacks %s: %v", k, p)
		}
	}
	if _, ok := p["status"]; ok {
		t.Errorf("status present without expand")
	}
	p = c.expect("GET", "/rest/api/user?username=admin&expand=status", "", 200).json(t)
	if p["status"] != "Active" {
		t.Errorf("status = %v", p["status"])
	}
	_, hidden := newRaw(t, emulator.Options{HideEmail: true})
	if _, ok := hidden.expect("GET", "/rest/api/user?username=admin", "", 200).json(t)["email"]; ok {
		t.Errorf("email shown although hidden")
	}
	c.expectRestError("GET", "/rest/api/user?username=nobody", "", 404)
}

func seedUsers(t *testing.T, s *emulator.Server, n int) {
	t.Helper()
	var us []emulator.User
	for i := range n {
		us = append(us, emulator.User{Username: fmt.Sprintf("u%03d", i), DisplayName: fmt.Sprintf("User %d", i), Email: fmt.Sprintf("u%d@example.com", i), Active: true})
	}
	if err := s.SeedUsers(us...); err != nil {
		t.Fatal(err)
	}
}

func TestPaging(t *testing.T) {
	s, c := newRaw(t, emulator.Options{PageLimit: 10})
	seedUsers(t, s, 24) // 25 with admin
	var seen []string
	path := "/rest/api/user/list?expand=status&limit=1000"
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("too many pages")
		}
		m := c.expect("GET", path, "", 200).json(t)
		if m["limit"] != float64(10) {
			t.Errorf("limit = %v, want the cap 10", m["limit"])
		}
		res := m["results"].([]any)
		if m["size"] != float64(len(res)) {
			t.Errorf("size %v for %d results", m["size"], len(res))
		}
		for _, r := range res {
			seen = append(seen, r.(map[string]any)["username"].(string))
		}
		links := m["_links"].(map[string]any)
		next, ok := links["next"].(string)
		if !ok {
			if len(seen) != 25 {
				t.Fatalf("no next link after %d users", len(seen))
			}
			break
		}
		if !strings.HasPrefix(next, "/rest/api/user/list?") {
			t.Fatalf("next = %q", next)
		}
		path = next
	}
	if len(seen) != 25 || seen[0] != "admin" || seen[24] != "u023" {
		t.Errorf("users: %v", seen)
	}
	// Exactly one full page: no next link.
	m := c.expect("GET", "/rest/api/user/list?start=15&limit=10", "", 200).json(t)
	if _, ok := m["_links"].(map[string]any)["next"]; ok {
		t.Errorf("next link on the last page")
	}
	if n := len(m["results"].([]any)); n != 10 {
		t.Errorf("last page has %d", n)
	}
	c.expectRestError("GET", "/rest/api/user/list?limit=x", "", 400)
}

func TestDefaultLimits(t *testing.T) {
	s, c := newRaw(t, emulator.Options{PageLimit: 1000})
	seedUsers(t, s, 300)
	var gs []emulator.Group
	var members []string
	for i := range 300 {
		members = append(members, fmt.Sprintf("u%03d", i))
	}
	for i := range 250 {
		gs = append(gs, emulator.Group{Name: fmt.Sprintf("g%03d", i)})
	}
	gs = append(gs, emulator.Group{Name: "big", Members: members})
	if err := s.SeedGroups(gs...); err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]float64{
		"/rest/api/user/list":        100,
		"/rest/api/group":            200,
		"/rest/api/group/big/member": 200,
	} {
		m := c.expect("GET", path, "", 200).json(t)
		if m["limit"] != want || m["size"] != want {
			t.Errorf("%s: limit %v size %v, want %v", path, m["limit"], m["size"], want)
		}
	}
}

func TestCreateUser(t *testing.T) {
	_, c := newRaw(t, emulator.Options{})
	a := c.expect("POST", "/rest/api/admin/user", `{"userName":"jsmith","fullName":"Joe Smith","email":"joe@example.com","notifyViaEmail":true}`, 201)
	m := a.json(t)
	if k, _ := m["userKey"].(string); len(k) != 32 || len(m) != 1 {
		t.Errorf("create answer %s", a.body)
	}
	// Atlassian's own example sends notifyViaEmail as a string.
	c.expect("POST", "/rest/api/admin/user", `{"userName":"ann","fullName":"Ann","email":"ann@example.com","password":"s3cret-pw","notifyViaEmail":"false"}`, 201)
	c.expectRestError("POST", "/rest/api/admin/user", `{"userName":"jsmith","fullName":"J","email":"j@example.com","notifyViaEmail":true}`, 409)

	ok := func(field, value string) string {
		body := map[string]any{"userName": "newbie", "fullName": "New Bie", "email": "n@example.com", "notifyViaEmail": true}
		if value == "<delete>" {
			delete(body, field)
		} else {
			body[field] = value
		}
		b, _ := json.Marshal(body)
		return string(b)
	}
	bad := map[string]string{
		"upper case":           ok("userName", "NewBie"),
		"blank name":           ok("userName", " "),
		"no name":              ok("userName", "<delete>"),
		"whitespace":           ok("userName", "new bie"),
		"tab":                  ok("userName", "new\tbie"),
		"anonymous":            ok("userName", "anonymous"),
		"blank full name":      ok("fullName", ""),
		"full name with <":     ok("fullName", "<b>x"),
		"full name anonymous":  ok("fullName", "Anonymous"),
		"blank email":          ok("email", ""),
		"invalid email":        ok("email", "not-an-email"),
		"password with notify": `{"userName":"newbie","fullName":"N","email":"n@example.com","notifyViaEmail":true,"password":"x"}`,
		"no password":          `{"userName":"newbie","fullName":"N","email":"n@example.com","notifyViaEmail":false}`,
		"no password, no flag": `{"userName":"newbie","fullName":"N","email":"n@example.com"}`,
		"malformed json":       `{"userName":`,
		"empty body":           ``,
	}
	for _, ch := range []string{`\`, ",", "+", "<", ">", "'", `"`} {
		bad["character "+ch] = ok("userName", "new"+ch+"bie")
	}
	for name, body := range bad {
		t.Run(name, func(t *testing.T) {
			c.expectRestError("POST", "/rest/api/admin/user", body, 400)
		})
	}
	c.expect("GET", "/rest/api/user?username=newbie", "", 404)
}

func TestSeats(t *testing.T) {
	_, c := newRaw(t, emulator.Options{Seats: 2})
	c.expect("POST", "/rest/api/admin/user", `{"userName":"a","fullName":"A","email":"a@example.com","notifyViaEmail":true}`, 201)
	c.expectRestError("POST", "/rest/api/admin/user", `{"userName":"b","fullName":"B","email":"b@example.com","notifyViaEmail":true}`, 402)
	// A deactivated user frees the seat.
	c.expect("PUT", "/rest/api/admin/user/a/disable", "", 204)
	c.expect("POST", "/rest/api/admin/user", `{"userName":"b","fullName":"B","email":"b@example.com","notifyViaEmail":true}`, 201)
}

func TestUpdateUser(t *testing.T) {
	s, c := newRaw(t, emulator.Options{})
	seedUsers(t, s, 1)
	c.expect("PUT", "/rest/api/admin/user/U000", `{"fullName":"Renamed","email":"r@example.com"}`, 204)
	u, _ := s.User("u000")
	if u.DisplayName != "Renamed" || u.Email != "r@example.com" {
		t.Errorf("user after update: %+v", u)
	}
	c.expectRestError("PUT", "/rest/api/admin/user/u000", `{"fullName":"","email":"r@example.com"}`, 400)
	c.expectRestError("PUT", "/rest/api/admin/user/u000", `{"fullName":"R","email":"bad"}`, 400)
	c.expectRestError("PUT", "/rest/api/admin/user/nobody", `{"fullName":"R","email":"r@example.com"}`, 404)
}

func TestDisableEnable(t *testing.T) {
	s, c := newRaw(t, emulator.Options{})
	seedUsers(t, s, 1)
	for range 2 {
		c.expect("PUT", "/rest/api/admin/user/u000/disable", "", 204)
	}
	m := c.expect("GET", "/rest/api/user/list?expand=status", "", 200).json(t)
	var status any
	for _, r := range m["results"].([]any) {
		if p := r.(map[string]any); p["username"] == "u000" {
			status = p["status"]
		}
	}
	if status != "Deactivated" {
		t.Errorf("disabled user listed with status %v", status)
	}
	for range 2 {
		c.expect("PUT", "/rest/api/admin/user/U000/enable", "", 204)
	}
	if u, _ := s.User("u000"); !u.Active {
		t.Errorf("user not enabled")
	}
	c.expectRestError("PUT", "/rest/api/admin/user/nobody/disable", "", 404)
	c.expectRestError("PUT", "/rest/api/admin/user/nobody/enable", "", 404)
}

func TestDeleteUser(t *testing.T) {
	s, c := newRaw(t, emulator.Options{LongTaskPolls: 3})
	seedUsers(t, s, 2)
	if err := s.SeedGroups(emulator.Group{Name: "devs", Members: []string{"u000", "u001"}}); err != nil {
		t.Fatal(err)
	}
	m := c.expect("DELETE", "/rest/api/admin/user/u000", "", 202).json(t)
	id, _ := m["id"].(string)
	links, _ := m["links"].(map[string]any)
	if id == "" || links["status"] == nil || m["statusPath"] != "status" || m["resultPath"] != "result" {
		t.Fatalf("LongTaskSubmission: %v", m)
	}
	var pcts []float64
	for range 3 {
		st := c.expect("GET", "/rest/api/longtask/"+id, "", 200).json(t)
		pcts = append(pcts, st["percentageComplete"].(float64))
		if st["successful"] != true {
			t.Errorf("task not successful: %v", st)
		}
	}
	if diff := cmp.Diff([]float64{33, 66, 100}, pcts); diff != "" {
		t.Errorf("progress (-want +got):\n%s", diff)
	}
	c.expect("GET", "/rest/api/user?username=u000", "", 404)
	if g := s.Groups(); len(g[2].Members) != 1 {
		t.Errorf("deleted user still a member: %+v", g)
	}
	c.expectRestError("DELETE", "/rest/api/admin/user/u000", "", 404)
	c.expectRestError("GET", "/rest/api/longtask/999", "", 404)

	s.FailDeletion("u001")
	id = c.expect("DELETE", "/rest/api/admin/user/u001", "", 202).json(t)["id"].(string)
	var st map[string]any
	for range 3 {
		st = c.expect("GET", "/rest/api/longtask/"+id, "", 200).json(t)
	}
	if st["percentageComplete"] != float64(100) || st["successful"] != false {
		t.Errorf("failed task: %v", st)
	}
	if _, ok := s.User("u001"); !ok {
		t.Errorf("user of a failed deletion is gone")
	}
}

func TestGroups(t *testing.T) {
	s, c := newRaw(t, emulator.Options{})
	a := c.expect("POST", "/rest/api/admin/group", `{"type":"group","name":"Devs"}`, 200).json(t)
	if a["name"] != "devs" || a["type"] != "group" {
		t.Errorf("created group: %v", a)
	}
	c.expectRestError("POST", "/rest/api/admin/group", `{"type":"group","name":"DEVS"}`, 409)
	c.expectRestError("POST", "/rest/api/admin/group", `{"name":"ops"}`, 400)
	c.expectRestError("POST", "/rest/api/admin/group", `{"type":"group"}`, 400)
	c.expectRestError("POST", "/rest/api/admin/group", `{"type":"group","name":"  "}`, 400)
	c.expect("GET", "/rest/api/group/DEVS", "", 200)
	c.expectRestError("GET", "/rest/api/group/nope", "", 404)

	seedUsers(t, s, 1)
	for range 2 {
		c.expect("PUT", "/rest/api/user/U000/group/Devs", "", 204)
	}
	if g := s.Groups(); g[2].Name != "devs" || len(g[2].Members) != 1 {
		t.Errorf("groups: %+v", g)
	}
	for range 2 {
		c.expect("DELETE", "/rest/api/user/u000/group/devs", "", 204)
	}
	c.expectRestError("PUT", "/rest/api/user/nobody/group/devs", "", 404)
	c.expectRestError("PUT", "/rest/api/user/u000/group/nope", "", 404)
	c.expectRestError("DELETE", "/rest/api/user/nobody/group/devs", "", 404)

	c.expect("DELETE", "/rest/api/admin/group/DEVS", "", 204)
	c.expectRestError("DELETE", "/rest/api/admin/group/devs", "", 404)
	c.expectRestError("DELETE", "/rest/api/admin/group/confluence-administrators", "", 400)

	// A name with a slash travels escaped as one segment.
	c.expect("POST", "/rest/api/admin/group", `{"type":"group","name":"a/b"}`, 200)
	c.expect("GET", "/rest/api/group/a%2Fb", "", 200)
}

func TestAuth(t *testing.T) {
	s, c := newRaw(t, emulator.Options{AnonymousAccess: true, AdminPassword: "pw"})
	seedUsers(t, s, 1)
	s.SetToken("user-pat", "u000")
	anon := c.as("Bearer wrong")
	me := anon.expect("GET", "/rest/api/user/current", "", 200).json(t)
	if me["type"] != "anonymous" {
		t.Errorf("wrong token: current user %v", me)
	}
	anon.expectRestError("POST", "/rest/api/admin/user", `{"userName":"x","fullName":"X","email":"x@example.com","notifyViaEmail":true}`, 401)
	anon.expectRestError("DELETE", "/rest/api/admin/user/u000", "", 401)
	anon.expectRestError("PUT", "/rest/api/admin/user/u000/disable", "", 401)
	anon.expectRestError("POST", "/rest/api/admin/group", `{"type":"group","name":"x"}`, 403)
	anon.expectRestError("DELETE", "/rest/api/admin/group/confluence-users", "", 403)
	anon.expectRestError("GET", "/rest/api/user/list", "", 403)
	anon.expectRestError("GET", "/rest/api/group/confluence-users/member", "", 403)
	anon.expectRestError("GET", "/rest/api/user/memberof?username=u000", "", 403)
	c.as("").expect("GET", "/rest/api/user/current", "", 200)

	basic := func(u, p string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u+":"+p)) }
	c.as(basic("admin", "pw")).expect("POST", "/rest/api/admin/group", `{"type":"group","name":"viabasic"}`, 200)
	c.as(basic("admin", "nope")).expectRestError("GET", "/rest/api/user/current", "", 401)

	user := c.as("Bearer user-pat")
	if me := user.expect("GET", "/rest/api/user/current", "", 200).json(t); me["username"] != "u000" {
		t.Errorf("user token: %v", me)
	}
	user.expectRestError("POST", "/rest/api/admin/group", `{"type":"group","name":"x"}`, 403)
	user.expectRestError("PUT", "/rest/api/admin/user/admin/disable", "", 403)
	user.expectRestError("GET", "/rest/api/group/confluence-users/member", "", 403)

	_, closed := newRaw(t, emulator.Options{})
	closed.as("Bearer wrong").expectRestError("GET", "/rest/api/user/current", "", 401)
	closed.as("").expectRestError("GET", "/rest/api/user/current", "", 401)
}

func TestUnknownRoute(t *testing.T) {
	_, c := newRaw(t, emulator.Options{})
	for _, p := range []string{"/rest/api/nothing", "/rest/api/group/x/y/z", "/wiki/rest/api/user/current"} {
		a := c.expect("GET", p, "", 404)
		if strings.Contains(a.header.Get("Content-Type"), "json") || json.Valid(a.body) {
			t.Errorf("%s: a JSON 404: %s", p, a.body)
		}
	}
	c.expect("POST", "/rest/api/user/list", "{}", 405)
}

func TestContextPath(t *testing.T) {
	s, base := emulator.Start(t, emulator.Options{AdminToken: token, ContextPath: "/confluence"})
	if !strings.HasSuffix(base, "/confluence") || s.ContextPath() != "/confluence" {
		t.Fatalf("base %s", base)
	}
	c := &rawClient{t: t, base: base, auth: "Bearer " + token}
	m := c.expect("GET", "/rest/api/group", "", 200).json(t)
	if m["_links"].(map[string]any)["context"] != "/confluence" {
		t.Errorf("links: %v", m["_links"])
	}
	root := &rawClient{t: t, base: strings.TrimSuffix(base, "/confluence"), auth: c.auth}
	root.expect("GET", "/rest/api/group", "", 404)
}

func TestRateLimit(t *testing.T) {
	_, c := newRaw(t, emulator.Options{RateLimit: 0.5, RateBurst: 2})
	for i := range 2 {
		a := c.expect("GET", "/rest/api/user/current", "", 200)
		if a.header.Get("Retry-After") != "0" || a.header.Get("X-RateLimit-Remaining") != fmt.Sprint(1-i) {
			t.Errorf("headers on success: %v", a.header)
		}
	}
	a := c.do("GET", "/rest/api/user/current", "")
	if a.status != 429 {
		t.Fatalf("status %d, want 429", a.status)
	}
	h := a.header
	if h.Get("X-RateLimit-Limit") != "2" || h.Get("X-RateLimit-Remaining") != "0" ||
		h.Get("X-RateLimit-Interval-Seconds") != "2" || h.Get("X-RateLimit-FillRate") != "1" {
		t.Errorf("429 headers: %v", h)
	}
	if ra := h.Get("Retry-After"); ra != "1" && ra != "2" {
		t.Errorf("retry-after %q", ra)
	}
}

func TestFaultsReproducible(t *testing.T) {
	run := func() []int {
		_, c := newRaw(t, emulator.Options{ErrorRate: 0.3, Seed: 42})
		var out []int
		for range 40 {
			out = append(out, c.do("GET", "/rest/api/group", "").status)
		}
		return out
	}
	a, b := run(), run()
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different faults:\n%s", diff)
	}
	faults := 0
	for _, s := range a {
		if s >= 500 {
			faults++
		}
	}
	if faults == 0 || faults == len(a) {
		t.Errorf("%d faults in %d requests at rate 0.3", faults, len(a))
	}
}

func TestPersistence(t *testing.T) {
	file := filepath.Join(t.TempDir(), "state.json")
	s, c := newRaw(t, emulator.Options{DataFile: file})
	c.expect("POST", "/rest/api/admin/user", `{"userName":"kept","fullName":"Kept","email":"k@example.com","notifyViaEmail":true}`, 201)
	c.expect("POST", "/rest/api/admin/group", `{"type":"group","name":"team"}`, 200)
	c.expect("PUT", "/rest/api/user/kept/group/team", "", 204)
	c.expect("PUT", "/rest/api/admin/user/kept/disable", "", 204)
	before := s.Users()

	again, err := emulator.New(emulator.Options{DataFile: file})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(before, again.Users()); diff != "" {
		t.Errorf("users after restart (-before +after):\n%s", diff)
	}
	if diff := cmp.Diff(s.Groups(), again.Groups()); diff != "" {
		t.Errorf("groups after restart:\n%s", diff)
	}
	entries, _ := os.ReadDir(filepath.Dir(file))
	if len(entries) != 1 {
		t.Errorf("temporary files left: %v", entries)
	}
	if err := os.WriteFile(file, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := emulator.New(emulator.Options{DataFile: file}); err == nil {
		t.Errorf("a corrupt data file was accepted")
	}
}
