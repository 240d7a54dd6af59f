idp "ad" {
  ldap {
    url       = "ldaps://dc.example.com"
    user_base = "DC=example,DC=com"
    page_size = 0     # ERROR: Value out of range
    timeout   = "0s"  # ERROR: Value out of range
  }
}

idp "ad2" {
  ldap {
    url       = "ldaps://dc.example.com"
    user_base = "DC=example,DC=com"
    page_size = 20000 # ERROR: Value out of range
  }
}
