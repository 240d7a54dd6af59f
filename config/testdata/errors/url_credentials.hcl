confluence {
  url          = "https://admin:pw@confluence.example.com" # ERROR: Invalid Confluence URL
  context_path = "confluence"                              # ERROR: Invalid context path
  token        = "t"
}
