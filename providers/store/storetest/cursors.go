package storetest

import (
	"bytes"
	"strings"
	"testing"

	"github.com/confsync/confsync/providers/store"
)

// testSourceCursors: a cursor is kept per IdP, byte for byte (binary and
// large values included), replaced by the next one and forgotten by nil.
func testSourceCursors(t *testing.T, s store.Store) {
	if v, ok, err := s.SourceCursor(ctx(t), idpA); err != nil || ok || v != nil {
		t.Fatalf("SourceCursor of a fresh store = %q, %v, %v", v, ok, err)
	}
	first := []byte("https://graph.microsoft.com/v1.0/users/delta?$deltatoken=abc")
	must(t, s.SetSourceCursor(ctx(t), idpA, first))
	// Binary (gzip-like, with NUL and high bytes) and a few MB.
	second := append([]byte{0x1f, 0x8b, 0x00, 0xff, 0xfe}, []byte(strings.Repeat("delta state ", 300_000))...)
	must(t, s.SetSourceCursor(ctx(t), idpB, first))
	must(t, s.SetSourceCursor(ctx(t), idpA, second))
	got, ok, err := s.SourceCursor(ctx(t), idpA)
	must(t, err)
	if !ok || !bytes.Equal(got, second) {
		t.Errorf("SourceCursor after a replace: ok=%v, %d bytes, want the %d bytes written last", ok, len(got), len(second))
	}
	got, ok, err = s.SourceCursor(ctx(t), idpB)
	must(t, err)
	if !ok || !bytes.Equal(got, first) {
		t.Errorf("SourceCursor of the other IdP = %q, %v; want %q", got, ok, first)
	}
	must(t, s.SetSourceCursor(ctx(t), idpA, []byte{}))
	if got, ok, err := s.SourceCursor(ctx(t), idpA); err != nil || !ok || len(got) != 0 {
		t.Errorf("an empty cursor reads back as %q, %v, %v; want kept and empty", got, ok, err)
	}
	must(t, s.SetSourceCursor(ctx(t), idpA, nil))
	if _, ok, err := s.SourceCursor(ctx(t), idpA); err != nil || ok {
		t.Errorf("a forgotten cursor reads back: ok=%v, %v", ok, err)
	}
	if _, ok, _ := s.SourceCursor(ctx(t), idpB); !ok {
		t.Error("forgetting one IdP's cursor forgot another's")
	}
}
