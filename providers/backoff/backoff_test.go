package backoff

import (
	"context"
	"errors"
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

func TestDo(t *testing.T) {
	errBusy, errBad := errors.New("busy"), errors.New("bad request")
	for _, tt := range []struct {
		name       string
		results    []error // of each try, in order
		retryAfter string
		wantTries  int
		wantWaits  int
		want       func(error) bool
	}{
		{"first try", []error{nil}, "", 1, 0, func(err error) bool { return err == nil }},
		{"after retries", []error{errBusy, errBusy, nil}, "", 3, 2, func(err error) bool { return err == nil }},
		{"final error", []error{errBusy, Final(errBad)}, "", 2, 1, func(err error) bool { return err == errBad }},
		{"used up", []error{errBusy, errBusy, errBusy}, "", 3, 2, func(err error) bool {
			var gu *GaveUpError
			return errors.As(err, &gu) && gu.Attempts == 3 && gu.Err == errBusy && errors.Is(err, errBusy)
		}},
		{"retry-after too long", []error{errBusy}, "3600", 1, 0, func(err error) bool {
			var gu *GaveUpError
			return errors.As(err, &gu) && gu.Attempts == 1
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var waits, told int
			p := Policy{Attempts: 3, Base: time.Millisecond, MaxRetryAfter: time.Minute,
				Sleep: func(context.Context, time.Duration) error { waits++; return nil }}.WithDefaults()
			tries := 0
			err := p.Do(context.Background(), func(attempt int) (string, error) {
				tries++
				if attempt != tries {
					t.Errorf("try %d was told attempt %d", tries, attempt)
				}
				return tt.retryAfter, tt.results[attempt-1]
			}, func(attempt int, _ time.Duration, err error) {
				told++
				if err != tt.results[attempt-1] {
					t.Errorf("retrying told of %v after try %d; want %v", err, attempt, tt.results[attempt-1])
				}
			})
			if !tt.want(err) {
				t.Errorf("Do = %v", err)
			}
			if tries != tt.wantTries || waits != tt.wantWaits || told != tt.wantWaits {
				t.Errorf("%d tries, %d waits, %d told; want %d, %d, %d", tries, waits, told, tt.wantTries, tt.wantWaits, tt.wantWaits)
			}
		})
	}
	t.Run("context done", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		p := Policy{Attempts: 5}.WithDefaults()
		err := p.Do(ctx, func(int) (string, error) { cancel(); return "", errBusy }, nil)
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Do = %v; want context.Canceled", err)
		}
	})
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
