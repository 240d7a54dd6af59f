# /etc/confsync/main.hcl for the systemd unit: SQLite in the state
# directory, TLS from files the confsync group can read.
# validate: confsync validate --config examples/systemd
confluence {
  url   = "https://confluence.example.com"
  token = var.confluence_token
}

# Set CONFLUENCE_TOKEN in /etc/confsync/env (EnvironmentFile=, see the
# unit) or CONFSYNC_VAR_confluence_token.
variable "confluence_token" {
  type      = string
  sensitive = true
  default   = env("CONFLUENCE_TOKEN")
}

server {
  listen = "0.0.0.0:8443"
  # Entra ID and Okta push over HTTPS only: serve TLS itself (uncomment;
  # systemctl reload confsync picks up a renewed pair) or put a
  # TLS-terminating proxy in front and listen on 127.0.0.1.
  # tls_cert = "/etc/confsync/tls/cert.pem"
  # tls_key  = "/etc/confsync/tls/key.pem"
}

store {
  sqlite = "/var/lib/confsync/confsync.db"
}

idp "entra" {
  scim {}
}
