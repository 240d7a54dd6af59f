# Inputs. Set them with --var NAME=VALUE or CONFSYNC_VAR_NAME environment
# variables; sensitive values never appear in confsync's output.

variable "confluence_token" {
  description = "Personal access token of a Confluence system administrator."
  sensitive   = true
  default     = env("CONFLUENCE_TOKEN")
}

variable "postgres_dsn" {
  description = "PostgreSQL connection string; the state is shared by the confsync instances behind the load balancer."
  sensitive   = true
  default     = coalesce(env("CONFSYNC_POSTGRES_DSN"), "postgres://confsync@db.example.com:5432/confsync?sslmode=verify-full")
}

variable "ldap_bind_password" {
  description = "Password of cn=confsync in the partners' OpenLDAP directory."
  sensitive   = true
  default     = env("LDAP_BIND_PASSWORD")
}

variable "scim_token_hashes" {
  description = "SHA-256 (hex) of the SCIM bearer tokens, per IdP. Prefer `confsync token create`."
  type        = map(list(string))
  default = {
    entra = []
    okta  = []
  }
}
