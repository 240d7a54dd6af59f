package web

import (
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/plantest"
)

const testToken = "operator-token-0123456789"

// fakeStore is plantest's state plus SCIM counts and request counts.
type fakeStore struct {
	*plantest.State
	*plantest.Journal
	reqs map[time.Time]int64
}

func (f *fakeStore) CountUsers(context.Context, string) (int, error)  { return 3, nil }
func (f *fakeStore) CountGroups(context.Context, string) (int, error) { return 1, nil }
func (f *fakeStore) Revision(context.Context, string) (int64, error)  { return 7, nil }
func (f *fakeStore) RequestsPerMinute(_ context.Context, since time.Time) (map[time.Time]int64, error) {
	out := map[time.Time]int64{}
	for m, n := range f.reqs {
		if !m.Before(since) {
			out[m] = n
		}
	}
	return out, nil
}

var t0 = time.Date(2026, 11, 26, 18, 0, 30, 0, time.UTC)

func fixture(t testing.TB, token config.Secret) http.Handler {
	t.Helper()
	ctx := context.Background()
	st := plantest.NewState()
	st.Now = func() time.Time { return t0 }
	f := &fakeStore{State: st, Journal: plantest.NewJournal(), reqs: map[time.Time]int64{
		t0.Truncate(time.Minute):                      5,
		t0.Truncate(time.Minute).Add(-time.Hour):      2,
		t0.Truncate(time.Minute).Add(-48 * time.Hour): 100, // outside the plot
	}}
	must := func(err error) {
		if err != nil {
			t.Fatal(err)
		}
	}
	must(st.RecordRead(ctx, "entra", plan.SourceCounts{Users: 3, Groups: 1, At: t0.Add(-time.Minute)}))
	must(st.RecordHealth(ctx, "corp-ad", plan.HealthReport{At: t0.Add(-time.Minute), Failure: `its source failed: ldap: bind as "cn=reader" failed: invalid credentials`}))
	must(st.AppendRun(ctx, plan.Run{ID: "r1", Started: t0.Add(-2 * time.Hour), Finished: t0.Add(-2 * time.Hour), Trigger: "cli",
		Outcome: "applied", Message: "2 changes applied", Actions: []plan.RunAction{
			{Action: "create", Object: "user <script>alert(1)</script>", IDP: "entra"},
			{Action: "add", Object: "membership x -> devs", IDP: "entra", Error: "boom"}}}))
	must(st.AppendRun(ctx, plan.Run{ID: "r2", Started: t0.Add(-time.Hour), Finished: t0.Add(-time.Hour), Trigger: "reconcile",
		Outcome: "refused", Message: "nothing applied: safety thresholds exceeded"}))
	must(st.AcquireLock(ctx, "serve host-a/41", 30*time.Second))
	cfg := &config.Config{IDPs: []*config.IDP{
		{Name: "entra", SCIM: &config.SCIMSource{}},
		{Name: "corp-ad", LDAP: &config.LDAPSource{}},
	}}
	return Handler(Options{Config: cfg, Store: f, Token: token, Now: func() time.Time { return t0 }})
}

func do(t *testing.T, h http.Handler, method, path, auth string) (*http.Response, string) {
	t.Helper()
	req := httptest.NewRequest(method, path, nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	b, _ := io.ReadAll(rec.Result().Body)
	return rec.Result(), string(b)
}

func basic(pw string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte("anyone:"+pw))
}

// TestAccess: the page answers only with the operator token, as a basic
// password or a Bearer token; every answer carries the strict headers.
func TestAccess(t *testing.T) {
	h := fixture(t, testToken)
	tests := []struct {
		name, path, auth string
		want             int
	}{
		{"no credential", "/", "", 401},
		{"wrong password", "/", basic("nope"), 401},
		{"wrong bearer", "/", "Bearer nope", 401},
		{"token as user name", "/", "Basic " + base64.StdEncoding.EncodeToString([]byte(testToken+":")), 401},
		{"basic", "/", basic(testToken), 200},
		{"bearer", "/", "Bearer " + testToken, 200},
		{"ui root", "/ui/", basic(testToken), 200},
		{"run page", "/ui/runs/r1", basic(testToken), 200},
		{"unknown run", "/ui/runs/nope", basic(testToken), 404},
		{"unknown page", "/ui/nope", basic(testToken), 404},
		{"script", "/ui/assets/refresh.js", basic(testToken), 200},
		{"style", "/ui/assets/style.css", basic(testToken), 200},
		{"asset without credential", "/ui/assets/refresh.js", "", 401},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, body := do(t, h, "GET", tc.path, tc.auth)
			if res.StatusCode != tc.want {
				t.Fatalf("GET %s: %d, want %d\n%s", tc.path, res.StatusCode, tc.want, body)
			}
			for k, want := range map[string]string{
				"Content-Security-Policy": ContentSecurityPolicy,
				"X-Content-Type-Options":  "nosniff",
				"Cache-Control":           "no-store",
				"X-Frame-Options":         "DENY",
			} {
				if got := res.Header.Get(k); got != want {
					t.Errorf("%s: %q, want %q", k, got, want)
				}
			}
			if tc.want == 401 && !strings.HasPrefix(res.Header.Get("WWW-Authenticate"), "Basic ") {
				t.Errorf("401 without a basic challenge")
			}
			if strings.Contains(body, testToken) {
				t.Error("the answer contains the operator token")
			}
		})
	}
	if res, _ := do(t, h, "GET", "/ui/assets/refresh.js", basic(testToken)); !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") {
		t.Errorf("refresh.js served as %q", res.Header.Get("Content-Type"))
	}
}

