// Package graph reads users and groups from Microsoft Entra ID through
// Microsoft Graph for the plan engine, and looks up a single user for Test
// Sync. It signs in with an app registration's client credentials: a
// client secret, or a certificate (a signed client assertion).
//
// A read is all or nothing: a page that still fails after its retries is
// an error wrapping plan.ErrIncompleteRead, never a short result, because
// a short result would deprovision the people it left out.
package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/backoff"
	"github.com/confsync/confsync/providers/oneline"
)

// PageSize is the $top of every collection read: the largest Graph allows.
const PageSize = 999

// tokenMargin is how long before its expiry an access token is replaced.
const tokenMargin = 2 * time.Minute

// Options are what NewSource needs besides the configuration.
type Options struct {
	Logger *slog.Logger
	// HTTPClient sends the requests (default: a client with the
	// configuration's timeout).
	HTTPClient *http.Client
	// Retry is the retry policy (zero: the defaults).
	Retry backoff.Policy
	// Delta makes repeated Reads of a tenant without groups set use delta
	// queries (see delta.go); FullReadEvery, when positive, bounds how
	// long they go on before a full round.
	Delta         bool
	FullReadEvery time.Duration
	// Cursors, when set, keeps the delta state (the deltaLinks and what
	// they apply to) under CursorKey, so that a new process with the
	// same store reads only the changes. Without it the state lives as
	// long as the Source.
	Cursors   CursorStore
	CursorKey string
}

// CursorStore keeps one opaque value per key; the store's source cursors
// satisfy it. The value holds delta tokens: it is state, never logged.
type CursorStore interface {
	SourceCursor(ctx context.Context, key string) ([]byte, bool, error)
	SetSourceCursor(ctx context.Context, key string, value []byte) error
}

// Source reads one Entra ID tenant. It is safe for concurrent use; the
// access token is shared and renewed shortly before it expires.
type Source struct {
	cfg    config.GraphSource
	http   *http.Client
	retry  backoff.Policy
	logger *slog.Logger

	mu      sync.Mutex
	token   string
	expires time.Time

	useDelta      bool
	fullReadEvery time.Duration
	delta         deltaSource
	cursors       CursorStore
	cursorKey     string
	// alwaysSave (tests only): save the state after every round, as
	// against Graph, whose deltaLinks change every round.
	alwaysSave bool
}

var _ plan.Source = (*Source)(nil)

// NewSource returns the source of a graph block.
func NewSource(cfg *config.GraphSource, opts Options) (*Source, error) {
	if cfg == nil || cfg.TenantID == "" || cfg.ClientID == "" {
		return nil, errors.New("graph: tenant_id and client_id are required")
	}
	if cfg.ClientSecret == "" && cfg.Certificate == nil {
		return nil, errors.New("graph: no credentials: the client secret is empty (client_secret in the graph block) and no certificate_file and private_key_file are given")
	}
	c := *cfg
	if c.Authority == "" {
		c.Authority = config.DefaultGraphAuthority
	}
	if c.Endpoint == "" {
		c.Endpoint = config.DefaultGraphEndpoint
	}
	c.Authority, c.Endpoint = strings.TrimRight(c.Authority, "/"), strings.TrimRight(c.Endpoint, "/")
	if c.Parallelism <= 0 {
		c.Parallelism = config.DefaultGraphParallelism
	}
	if c.Timeout <= 0 {
		c.Timeout = config.DefaultGraphTimeout
	}
	hc := opts.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: c.Timeout}
	}
	logger := opts.Logger
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &Source{cfg: c, http: hc, retry: opts.Retry.WithDefaults(), logger: logger, useDelta: opts.Delta, fullReadEvery: opts.FullReadEvery,
		cursors: opts.Cursors, cursorKey: opts.CursorKey}, nil
}

// AuthError is a sign-in the Microsoft identity platform refused.
type AuthError struct {
	Tenant, Client string
	// Code is the AADSTS code ("AADSTS7000215"), OAuth the OAuth error
	// ("invalid_client"), Description the first sentence of the
	// description.
	Code, OAuth, Description string
	Status                   int
}

func (e *AuthError) Error() string {
	code := e.Code
	if code == "" {
		code = fmt.Sprintf("HTTP %d", e.Status)
	}
	return fmt.Sprintf("graph: sign-in of client %s to tenant %s refused: %s %s: %s", e.Client, e.Tenant, code, e.OAuth, e.Description)
}

