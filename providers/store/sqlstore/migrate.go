package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
)

// migration is one numbered step of the schema. Steps are never edited once
// released: a change to the schema is a new step.
type migration struct {
	version int
	name    string
	stmts   func(d *dialect) []string
}

// migrations is the schema's history, in order; versions are 1, 2, 3, ...
var migrations = []migration{
	{1, "scim resources, tokens, engine state", schemaV1},
	{2, "source health, the plan of each run", schemaV2},
	{3, "scim requests per minute", schemaV3},
	{4, "when confsync disabled a managed user (users.delete_after)", schemaV4},
	{5, "what each audited action changed, before and after", schemaV5},
	{6, "source cursors (graph delta state)", schemaV6},
	{7, "the space permissions kept between plans", schemaV7},
	{8, "the change journal: the identities each scim write touched", schemaV8},
	{9, "the confluence state recorded at the last full read", schemaV9},
	{10, "the kind and confluence requests of each run, scoped ownership lookups", schemaV10},
}

// SchemaVersion is the newest schema version this binary knows.
func SchemaVersion() int { return len(migrations) }

func schemaV1(d *dialect) []string {
	return []string{
		// One counter per IdP, bumped by every SCIM write in the write's own
		// transaction (at its end, so the row is locked only while it commits).
		`CREATE TABLE idp_revisions (
			idp TEXT PRIMARY KEY,
			revision BIGINT NOT NULL
		)`,
		`CREATE TABLE scim_users (
			idp TEXT NOT NULL,
			id TEXT NOT NULL,
			external_id TEXT NOT NULL,
			user_name TEXT NOT NULL,
			user_name_lower TEXT NOT NULL,
			active INTEGER NOT NULL,
			attributes TEXT NOT NULL,
			version BIGINT NOT NULL,
			created BIGINT NOT NULL,
			modified BIGINT NOT NULL,
			PRIMARY KEY (idp, id)
		)`,
		`CREATE UNIQUE INDEX scim_users_user_name ON scim_users (idp, user_name_lower)`,
		`CREATE INDEX scim_users_external_id ON scim_users (idp, external_id)`,
		`CREATE TABLE scim_groups (
			idp TEXT NOT NULL,
			id TEXT NOT NULL,
			external_id TEXT NOT NULL,
			display_name TEXT NOT NULL,
			display_name_lower TEXT NOT NULL,
			attributes TEXT NOT NULL,
			version BIGINT NOT NULL,
			created BIGINT NOT NULL,
			modified BIGINT NOT NULL,
			PRIMARY KEY (idp, id)
		)`,
		`CREATE UNIQUE INDEX scim_groups_display_name ON scim_groups (idp, display_name_lower)`,
		`CREATE INDEX scim_groups_external_id ON scim_groups (idp, external_id)`,
		`CREATE TABLE scim_memberships (
			idp TEXT NOT NULL,
			group_id TEXT NOT NULL,
			member_id TEXT NOT NULL,
			member_type TEXT NOT NULL,
			PRIMARY KEY (idp, group_id, member_id),
			FOREIGN KEY (idp, group_id) REFERENCES scim_groups (idp, id) ON DELETE CASCADE
		)` + d.clustered,
		`CREATE INDEX scim_memberships_member ON scim_memberships (idp, member_id)`,
		`CREATE TABLE tokens (
			id TEXT PRIMARY KEY,
			idp TEXT NOT NULL,
			sha256 TEXT NOT NULL UNIQUE,
			created BIGINT NOT NULL,
			description TEXT NOT NULL
		)`,
		`CREATE INDEX tokens_idp ON tokens (idp)`,
		`CREATE TABLE managed_users (
			username TEXT PRIMARY KEY,
			idp TEXT NOT NULL,
			source_id TEXT NOT NULL,
			display_name TEXT NOT NULL,
			email TEXT NOT NULL,
			custom TEXT NOT NULL,
			active INTEGER NOT NULL,
			adopted INTEGER NOT NULL,
			updated BIGINT NOT NULL
		)`,
		`CREATE TABLE managed_groups (
			name TEXT PRIMARY KEY,
			idp TEXT NOT NULL,
			created_by_confsync INTEGER NOT NULL,
			updated BIGINT NOT NULL
		)`,
		`CREATE TABLE managed_memberships (
			username TEXT NOT NULL,
			group_name TEXT NOT NULL,
			idp TEXT NOT NULL,
			updated BIGINT NOT NULL,
			PRIMARY KEY (username, group_name)
		)` + d.clustered,
		`CREATE INDEX managed_memberships_group ON managed_memberships (group_name)`,
		`CREATE TABLE source_reads (
			idp TEXT PRIMARY KEY,
			users BIGINT NOT NULL,
			groups_count BIGINT NOT NULL,
			read_at BIGINT NOT NULL
		)`,
		// The apply lock is one row, changed only by compare-and-set inside a
		// write transaction.
		`CREATE TABLE apply_lock (
			id INTEGER PRIMARY KEY,
			holder TEXT NOT NULL,
			expires BIGINT NOT NULL
		)`,
		`INSERT INTO apply_lock (id, holder, expires) VALUES (1, '', 0)`,
		`CREATE TABLE audit_runs (
			seq ` + d.serialPK + `,
			id TEXT NOT NULL UNIQUE,
			started BIGINT NOT NULL,
			finished BIGINT NOT NULL,
			run_trigger TEXT NOT NULL,
			outcome TEXT NOT NULL,
			message TEXT NOT NULL
		)`,
		`CREATE TABLE audit_actions (
			run_id TEXT NOT NULL REFERENCES audit_runs (id) ON DELETE CASCADE,
			pos INTEGER NOT NULL,
			action TEXT NOT NULL,
			object TEXT NOT NULL,
			idp TEXT NOT NULL,
			error TEXT NOT NULL,
			PRIMARY KEY (run_id, pos)
		)`,
	}
}

