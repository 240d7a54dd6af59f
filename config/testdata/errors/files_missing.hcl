confluence {
  url     = "https://confluence.example.com"
  token   = "t"
  ca_file = "certs/missing-ca.pem" # ERROR: File not found
}
