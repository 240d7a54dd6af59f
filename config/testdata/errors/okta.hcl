# VAR okta_token=00secret-okta-token
variable "okta_token" {
  sensitive = true
}

idp "bad" {
  okta {
    org_url     = "https://example.okta.com/api/v1" # ERROR: Invalid Okta org URL
    token       = var.okta_token
    user_filter = "status eq \"ACTIVE" # ERROR: Invalid user_filter
    groups      = [""]                 # ERROR: Empty group name
  }
}

idp "missing" {
  okta { # ERROR: Missing required argument
    org_url = "https://example.okta.com"
  }
}

idp "clear" {
  okta {
    org_url       = "http://okta.internal" # WARNING: Okta API token sent in clear text
    token         = var.okta_token
    poll_interval = "2s" # ERROR: Poll interval too short
  }
}

idp "bad-attr" {
  okta {
    org_url = "https://example.okta.com"
    token   = var.okta_token
  }
  attributes {
    username = "profile.login" # ERROR: Invalid Okta profile property
  }
}