// schemaV2 keeps each IdP's source health (issue 15: status and metrics
// show the last complete read, the last failure and what was left out)
// and the saved plan each run applied (so that applying it twice is
// recognised).
func schemaV2(*dialect) []string {
	return []string{
		`CREATE TABLE source_health (
			idp TEXT PRIMARY KEY,
			healthy INTEGER NOT NULL,
			complete_users BIGINT NOT NULL,
			complete_groups BIGINT NOT NULL,
			complete_at BIGINT NOT NULL,
			left_out BIGINT NOT NULL,
			failure_at BIGINT NOT NULL,
			failure TEXT NOT NULL,
			updated BIGINT NOT NULL
		)`,
		`ALTER TABLE audit_runs ADD COLUMN plan_id TEXT NOT NULL DEFAULT ''`,
		`CREATE INDEX audit_runs_plan_id ON audit_runs (plan_id)`,
	}
}

// schemaV3 adds the per-minute SCIM request counters of the operator
// page's plot. minute is the start of the minute in microseconds, as every
// time in the schema.
func schemaV3(*dialect) []string {
	return []string{
		`CREATE TABLE scim_request_counts (
			minute BIGINT NOT NULL,
			idp TEXT NOT NULL,
			requests BIGINT NOT NULL,
			PRIMARY KEY (minute, idp)
		)`,
	}
}

// schemaV4 adds managed_users.disabled_at, microseconds since the epoch, 0
// for an active user or an unknown time.
func schemaV4(d *dialect) []string {
	return []string{`ALTER TABLE managed_users ADD COLUMN disabled_at BIGINT NOT NULL DEFAULT 0`}
}

// schemaV5 adds audit_actions.change_json, the JSON of the change an action
// made (plan.Change); empty for actions recorded before.
func schemaV5(d *dialect) []string {
	return []string{`ALTER TABLE audit_actions ADD COLUMN change_json TEXT NOT NULL DEFAULT ''`}
}

// schemaV6 keeps a cursor per pulled IdP (issue 11: the Graph source's
// delta state and deltaLinks survive the process that read them).
func schemaV6(d *dialect) []string {
	return []string{
		`CREATE TABLE source_cursors (
			idp TEXT PRIMARY KEY,
			value ` + d.blob + ` NOT NULL,
			updated BIGINT NOT NULL
		)`,
	}
}

// schemaV7 keeps Confluence's space permissions between plans
// (plan.CachedPermissions): each space's group grants, and when they were
// last all read.
func schemaV7(*dialect) []string {
	return []string{
		`CREATE TABLE space_permissions (
			space_key TEXT NOT NULL,
			group_name TEXT NOT NULL,
			permission TEXT NOT NULL,
			PRIMARY KEY (space_key, group_name, permission)
		)`,
		`CREATE INDEX space_permissions_group ON space_permissions (group_name)`,
		`CREATE TABLE space_permission_reads (
			id INTEGER PRIMARY KEY,
			full_read_at BIGINT NOT NULL
		)`,
	}
}

