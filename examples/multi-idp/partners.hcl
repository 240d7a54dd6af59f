# Partner accounts from an OpenLDAP directory, read on each plan.
idp "partners" {
  priority = 100

  ldap {
    url       = "ldap://ldap.partners.example.com"
    start_tls = true # upgrade to TLS before binding

    bind_dn       = "cn=confsync,ou=services,dc=partners,dc=example,dc=com"
    bind_password = var.ldap_bind_password

    user_base   = "ou=people,dc=partners,dc=example,dc=com"
    user_filter = "(&(objectClass=inetOrgPerson)(!(pwdAccountLockedTime=*)))"
    # OpenLDAP's stable identifier (the default).
    user_id_attribute = "entryUUID"

    group_base             = "ou=groups,dc=partners,dc=example,dc=com"
    group_filter           = "(objectClass=groupOfNames)"
    group_member_attribute = "member"
  }

  # OpenLDAP (inetOrgPerson) attributes instead of Active Directory's.
  attributes {
    username     = "uid"
    email        = "mail"
    display_name = "cn"
  }

  users {
    # Partners are deleted from Confluence when they leave the directory.
    delete = true
  }

  groups {
    mode = "manual"
    map "confluence" {
      to = ["partners"]
    }
  }
}
