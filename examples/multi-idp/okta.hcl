# Contractors, pushed by Okta to /scim/v2/okta.
idp "okta" {
  priority = 200

  scim {
    token_sha256 = var.scim_token_hashes["okta"]
  }

  users {
    # Okta sends the login (an e-mail address) as userName; contractors get
    # a "c-" prefix so that they can never take an employee's username.
    username_transform {
      pattern = "^([^@]+)@.*$"
      replace = "c-$1"
    }
  }

  # Okta's SCIM attributes: the primary e-mail rather than the work one.
  attributes {
    username     = "userName"
    email        = "emails[primary eq true].value"
    display_name = "displayName"
  }

  groups {
    # Okta groups pushed with "Push Groups" become Confluence groups of the
    # same name, lower-cased, prefixed with "ext-".
    mode           = "on_the_fly"
    create_missing = true
    include        = ["^Confluence "]
    rename {
      pattern = "^Confluence (.+)$"
      replace = "ext-$1"
    }
    default_groups_all = ["contractors"]
  }
}
