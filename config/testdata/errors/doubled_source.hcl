idp "mixed" {
  scim {}
  ldap { # ERROR: More than one source block
    url       = "ldaps://dc.example.com"
    user_base = "DC=example,DC=com"
  }
}

idp "two" {
  scim {}
  scim {} # ERROR: More than one source block
}
