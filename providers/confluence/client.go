// Package confluence is confsync's client for the user and group
// administration REST API of Confluence Data Center 8.4 and later. Its
// Client implements plan.Target, plan.ScopedReader (a read of only some
// users and groups) and plan.RequestCounter.
//
// Every request goes through one transport (do) that bounds requests in
// flight and per second, honours Confluence's rate limiting (429 with
// retry-after, and the X-RateLimit-* headers), retries idempotent calls on
// 5xx answers, connection resets and timeouts with exponential backoff and
// full jitter, and retries a create only after checking that the first
// attempt did not take effect. Errors are *Error values that keep
// Confluence's own message and match the sentinel errors of this package
// (and plan.ErrNotFound / plan.ErrExists) with errors.Is.
package confluence

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/time/rate"

	"github.com/confsync/confsync/plan"
)

var _ plan.Target = (*Client)(nil)

// Options configure a Client.
type Options struct {
	// BaseURL is the scheme and host of the instance, e.g.
	// "https://confluence.example.com"; it may carry the context path.
	BaseURL string
	// ContextPath is the path Confluence is deployed under, e.g.
	// "/confluence"; empty when BaseURL carries it or for the root.
	ContextPath string
	// Token is a personal access token, sent as "Authorization: Bearer".
	Token string
	// Username and Password are used for basic auth when Token is empty.
	Username string
	Password string
	// CAFile is a PEM file of extra certificate authorities to trust.
	CAFile string

	// Parallelism is the number of requests in flight (default 4).
	Parallelism int
	// RequestsPerSecond limits the request rate; zero means no limit
	// beyond what Confluence's rate limiting imposes.
	RequestsPerSecond float64
	// Burst is the rate limiter's burst (default 1).
	Burst int
	// PageSize is the limit asked for on paged lists (default 1000); the
	// server may answer with fewer.
	PageSize int

	// MaxAttempts bounds the attempts of one call on 5xx answers, resets
	// and timeouts (default 6).
	MaxAttempts int
	// MaxThrottleWaits bounds how many 429 answers one call waits through
	// (default 100).
	MaxThrottleWaits int
	// MinBackoff and MaxBackoff bound the exponential backoff (defaults
	// 200ms and 20s); each wait is drawn uniformly below the bound.
	MinBackoff, MaxBackoff time.Duration
	// RequestTimeout bounds one HTTP exchange (default 60s).
	RequestTimeout time.Duration
	// LongTaskPollInterval is the pause between polls of a user deletion
	// task (default 500ms); LongTaskTimeout bounds the wait (default 30m).
	LongTaskPollInterval time.Duration
	LongTaskTimeout      time.Duration

	// NoEmailNotification creates users without Confluence's email
	// invitation; each then gets a strong random password that is
	// neither kept nor logged (the user resets it, or logs in through
	// SSO). By default Confluence emails new users (notifyViaEmail).
	NoEmailNotification bool

	// Logger receives debug lines per request and warnings; nil discards.
	// Credentials are never logged.
	Logger *slog.Logger
	// HTTPClient replaces the client built from these options (tests).
	HTTPClient *http.Client
}

// Client talks to one Confluence Data Center instance.
type Client struct {
	opts    Options
	origin  string // scheme://host[:port]
	ctxPath string // "" or "/confluence"
	auth    string // Authorization header value; never logged
	hc      *http.Client
	sem     chan struct{}
	limiter *rate.Limiter
	// learned paces requests at the fill rate Confluence announces in its
	// X-RateLimit headers, so a steady stream stays just under the limit
	// instead of draining the bucket and waiting out whole-second
	// retry-after answers.
	learned *rate.Limiter
	log     *slog.Logger

	pauseMu    sync.Mutex
	pauseUntil time.Time

	// The first request goes alone, so that its X-RateLimit headers set
	// the pace before a burst of parallel requests drains the bucket.
	probed  atomic.Bool
	probeMu sync.Mutex

	// requests counts every HTTP request sent, retries included.
	requests atomic.Int64
	// caller is the lower-case username of the credentials' account, set
	// by the first successful CurrentUser; guarded by callerMu.
	callerMu sync.Mutex
	caller   string
}

