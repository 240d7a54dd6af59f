# Active Directory, read by confsync over LDAPS on every `confsync plan`
# (and periodically by `confsync serve`).
idp "ad" {
  ldap {
    url = "ldaps://${var.ad_domain_controller}:636"
    # The domain's CA certificate, if it is not in the system's trust store:
    # ca_file = "certs/corp-root-ca.pem"

    # A read-only service account. Give the DN, not user@domain.
    bind_dn       = "CN=svc-confsync,OU=Service Accounts,DC=corp,DC=example,DC=com"
    bind_password = var.ad_bind_password

    # Users: enabled people in the Staff OU. The filter skips disabled
    # accounts (userAccountControl bit 2), so disabling an account in AD
    # deactivates the Confluence user.
    user_base   = "OU=Staff,DC=corp,DC=example,DC=com"
    user_filter = "(&(objectCategory=person)(objectClass=user)(!(userAccountControl:1.2.840.113556.1.4.803:=2)))"

    # objectGUID is the stable identifier in AD: it survives renames and
    # moves between OUs.
    user_id_attribute  = "objectGUID"
    group_id_attribute = "objectGUID"

    # Groups: security groups under OU=Groups, named by cn. Memberships are
    # read from the users' memberOf attribute.
    group_base               = "OU=Groups,DC=corp,DC=example,DC=com"
    group_filter             = "(objectClass=group)"
    group_name_attribute     = "cn"
    user_member_of_attribute = "memberOf"
    # Flatten nested groups: confsync follows group-in-group membership
    # itself, transitively and safely through cycles.
    nested_groups = true

    # AD returns at most 1000 entries a page by default (MaxPageSize).
    page_size = 500
    timeout   = "30s"
  }

  # Active Directory's attributes; these are the defaults for ldap idps.
  attributes {
    username     = "sAMAccountName"
    email        = "mail"
    display_name = "displayName"
  }

  users {
    # Deactivate (never delete) users who leave the Staff OU or are
    # disabled.
    deactivate = true
    delete     = false
  }

  groups {
    # Only these AD groups matter; each is mapped by hand.
    mode = "manual"

    map "GG-Confluence-Users" {
      to = ["confluence-users"]
    }
    map "GG-Engineering" {
      to = ["engineering", "confluence-users"]
    }
    map "GG-HR" {
      to = ["hr"]
    }

    # confsync is authoritative for the groups above: members added by
    # hand in Confluence are removed.
    keep_existing = false
  }
}
