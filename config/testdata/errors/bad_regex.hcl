idp "entra" {
  scim {}
  users {
    username_transform {
      pattern = "^(.*@example\\.com" # ERROR: Invalid regular expression
      replace = "$1"
    }
  }
  groups {
    mode    = "on_the_fly"
    include = ["^eng-", "[unclosed"] # ERROR: Invalid regular expression
    exclude = ["x{2,1}"]             # ERROR: Invalid regular expression
    rename {
      pattern = "*" # ERROR: Invalid regular expression
      replace = ""
    }
  }
}