// New checks the options and returns a Client. It makes no request.
func New(opts Options) (*Client, error) {
	u, err := url.Parse(strings.TrimSpace(opts.BaseURL))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("confluence: base URL %q must be an absolute http or https URL", opts.BaseURL)
	}
	if u.User != nil {
		return nil, errors.New("confluence: base URL must not carry credentials; use a token or username and password")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("confluence: base URL %q must not have a query or fragment", opts.BaseURL)
	}
	ctxPath := strings.TrimRight(opts.ContextPath, "/")
	if ctxPath == "" {
		ctxPath = strings.TrimRight(u.EscapedPath(), "/")
	} else if p := strings.TrimRight(u.Path, "/"); p != "" && p != ctxPath {
		return nil, fmt.Errorf("confluence: base URL path %q and context path %q disagree", p, ctxPath)
	}
	if ctxPath != "" && !strings.HasPrefix(ctxPath, "/") {
		ctxPath = "/" + ctxPath
	}
	c := &Client{opts: opts, origin: u.Scheme + "://" + u.Host, ctxPath: ctxPath, log: opts.Logger}
	switch {
	case opts.Token != "" && (opts.Username != "" || opts.Password != ""):
		return nil, errors.New("confluence: give either a token or a username and password, not both")
	case opts.Token != "":
		c.auth = "Bearer " + opts.Token
	case opts.Username != "" && opts.Password != "":
		c.auth = "Basic " + base64.StdEncoding.EncodeToString([]byte(opts.Username+":"+opts.Password))
	default:
		return nil, errors.New("confluence: credentials are required: a personal access token, or a username and password")
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	o := &c.opts
	defaultInt(&o.Parallelism, 4)
	defaultInt(&o.Burst, 1)
	defaultInt(&o.PageSize, 1000)
	defaultInt(&o.MaxAttempts, 6)
	defaultInt(&o.MaxThrottleWaits, 100)
	defaultDur(&o.MinBackoff, 200*time.Millisecond)
	defaultDur(&o.MaxBackoff, 20*time.Second)
	defaultDur(&o.RequestTimeout, 60*time.Second)
	defaultDur(&o.LongTaskPollInterval, 500*time.Millisecond)
	defaultDur(&o.LongTaskTimeout, 30*time.Minute)
	if o.RequestsPerSecond < 0 {
		return nil, errors.New("confluence: requests per second must not be negative")
	}
	c.sem = make(chan struct{}, o.Parallelism)
	c.learned = rate.NewLimiter(rate.Inf, 1)
	if o.RequestsPerSecond > 0 {
		c.limiter = rate.NewLimiter(rate.Limit(o.RequestsPerSecond), o.Burst)
	}
	c.hc = opts.HTTPClient
	if c.hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConnsPerHost = o.Parallelism
		tlsConf := &tls.Config{MinVersion: tls.VersionTLS12}
		if o.CAFile != "" {
			pem, err := os.ReadFile(o.CAFile)
			if err != nil {
				return nil, fmt.Errorf("confluence: CA file: %w", err)
			}
			pool, err := x509.SystemCertPool()
			if err != nil || pool == nil {
				pool = x509.NewCertPool()
			}
			if !pool.AppendCertsFromPEM(pem) {
				return nil, fmt.Errorf("confluence: CA file %s holds no PEM certificate", o.CAFile)
			}
			tlsConf.RootCAs = pool
		}
		tr.TLSClientConfig = tlsConf
		c.hc = &http.Client{
			Transport: tr,
			// A redirect usually means a wrong base URL or a login page;
			// following it would hide the mistake.
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		}
	}
	return c, nil
}

func defaultInt(p *int, d int) {
	if *p <= 0 {
		*p = d
	}
}

func defaultDur(p *time.Duration, d time.Duration) {
	if *p <= 0 {
		*p = d
	}
}

// call is one logical API call.
type call struct {
	ep    endpoint
	args  []string
	query url.Values
	body  any
	out   any // decoded from a 2xx JSON answer when non-nil
	// recheck, for a non-idempotent call whose earlier attempt had an
	// unknown outcome, reports whether that attempt took effect. Without
	// it such a call is not retried.
	recheck func(ctx context.Context) (bool, error)
}

// result describes how a call ended.
type result struct {
	status int
	// ambiguous is set when an earlier attempt may have taken effect
	// (a 5xx, reset or timeout before the final answer), so a 404 on a
	// delete or a 409 on a create may be the echo of our own change.
	ambiguous bool
	// rechecked is set when recheck found the change already made.
	rechecked bool
}

const maxResponse = 64 << 20