// TestReadOnly: through Register, only GET and HEAD reach the page.
func TestReadOnly(t *testing.T) {
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", fixture(t, testToken))
	mux.Handle("GET /ui/", fixture(t, testToken))
	for _, m := range []string{"POST", "PUT", "PATCH", "DELETE"} {
		if res, _ := do(t, mux, m, "/", basic(testToken)); res.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("%s /: %d, want 405", m, res.StatusCode)
		}
	}
	if res, _ := do(t, mux, "HEAD", "/", basic(testToken)); res.StatusCode != 200 {
		t.Errorf("HEAD /: %d, want 200", res.StatusCode)
	}
}

// TestOff: without an operator token the page is off, saying how to turn
// it on, whatever the credential.
func TestOff(t *testing.T) {
	h := fixture(t, "")
	for _, auth := range []string{"", basic(""), "Bearer x"} {
		res, body := do(t, h, "GET", "/", auth)
		if res.StatusCode != 404 || body != Off || res.Header.Get("Content-Security-Policy") != ContentSecurityPolicy {
			t.Errorf("auth %q: %d %q", auth, res.StatusCode, body)
		}
	}
}

// TestOverview: the overview shows the IdPs, the lock, recent and refused
// runs and both plots, and escapes what the IdP supplied.
func TestOverview(t *testing.T) {
	h := fixture(t, testToken)
	_, body := do(t, h, "GET", "/?refresh=3", basic(testToken))
	for _, want := range []string{
		`data-refresh="3"`,
		`<tr data-idp="entra">`, `<tr data-idp="corp-ad">`,
		"3 users, 1 groups at 2026-11-26 17:59:30 UTC", "unhealthy: left out of the last plan",
		"invalid credentials", "left out: <b>0</b>",
		"users pushed: <b>3</b>", "revision: <b>7</b>",
		"held by <b>serve host-a/41</b>",
		"auto_apply off",
		`href="/ui/runs/r1"`, `<span class="badge refused">refused</span>`,
		"nothing applied: safety thresholds exceeded",
		`id="plot-changes"`, `id="plot-requests"`,
		// 1 change applied (the other failed); 5+2 requests, not the one
		// 48 h ago.
		`Changes applied per minute: <b class="total">1</b>`,
		`SCIM requests per minute: <b class="total">7</b> in all, at most 5 a minute`,
		"18:00 UTC: 5 requests",
	} {
		if !strings.Contains(body, want) {
			t.Errorf("overview lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>alert") {
		t.Error("overview carries unescaped IdP-supplied markup")
	}
	if n := strings.Count(body, "<script"); n != 1 {
		t.Errorf("%d script elements, want only the refresh script", n)
	}

	_, body = do(t, h, "GET", "/ui/runs/r1", basic(testToken))
	for _, want := range []string{"user &lt;script&gt;alert(1)&lt;/script&gt;", "boom", "1 applied, 1 failed", `data-refresh="0"`} {
		if !strings.Contains(body, want) {
			t.Errorf("run page lacks %q", want)
		}
	}
	if strings.Contains(body, "<script>alert") {
		t.Error("run page carries unescaped IdP-supplied markup")
	}
}

func TestPlotGeometry(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 10, 0, time.UTC)
	p := newPlot("t", "x", map[time.Time]int64{now.Truncate(time.Minute): 10, now.Truncate(time.Minute).Add(-time.Minute): 5}, now)
	if len(p.Bars) != 2 || p.Max != 10 || p.Total != 15 {
		t.Fatalf("plot %+v", p)
	}
	last, prev := p.Bars[1], p.Bars[0]
	if last.X != plotLeft+plotMinutes-1 || prev.X != last.X-1 {
		t.Errorf("bars at x %d and %d, want the last two minutes", prev.X, last.X)
	}
	if last.H != plotHeight-10 || prev.H != (plotHeight-10)/2 || last.Y+last.H != plotHeight {
		t.Errorf("bar heights %d and %d", prev.H, last.H)
	}
	if len(p.Ticks) != 8 {
		t.Errorf("%d ticks, want 8 (every 3 h)", len(p.Ticks))
	}
}
