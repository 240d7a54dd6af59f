# Contractors, read from Okta through its management API with an API
# token of a read-only administrator.
idp "okta" {
  priority = 100

  okta {
    org_url = "https://example.okta.com"
    token   = var.okta_token
    # Everyone in these groups is read; SUSPENDED and DEPROVISIONED users
    # become inactive in Confluence.
    groups = ["Contractors"]
  }

  users {
    username_transform {
      pattern = "^([^@]+)@.*$"
      replace = "c-$1"
    }
  }

  # Okta profile property names; these are the defaults of an okta idp.
  attributes {
    username     = "login"
    email        = "email"
    display_name = "displayName"
  }

  groups {
    map "Contractors" {
      to = ["contractors"]
    }
  }
}
