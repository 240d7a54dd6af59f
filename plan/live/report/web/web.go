// Package web is serve's operator page: server-rendered HTML at / and
// /ui/ that shows, without a terminal, what `confsync status` and
// `confsync history` show (each IdP's state, the apply lock, pending
// changes, recent and refused runs) and plots of the changes applied and
// the SCIM requests per minute over the last 24 hours.
//
// The page is read-only (GET and HEAD), needs its own credential
// (server.operator_token, never a SCIM token), sends a strict
// Content-Security-Policy and renders every value through html/template.
// Its one script, for the live refresh, is a separate file, so the policy
// forbids inline script.
package web

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"embed"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan/live"
	"github.com/confsync/confsync/plan/live/report"
)

//go:embed assets templates
var files embed.FS

// ContentSecurityPolicy is sent with every answer of the page: nothing
// loads but this origin's script, style sheet and images; no inline script
// or style; no framing, no forms, no <base>.
const ContentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; " +
	"frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// Realm is the basic-authentication realm a browser shows.
const Realm = "confsync operator page"

// RequestCounts reads the per-minute SCIM request counts (summed over the
// IdPs) from since on.
type RequestCounts interface {
	RequestsPerMinute(ctx context.Context, since time.Time) (map[time.Time]int64, error)
}

// Store is what the page reads.
type Store interface {
	report.Reader
	RequestCounts
}

// Options configure the page.
type Options struct {
	Config *config.Config
	Store  Store
	// Reconciler is serve's reconciler, nil when auto_apply is off.
	Reconciler *live.Reconciler
	// Token is server.operator_token; "" turns the page off.
	Token  config.Secret
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Refresh is how often the page reloads itself (default 15s); the
	// refresh query parameter (seconds, 0 for never) overrides it.
	Refresh time.Duration
}

// DefaultRefresh is how often the overview reloads itself.
const DefaultRefresh = 15 * time.Second

// Off is what the page answers when no operator_token is configured.
const Off = "The operator page is off: set operator_token in the server block of the configuration to turn it on.\n"

type page struct {
	o     Options
	tmpl  *template.Template
	token [sha256.Size]byte
}

// Register adds the page to mux: GET (and HEAD) / and /ui/...; any other
// method is answered 405 by mux.
func Register(mux *http.ServeMux, o Options) {
	h := Handler(o)
	mux.Handle("GET /{$}", h)
	mux.Handle("GET /ui/", h)
}

// Handler returns the page's handler.
func Handler(o Options) http.Handler {
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Refresh <= 0 {
		o.Refresh = DefaultRefresh
	}
	if o.Token == "" {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			secureHeaders(w)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusNotFound)
			_, _ = w.Write([]byte(Off))
		})
	}
	p := &page{o: o, tmpl: template.Must(template.New("").Funcs(funcs).ParseFS(files, "templates/*.html")),
		token: sha256.Sum256([]byte(o.Token.Reveal()))}
	mux := http.NewServeMux()
	mux.Handle("GET /{$}", p.handle(p.overview))
	mux.Handle("GET /ui/{$}", p.handle(p.overview))
	mux.Handle("GET /ui/runs/{id}", p.handle(p.run))
	mux.Handle("GET /ui/assets/", http.StripPrefix("/ui/", http.FileServerFS(files)))
	mux.Handle("GET /ui/", p.handle(func(http.ResponseWriter, *http.Request) error {
		return &httpError{code: http.StatusNotFound, msg: "There is no such page."}
	}))
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		secureHeaders(w)
		if !p.authorized(r) {
			w.Header().Set("WWW-Authenticate", `Basic realm="`+Realm+`", charset="UTF-8"`)
			w.Header().Set("Content-Type", "text/plain; charset=utf-8")
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte("The operator page needs the operator token (server.operator_token) as the basic-authentication password or a Bearer token.\n"))
			return
		}
		mux.ServeHTTP(w, r)
	})
}

// secureHeaders are sent with every answer, authenticated or not.
func secureHeaders(w http.ResponseWriter) {
	h := w.Header()
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("Cache-Control", "no-store")
}

// authorized checks the operator token, given as the password of basic
// authentication (any user name) or as a Bearer token, in constant time.
func (p *page) authorized(r *http.Request) bool {
	var given string
	if _, pw, ok := r.BasicAuth(); ok {
		given = pw
	} else if a := r.Header.Get("Authorization"); len(a) > 7 && strings.EqualFold(a[:7], "bearer ") {
		given = strings.TrimSpace(a[7:])
	} else {
		return false
	}
	sum := sha256.Sum256([]byte(given))
	return subtle.ConstantTimeCompare(sum[:], p.token[:]) == 1
}

// httpError is an answer other than 200; msg is what the operator sees,
// err (logged) the detail.
type httpError struct {
	code int
	msg  string
	err  error
}

func (e *httpError) Error() string {
	if e.err != nil {
		return e.msg + ": " + e.err.Error()
	}
	return e.msg
}

// handle adapts a handler that returns an error: the operator sees a page
// with the message, the log has the detail.
func (p *page) handle(fn func(w http.ResponseWriter, r *http.Request) error) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		err := fn(w, r)
		if err == nil {
			return
		}
		var he *httpError
		if !errors.As(err, &he) {
			he = &httpError{code: http.StatusServiceUnavailable, msg: "The page could not be built: the store did not answer. The log has the detail.", err: err}
		}
		if he.code >= 500 {
			p.o.Logger.Error("operator page", "path", r.URL.Path, "error", he.Error())
		}
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(he.code)
		_ = p.tmpl.ExecuteTemplate(w, "error.html", errorData{Title: http.StatusText(he.code), Message: he.msg})
	})
}

// refresh is the page's reload period in seconds: the refresh query
// parameter (0 to 3600) or the default.
func (p *page) refresh(r *http.Request) int {
	if v := r.URL.Query().Get("refresh"); v != "" {
		if n, err := strconv.Atoi(v); err == nil && n >= 0 && n <= 3600 {
			return n
		}
	}
	return int(p.o.Refresh / time.Second)
}

// render executes a template into a buffer first, so that a failure
// halfway never sends half a page.
func (p *page) render(w http.ResponseWriter, name string, data any) error {
	var b strings.Builder
	if err := p.tmpl.ExecuteTemplate(&b, name, data); err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	_, _ = w.Write([]byte(b.String()))
	return nil
}
