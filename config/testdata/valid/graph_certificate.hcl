# A graph IdP signing in with a certificate credential (issue 11).
confluence {
  url   = "https://confluence.example.com"
  token = "t"
}

idp "entra" {
  graph {
    tenant_id        = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    client_id        = "00001111-aaaa-2222-bbbb-3333cccc4444"
    certificate_file = "certs/graph-app.crt"
    private_key_file = "certs/graph-app.key"
  }
}
