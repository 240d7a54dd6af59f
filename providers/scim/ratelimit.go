package scim

import (
	"math"
	"net/http"
	"strconv"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// RateLimit is each bearer token's request budget: a token bucket that
// refills at PerSecond requests a second and holds at most Burst. A
// PerSecond of 0 or less means no limit.
type RateLimit struct {
	PerSecond float64
	Burst     int
}

// maxLimitedTokens bounds the buckets kept; past it they start afresh
// (only tokens that authenticated get one, so it is not reached in
// practice).
const maxLimitedTokens = 4096

// limiter keeps one token bucket per bearer token, keyed by the token's
// SHA-256 (the token itself is never kept).
type limiter struct {
	limit RateLimit
	mu    sync.Mutex
	by    map[[32]byte]*rate.Limiter
}

func newLimiter(l RateLimit) *limiter {
	if l.PerSecond <= 0 {
		return nil
	}
	if l.Burst < 1 {
		l.Burst = max(1, int(math.Ceil(l.PerSecond)))
	}
	return &limiter{limit: l, by: map[[32]byte]*rate.Limiter{}}
}

// allow takes one request from the token's budget, or says how long to
// wait until one is there.
func (l *limiter) allow(token [32]byte, now time.Time) (bool, time.Duration) {
	if l == nil {
		return true, 0
	}
	l.mu.Lock()
	b, ok := l.by[token]
	if !ok {
		if len(l.by) >= maxLimitedTokens {
			clear(l.by)
		}
		b = rate.NewLimiter(rate.Limit(l.limit.PerSecond), l.limit.Burst)
		l.by[token] = b
	}
	l.mu.Unlock()
	r := b.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now) // a refused request spends nothing
		return false, d
	}
	return true, 0
}

// tooManyRequests is the answer to a request over its token's budget:
// 429 with Retry-After in whole seconds (at least 1), as an RFC 7644 error.
func tooManyRequests(wait time.Duration) *Error {
	secs := max(1, int(math.Ceil(wait.Seconds())))
	return &Error{Status: http.StatusTooManyRequests, RetryAfter: secs,
		Detail: "too many requests for this bearer token: retry after " + strconv.Itoa(secs) + " s"}
}
