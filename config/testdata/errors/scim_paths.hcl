idp "entra" {
  scim {}
  attributes {
    username     = "userName"
    email        = "emails[type eq \"work\".value" # ERROR: Invalid SCIM attribute path
    display_name = "1displayName"                  # ERROR: Invalid SCIM attribute path
    custom = { # WARNING: Custom attributes are not written
      department = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department"
      manager    = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value"
      phone      = "phoneNumbers[type eq work].value" # ERROR: Invalid SCIM attribute path
      title      = "title"
    }
  }
}
