package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan/live/report/web"
	"github.com/confsync/confsync/providers/store"
)

// operatorStore is the store as the operator page reads it.
type operatorStore struct{ store.Store }

var _ web.Store = operatorStore{}

// RequestsPerMinute sums the per-minute SCIM request counts over the IdPs.
func (s operatorStore) RequestsPerMinute(ctx context.Context, since time.Time) (map[time.Time]int64, error) {
	counts, err := s.RequestCounts(ctx, since)
	if err != nil {
		return nil, err
	}
	out := make(map[time.Time]int64, len(counts))
	for _, c := range counts {
		out[c.Minute] += c.Requests
	}
	return out, nil
}

// checkOperatorToken refuses an operator_token that is also a SCIM bearer
// token of some IdP (configured or made with `confsync token create`):
// the page's credential must be its own.
func checkOperatorToken(ctx context.Context, cfg *config.Config, st store.Tokens) error {
	if cfg.Server.OperatorToken == "" {
		return nil
	}
	sum := sha256.Sum256([]byte(cfg.Server.OperatorToken.Reveal()))
	h := hex.EncodeToString(sum[:])
	for _, p := range cfg.IDPs {
		if p.SCIM == nil {
			continue
		}
		hashes, err := st.TokenHashes(ctx, p.Name)
		if err != nil {
			return fmt.Errorf("check server.operator_token: %w", err)
		}
		for _, th := range append(hashes, p.SCIM.TokenSHA256...) {
			if strings.EqualFold(th, h) {
				return fmt.Errorf("server.operator_token is also a SCIM token of idp %q: give the operator page a credential of its own", p.Name)
			}
		}
	}
	return nil
}
