confluence {
  url     = "https://confluence.example.com"
  token   = "t"
  timeout = "30s" # ERROR: Unsupported argument
}

idp "ad" {
  ldap {
    url       = "ldaps://dc.example.com"
    user_base = "DC=example,DC=com"
    base_dn   = "DC=example,DC=com" # ERROR: Unsupported argument
  }
}
