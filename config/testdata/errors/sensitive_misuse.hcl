# VAR host=confluence.example.com
variable "host" {
  sensitive = true
}

confluence {
  url   = "https://${var.host}" # ERROR: Sensitive value not allowed here
  token = "t${var.host}"
}
