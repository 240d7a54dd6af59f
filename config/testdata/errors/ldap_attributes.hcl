idp "ad" {
  ldap {
    url               = "ldaps://dc.example.com"
    user_base         = "DC=example,DC=com"
    user_id_attribute = "object GUID" # ERROR: Invalid LDAP attribute name
  }
  attributes {
    username = "sAMAccountName"
    email    = "emails[type eq \"work\"].value" # ERROR: Invalid LDAP attribute name
  }
}
