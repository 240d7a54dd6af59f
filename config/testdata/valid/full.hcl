# Every block and attribute, with values other than the defaults.
# ENV CONFLUENCE_TOKEN=pat-from-env
# VAR ldap_password=from-the-command-line

variable "confluence_token" {
  type        = string
  sensitive   = true
  description = "Personal access token of a Confluence administrator."
  default     = env("CONFLUENCE_TOKEN")
}

variable "ldap_password" {
  type      = string
  sensitive = true
}

variable "admins" {
  type    = list(string)
  default = ["admin", "break-glass"]
}

confluence {
  url                 = "https://confluence.example.com/"
  context_path        = "/wiki/"
  token               = var.confluence_token
  ca_file             = "certs/ca.pem"
  protected_users     = var.admins
  protected_groups    = ["confluence-administrators"]
  parallelism         = 8
  requests_per_second = 12.5
}

store {
  sqlite = "state/confsync.db"
}

server {
  listen             = ":8443"
  tls_cert           = "certs/ca.pem"
  tls_key            = "certs/ca.pem"
  auto_apply         = true
  debounce           = "5s"
  reconcile_interval = "30m"
  max_body_bytes     = 1048576
  scim_requests_per_second = 50
  scim_request_burst       = 80
}

safety {
  max_deactivations       = "5%"
  max_membership_removals = 100
  max_deletions           = "0"
  max_space_access_lost   = 50
}

idp "entra" {
  priority = 10
  scim {
    token_sha256 = ["9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08"]
  }
  users {
    create     = false
    update     = false
    deactivate = false
    reactivate = false
    delete     = true
    delete_after = "30d"
    username_transform {
      pattern = "^([^@]+)@example\\.com$"
      replace = "$1"
    }
  }
  attributes {
    username     = "externalId"
    email        = "emails[type eq \"work\" and primary eq true].value"
    display_name = "name.formatted"
  }
  groups {
    mode               = "on_the_fly"
    create_missing     = true
    default_groups_new = ["confluence-users"]
    default_groups_all = ["staff"]
    keep_existing      = false
    include            = ["^app-confluence-"]
    exclude            = ["-test$"]
    rename {
      pattern = "^app-confluence-(.*)$"
      replace = "$1"
    }
    map "Engineering" {
      to = ["developers", "jira-users"]
    }
  }
}

idp "ad" {
  priority = -1
  ldap {
    url                      = "ldap://dc1.example.com:389"
    start_tls                = true
    ca_file                  = "certs/ca.pem"
    bind_dn                  = "CN=confsync,OU=Service Accounts,DC=example,DC=com"
    bind_password            = trimspace(coalesce(var.ldap_password, file("bind.secret")))
    user_base                = "OU=Staff,DC=example,DC=com"
    user_filter              = "(&(objectClass=user)(objectCategory=person))"
    user_scope               = "one"
    user_id_attribute        = "objectGUID"
    group_base               = "OU=Groups,DC=example,DC=com"
    group_filter             = "(objectClass=group)"
    group_scope              = "one"
    group_name_attribute     = "sAMAccountName"
    group_id_attribute       = "objectSid"
    user_member_of_attribute = "memberOf"
    nested_groups            = true
    page_size                = 1000
    timeout                  = "1m"
  }
}
