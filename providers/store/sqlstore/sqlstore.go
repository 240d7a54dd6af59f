// Package sqlstore implements store.Store on database/sql for SQLite
// (modernc.org/sqlite, no cgo) and PostgreSQL (pgx). The schema, queries and
// migrations are shared; what differs between the two engines lives in
// dialect.go.
//
// Users, groups and memberships are rows: a membership is one row keyed by
// (idp, group_id, member_id), so adding a member to a large group costs what
// it costs for an empty one, and reading a group never reads its members.
// Every write commits durably before it returns: SQLite runs in WAL mode with
// synchronous=FULL, PostgreSQL with its default synchronous commit.
package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	_ "modernc.org/sqlite"             // registers the "sqlite" driver

	"github.com/confsync/confsync/providers/store"
)

// Store is a store.Store backed by SQLite or PostgreSQL.
type Store struct {
	d *dialect
	// w runs write transactions. For SQLite it is a single connection whose
	// transactions begin IMMEDIATE, so writers queue in the process instead
	// of fighting over the database lock; other processes wait through
	// busy_timeout.
	w *sql.DB
	// r runs reads; for SQLite, a pool of read-only connections that WAL
	// lets run beside the writer. For PostgreSQL r and w are one pool.
	r   *sql.DB
	log *slog.Logger
	// committer batches concurrent writes into shared transactions.
	committer *committer
	// checkpointDB is SQLite's checkpointer connection (nil for PostgreSQL).
	checkpointDB   *sql.DB
	stopCheckpoint chan struct{}
	checkpointDone chan struct{}
	// reads caches prepared read statements by query text, so that the hot
	// lookups (a SCIM filter per Entra request) are not parsed again each
	// time; database/sql prepares each on a connection at first use there.
	reads readStatements
	// closeOnce makes Close safe to call twice.
	closeOnce sync.Once
	closeErr  error
}

// maxReadStatements bounds the statement cache; queries past it run
// unprepared (the set of read query shapes is small, so it is never hit in
// practice).
const maxReadStatements = 128

type readStatements struct {
	mu    sync.Mutex
	stmts map[string]*sql.Stmt
}

// get returns the prepared statement for q, preparing it on first use, or
// nil when the cache is full.
func (c *readStatements) get(ctx context.Context, db *sql.DB, q string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.stmts[q]; ok {
		return st, nil
	}
	if len(c.stmts) >= maxReadStatements {
		return nil, nil
	}
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if c.stmts == nil {
		c.stmts = map[string]*sql.Stmt{}
	}
	c.stmts[q] = st
	return st, nil
}

func (c *readStatements) close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	var err error
	for _, st := range c.stmts {
		err = errors.Join(err, st.Close())
	}
	c.stmts = nil
	return err
}

var _ store.Store = (*Store)(nil)

// sqliteBusyTimeout is how long a SQLite connection waits for another
// process's lock before failing.
const sqliteBusyTimeout = 10 * time.Second

// OpenSQLite opens (creating it if needed) the SQLite database at path and
// brings its schema up to date.
func OpenSQLite(ctx context.Context, path string, logger *slog.Logger) (*Store, error) {
	if path == "" {
		return nil, errors.New("open sqlite store: empty path")
	}
	if strings.ContainsAny(path, "?#") || strings.HasPrefix(path, "file:") || path == ":memory:" {
		return nil, fmt.Errorf("open sqlite store: %q: give a plain file path", path)
	}
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	q := url.Values{}
	q.Set("_busy_timeout", fmt.Sprint(sqliteBusyTimeout.Milliseconds()))
	q.Set("_journal_mode", "WAL")
	q.Set("_synchronous", "FULL")
	q.Set("_foreign_keys", "1")
	wq := url.Values{}
	for k, v := range q {
		wq[k] = v
	}
	wq.Set("_txlock", "immediate")
	// The checkpointer below copies the WAL into the database off the write
	// path; the writer checkpoints only if it falls far behind.
	wq.Add("_pragma", fmt.Sprintf("wal_autocheckpoint(%d)", fallbackCheckpointPages))
	wq.Add("_pragma", "journal_size_limit(67108864)")
	w, err := sql.Open("sqlite", path+"?"+wq.Encode())
	if err != nil {
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	w.SetMaxOpenConns(1)
	w.SetMaxIdleConns(1)
	w.SetConnMaxLifetime(0)
	w.SetConnMaxIdleTime(0)

	s := &Store{d: sqliteDialect, w: w, log: logger}
	// The write connection opens first: it creates the file and switches it
	// to WAL before any reader looks at it.
	var mode string
	if err := w.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	if !strings.EqualFold(mode, "wal") {
		w.Close()
		return nil, fmt.Errorf("open sqlite store %s: journal mode is %q, not wal (is the file on a network file system?)", path, mode)
	}
	q.Set("_query_only", "1")
	r, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	r.SetMaxOpenConns(8)
	r.SetMaxIdleConns(8)
	s.r = r
	q.Del("_query_only")
	ck, err := sql.Open("sqlite", path+"?"+q.Encode())
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	ck.SetMaxOpenConns(1)
	s.checkpointDB = ck
	if err := s.migrate(ctx); err != nil {
		s.Close()
		return nil, fmt.Errorf("open sqlite store %s: %w", path, err)
	}
	s.committer = startCommitter(s, 1)
	s.startCheckpointer()
	logger.Debug("store opened", "dialect", "sqlite", "path", path)
	return s, nil
}

// OpenPostgres connects to the PostgreSQL database named by dsn (a URL or
// key=value string, as pgx accepts) and brings its schema up to date. The
// DSN may carry a password: it never appears in errors or logs.
func OpenPostgres(ctx context.Context, dsn string, logger *slog.Logger) (*Store, error) {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		// pgx's parse errors quote the DSN; say only that it is malformed.
		return nil, errors.New("open postgres store: the connection string is malformed")
	}
	db.SetMaxOpenConns(16)
	db.SetMaxIdleConns(16)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := &Store{d: postgresDialect, w: db, r: db, log: logger}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres store: %w", redactDSN(err, dsn))
	}
	if err := s.migrate(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("open postgres store: %w", redactDSN(err, dsn))
	}
	s.committer = startCommitter(s, postgresCommitters)
	logger.Debug("store opened", "dialect", "postgres")
	return s, nil
}

