confluence {
  url   = "https://confluence.example.com"
  token = file("no-such-token-file") # ERROR: Error in function call
}

idp "entra" {
  scim {}
  groups {
    default_groups_new = [nosuchfunc("x")] # ERROR: Call to unknown function
  }
}
