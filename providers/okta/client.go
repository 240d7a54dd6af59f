// Package okta reads users and groups from an Okta org through its
// management API for the plan engine, and looks up a single user for Test
// Sync. It authenticates with an API token (Authorization: SSWS).
//
// A read is all or nothing: a page that still fails after its retries is
// an error wrapping plan.ErrIncompleteRead, never a short result.
package okta

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/backoff"
	"github.com/confsync/confsync/providers/oneline"
)

// Page sizes: the largest each endpoint allows.
const (
	usersPageSize      = 200
	groupsPageSize     = 200
	groupUsersPageSize = 1000
)

// Options are what NewSource needs besides the configuration.
type Options struct {
	Logger     *slog.Logger
	HTTPClient *http.Client
	Retry      backoff.Policy
	// Reserve is how many requests of a rate-limit window are left to
	// other clients of the org: when X-Rate-Limit-Remaining falls to it,
	// requests wait for X-Rate-Limit-Reset (default 10).
	Reserve int
}

// Source reads one Okta org. It is safe for concurrent use.
type Source struct {
	cfg     config.OktaSource
	http    *http.Client
	retry   backoff.Policy
	logger  *slog.Logger
	reserve int

	mu        sync.Mutex
	remaining int       // X-Rate-Limit-Remaining of the last answer, -1 unknown
	reset     time.Time // X-Rate-Limit-Reset of the last answer
}

var _ plan.Source = (*Source)(nil)

// NewSource returns the source of an okta block.
func NewSource(cfg *config.OktaSource, opts Options) (*Source, error) {
	if cfg == nil || cfg.OrgURL == "" {
		return nil, errors.New("okta: org_url is required")
	}
	if strings.TrimSpace(cfg.Token.Reveal()) == "" {
		return nil, errors.New("okta: the API token is empty (token in the okta block)")
	}
	c := *cfg
	c.OrgURL = strings.TrimRight(c.OrgURL, "/")
	if c.Parallelism <= 0 {
		c.Parallelism = config.DefaultOktaParallelism
	}
	if c.Timeout <= 0 {
		c.Timeout = config.DefaultOktaTimeout
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: c.Timeout}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	reserve := opts.Reserve
	if reserve <= 0 {
		reserve = 10
	}
	return &Source{cfg: c, http: hc, retry: opts.Retry.WithDefaults(), logger: logger, reserve: reserve, remaining: -1}, nil
}

// APIError is an error answer of Okta.
type APIError struct {
	Status  int
	Code    string // E0000011
	Summary string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Summary)
}

// AuthError is an API token the org refused.
type AuthError struct {
	OrgURL string
	Err    *APIError
}

func (e *AuthError) Error() string {
	return fmt.Sprintf("okta: %s refused the API token: %s %s", e.OrgURL, e.Err.Code, e.Err.Summary)
}

// pace waits for the rate-limit window to reset when the last answer left
// no more than the reserve.
func (s *Source) pace(ctx context.Context) error {
	s.mu.Lock()
	remaining, reset := s.remaining, s.reset
	s.mu.Unlock()
	if remaining < 0 || remaining > s.reserve {
		return nil
	}
	wait := reset.Sub(s.retry.Now())
	if wait <= 0 {
		return nil
	}
	wait = min(wait, time.Minute+time.Second) // Okta windows are a minute
	s.logger.Debug("okta rate limit nearly used up; waiting for the window", "remaining", remaining, "wait", wait)
	return s.retry.Sleep(ctx, wait)
}

// observe records the rate-limit headers of an answer.
func (s *Source) observe(h http.Header) {
	rem, err1 := strconv.Atoi(h.Get("X-Rate-Limit-Remaining"))
	reset, err2 := strconv.ParseInt(h.Get("X-Rate-Limit-Reset"), 10, 64)
	if err1 != nil || err2 != nil {
		return
	}
	s.mu.Lock()
	s.remaining, s.reset = rem, time.Unix(reset, 0)
	s.mu.Unlock()
}

// get fetches one URL into v and returns the next page's URL from the Link
// header. Throttled and failed requests are retried; a 429 waits for
// X-Rate-Limit-Reset.
func (s *Source) get(ctx context.Context, rawURL string, v any) (string, error) {
	var next string
	err := s.retry.Do(ctx, func(int) (string, error) {
		if err := s.pace(ctx); err != nil {
			return "", backoff.Final(err)
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
		if err != nil {
			return "", backoff.Final(err)
		}
		req.Header.Set("Authorization", "SSWS "+s.cfg.Token.Reveal())
		req.Header.Set("Accept", "application/json")
		resp, err := s.http.Do(req)
		if err != nil {
			return "", err
		}
		s.observe(resp.Header)
		var retryAfter string
		next, retryAfter, err = s.decode(resp, v)
		var ae *APIError
		if errors.As(err, &ae) {
			switch {
			case ae.Status == http.StatusUnauthorized:
				return "", backoff.Final(&AuthError{OrgURL: s.cfg.OrgURL, Err: ae})
			case !backoff.Retryable(ae.Status):
				return "", backoff.Final(fmt.Errorf("%w: GET %s: %v", plan.ErrIncompleteRead, shortURL(rawURL), err))
			}
		}
		return retryAfter, err
	}, nil)
	if gu, ok := err.(*backoff.GaveUpError); ok {
		return "", fmt.Errorf("%w: GET %s failed after %d attempts: %v", plan.ErrIncompleteRead, shortURL(rawURL), gu.Attempts, gu.Err)
	}
	if err != nil {
		return "", err
	}
	return next, nil
}

// decode reads an answer: v and the next link on 200; an *APIError
// otherwise, with a Retry-After derived from X-Rate-Limit-Reset for a 429.
func (s *Source) decode(resp *http.Response, v any) (next, retryAfter string, err error) {
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			return "", "", fmt.Errorf("reading the answer: %w", err)
		}
		return NextLink(resp.Header.Values("Link")), "", nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var b struct {
		Code    string `json:"errorCode"`
		Summary string `json:"errorSummary"`
	}
	_ = json.Unmarshal(body, &b)
	if b.Summary == "" {
		b.Summary = http.StatusText(resp.StatusCode)
	}
	retryAfter = resp.Header.Get("Retry-After")
	if resp.StatusCode == http.StatusTooManyRequests && retryAfter == "" {
		if reset, err := strconv.ParseInt(resp.Header.Get("X-Rate-Limit-Reset"), 10, 64); err == nil {
			retryAfter = strconv.FormatInt(max(int64(time.Unix(reset, 0).Sub(s.retry.Now())/time.Second)+1, 0), 10)
		}
	}
	return "", retryAfter, &APIError{Status: resp.StatusCode, Code: s.clean(b.Code, 40), Summary: s.clean(b.Summary, 300)}
}

// clean makes a value of an error body fit for a one-line message, the
// token redacted.
func (s *Source) clean(v string, max int) string {
	return oneline.Clean(v, max, s.cfg.Token.Reveal())
}

// shortURL is a URL for messages: path and query without the cursor.
func shortURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	q := u.Query()
	q.Del("after")
	u.RawQuery = q.Encode()
	return u.Path + "?" + u.RawQuery
}
