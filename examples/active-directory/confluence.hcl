# The Confluence Data Center instance confsync provisions, served under
# the /confluence context path.
confluence {
  url          = "https://intranet.example.com"
  context_path = "/confluence"
  token        = var.confluence_token

  # Never touched by confsync.
  protected_users  = ["admin"]
  protected_groups = ["confluence-administrators"]
}

# Keep the state in PostgreSQL instead of the default confsync.db:
# store {
#   postgres = var.postgres_dsn # a sensitive variable: the DSN may hold a password
# }

safety {
  max_deactivations       = "2%"
  max_membership_removals = "10%"
  max_deletions           = 0
}
