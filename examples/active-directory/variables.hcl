# Inputs of this configuration. Set them with --var NAME=VALUE or with
# CONFSYNC_VAR_NAME environment variables; sensitive values never appear
# in confsync's output.

variable "confluence_token" {
  description = "Personal access token of a Confluence system administrator."
  sensitive   = true
  default     = env("CONFLUENCE_TOKEN")
}

variable "ad_bind_password" {
  description = "Password of the service account confsync binds to Active Directory as."
  sensitive   = true
  # Taken from the environment unless given with --var or
  # CONFSYNC_VAR_ad_bind_password. On a server, prefer a file readable
  # only by confsync: default = trimspace(file("/etc/confsync/ad.password")).
  default = env("AD_BIND_PASSWORD")
}

variable "ad_domain_controller" {
  description = "Domain controller (or the domain's DNS name) to read from."
  default     = "dc1.corp.example.com"
}
