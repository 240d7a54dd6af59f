# A block type confsync does not know.
confluenc { # ERROR: Unsupported block type
  url = "https://confluence.example.com"
}

idp "entra" {
  scim {}
  user { # ERROR: Unsupported block type
    create = true
  }
}
