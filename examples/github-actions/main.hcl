# The configuration the workflow plans and applies (keep it in confsync/
# of your repository). It reads what Entra ID pushed into confsync serve's
# PostgreSQL store, so CI sees the same identities and ownership state.
confluence {
  url              = "https://confluence.example.com"
  token            = var.confluence_token
  protected_users  = ["admin"]
  protected_groups = ["confluence-administrators"]
}

store {
  postgres = var.postgres_dsn
}

safety {
  max_deactivations       = "5%"
  max_membership_removals = 200
  max_deletions           = 0
}

idp "entra" {
  scim {}
  groups {
    mode           = "on_the_fly"
    create_missing = true
    include        = ["^CONF-"]
  }
}

variable "confluence_token" {
  description = "Personal access token of a Confluence system administrator (secret CONFLUENCE_TOKEN)."
  sensitive   = true
  default     = env("CONFLUENCE_TOKEN")
}

variable "postgres_dsn" {
  description = "The PostgreSQL store confsync serve writes to (secret CONFSYNC_POSTGRES_DSN)."
  sensitive   = true
  default     = coalesce(env("CONFSYNC_POSTGRES_DSN"), "postgres://confsync@db.example.com:5432/confsync?sslmode=verify-full")
}
