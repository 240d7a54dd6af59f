idp "a" {
  scim {}
  users {
    delete_after = "thirty days" # ERROR: Invalid grace period
  }
}

idp "b" {
  scim {}
  users {
    delete_after = "10m" # ERROR: Invalid grace period
  }
}

idp "c" {
  scim {}
  users {
    delete_after = "99999d" # ERROR: Invalid grace period
  }
}
