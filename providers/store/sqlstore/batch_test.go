package sqlstore

import (
	"errors"
	"testing"

	"github.com/confsync/confsync/providers/store"
)

// TestPanickingWriteDoesNotStopTheStore: a write that panics fails, and
// the writes after it still run.
func TestPanickingWriteDoesNotStopTheStore(t *testing.T) {
	s := openTestSQLite(t)
	err := s.write(t.Context(), func(*txn) error { panic("boom") })
	if err == nil {
		t.Fatal("a panicking write succeeded")
	}
	if err := s.CreateUser(t.Context(), &store.User{IDP: "entra", UserName: "after"}); err != nil {
		t.Fatalf("write after a panic: %v", err)
	}
	sentinel := errors.New("mine")
	if err := s.write(t.Context(), func(*txn) error { return sentinel }); !errors.Is(err, sentinel) {
		t.Errorf("a write's own error: got %v", err)
	}
}
