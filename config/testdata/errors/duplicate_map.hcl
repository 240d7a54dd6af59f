idp "entra" {
  scim {}
  groups {
    map "Engineering" {
      to = ["engineering"]
    }
    map "engineering" { # ERROR: Duplicate map block
      to = ["developers"]
    }
    map "Empty" {
      to = [] # ERROR: Empty mapping
    }
  }
}
