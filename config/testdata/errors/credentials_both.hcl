confluence {
  url      = "https://confluence.example.com"
  token    = "t" # ERROR: Conflicting Confluence credentials
  username = "admin"
  password = "p"
}
