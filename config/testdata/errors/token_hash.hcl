idp "entra" {
  scim {
    token_sha256 = [
      "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
      "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A0", # ERROR: Malformed token hash
      "secret-token-value",                                               # ERROR: Malformed token hash
      "zz86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", # ERROR: Malformed token hash
      "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08", # WARNING: Duplicate token hash
    ]
  }
}
