# Inputs of this configuration. Set them with --var NAME=VALUE or with
# CONFSYNC_VAR_NAME environment variables; sensitive values never appear
# in confsync's output.

variable "confluence_token" {
  description = "Personal access token of a Confluence system administrator."
  sensitive   = true
  default     = env("CONFLUENCE_TOKEN")
}

variable "graph_secret" {
  description = "Value of a client secret of the confsync app registration in Entra ID."
  sensitive   = true
  # On a server, prefer a file readable only by confsync:
  # default = trimspace(file("/etc/confsync/graph.secret")).
  default = env("GRAPH_CLIENT_SECRET")
}

variable "okta_token" {
  description = "Okta API token of a read-only administrator."
  sensitive   = true
  default     = env("OKTA_API_TOKEN")
}
