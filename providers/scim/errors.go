package scim

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"

	"github.com/confsync/confsync/providers/store"
)

// SCIM error types (RFC 7644 §3.12, Table 9).
const (
	typeInvalidFilter = "invalidFilter"
	typeTooMany       = "tooMany"
	typeUniqueness    = "uniqueness"
	typeMutability    = "mutability"
	typeInvalidSyntax = "invalidSyntax"
	typeInvalidPath   = "invalidPath"
	typeNoTarget      = "noTarget"
	typeInvalidValue  = "invalidValue"
	typeInvalidVers   = "invalidVers"
)

// Error is an error answered to the client as an RFC 7644 error body.
// Detail is shown to the client; Err, when set, is only logged.
type Error struct {
	Status   int
	SCIMType string
	Detail   string
	Err      error
	// RetryAfter, when not 0, is sent as the Retry-After header (seconds).
	RetryAfter int
}

func (e *Error) Error() string {
	s := strconv.Itoa(e.Status) + " " + e.Detail
	if e.SCIMType != "" {
		s += " (" + e.SCIMType + ")"
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

func errorf(status int, scimType, format string, args ...any) *Error {
	return &Error{Status: status, SCIMType: scimType, Detail: fmt.Sprintf(format, args...)}
}

func badRequest(scimType, format string, args ...any) *Error {
	return errorf(http.StatusBadRequest, scimType, format, args...)
}

func notFound(kind, id string) *Error {
	return errorf(http.StatusNotFound, "", "%s %q not found", kind, id)
}

// storeError turns a store error into a client error where the store's
// answer is about the request, and into a server fault otherwise.
func storeError(err error, what string) error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, store.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Detail: what + " not found", Err: err}
	case errors.Is(err, store.ErrConflict):
		return &Error{Status: http.StatusConflict, SCIMType: typeUniqueness, Detail: what + " conflicts with an existing resource (userName or displayName already taken)", Err: err}
	case errors.Is(err, store.ErrVersionMismatch):
		return &Error{Status: http.StatusPreconditionFailed, SCIMType: typeInvalidVers, Detail: "the resource was changed: its version does not match If-Match", Err: err}
	}
	return fmt.Errorf("%s: %w", what, err)
}

type errorBody struct {
	Schemas  []string `json:"schemas"`
	Status   string   `json:"status"`
	SCIMType string   `json:"scimType,omitempty"`
	Detail   string   `json:"detail,omitempty"`
}

// writeError answers err: an *Error as itself, a body too large as 413,
// anything else as a 500 whose detail is logged, never shown.
func writeError(w http.ResponseWriter, r *http.Request, logger *slog.Logger, err error) int {
	var se *Error
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &se):
	case errors.As(err, &mbe):
		se = &Error{Status: http.StatusRequestEntityTooLarge, Detail: fmt.Sprintf("request body larger than %d bytes", mbe.Limit)}
	case errors.Is(err, r.Context().Err()) && r.Context().Err() != nil:
		// The client went away; nobody reads the answer.
		se = &Error{Status: 499, Detail: "request canceled"}
	default:
		logger.ErrorContext(r.Context(), "scim request failed", "method", r.Method, "path", r.URL.Path, "err", err)
		se = &Error{Status: http.StatusInternalServerError, Detail: "internal server error"}
	}
	if se.Status >= 400 && se.Status < 500 && se.Err != nil {
		logger.DebugContext(r.Context(), "scim client error", "method", r.Method, "path", r.URL.Path, "status", se.Status, "err", se.Err)
	}
	if se.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(se.RetryAfter))
	}
	if se.Status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Bearer realm="confsync"`)
	}
	body, _ := json.Marshal(errorBody{Schemas: []string{errorSchema}, Status: strconv.Itoa(se.Status), SCIMType: se.SCIMType, Detail: se.Detail})
	status := se.Status
	if status == 499 {
		status = http.StatusBadRequest
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(status)
	_, _ = w.Write(body)
	return status
}