// schemaV8 adds the change journal (plan.ChangeJournal, journal.go): one
// row per identity a SCIM write touched, with the IdP's revision after the
// write, and per IdP the revision runs have covered.
func schemaV8(*dialect) []string {
	return []string{
		`CREATE TABLE change_journal (
			idp TEXT NOT NULL,
			kind TEXT NOT NULL,
			id TEXT NOT NULL,
			revision BIGINT NOT NULL,
			PRIMARY KEY (idp, kind, id)
		)`,
		`CREATE INDEX change_journal_revision ON change_journal (idp, revision, kind, id)`,
		`CREATE TABLE change_journal_covered (
			idp TEXT PRIMARY KEY,
			revision BIGINT NOT NULL,
			updated BIGINT NOT NULL
		)`,
	}
}

// schemaV9 keeps the Confluence state recorded at the last full read and
// kept up to date by applies and targeted reads (plan.ConfluenceCache):
// users, groups, direct memberships, and one row naming the caller and
// when the state was last read in full. Memberships do not reference the
// other two tables, so that a bulk replace checks no foreign keys; the
// store keeps them consistent (see confcache.go).
func schemaV9(d *dialect) []string {
	return []string{
		`CREATE TABLE confluence_users (
			username TEXT PRIMARY KEY,
			user_key TEXT NOT NULL,
			display_name TEXT NOT NULL,
			email TEXT NOT NULL,
			active INTEGER NOT NULL
		)` + d.clustered,
		`CREATE TABLE confluence_groups (
			name TEXT PRIMARY KEY
		)` + d.clustered,
		`CREATE TABLE confluence_memberships (
			group_name TEXT NOT NULL,
			username TEXT NOT NULL,
			PRIMARY KEY (group_name, username)
		)` + d.clustered,
		confluenceMembershipsIndex,
		`CREATE TABLE confluence_reads (
			id INTEGER PRIMARY KEY,
			caller TEXT NOT NULL,
			read_at BIGINT NOT NULL,
			updated BIGINT NOT NULL
		)`,
	}
}

// confluenceMembershipsIndex is migration 9's index of the recorded
// memberships by username, which ReplaceConfluenceState drops and builds
// again on SQLite (see dialect.reindexBulkLoads). A later change to it is a
// new migration and a change here.
const confluenceMembershipsIndex = `CREATE INDEX confluence_memberships_username ON confluence_memberships (username)`

// schemaV10 keeps each run's kind (full, targeted, cached; empty for older
// runs) and the number of requests it sent to Confluence (0 when
// unknown), and indexes managed users by their IdP's stable id, which
// OwnershipOf looks them up by. (Memberships by username need no index of
// their own: the primary key starts with it.)
func schemaV10(*dialect) []string {
	return []string{
		`ALTER TABLE audit_runs ADD COLUMN kind TEXT NOT NULL DEFAULT ''`,
		`ALTER TABLE audit_runs ADD COLUMN confluence_requests BIGINT NOT NULL DEFAULT 0`,
		`CREATE INDEX managed_users_source ON managed_users (idp, source_id)`,
	}
}

// migrate brings the schema up to date in one transaction, and refuses a
// database written by a newer confsync.
func (s *Store) migrate(ctx context.Context) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("migrate: begin: %w", err)
	}
	defer tx.Rollback() //nolint:errcheck // after Commit it is a no-op
	if err := s.d.lockMigrations(ctx, tx); err != nil {
		return fmt.Errorf("migrate: lock: %w", err)
	}
	if _, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version INTEGER PRIMARY KEY,
		name TEXT NOT NULL,
		applied BIGINT NOT NULL
	)`); err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	var current sql.NullInt64
	if err := tx.QueryRowContext(ctx, "SELECT MAX(version) FROM schema_migrations").Scan(&current); err != nil {
		return fmt.Errorf("migrate: read schema version: %w", err)
	}
	have := int(current.Int64)
	if have > len(migrations) {
		return fmt.Errorf("the database has schema version %d, newer than this confsync knows (%d): upgrade confsync", have, len(migrations))
	}
	t := &txn{ctx: ctx, tx: tx, d: s.d}
	for _, m := range migrations[have:] {
		for _, stmt := range m.stmts(s.d) {
			if _, err := tx.ExecContext(ctx, stmt); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
			}
		}
		if _, err := t.exec("INSERT INTO schema_migrations (version, name, applied) VALUES (?, ?, ?)",
			m.version, m.name, micros(now())); err != nil {
			return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
		}
		s.log.Debug("store schema migrated", "version", m.version, "name", m.name, "dialect", s.d.name)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("migrate: commit: %w", err)
	}
	return nil
}
