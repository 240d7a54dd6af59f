# A Confluence Data Center inside the private network: Entra ID's cloud
# provisioning cannot reach it, so confsync reads Entra ID and Okta over
# outbound HTTPS instead of receiving SCIM.
confluence {
  url   = "https://wiki.corp.example.com"
  token = var.confluence_token

  protected_users  = ["admin"]
  protected_groups = ["confluence-administrators"]
}

# `confsync serve` with auto_apply plans and applies every
# reconcile_interval; the pulled IdPs are read on each reconcile.
server {
  auto_apply         = true
  reconcile_interval = "15m"
}

safety {
  max_deactivations       = "5%"
  max_membership_removals = "10%"
  max_deletions           = 0
}
