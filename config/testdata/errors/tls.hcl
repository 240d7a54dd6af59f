server {
  listen   = "0.0.0.0:8443"
  tls_cert = "tls.hcl" # ERROR: tls_cert without tls_key
}
