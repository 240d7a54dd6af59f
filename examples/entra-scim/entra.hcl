# Entra ID pushes users and groups to confsync over SCIM 2.0. In the Entra
# admin centre, create an enterprise application with provisioning mode
# "Automatic", tenant URL https://confsync.example.com/scim/v2/entra and a
# token whose SHA-256 is listed below.
idp "entra" {
  # When another IdP claims the same Confluence user, the higher priority
  # wins.
  priority = 100

  scim {
    token_sha256 = var.entra_token_sha256
  }

  users {
    create     = true
    update     = true
    deactivate = true # unassigned or disabled in Entra: deactivated here
    reactivate = true
    delete     = false # never delete: Confluence keeps their content

    # Entra sends the UPN as userName (jane.doe@example.com); Confluence
    # usernames here are the part before the @.
    username_transform {
      pattern = "^([^@]+)@example\\.com$"
      replace = "$1"
    }
  }

  # What Entra ID sends by default; shown here to be changed.
  attributes {
    username     = "userName"
    email        = "emails[type eq \"work\"].value"
    display_name = "displayName"
  }

  groups {
    # On the fly: an Entra group named "CONF-Marketing" becomes the
    # Confluence group "marketing" (renamed and lower-cased) ...
    mode           = "on_the_fly"
    create_missing = true
    include        = ["^CONF-"]
    exclude        = ["-Test$"]
    rename {
      pattern = "^CONF-(.+)$"
      replace = "$1"
    }

    # ... except these, which are mapped by hand (a map block wins over
    # on-the-fly naming).
    map "CONF-Engineering" {
      to = ["developers", "jira-software-users"]
    }
    map "CONF-Wiki-Editors" {
      to = ["wiki-editors"]
    }

    # Every user confsync creates starts in confluence-users.
    default_groups_new = ["confluence-users"]

    # Leave memberships confsync did not make alone.
    keep_existing = true
  }
}
