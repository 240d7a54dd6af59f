package fault

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

func TestMatch(t *testing.T) {
	var l List
	l.Add(Rule{Path: "/users?$filter=id eq", Status: 503, RetryAfter: "2", Times: 2})
	l.Add(Rule{Path: "/groups", Status: 500, Times: -1})
	req := func(target string) *http.Request { return httptest.NewRequest(http.MethodGet, target, nil) }
	for i, tt := range []struct {
		target string
		status int
		ok     bool
	}{
		{"/v1.0/users?%24filter=id+eq+%271%27", 503, true}, // the unescaped query matches
		{"/v1.0/users?%24filter=id%20eq%20%272%27", 503, true},
		{"/v1.0/users?%24filter=id%20eq%20%273%27", 0, false}, // used up
		{"/v1.0/groups", 500, true},
		{"/v1.0/groups/1/members", 500, true},
		{"/v1.0/users", 0, false},
	} {
		r, ok := l.Match(req(tt.target))
		if ok != tt.ok || r.Status != tt.status {
			t.Errorf("%d: Match(%q) = %+v, %v; want status %d, %v", i, tt.target, r, ok, tt.status, tt.ok)
		}
	}
	l.Clear()
	if _, ok := l.Match(req("/v1.0/groups")); ok {
		t.Error("a rule matches after Clear")
	}
}

func TestDrop(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { Drop(w) }))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err == nil {
		resp.Body.Close()
		t.Fatalf("GET answered %s; want a dropped connection", resp.Status)
	}
	if !errors.Is(err, io.EOF) && !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Logf("dropped connection error: %v", err)
	}
}
