confluence {
  url              = "confluence.example.com" # ERROR: Invalid Confluence URL
  token            = var.token
  protected_groups = ["confluence-administrators"]
  parallelism      = 0 # ERROR: Value out of range
}

server {
  listen   = ":8443"
  tls_key  = "confluence.hcl" # ERROR: tls_key without tls_cert
  debounce = 5                 # ERROR: Invalid duration
}
