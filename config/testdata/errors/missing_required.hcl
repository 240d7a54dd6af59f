confluence { # ERROR: Missing required argument
  token = "t"
}

idp "ad" {
  ldap { # ERROR: Missing required argument
    url = "ldaps://dc.example.com"
  }
}
