package scim

import (
	"context"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable Options.Now.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *fakeClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// newLimitedServer is a test server with a request budget and a fake clock.
func newLimitedServer(t *testing.T, st Store, limit RateLimit, clock *fakeClock, observed *[]int) *testServer {
	ts := &testServer{t: t, st: st, changes: map[string]int{}}
	var mu sync.Mutex
	h := NewServer(Options{
		Store: st,
		IDPs: []IDP{
			{Name: "entra", TokenSHA256: []string{hashHex(testToken), hashHex("entra-second-token-0123456789")}},
			{Name: "okta", TokenSHA256: []string{hashHex(testOktaToken)}},
		},
		Now:       clock.now,
		RateLimit: limit,
		Observe: func(_, _ string, status int, _ time.Duration) {
			mu.Lock()
			*observed = append(*observed, status)
			mu.Unlock()
		},
	})
	ts.srv = httptest.NewServer(h)
	t.Cleanup(ts.srv.Close)
	return ts
}

// TestRateLimitPerToken: issue 15 item 7. Each bearer token has its own
// budget (a token bucket); a request over it is answered 429 with
// Retry-After and an RFC 7644 error body before it reaches the store, and
// a refused request spends nothing. On every store engine.
func TestRateLimitPerToken(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
		var observed []int
		ts := newLimitedServer(t, st, RateLimit{PerSecond: 10, Burst: 3}, clock, &observed)
		get := func(token, idp string) response {
			return ts.doAs(t, token, "GET", "/scim/v2/"+idp+"/Users?count=1", nil, nil)
		}
		for range 3 {
			expect(t, get(testToken, "entra"), 200)
		}
		r := get(testToken, "entra")
		expectError(t, r, 429, "")
		if ra := r.header.Get("Retry-After"); ra != "1" {
			t.Errorf("Retry-After %q, want \"1\"", ra)
		}
		if d, _ := r.json(t)["detail"].(string); d == "" {
			t.Error("a 429 without detail")
		}
		// Over budget, a write never reaches the store.
		expectError(t, ts.doAs(t, testToken, "POST", "/scim/v2/entra/Users", `{"userName":"limited@example.com"}`, nil), 429, "")
		if n, err := st.CountUsers(context.Background(), "entra"); err != nil || n != 0 {
			t.Fatalf("a refused POST reached the store: %d users, %v", n, err)
		}
		// Other tokens, of the same IdP or another, have their own budget.
		expect(t, get("entra-second-token-0123456789", "entra"), 200)
		expect(t, get(testOktaToken, "okta"), 200)
		// A wrong token is still 401, not 429.
		expectError(t, get("wrong-token", "entra"), 401, "")
		// 100 ms refill one request (10/s), however many were refused.
		clock.add(100 * time.Millisecond)
		expect(t, get(testToken, "entra"), 200)
		expectError(t, get(testToken, "entra"), 429, "")
		clock.add(time.Second)
		for range 3 {
			expect(t, get(testToken, "entra"), 200)
		}
		n429 := 0
		for _, s := range observed {
			if s == 429 {
				n429++
			}
		}
		if n429 != 3 {
			t.Errorf("Observe saw %d answers 429, want 3 (statuses %v)", n429, observed)
		}
		t.Logf("budget 10/s burst 3: statuses %v", observed)
	})
}

// TestRateLimitRetryAfter: Retry-After is the wait until the bucket holds
// a request again, in whole seconds rounded up; no limit configured means
// no 429 at all.
func TestRateLimitRetryAfter(t *testing.T) {
	clock := &fakeClock{t: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}
	var observed []int
	ts := newLimitedServer(t, newMemStore(), RateLimit{PerSecond: 0.25, Burst: 1}, clock, &observed)
	expect(t, ts.do(t, "GET", "/Users", nil), 200)
	r := ts.do(t, "GET", "/Users", nil)
	expectError(t, r, 429, "")
	if ra := r.header.Get("Retry-After"); ra != "4" {
		t.Errorf("Retry-After %q, want \"4\" at 0.25 requests a second", ra)
	}
	clock.add(3 * time.Second)
	r = ts.do(t, "GET", "/Users", nil)
	if ra := r.header.Get("Retry-After"); r.status != 429 || ra != "1" {
		t.Errorf("after 3 s: %d Retry-After %q, want 429 and \"1\"", r.status, ra)
	}
	clock.add(time.Second)
	expect(t, ts.do(t, "GET", "/Users", nil), 200)

	unlimited := newLimitedServer(t, newMemStore(), RateLimit{}, clock, &observed)
	for range 500 {
		expect(t, unlimited.do(t, "GET", "/ServiceProviderConfig", nil), 200)
	}
}
