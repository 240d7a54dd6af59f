# The Confluence Data Center instance confsync provisions.
confluence {
  url   = var.confluence_url
  token = var.confluence_token

  # confsync never changes these accounts and groups, whatever a mapping
  # says: keep your break-glass administrators out of the IdP's reach.
  protected_users  = ["admin", "breakglass"]
  protected_groups = ["confluence-administrators", "system-administrators"]

  # Be gentle with the instance: at most 4 requests in flight, 20 a second.
  parallelism         = 4
  requests_per_second = 20
}

# `confsync serve` receives Entra ID's SCIM requests at
# https://<listen>/scim/v2/entra. Put it behind your TLS reverse proxy or
# give it a certificate with tls_cert and tls_key.
server {
  listen             = "127.0.0.1:8080"
  auto_apply         = true # plan and apply after each burst of SCIM changes
  debounce           = "5s" # wait for the burst to settle first
  reconcile_interval = "1h" # and reconcile everything hourly
}

# No store block: the state lives in confsync.db beside this directory's
# files. For PostgreSQL: store { postgres = var.postgres_dsn }.
