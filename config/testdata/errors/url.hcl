confluence {
  url   = "ftp://confluence.example.com" # ERROR: Invalid Confluence URL
  token = "t"
}
