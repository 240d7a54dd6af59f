confluence {
  url   = "https://confluence.example.com"
  token = # ERROR: Invalid expression
}

idp "entra" {
  scim {}
}
