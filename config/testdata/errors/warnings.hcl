server { # WARNING: auto_apply without safety thresholds
  auto_apply = true
}

idp "entra" {
  scim {}
  groups {
    create_missing = true # WARNING: create_missing has no effect in manual mode
    rename {              # WARNING: rename has no effect in manual mode
      pattern = "^x-"
      replace = ""
    }
  }
}
