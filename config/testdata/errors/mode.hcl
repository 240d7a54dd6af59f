idp "entra" {
  scim {}
  groups {
    mode = "automatic" # ERROR: Invalid group mode
  }
}
