confluence {
  url      = ["https://confluence.example.com"] # ERROR: Incorrect attribute value type
  username = { name = "admin" }                 # ERROR: Incorrect attribute value type
  password = ["p"]                              # ERROR: Incorrect attribute value type
}

idp "ad" {
  ldap {
    url       = ["ldaps://dc.example.com"] # ERROR: Incorrect attribute value type
    user_base = ["DC=example,DC=com"]      # ERROR: Incorrect attribute value type
  }
}
