package config

import (
	"strings"

	"github.com/hashicorp/hcl/v2"
)

// DefaultSQLiteFile is the SQLite database used when there is no store
// block, beside the configuration.
const DefaultSQLiteFile = "confsync.db"

// storeSchema is the body of the store block.
var storeSchema = &hcl.BodySchema{
	Attributes: []hcl.AttributeSchema{
		{Name: "sqlite"},
		{Name: "postgres"},
	},
}

// decodeStore decodes the store block: exactly one of sqlite and postgres.
func (l *loader) decodeStore(block *hcl.Block) (*Store, hcl.Diagnostics) {
	s := &Store{}
	content, diags := block.Body.Content(storeSchema)
	sqlite, hasSQLite := content.Attributes["sqlite"]
	pg, hasPG := content.Attributes["postgres"]
	switch {
	case hasSQLite && hasPG:
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Conflicting store settings",
			Detail:   "A store block sets either sqlite (a file path) or postgres (a connection string), not both.",
			Subject:  pg.NameRange.Ptr(),
		})
	case !hasSQLite && !hasPG:
		if diags.HasErrors() {
			return nil, diags
		}
		return nil, append(diags, &hcl.Diagnostic{
			Severity: hcl.DiagError,
			Summary:  "Empty store block",
			Detail:   `A store block sets sqlite = "path" or postgres = "dsn". Remove the block to use ` + DefaultSQLiteFile + ` beside the configuration.`,
			Subject:  block.DefRange.Ptr(),
		})
	case hasSQLite:
		p, ok, d := l.path(sqlite, false)
		diags = append(diags, d...)
		if !ok {
			return nil, diags
		}
		s.SQLite = p
	case hasPG:
		dsn, ok, d := l.secret(pg)
		diags = append(diags, d...)
		if !ok {
			return nil, diags
		}
		raw := strings.TrimSpace(dsn.Reveal())
		if raw == "" {
			return nil, append(diags, attrError(pg, "Empty PostgreSQL connection string",
				`The postgres attribute is a connection string such as "postgres://confsync@db.example.com/confsync" or "host=db user=confsync dbname=confsync".`))
		}
		if strings.Contains(raw, "://") && !strings.HasPrefix(raw, "postgres://") && !strings.HasPrefix(raw, "postgresql://") {
			return nil, append(diags, attrError(pg, "Invalid PostgreSQL connection string",
				`A connection URL starts with postgres:// or postgresql://.`))
		}
		s.Postgres = dsn
	}
	return s, diags
}
