store {
  sqlite   = "confsync.db"
  postgres = "postgres://confsync@db/confsync" # ERROR: Conflicting store settings
}
