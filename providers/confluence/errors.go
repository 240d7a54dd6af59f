package confluence

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/confsync/confsync/plan"
)

// Sentinel errors matched by errors.Is against an *Error.
var (
	// ErrBadRequest: Confluence rejected the request as invalid (400).
	ErrBadRequest = errors.New("bad request")
	// ErrUnauthorized: the credentials were refused (401).
	ErrUnauthorized = errors.New("unauthorized")
	// ErrLicence: no licensed seat is left for a new user (402).
	ErrLicence = errors.New("no licensed seats left")
	// ErrForbidden: the caller lacks the permission (403).
	ErrForbidden = errors.New("forbidden")
	// ErrNotFound: the user, group or task does not exist (404). An *Error
	// with status 404 also matches plan.ErrNotFound.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the object already exists (409). An *Error with status
	// 409 also matches plan.ErrExists, so the engine adopts the object.
	ErrConflict = errors.New("conflict")
	// ErrRateLimited: Confluence kept answering 429 until the retry budget
	// ran out.
	ErrRateLimited = errors.New("rate limited")
	// ErrAnonymous: Confluence answered as the anonymous user, so the
	// credentials were not accepted.
	ErrAnonymous = errors.New("the credentials were not accepted: Confluence answered as an anonymous user")
)

// Error is an HTTP error answer from Confluence.
type Error struct {
	Method string
	Path   string // request path, without the query
	Status int
	// Message is Confluence's own message from its RestError body; empty
	// when the body was not a RestError (a proxy's page, or an endpoint
	// this Confluence version does not have).
	Message string
	// NotJSON is set when the answer was not JSON: for a 404 or 405 this
	// usually means the endpoint does not exist on this Confluence version.
	NotJSON bool
}

// Error describes the failure with Confluence's message.
func (e *Error) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "confluence: %s %s: %d %s", e.Method, e.Path, e.Status, http.StatusText(e.Status))
	switch {
	case e.Message != "":
		b.WriteString(": " + e.Message)
	case e.NotJSON && (e.Status == http.StatusNotFound || e.Status == http.StatusMethodNotAllowed):
		b.WriteString(" (not a Confluence REST answer: the endpoint may not exist on this Confluence version; 8.4 or later is required)")
	}
	return b.String()
}

// Is matches the sentinel errors by status.
func (e *Error) Is(target error) bool {
	switch target {
	case ErrBadRequest:
		return e.Status == http.StatusBadRequest
	case ErrUnauthorized:
		return e.Status == http.StatusUnauthorized
	case ErrLicence:
		return e.Status == http.StatusPaymentRequired
	case ErrForbidden:
		return e.Status == http.StatusForbidden
	case ErrNotFound, plan.ErrNotFound:
		return e.Status == http.StatusNotFound
	case ErrConflict, plan.ErrExists:
		return e.Status == http.StatusConflict
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	}
	return false
}

// restError is the part of Confluence's RestError body the client reads.
type restError struct {
	StatusCode int    `json:"statusCode"`
	Message    string `json:"message"`
}

const maxMessage = 500

func newError(method, path string, status int, contentType string, body []byte) *Error {
	e := &Error{Method: method, Path: path, Status: status}
	var re restError
	if strings.Contains(contentType, "json") && json.Unmarshal(body, &re) == nil {
		e.Message = strings.TrimSpace(re.Message)
		if len(e.Message) > maxMessage {
			e.Message = e.Message[:maxMessage] + "…"
		}
	} else {
		e.NotJSON = true
	}
	return e
}
