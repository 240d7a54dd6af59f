# Inputs of this configuration. Set them on the command line
# (--var confluence_token=...) or in the environment
# (CONFSYNC_VAR_confluence_token=...). Sensitive values never appear in
# confsync's output, not even in error messages.

variable "confluence_url" {
  description = "Base URL of Confluence Data Center."
  default     = "https://confluence.example.com"
}

variable "confluence_token" {
  description = "Personal access token of a Confluence system administrator."
  type        = string
  sensitive   = true
  # Read from the environment when not set otherwise; empty here means
  # `validate` still works, while `plan` will fail to authenticate.
  default = env("CONFLUENCE_TOKEN")
}

variable "entra_token_sha256" {
  description = <<-EOT
    SHA-256 hashes (hex) of the bearer tokens Entra ID's provisioning job
    may use. Create a token with `confsync token create --idp entra`, or
    hash your own: printf %s "$TOKEN" | sha256sum. Never put the token
    itself in the configuration.
  EOT
  type        = list(string)
  default     = []
}
