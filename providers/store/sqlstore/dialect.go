package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"modernc.org/sqlite"
)

// dialect holds every difference between SQLite and PostgreSQL that the
// store cares about. Queries are written once, with ? placeholders and the
// subset of SQL both engines share (INSERT ... ON CONFLICT, RETURNING);
// everything else goes through here.
type dialect struct {
	name string
	// dollarParams: PostgreSQL numbers its placeholders ($1, $2, ...).
	dollarParams bool
	// serialPK is the column type of an auto-incrementing primary key.
	serialPK string
	// blob is the column type of a byte string.
	blob string
	// clustered is appended to CREATE TABLE for tables whose primary key
	// should be the storage order (SQLite's WITHOUT ROWID).
	clustered string
	// forUpdate is appended to a SELECT that reads a row the transaction is
	// about to change. SQLite needs none: a write transaction there is
	// BEGIN IMMEDIATE and excludes every other writer.
	forUpdate string
	// lockMigrations serialises concurrent migrators (several replicas
	// starting at once) inside the migration transaction.
	lockMigrations func(ctx context.Context, tx *sql.Tx) error
	// snapshot is the isolation level of a read transaction whose queries
	// must agree with each other. SQLite's read transactions are snapshots
	// already; PostgreSQL's default (read committed) is not.
	snapshot sql.IsolationLevel
	// maxParams bounds the placeholders of one statement.
	maxParams int
	// reindexBulkLoads: a bulk load (the recorded Confluence state's
	// million memberships) drops the table's secondary index and builds it
	// again after, in the same transaction. SQLite builds an index by
	// sorting several times faster than it inserts a million random keys
	// into one. PostgreSQL is not asked to: DROP INDEX would lock readers
	// of the table out until the load commits.
	reindexBulkLoads bool
	// isUnique reports a unique or primary-key violation.
	isUnique func(error) bool
	// isRetryable reports a transaction the engine aborted to break a
	// deadlock or a serialisation conflict; it is safe to run again.
	isRetryable func(error) bool
}

var sqliteDialect = &dialect{
	name:             "sqlite",
	serialPK:         "INTEGER PRIMARY KEY AUTOINCREMENT",
	blob:             "BLOB",
	clustered:        " WITHOUT ROWID",
	lockMigrations:   func(context.Context, *sql.Tx) error { return nil },
	maxParams:        30000, // SQLITE_MAX_VARIABLE_NUMBER is 32766
	reindexBulkLoads: true,
	isUnique: func(err error) bool {
		var e *sqlite.Error
		if !errors.As(err, &e) {
			return false
		}
		// SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY.
		return e.Code() == 2067 || e.Code() == 1555
	},
	isRetryable: func(error) bool { return false },
}

// migrationLockKey is the PostgreSQL advisory lock key migrators take
// ("confsync" in ASCII, truncated to fit an int64).
const migrationLockKey = 0x636f6e6673796e

var postgresDialect = &dialect{
	name:         "postgres",
	dollarParams: true,
	serialPK:     "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
	blob:         "BYTEA",
	forUpdate:    " FOR UPDATE",
	snapshot:     sql.LevelRepeatableRead,
	lockMigrations: func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock("+strconv.Itoa(migrationLockKey)+")")
		return err
	},
	maxParams: 60000, // the protocol allows 65535
	isUnique: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23505"
	},
	isRetryable: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && (e.Code == "40001" || e.Code == "40P01")
	},
}

// rebind turns ? placeholders into the dialect's. Queries never hold a ?
// inside a literal.
func (d *dialect) rebind(q string) string {
	if !d.dollarParams {
		return q
	}
	var b strings.Builder
	b.Grow(len(q) + 16)
	n := 0
	for i := 0; i < len(q); i++ {
		if q[i] == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteByte(q[i])
	}
	return b.String()
}
