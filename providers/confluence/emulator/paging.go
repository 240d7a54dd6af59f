package emulator

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// pageRequest is the start and limit of a paged list, after the server's
// cap is applied.
type pageRequest struct {
	start, limit int
}

// parsePage reads start and limit. A missing limit takes the endpoint's
// documented default; any limit is capped at Options.PageLimit.
func (s *Server) parsePage(r *http.Request, def int) (pageRequest, string) {
	q := r.URL.Query()
	p := pageRequest{limit: def}
	if v := q.Get("start"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, "start must be a non-negative integer"
		}
		p.start = n
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 {
			return p, "limit must be a non-negative integer"
		}
		if n > 0 {
			p.limit = n
		}
	}
	if p.limit > s.opts.PageLimit {
		p.limit = s.opts.PageLimit
	}
	return p, ""
}

// window returns the bounds of the page within total items and whether
// another page follows.
func (p pageRequest) window(total int) (lo, hi int, more bool) {
	lo = min(p.start, total)
	hi = min(lo+p.limit, total)
	return lo, hi, hi < total
}

// page is Confluence's paged list envelope.
type page struct {
	Results []any          `json:"results"`
	Start   int            `json:"start"`
	Limit   int            `json:"limit"`
	Size    int            `json:"size"`
	Links   map[string]any `json:"_links"`
}

// newPage builds the envelope; _links.next is present only when another
// page exists, and like Confluence's it is relative to _links.base.
func (s *Server) newPage(r *http.Request, p pageRequest, results []any, more bool) page {
	rel := strings.TrimPrefix(r.URL.Path, s.opts.ContextPath)
	links := map[string]any{
		"base":    s.baseURL(r),
		"context": s.opts.ContextPath,
		"self":    s.baseURL(r) + rel,
	}
	if more {
		q := url.Values{}
		for k, v := range r.URL.Query() {
			q[k] = v
		}
		q.Set("start", strconv.Itoa(p.start+len(results)))
		q.Set("limit", strconv.Itoa(p.limit))
		links["next"] = rel + "?" + q.Encode()
	}
	if p.start > 0 {
		q := url.Values{}
		for k, v := range r.URL.Query() {
			q[k] = v
		}
		q.Set("start", strconv.Itoa(max(0, p.start-p.limit)))
		q.Set("limit", strconv.Itoa(p.limit))
		links["prev"] = rel + "?" + q.Encode()
	}
	if results == nil {
		results = []any{}
	}
	return page{Results: results, Start: p.start, Limit: p.limit, Size: len(results), Links: links}
}

func expands(r *http.Request, what string) bool {
	for _, e := range strings.Split(r.URL.Query().Get("expand"), ",") {
		if strings.TrimSpace(e) == what {
			return true
		}
	}
	return false
}