// do runs a call with throttling, retries and error typing.
func (c *Client) do(ctx context.Context, cl call) (result, error) {
	path, err := cl.ep.path(cl.args...)
	if err != nil {
		return result{}, err
	}
	var body []byte
	if cl.body != nil {
		if body, err = json.Marshal(cl.body); err != nil {
			return result{}, fmt.Errorf("confluence: encode %s %s: %w", cl.ep.Method, cl.ep.Template, err)
		}
	}
	var res result
	var lastErr error
	attempts, throttled := 0, 0
	for {
		if res.ambiguous && !cl.ep.Idempotent {
			if cl.recheck == nil {
				return res, lastErr
			}
			done, err := cl.recheck(ctx)
			if err != nil {
				return res, fmt.Errorf("confluence: checking whether %s %s took effect after %v: %w", cl.ep.Method, path, lastErr, err)
			}
			if done {
				res.rechecked = true
				return res, nil
			}
		}
		status, hdr, respBody, err := c.send(ctx, cl.ep.Method, path, cl.query, body)
		if err != nil {
			if ctx.Err() != nil {
				return res, ctx.Err()
			}
			if !retryable(err) {
				return res, fmt.Errorf("confluence: %s %s: %w", cl.ep.Method, path, err)
			}
			attempts++
			res.ambiguous = true
			lastErr = fmt.Errorf("confluence: %s %s: %w", cl.ep.Method, path, err)
			if attempts >= c.opts.MaxAttempts {
				return res, lastErr
			}
			c.log.Debug("confluence: retrying after a transport error", "method", cl.ep.Method, "path", path, "attempt", attempts, "err", err)
			if err := sleep(ctx, c.backoff(attempts)); err != nil {
				return res, err
			}
			continue
		}
		res.status = status
		switch {
		case status >= 200 && status < 300:
			if cl.out != nil && len(bytes.TrimSpace(respBody)) > 0 {
				if err := json.Unmarshal(respBody, cl.out); err != nil {
					return res, fmt.Errorf("confluence: %s %s: answer is not the expected JSON: %w", cl.ep.Method, path, err)
				}
			}
			return res, nil
		case status == http.StatusTooManyRequests:
			// Confluence refused the request before running it, so any
			// call may be re-sent.
			throttled++
			lastErr = newError(cl.ep.Method, path, status, hdr.Get("Content-Type"), respBody)
			if throttled > c.opts.MaxThrottleWaits {
				return res, lastErr
			}
			wait := retryAfter(hdr)
			if wait <= 0 {
				wait = c.backoff(throttled)
			}
			// The refused request waits the whole retry-after. Every other
			// request pauses for one refill interval when Confluence
			// announced its rate (retry-after comes in whole seconds, far
			// longer than a token takes at a high rate, and the learned
			// pace keeps them under it), else for retry-after as well.
			if refill := refillInterval(hdr); refill > 0 && refill < wait {
				c.pause(refill)
			} else {
				c.pause(wait)
			}
			c.log.Debug("confluence: throttled", "method", cl.ep.Method, "path", path, "wait", wait)
			if err := sleep(ctx, wait); err != nil {
				return res, err
			}
		case status == http.StatusInternalServerError || status == http.StatusBadGateway ||
			status == http.StatusServiceUnavailable || status == http.StatusGatewayTimeout:
			attempts++
			res.ambiguous = true
			lastErr = newError(cl.ep.Method, path, status, hdr.Get("Content-Type"), respBody)
			if attempts >= c.opts.MaxAttempts {
				return res, lastErr
			}
			c.log.Debug("confluence: retrying after a server error", "method", cl.ep.Method, "path", path, "status", status, "attempt", attempts)
			wait := c.backoff(attempts)
			if ra := retryAfter(hdr); ra > wait {
				wait = ra
			}
			if err := sleep(ctx, wait); err != nil {
				return res, err
			}
		case status >= 300 && status < 400:
			return res, fmt.Errorf("confluence: %s %s: redirected to %q: check the base URL and context path (a login page redirect means the credentials were not accepted)",
				cl.ep.Method, path, hdr.Get("Location"))
		default:
			return res, newError(cl.ep.Method, path, status, hdr.Get("Content-Type"), respBody)
		}
	}
}

