// Package backoff decides when a pulled source retries an HTTP request:
// which answers are worth retrying, how long to wait (exponential backoff
// with full jitter, or the server's Retry-After), and when to give up.
// The Graph and Okta sources share it: Policy.Do is the loop of their
// tries, and each says what a try is and which errors are final.
package backoff

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Defaults of a Policy.
const (
	DefaultAttempts = 6
	DefaultBase     = 500 * time.Millisecond
	DefaultMax      = 30 * time.Second
	// DefaultMaxRetryAfter is the longest Retry-After honoured; a server
	// asking for more makes the request fail rather than stall a plan.
	DefaultMaxRetryAfter = 5 * time.Minute
)

// Policy is a retry policy. The zero value uses the defaults.
type Policy struct {
	// Attempts is the most tries of one request, the first included.
	Attempts int
	// Base is the first backoff ceiling; each retry doubles it up to Max.
	Base, Max time.Duration
	// MaxRetryAfter bounds the Retry-After honoured.
	MaxRetryAfter time.Duration
	// Sleep waits d or until ctx is done (default: a timer). Tests replace
	// it to record the waits.
	Sleep func(ctx context.Context, d time.Duration) error
	// Now returns the time, for Retry-After dates (default time.Now).
	Now func() time.Time
}

// WithDefaults fills in the zero fields.
func (p Policy) WithDefaults() Policy {
	if p.Attempts <= 0 {
		p.Attempts = DefaultAttempts
	}
	if p.Base <= 0 {
		p.Base = DefaultBase
	}
	if p.Max <= 0 {
		p.Max = DefaultMax
	}
	if p.MaxRetryAfter <= 0 {
		p.MaxRetryAfter = DefaultMaxRetryAfter
	}
	if p.Sleep == nil {
		p.Sleep = sleep
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	return p
}

func sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// Retryable reports whether an HTTP status is worth retrying: throttling
// (429) and the server errors that say "try again" (500, 502, 503, 504).
func Retryable(status int) bool {
	switch status {
	case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
		http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		return true
	}
	return false
}

// Delay returns how long to wait before try number attempt+1 (attempt
// counts from 1), given the failed answer's Retry-After header (may be
// empty). ok is false when the server asks for a longer wait than
// MaxRetryAfter.
func (p Policy) Delay(attempt int, retryAfter string) (d time.Duration, ok bool) {
	if ra, has := ParseRetryAfter(retryAfter, p.Now()); has {
		if ra > p.MaxRetryAfter {
			return 0, false
		}
		// A little jitter on top, so that parallel requests told to wait
		// the same time do not return in the same instant.
		return ra + time.Duration(rand.Int64N(int64(p.Base/4)+1)), true
	}
	ceiling := p.Base
	for i := 1; i < attempt && ceiling < p.Max; i++ {
		ceiling *= 2
	}
	ceiling = min(ceiling, p.Max)
	return time.Duration(rand.Int64N(int64(ceiling) + 1)), true // full jitter
}

// ParseRetryAfter reads a Retry-After header (RFC 9110 section 10.2.3):
// delay-seconds or an HTTP-date. has is false for an absent or malformed
// value.
func ParseRetryAfter(v string, now time.Time) (d time.Duration, has bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n < 0 {
			return 0, false
		}
		if n > int64(24*time.Hour/time.Second) {
			n = int64(24 * time.Hour / time.Second)
		}
		return time.Duration(n) * time.Second, true
	}
	if t, err := http.ParseTime(v); err == nil {
		return max(t.Sub(now), 0), true
	}
	return 0, false
}

// Final marks the error of a try as one that no retry will mend: Do
// returns err itself at once.
func Final(err error) error { return &finalError{err} }

type finalError struct{ err error }

func (e *finalError) Error() string { return e.err.Error() }
func (e *finalError) Unwrap() error { return e.err }

// GaveUpError is what Do returns when the tries of a request are used up
// or the server asked for a longer wait than MaxRetryAfter.
type GaveUpError struct {
	// Attempts is how many tries were made; Err is the last one's error.
	Attempts int
	Err      error
}

func (e *GaveUpError) Error() string {
	return fmt.Sprintf("failed after %d attempts: %v", e.Attempts, e.Err)
}

func (e *GaveUpError) Unwrap() error { return e.Err }

// Do makes the tries of one request. try makes try number attempt
// (counting from 1) and returns its error and the failed answer's
// Retry-After header (may be empty). A nil error ends the tries, and so
// does one marked Final: Do returns it unmarked. After any other error Do
// returns ctx's error if ctx is done, a *GaveUpError when the tries are
// used up or the wait asked for is too long, and otherwise waits the
// Delay and tries again; retrying, when not nil, is told of each wait
// before it starts.
func (p Policy) Do(ctx context.Context, try func(attempt int) (retryAfter string, err error), retrying func(attempt int, wait time.Duration, err error)) error {
	for attempt := 1; ; attempt++ {
		retryAfter, err := try(attempt)
		if err == nil {
			return nil
		}
		if f, ok := err.(*finalError); ok {
			return f.err
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		d, ok := p.Delay(attempt, retryAfter)
		if attempt >= p.Attempts || !ok {
			return &GaveUpError{Attempts: attempt, Err: err}
		}
		if retrying != nil {
			retrying(attempt, d, err)
		}
		if err := p.Sleep(ctx, d); err != nil {
			return err
		}
	}
}
