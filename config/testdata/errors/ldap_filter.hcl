idp "ad" {
  ldap {
    url          = "ldaps://dc.example.com"
    user_base    = "DC=example,DC=com"
    user_filter  = "(&(objectClass=user)"  # ERROR: Invalid LDAP filter
    group_filter = "objectClass=group)"    # ERROR: Invalid LDAP filter
    group_base   = "not a dn"              # ERROR: Invalid search base
    user_scope   = "subtree"               # ERROR: Invalid search scope
  }
}
