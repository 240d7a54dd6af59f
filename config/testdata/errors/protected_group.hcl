confluence {
  url              = "https://confluence.example.com"
  token            = "t"
  protected_groups = ["confluence-administrators", "system-administrators"]
}

idp "entra" {
  scim {}
  groups {
    default_groups_new = ["confluence-users", "Confluence-Administrators"] # ERROR: Mapping writes to a protected group | WARNING: will be lower-cased
    default_groups_all = ["system-administrators"]                         # ERROR: Mapping writes to a protected group
    map "Admins" {
      to = ["confluence-administrators"] # ERROR: Mapping writes to a protected group
    }
  }
}
