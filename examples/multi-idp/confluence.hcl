# One Confluence Data Center, fed by three identity providers:
#   entra (employees, priority 300) > okta (contractors, 200) > partners (LDAP, 100).
# When two IdPs claim the same Confluence user (same username after each
# IdP's username_transform), the higher priority owns its attributes and
# memberships.
confluence {
  url   = "https://confluence.example.com"
  token = var.confluence_token

  protected_users  = ["admin"]
  protected_groups = ["confluence-administrators"]

  parallelism         = 8
  requests_per_second = 50
}

store {
  postgres = var.postgres_dsn
}

server {
  listen             = "0.0.0.0:8443"
  auto_apply         = true
  reconcile_interval = "30m"
  # TLS, unless a reverse proxy terminates it:
  # tls_cert = "/etc/confsync/tls.crt"
  # tls_key  = "/etc/confsync/tls.key"
}

safety {
  max_deactivations       = "3%"
  max_membership_removals = "5%"
  max_deletions           = 10
}