// accessToken returns a valid access token, signing in when there is none
// or it expires within tokenMargin.
func (s *Source) accessToken(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.token != "" && time.Now().Add(tokenMargin).Before(s.expires) {
		return s.token, nil
	}
	tokenURL := s.cfg.Authority + "/" + url.PathEscape(s.cfg.TenantID) + "/oauth2/v2.0/token"
	err := s.retry.Do(ctx, func(int) (string, error) {
		form := url.Values{
			"client_id":  {s.cfg.ClientID},
			"scope":      {s.cfg.Endpoint + "/.default"},
			"grant_type": {"client_credentials"},
		}
		if c := s.cfg.Certificate; c != nil {
			// A fresh assertion (a new jti) for every attempt.
			a, err := clientAssertion(c, s.cfg.ClientID, tokenURL, time.Now())
			if err != nil {
				return "", backoff.Final(err)
			}
			form.Set("client_assertion_type", ClientAssertionType)
			form.Set("client_assertion", a)
		} else {
			form.Set("client_secret", s.cfg.ClientSecret.Reveal())
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, tokenURL, strings.NewReader(form.Encode()))
		if err != nil {
			return "", backoff.Final(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Accept", "application/json")
		resp, err := s.http.Do(req)
		if err != nil {
			return "", err
		}
		body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		switch {
		case err != nil:
			return "", err
		case resp.StatusCode == http.StatusOK:
			var t struct {
				AccessToken string `json:"access_token"`
				ExpiresIn   int64  `json:"expires_in"`
			}
			if jerr := json.Unmarshal(body, &t); jerr != nil || t.AccessToken == "" {
				return "", backoff.Final(fmt.Errorf("graph: the token endpoint %s answered without an access token", tokenURL))
			}
			s.token, s.expires = t.AccessToken, time.Now().Add(time.Duration(t.ExpiresIn)*time.Second)
			return "", nil
		case backoff.Retryable(resp.StatusCode):
			return resp.Header.Get("Retry-After"), fmt.Errorf("the token endpoint answered %s", resp.Status)
		default:
			return "", backoff.Final(s.authError(resp.StatusCode, body))
		}
	}, nil)
	if gu, ok := err.(*backoff.GaveUpError); ok {
		return "", fmt.Errorf("graph: sign-in to tenant %s failed after %d attempts: %w", s.cfg.TenantID, gu.Attempts, gu.Err)
	}
	if err != nil {
		return "", err
	}
	return s.token, nil
}

// authError turns a token endpoint error body into an AuthError.
func (s *Source) authError(status int, body []byte) error {
	var b struct {
		Error       string `json:"error"`
		Description string `json:"error_description"`
		Codes       []int  `json:"error_codes"`
	}
	_ = json.Unmarshal(body, &b)
	e := &AuthError{Tenant: s.cfg.TenantID, Client: s.cfg.ClientID, OAuth: b.Error, Status: status}
	desc := b.Description
	if code, rest, ok := strings.Cut(desc, ": "); ok && strings.HasPrefix(code, "AADSTS") {
		e.Code, desc = code, rest
	} else if len(b.Codes) > 0 {
		e.Code = fmt.Sprintf("AADSTS%d", b.Codes[0])
	}
	// One line: the description up to its trace block, secrets never.
	for _, cut := range []string{"\r\n", "\n", " Trace ID:"} {
		if i := strings.Index(desc, cut); i >= 0 {
			desc = desc[:i]
		}
	}
	if desc == "" {
		desc = http.StatusText(status)
	}
	e.Code, e.OAuth, e.Description = s.clean(e.Code, 40), s.clean(e.OAuth, 60), s.clean(desc, 300)
	return e
}

// clean makes a value of an error body fit for a one-line message, the
// secret redacted.
func (s *Source) clean(v string, max int) string {
	return oneline.Clean(v, max, s.cfg.ClientSecret.Reveal())
}

// graphError is an error answer of Graph.
type graphError struct {
	Status  int
	Code    string
	Message string
}

func (e *graphError) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// get fetches one Graph URL into v, retrying throttled and failed
// requests, renewing the token once if Graph refuses it. A request that
// fails for good is an error wrapping plan.ErrIncompleteRead unless it is
// a sign-in failure.
func (s *Source) get(ctx context.Context, rawURL string, header http.Header, v any) error {
	renewed := false
	err := s.retry.Do(ctx, func(int) (string, error) {
		for {
			tok, err := s.accessToken(ctx)
			if err != nil {
				return "", backoff.Final(err)
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
			if err != nil {
				return "", backoff.Final(err)
			}
			req.Header.Set("Authorization", "Bearer "+tok)
			req.Header.Set("Accept", "application/json")
			for k, vs := range header {
				req.Header[k] = vs
			}
			resp, err := s.http.Do(req)
			if err != nil {
				return "", err
			}
			retryAfter, err := s.decode(resp, v)
			var ge *graphError
			if errors.As(err, &ge) {
				switch {
				case ge.Status == http.StatusUnauthorized && !renewed:
					// A renewed token is not a retry: the same try again.
					renewed = true
					s.mu.Lock()
					s.token = ""
					s.mu.Unlock()
					continue
				case !backoff.Retryable(ge.Status):
					return "", backoff.Final(fmt.Errorf("%w: GET %s: %w", plan.ErrIncompleteRead, shortURL(rawURL), err))
				}
			}
			return retryAfter, err
		}
	}, func(attempt int, wait time.Duration, err error) {
		s.logger.Debug("graph request failed; retrying", "url", shortURL(rawURL), "attempt", attempt, "wait", wait, "error", err)
	})
	if gu, ok := err.(*backoff.GaveUpError); ok {
		return fmt.Errorf("%w: GET %s failed after %d attempts: %v", plan.ErrIncompleteRead, shortURL(rawURL), gu.Attempts, gu.Err)
	}
	return err
}

// decode reads a response: v on 200, a *graphError otherwise (with the
// Retry-After header), or the transport error of a truncated body.
func (s *Source) decode(resp *http.Response, v any) (string, error) {
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			return "", fmt.Errorf("reading the answer: %w", err)
		}
		return "", nil
	}
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var b struct {
		Error struct {
			Code    string `json:"code"`
			Message string `json:"message"`
		} `json:"error"`
	}
	_ = json.Unmarshal(body, &b)
	msg := b.Error.Message
	if msg == "" {
		msg = http.StatusText(resp.StatusCode)
	}
	return resp.Header.Get("Retry-After"), &graphError{Status: resp.StatusCode, Code: s.clean(b.Error.Code, 60), Message: s.clean(msg, 300)}
}

// shortURL is a URL for messages: the path and the query names, without
// skip tokens.
func shortURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "(unparsable URL)"
	}
	q := u.Query()
	q.Del("$skiptoken")
	u.RawQuery = q.Encode()
	return u.Path + "?" + u.RawQuery
}
