package okta

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/providers/backoff"
)

func TestNextLink(t *testing.T) {
	for _, tt := range []struct {
		headers []string
		want    string
	}{
		{nil, ""},
		{[]string{`<https://x.okta.com/api/v1/users?limit=200>; rel="self"`}, ""},
		{[]string{`<https://x.okta.com/api/v1/users?limit=200>; rel="self"`, `<https://x.okta.com/api/v1/users?after=00u1&limit=200>; rel="next"`}, "https://x.okta.com/api/v1/users?after=00u1&limit=200"},
		{[]string{`<https://a/1>; rel="self", <https://a/2>; rel="next"`}, "https://a/2"},
		{[]string{`<https://a/2>; title="a, b; rel=next"; rel=prev, <https://a/3>; rel="prev next"`}, "https://a/3"},
		{[]string{`<https://a/2>; REL=NEXT`}, "https://a/2"},
		{[]string{`garbage, <https://a/4>; rel=next`}, "https://a/4"},
		{[]string{`<https://a/5; rel=next`}, ""},
	} {
		if got := NextLink(tt.headers); got != tt.want {
			t.Errorf("NextLink(%q) = %q, want %q", tt.headers, got, tt.want)
		}
	}
}

// FuzzNextLink: any header parses without panicking, and a next link found
// is a substring of the header.
func FuzzNextLink(f *testing.F) {
	for _, s := range []string{`<https://a/1>; rel="self", <https://a/2>; rel="next"`, `<`, `<a>;rel="`, `,,,;`, `<a>; title="\"x,"; rel=next`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, h string) {
		if got := NextLink([]string{h}); got != "" && !strings.Contains(h, got) {
			t.Fatalf("NextLink(%q) = %q, not in the header", h, got)
		}
	})
}

// FuzzErrorBody: any error body Okta might send becomes a one-line error
// without the API token.
func FuzzErrorBody(f *testing.F) {
	const token = "00the-api-token"
	for _, s := range []string{`{"errorCode":"E0000011","errorSummary":"Invalid token provided"}`, `{"errorSummary":"00the-api-token\n"}`, `nope`} {
		f.Add(s, 401)
	}
	src := &Source{cfg: config.OktaSource{OrgURL: "https://x", Token: token}, retry: backoff.Policy{}.WithDefaults()}
	f.Fuzz(func(t *testing.T, body string, status int) {
		if status < 100 || status > 999 {
			return
		}
		resp := &http.Response{StatusCode: status, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(body))}
		_, _, err := src.decode(resp, &[]user{})
		if err == nil {
			return
		}
		msg := (&AuthError{OrgURL: "https://x", Err: &APIError{}}).Error() + err.Error()
		if strings.Contains(msg, token) || strings.ContainsAny(msg, "\r\n") {
			t.Fatalf("error %q carries the token or a line break", msg)
		}
	})
}
