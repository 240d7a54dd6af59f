package scim

import (
	"io"
	"log/slog"
	"net/http/httptest"
)

func newTestLogger(w io.Writer) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

func newRecorder() *httptest.ResponseRecorder { return httptest.NewRecorder() }
