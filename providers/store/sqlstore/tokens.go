package sqlstore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"

	"github.com/confsync/confsync/providers/store"
)

func isSHA256Hex(s string) bool {
	if len(s) != 64 {
		return false
	}
	_, err := hex.DecodeString(s)
	return err == nil
}

// CreateToken stores a token's hash. It assigns an id when t.ID is empty and
// fills Created. The hash is kept in lower-case hex.
func (s *Store) CreateToken(ctx context.Context, t *store.Token) error {
	if t == nil || t.IDP == "" {
		return errors.New("create token: no idp")
	}
	hash := strings.ToLower(t.SHA256)
	if !isSHA256Hex(hash) {
		return errors.New("create token: the hash is not 64 hex digits")
	}
	id := t.ID
	if id == "" {
		var b [6]byte
		if _, err := rand.Read(b[:]); err != nil {
			return fmt.Errorf("create token: %w", err)
		}
		id = "tok_" + hex.EncodeToString(b[:])
	}
	ts := now()
	err := s.write(ctx, func(tx *txn) error {
		_, err := tx.exec("INSERT INTO tokens (id, idp, sha256, created, description) VALUES (?, ?, ?, ?, ?)",
			id, t.IDP, hash, micros(ts), t.Description)
		if s.d.isUnique(err) {
			return fmt.Errorf("token id %q or hash already stored: %w", id, store.ErrConflict)
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	t.ID, t.SHA256, t.Created = id, hash, ts
	return nil
}

// ListTokens lists the tokens of an IdP ("" for all), oldest first.
func (s *Store) ListTokens(ctx context.Context, idp string) ([]*store.Token, error) {
	q := "SELECT id, idp, sha256, created, description FROM tokens"
	var args []any
	if idp != "" {
		q += " WHERE idp = ?"
		args = append(args, idp)
	}
	rows, err := s.query(ctx, q+" ORDER BY created, id", args...)
	if err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	defer rows.Close()
	var out []*store.Token
	for rows.Next() {
		var t store.Token
		var created int64
		if err := rows.Scan(&t.ID, &t.IDP, &t.SHA256, &created, &t.Description); err != nil {
			return nil, fmt.Errorf("list tokens: %w", err)
		}
		t.Created = fromMicros(created)
		out = append(out, &t)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list tokens: %w", err)
	}
	return out, nil
}

// RevokeToken deletes a token's record; an unknown id is ErrNotFound.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	err := s.write(ctx, func(t *txn) error {
		res, err := t.exec("DELETE FROM tokens WHERE id = ?", id)
		if err != nil {
			return err
		}
		if n, err := res.RowsAffected(); err != nil {
			return err
		} else if n == 0 {
			return fmt.Errorf("token %q: %w", id, store.ErrNotFound)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("revoke token: %w", err)
	}
	return nil
}

// TokenHashes lists the hex SHA-256 hashes of the IdP's tokens.
func (s *Store) TokenHashes(ctx context.Context, idp string) ([]string, error) {
	rows, err := s.query(ctx, "SELECT sha256 FROM tokens WHERE idp = ? ORDER BY sha256", idp)
	if err != nil {
		return nil, fmt.Errorf("token hashes: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var h string
		if err := rows.Scan(&h); err != nil {
			return nil, fmt.Errorf("token hashes: %w", err)
		}
		out = append(out, h)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("token hashes: %w", err)
	}
	return out, nil
}
