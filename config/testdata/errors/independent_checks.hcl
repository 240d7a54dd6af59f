# Every mistake is reported in one run: an error in one attribute does not
# hide a cross-field check on other attributes of the same block.
variable "tok" {
  sensitive = true
  default   = "pat"
}

confluence {
  url         = "ftp://c" # ERROR: Invalid Confluence URL
  token       = var.tok # ERROR: Conflicting Confluence credentials
  username    = "bob"
  parallelism = 0 # ERROR: Value out of range
}

idp "ad" {
  ldap {
    url                      = "ldaps://dc.example.com"
    start_tls                = true # ERROR: start_tls with ldaps://
    bind_password            = var.tok # ERROR: bind_password without bind_dn
    user_base                = "DC=example,DC=com"
    user_filter              = "(objectClass=user" # ERROR: Invalid LDAP filter
    group_member_attribute   = "member"
    user_member_of_attribute = "memberOf" # ERROR: Conflicting membership attributes
    page_size                = 0 # ERROR: Value out of range
  }
}

server {
  listen   = "nope" # ERROR: Invalid listen address
  tls_cert = "cert.pem" # ERROR: tls_cert without tls_key | ERROR: File not found
}

store {
  sqlite   = "a.db"
  postgres = "postgres://db/confsync" # ERROR: Conflicting store settings
}
