# The least a configuration needs: everything else has a default.
confluence {
  url   = "https://confluence.example.com"
  token = "t"
}

idp "entra" {
  scim {}
}

idp "ad" {
  ldap {
    url       = "ldaps://dc.example.com"
    user_base = "DC=example,DC=com"
  }
}
