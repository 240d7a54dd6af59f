confluence {
  url         = "https://confluence.example.com"
  token       = "t"
  parallelism = "many" # ERROR: Incorrect attribute value type
}

idp "entra" {
  priority = 1.5 # ERROR: Invalid number
  scim {}
  users {
    create = "yes" # ERROR: Incorrect attribute value type
  }
  groups {
    include = "Eng.*" # ERROR: Incorrect attribute value type
  }
}
