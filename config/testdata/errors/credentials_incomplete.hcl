confluence {
  url      = "https://confluence.example.com"
  username = "admin" # ERROR: Incomplete Confluence credentials
}
