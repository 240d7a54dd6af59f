idp "ad" {
  ldap {
    url                      = "ldaps://dc.example.com"
    start_tls                = true # ERROR: start_tls with ldaps://
    bind_dn                  = "CN=confsync,DC=example,DC=com" # ERROR: bind_dn without bind_password
    user_base                = "DC=example,DC=com"
    group_member_attribute   = "member"
    user_member_of_attribute = "memberOf" # ERROR: Conflicting membership attributes
  }
}

idp "openldap" {
  ldap {
    url                  = "ldap://ldap.example.com" # WARNING: Bind password sent in clear text
    bind_dn              = "cn=confsync,dc=example,dc=com"
    bind_password        = "pw"
    insecure_skip_verify = true # WARNING: TLS certificate verification is off | ERROR: insecure_skip_verify without TLS
    user_base            = "dc=example,dc=com"
  }
}
