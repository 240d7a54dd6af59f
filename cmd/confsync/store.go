package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/providers/store"
	"github.com/confsync/confsync/providers/store/sqlstore"
)

// openCommandStore opens the configuration's store for a command run by
// hand, logging to stderr at --log-level.
func openCommandStore(ctx context.Context, ro *rootOptions, stderr io.Writer, cfg *config.Config) (store.Store, error) {
	logger, err := ro.logger(stderr, false)
	if err != nil {
		return nil, err
	}
	return openStore(ctx, cfg, logger)
}

// openStore opens the store the configuration names: PostgreSQL when
// store { postgres = ... } is set, else the SQLite file (confsync.db beside
// the configuration by default). The PostgreSQL DSN never appears in errors.
func openStore(ctx context.Context, cfg *config.Config, logger *slog.Logger) (store.Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	if dsn := cfg.Store.Postgres.Reveal(); dsn != "" {
		s, err := sqlstore.OpenPostgres(ctx, dsn, logger)
		if err != nil {
			return nil, fmt.Errorf("open the PostgreSQL store: %w", err)
		}
		return s, nil
	}
	path := cfg.Store.SQLite
	if path == "" {
		path = filepath.Join(cfg.Dir, config.DefaultSQLiteFile)
	}
	if dir := filepath.Dir(path); dir != "" {
		if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
			return nil, fmt.Errorf("open the SQLite store %s: the directory %s does not exist", path, dir)
		}
	}
	s, err := sqlstore.OpenSQLite(ctx, path, logger)
	if err != nil {
		return nil, fmt.Errorf("open the SQLite store: %w", err)
	}
	return s, nil
}
