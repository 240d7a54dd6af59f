idp "entra" {
  scim {
    token_sha256 = [var.tokn] # ERROR: Reference to undeclared variable
  }
  groups {
    mode = "on-the-fly" # ERROR: Invalid group mode
    map "Admins" {
      to = ["confluence-administrators"] # ERROR: Mapping writes to a protected group
    }
  }
}
