package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzAuthorization: whatever Authorization header and refresh parameter
// a client sends, the page never panics, and only the operator token
// opens it.
func FuzzAuthorization(f *testing.F) {
	for _, s := range []string{"", "Basic", "Basic !!!", basic(testToken), basic("x"), "Bearer " + testToken, "bearer  " + testToken, "Bearer", "Digest x"} {
		f.Add(s, "1")
	}
	f.Add("", "-5")
	f.Add("Bearer x", "99999999999999999999")
	h := fixture(f, testToken)
	f.Fuzz(func(t *testing.T, auth, refresh string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Header.Set("Authorization", auth)
		q := req.URL.Query()
		q.Set("refresh", refresh)
		req.URL.RawQuery = q.Encode()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		opened := rec.Code == http.StatusOK
		if opened && !hasToken(req) {
			t.Fatalf("Authorization %q opened the page", auth)
		}
		if !opened && rec.Code != http.StatusUnauthorized {
			t.Fatalf("Authorization %q: %d", auth, rec.Code)
		}
	})
}

// hasToken is the rule the page's check must meet: the token is the basic
// password, or follows a case-insensitive "Bearer ".
func hasToken(r *http.Request) bool {
	if _, pw, ok := r.BasicAuth(); ok {
		return pw == testToken
	}
	a := r.Header.Get("Authorization")
	return len(a) > 7 && strings.EqualFold(a[:7], "bearer ") && strings.TrimSpace(a[7:]) == testToken
}
