idp "entra" { # ERROR: Duplicate idp name
  ldap {
    url       = "ldaps://dc.example.com"
    user_base = "DC=example,DC=com"
  }
}

idp "ad" {
  ldap {
    url         = "ldaps://dc.example.com"
    user_base   = "DC=example,DC=com"
    user_filter = "objectClass=user" # ERROR: Invalid LDAP filter
  }
  attributes {
    username = "sAMAccount Name" # ERROR: Invalid LDAP attribute name
  }
}

safety {
  max_deletions = "-5%" # ERROR: Invalid threshold
}
