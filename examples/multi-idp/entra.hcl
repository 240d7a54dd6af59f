# Employees, pushed by Entra ID to /scim/v2/entra.
idp "entra" {
  priority = 300

  scim {
    token_sha256 = var.scim_token_hashes["entra"]
  }

  users {
    username_transform {
      pattern = "^([^@]+)@example\\.com$"
      replace = "$1"
    }
  }

  # No attributes block: Entra ID's defaults (userName, the work e-mail,
  # displayName). Custom attributes can be kept too, such as
  #   custom = { department = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department" }
  # but Confluence Data Center's REST API has no user properties, so they
  # are only kept in confsync's state and shown in plans (validate warns).

  groups {
    mode = "manual"
    map "All Employees" {
      to = ["confluence-users", "employees"]
    }
    map "Engineering" {
      to = ["engineering"]
    }
  }
}
