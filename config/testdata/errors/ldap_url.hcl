idp "ad" {
  ldap {
    url       = "https://dc.example.com" # ERROR: Invalid LDAP URL
    user_base = "DC=example,DC=com"
  }
}

idp "ad2" {
  ldap {
    url       = "ldap://dc.example.com/DC=example,DC=com" # ERROR: Invalid LDAP URL
    user_base = "DC=example,DC=com"
  }
}
