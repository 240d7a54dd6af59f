idp "entra" {
  scim {}
  groups {
    map "Engineering" {
      to = ["engineering"]
    }
    map "Engineering" { # ERROR: Duplicate map block
      to = ["developers"]
    }
    map "Empty" {
      to = [] # ERROR: Empty mapping
    }
  }
}
