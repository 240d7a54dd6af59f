variable "token" {
  sensitive = true
  default   = "t"
}

confluence {
  url   = "https://${var.host}" # ERROR: Reference to undeclared variable
  token = var.token
}