// redactDSN makes sure an error does not repeat the DSN (it may hold a
// password).
func redactDSN(err error, dsn string) error {
	if dsn != "" && strings.Contains(err.Error(), dsn) {
		return errors.New(strings.ReplaceAll(err.Error(), dsn, "[dsn]"))
	}
	if u, perr := url.Parse(dsn); perr == nil && u.User != nil {
		if pw, ok := u.User.Password(); ok && pw != "" && strings.Contains(err.Error(), pw) {
			return errors.New(strings.ReplaceAll(err.Error(), pw, "[redacted]"))
		}
	}
	return err
}

// Dialect names the database engine: "sqlite" or "postgres".
func (s *Store) Dialect() string { return s.d.name }

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("store ping: %w", err)
	}
	var one int
	if err := s.r.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return fmt.Errorf("store ping: %w", err)
	}
	return nil
}

// Close closes the database. Closing it again does nothing more and
// returns the first Close's error.
func (s *Store) Close() error {
	s.closeOnce.Do(func() { s.closeErr = s.close() })
	return s.closeErr
}

func (s *Store) close() error {
	if s.committer != nil {
		s.committer.stop()
	}
	if s.stopCheckpoint != nil {
		close(s.stopCheckpoint)
		<-s.checkpointDone
	}
	err := s.reads.close()
	if s.checkpointDB != nil {
		err = errors.Join(err, s.checkpointDB.Close())
	}
	err = errors.Join(err, s.w.Close())
	if s.r != nil && s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// txn is a write transaction that speaks the dialect's placeholders. Its
// statements run under the batch's context (see batch.go), not under the
// context of the caller whose write they carry.
type txn struct {
	ctx context.Context
	tx  *sql.Tx
	d   *dialect
	// opRevs counts the SCIM writes of the write being run, per IdP; revs
	// those of the batch's successful writes.
	opRevs, revs map[string]int64
	// opTouches and touches are the same for the identities the writes
	// touched, per IdP, for the change journal (journal.go).
	opTouches, touches map[string]map[touchKey]bool
}

func (t *txn) exec(q string, args ...any) (sql.Result, error) {
	return t.tx.ExecContext(t.ctx, t.d.rebind(q), args...)
}

func (t *txn) query(q string, args ...any) (*sql.Rows, error) {
	return t.tx.QueryContext(t.ctx, t.d.rebind(q), args...)
}

func (t *txn) queryRow(q string, args ...any) *sql.Row {
	return t.tx.QueryRowContext(t.ctx, t.d.rebind(q), args...)
}

func (s *Store) query(ctx context.Context, q string, args ...any) (*sql.Rows, error) {
	q = s.d.rebind(q)
	st, err := s.reads.get(ctx, s.r, q)
	if err != nil {
		return nil, err
	}
	if st == nil {
		return s.r.QueryContext(ctx, q, args...)
	}
	return st.QueryContext(ctx, args...)
}

func (s *Store) queryRow(ctx context.Context, q string, args ...any) *sql.Row {
	q = s.d.rebind(q)
	st, err := s.reads.get(ctx, s.r, q)
	if err != nil || st == nil {
		// A failed prepare is reported by running the query itself.
		return s.r.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// now is the store's clock, at the precision it keeps (microseconds).
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

func micros(t time.Time) int64 { return t.UnixMicro() }

func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// placeholders returns "(?,?,...),(?,?,...)" for rows rows of cols columns.
func placeholders(rows, cols int) string {
	one := "(" + strings.TrimSuffix(strings.Repeat("?,", cols), ",") + ")"
	return strings.TrimSuffix(strings.Repeat(one+",", rows), ",")
}
