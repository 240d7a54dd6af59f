// Package fault is the fault injection the emulators of pulled sources
// share: rules that make matching requests fail with a status or a
// dropped connection. It knows nothing of the emulators' APIs or of our
// clients; each emulator writes the error body its service would.
package fault

import (
	"net/http"
	"net/url"
	"strings"
	"sync"
)

// Rule is an injected failure: the next Times requests (negative: every
// one) whose path and unescaped query contain Path (all requests when
// empty) fail with Status (and Retry-After when RetryAfter is set), or,
// when Status is 0, have their connection dropped.
type Rule struct {
	Path       string
	Status     int
	RetryAfter string
	Times      int
}

// List is the rules of one emulator, the first match applying. Its zero
// value is empty and ready; it is safe for concurrent use.
type List struct {
	mu    sync.Mutex
	rules []*Rule
}

// Add adds a rule after the others.
func (l *List) Add(r Rule) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rules = append(l.rules, &r)
}

// Clear removes every rule.
func (l *List) Clear() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.rules = nil
}

// Match returns the first rule that matches r, counting r against its
// Times; ok is false when none does.
func (l *List) Match(r *http.Request) (rule Rule, ok bool) {
	target := r.URL.Path
	if q, err := url.QueryUnescape(r.URL.RawQuery); err == nil && q != "" {
		target += "?" + q
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, c := range l.rules {
		if c.Times != 0 && strings.Contains(target, c.Path) {
			if c.Times > 0 {
				c.Times--
			}
			return *c, true
		}
	}
	return Rule{}, false
}

// Drop drops the connection of the request w answers, without an answer.
func Drop(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
