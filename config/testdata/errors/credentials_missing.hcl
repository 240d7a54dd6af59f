confluence { # ERROR: Missing Confluence credentials
  url = "https://confluence.example.com"
}
