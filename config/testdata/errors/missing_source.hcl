idp "entra" { # ERROR: Missing source block
  priority = 1
}
