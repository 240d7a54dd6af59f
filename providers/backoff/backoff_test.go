package backoff

import (
	"net/http"
	"testing"
	"time"
)

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for _, tt := range []struct {
		in   string
		want time.Duration
		has  bool
	}{
		{"", 0, false},
		{"7", 7 * time.Second, true},
		{" 0 ", 0, true},
		{"-3", 0, false},
		{"soon", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"99999999999", 24 * time.Hour, true},
	} {
		got, has := ParseRetryAfter(tt.in, now)
		if got != tt.want || has != tt.has {
			t.Errorf("ParseRetryAfter(%q) = %v, %v; want %v, %v", tt.in, got, has, tt.want, tt.has)
		}
	}
}

func TestDelay(t *testing.T) {
	p := Policy{Base: 100 * time.Millisecond, Max: time.Second, MaxRetryAfter: time.Minute}.WithDefaults()
	for attempt := 1; attempt <= 8; attempt++ {
		ceiling := min(100*time.Millisecond<<(attempt-1), time.Second)
		for range 50 {
			d, ok := p.Delay(attempt, "")
			if !ok || d < 0 || d > ceiling {
				t.Fatalf("Delay(%d) = %v, %v; want within [0, %v]", attempt, d, ok, ceiling)
			}
		}
	}
	if d, ok := p.Delay(1, "3"); !ok || d < 3*time.Second || d > 3*time.Second+25*time.Millisecond {
		t.Errorf("Delay with Retry-After 3 = %v, %v", d, ok)
	}
	if _, ok := p.Delay(1, "120"); ok {
		t.Error("a Retry-After beyond MaxRetryAfter is honoured; want give up")
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"", "1", "Wed, 21 Oct 2015 07:28:00 GMT", "-1", "1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, has := ParseRetryAfter(s, time.Now())
		if d < 0 || (!has && d != 0) {
			t.Fatalf("ParseRetryAfter(%q) = %v, %v", s, d, has)
		}
	})
}
