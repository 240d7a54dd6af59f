# The configuration of the Kubernetes example. configmap.yaml carries this
# file (the test checks they agree); secrets come from secret.yaml as
# environment variables.
confluence {
  url              = "https://confluence.example.com"
  token            = var.confluence_token
  protected_users  = ["admin"]
  protected_groups = ["confluence-administrators"]
}

server {
  # All interfaces inside the pod; the Service and its Ingress are the
  # way in. TLS is terminated by the Ingress.
  listen = "0.0.0.0:8080"
  # Both replicas apply what the IdPs push; the apply lock in PostgreSQL
  # lets one at a time do it.
  auto_apply = true
}

# Unreviewed applies stop at these thresholds (the plan is refused and
# shown in /status and confsync history).
safety {
  max_deactivations       = "5%"
  max_membership_removals = 200
  max_deletions           = 0
}

store {
  postgres = var.postgres_dsn
}

idp "entra" {
  scim {}
  users {
    username_transform {
      pattern = "^([^@]+)@example\\.com$"
      replace = "$1"
    }
  }
  groups {
    mode           = "on_the_fly"
    create_missing = true
    include        = ["^CONF-"]
  }
}

variable "confluence_token" {
  description = "Personal access token of a Confluence system administrator (secret.yaml)."
  sensitive   = true
  default     = env("CONFLUENCE_TOKEN")
}

variable "postgres_dsn" {
  description = "PostgreSQL connection string shared by the replicas (secret.yaml)."
  sensitive   = true
  default     = coalesce(env("CONFSYNC_POSTGRES_DSN"), "postgres://confsync@confsync-postgres:5432/confsync?sslmode=disable")
}
