idp "Entra ID" { # ERROR: Invalid idp name
  scim {}
}
