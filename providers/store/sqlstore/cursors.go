package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
)

// SourceCursor returns the cursor kept for an IdP. The value is never
// logged or put in an error: it may hold a delta token.
func (s *Store) SourceCursor(ctx context.Context, idp string) ([]byte, bool, error) {
	var v []byte
	err := s.queryRow(ctx, `SELECT value FROM source_cursors WHERE idp = ?`, idp).Scan(&v)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("source cursor of %s: %w", idp, err)
	}
	if v == nil {
		v = []byte{}
	}
	return v, true, nil
}

// SetSourceCursor replaces the cursor of an IdP; nil forgets it.
func (s *Store) SetSourceCursor(ctx context.Context, idp string, value []byte) error {
	err := s.write(ctx, func(t *txn) error {
		if value == nil {
			_, err := t.exec(`DELETE FROM source_cursors WHERE idp = ?`, idp)
			return err
		}
		_, err := t.exec(`INSERT INTO source_cursors (idp, value, updated) VALUES (?, ?, ?)
			ON CONFLICT (idp) DO UPDATE SET value = excluded.value, updated = excluded.updated`,
			idp, value, micros(now()))
		return err
	})
	if err != nil {
		return fmt.Errorf("record the source cursor of %s: %w", idp, err)
	}
	return nil
}
