# Employees, read from Entra ID through Microsoft Graph. Register an app
# in the Entra admin centre, grant it the application permissions
# User.Read.All and GroupMember.Read.All (admin consent), and give it a
# client secret.
idp "entra" {
  priority = 200

  graph {
    tenant_id     = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    client_id     = "00001111-aaaa-2222-bbbb-3333cccc4444"
    client_secret = var.graph_secret
    # Only the members of these groups (nested groups included) are read.
    groups      = ["Confluence Users"]
    user_filter = "userType eq 'Member'"
    # confsync serve looks for changes every 5 minutes (default 60s).
    poll_interval = "5m"
    # Sovereign clouds: authority = "https://login.microsoftonline.us",
    # endpoint = "https://graph.microsoft.us".
  }

  users {
    deactivate = true # accountEnabled = false in Entra ID
    # jane.doe@example.com becomes the Confluence user jane.doe.
    username_transform {
      pattern = "^([^@]+)@example\\.com$"
      replace = "$1"
    }
  }

  # Graph property names; these are the defaults of a graph idp.
  attributes {
    username     = "userPrincipalName"
    email        = "mail"
    display_name = "displayName"
  }

  groups {
    mode           = "on_the_fly"
    create_missing = true
    include        = ["^Confluence "]
    rename {
      pattern = "^Confluence (.+)$"
      replace = "$1"
    }
  }
}
