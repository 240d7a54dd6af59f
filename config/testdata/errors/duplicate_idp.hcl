idp "entra" {
  scim {}
}

idp "entra" { # ERROR: Duplicate idp name
  scim {}
}
