confluence {
  url              = "https://confluence.example.com"
  token            = "t"
  protected_groups = ["Site Admins"] # ERROR: Invalid Confluence group name
  protected_users  = ["Admin"]       # WARNING: will be lower-cased
}

idp "entra" {
  scim {}
  groups {
    default_groups_new = ["anonymous"] # ERROR: Invalid Confluence group name
    map "Sales" {
      to = ["sales,emea"] # ERROR: Invalid Confluence group name
    }
    map "Support" {
      to = ["Support-Team"] # WARNING: will be lower-cased
    }
    map "Legal" {
      to = ["a<b>"] # ERROR: Invalid Confluence group name
    }
  }
}
