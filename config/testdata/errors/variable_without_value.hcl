variable "token" { # ERROR: No value for required variable
  sensitive = true
}

confluence {
  url   = "https://confluence.example.com"
  token = var.token
}
