package oneline

import (
	"strings"
	"testing"
	"unicode/utf8"
)

func TestClean(t *testing.T) {
	for _, tt := range []struct {
		in      string
		max     int
		secrets []string
		want    string
	}{
		{"invalid_client", 60, nil, "invalid_client"},
		{"bad secret s3cr3t: s3cr3t", 60, []string{"s3cr3t"}, "bad secret (sensitive): (sensitive)"},
		{"no secret", 60, []string{""}, "no secret"},
		{" line one\r\nline two\u2028three\x7f ", 60, nil, "line one  line two three"},
		{"abcdef", 3, nil, "abc..."},
		{"héllo", 2, nil, "h..."}, // é is two bytes: not split
	} {
		if got := Clean(tt.in, tt.max, tt.secrets...); got != tt.want {
			t.Errorf("Clean(%q, %d) = %q; want %q", tt.in, tt.max, got, tt.want)
		}
	}
}

func FuzzClean(f *testing.F) {
	f.Add("error\nTrace ID: X1Y2", "X1Y2")
	f.Fuzz(func(t *testing.T, v, secret string) {
		got := Clean(v, 40, secret)
		// A secret of digits and capitals cannot be made anew from
		// "(sensitive)", spaces and "...": it never shows.
		if len(secret) >= 4 && strings.Trim(secret, "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ") == "" && strings.Contains(got, secret) {
			t.Fatalf("Clean(%q) = %q shows the secret %q", v, got, secret)
		}
		if strings.ContainsAny(got, "\r\n\u2028\u2029") || len(got) > 43 || (utf8.ValidString(v) && !utf8.ValidString(got)) {
			t.Fatalf("Clean(%q) = %q is not one short line", v, got)
		}
	})
}