// send makes one HTTP exchange within the in-flight and rate limits.
func (c *Client) send(ctx context.Context, method, path string, query url.Values, body []byte) (int, http.Header, []byte, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return 0, nil, nil, ctx.Err()
	}
	defer func() { <-c.sem }()
	if !c.probed.Load() {
		c.probeMu.Lock()
		if c.probed.Load() {
			c.probeMu.Unlock()
		} else {
			defer func() { c.probed.Store(true); c.probeMu.Unlock() }()
		}
	}
	if err := c.waitPause(ctx); err != nil {
		return 0, nil, nil, err
	}
	if c.limiter != nil {
		if err := c.limiter.Wait(ctx); err != nil {
			return 0, nil, nil, err
		}
	}
	if err := c.learned.Wait(ctx); err != nil {
		return 0, nil, nil, err
	}
	rctx, cancel := context.WithTimeout(ctx, c.opts.RequestTimeout)
	defer cancel()
	u := c.origin + c.ctxPath + path
	if len(query) > 0 {
		u += "?" + query.Encode()
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(rctx, method, u, rd)
	if err != nil {
		return 0, nil, nil, err
	}
	req.Header.Set("Authorization", c.auth)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	// Confluence's XSRF check refuses some non-GET calls without it.
	req.Header.Set("X-Atlassian-Token", "no-check")
	start := time.Now()
	c.requests.Add(1)
	resp, err := c.hc.Do(req)
	if err != nil {
		return 0, nil, nil, err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse))
	if err != nil {
		return 0, nil, nil, err
	}
	c.log.Debug("confluence: request", "method", method, "path", path, "status", resp.StatusCode, "duration", time.Since(start))
	c.observeRateLimit(resp.Header)
	return resp.StatusCode, resp.Header, data, nil
}

// observeRateLimit learns Confluence's fill rate from the X-RateLimit
// headers and pauses every request when the bucket is empty, so that the
// next request does not earn a 429.
func (c *Client) observeRateLimit(h http.Header) {
	refill := refillInterval(h)
	if refill > 0 {
		// A little under the server's rate leaves room for clock skew.
		lim := rate.Limit(learnedRateMargin / refill.Seconds())
		if lim != c.learned.Limit() {
			c.learned.SetLimit(lim)
		}
	}
	rem := h.Get("X-RateLimit-Remaining")
	if rem == "" {
		return
	}
	n, err := strconv.Atoi(strings.TrimSpace(rem))
	if err != nil || n > 0 {
		return
	}
	wait := retryAfter(h)
	if wait <= 0 {
		wait = refill
	}
	c.pause(wait)
}

// refillInterval is the time Confluence's bucket takes to gain one token,
// from X-RateLimit-Interval-Seconds / X-RateLimit-FillRate; zero when the
// headers are absent.
func refillInterval(h http.Header) time.Duration {
	interval, err1 := strconv.ParseFloat(strings.TrimSpace(h.Get("X-RateLimit-Interval-Seconds")), 64)
	fill, err2 := strconv.ParseFloat(strings.TrimSpace(h.Get("X-RateLimit-FillRate")), 64)
	if err1 != nil || err2 != nil || interval <= 0 || fill <= 0 {
		return 0
	}
	return time.Duration(interval / fill * float64(time.Second))
}

// learnedRateMargin is the fraction of Confluence's announced rate the
// client uses.
const learnedRateMargin = 0.97

func (c *Client) pause(d time.Duration) {
	if d > 5*time.Minute {
		d = 5 * time.Minute
	}
	until := time.Now().Add(d)
	c.pauseMu.Lock()
	if until.After(c.pauseUntil) {
		c.pauseUntil = until
	}
	c.pauseMu.Unlock()
}

func (c *Client) waitPause(ctx context.Context) error {
	for {
		c.pauseMu.Lock()
		d := time.Until(c.pauseUntil)
		c.pauseMu.Unlock()
		if d <= 0 {
			return nil
		}
		if err := sleep(ctx, d); err != nil {
			return err
		}
	}
}

// backoff is exponential backoff with full jitter.
func (c *Client) backoff(attempt int) time.Duration {
	ceil := c.opts.MinBackoff
	for i := 1; i < attempt && ceil < c.opts.MaxBackoff; i++ {
		ceil *= 2
	}
	ceil = min(ceil, c.opts.MaxBackoff)
	return time.Duration(rand.Int64N(int64(ceil)) + 1)
}

// retryAfter reads retry-after as seconds or an HTTP date.
func retryAfter(h http.Header) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil {
		if n < 0 {
			return 0
		}
		return time.Duration(n * float64(time.Second))
	}
	if t, err := http.ParseTime(v); err == nil {
		return time.Until(t)
	}
	return 0
}

// retryable reports whether a transport error is worth another attempt:
// resets, unexpected EOFs and timeouts, but not TLS verification failures
// or a malformed URL.
func retryable(err error) bool {
	var certErr *tls.CertificateVerificationError
	var unknownCA x509.UnknownAuthorityError
	var hostErr x509.HostnameError
	if errors.As(err, &certErr) || errors.As(err, &unknownCA) || errors.As(err, &hostErr) {
		return false
	}
	var netErr net.Error
	switch {
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.ECONNREFUSED), errors.Is(err, syscall.EPIPE),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF), errors.Is(err, context.DeadlineExceeded):
		return true
	case errors.As(err, &netErr) && netErr.Timeout():
		return true
	}
	return strings.Contains(err.Error(), "connection reset")
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
