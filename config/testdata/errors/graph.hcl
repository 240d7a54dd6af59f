# VAR graph_secret=super-secret-value
variable "graph_secret" {
  sensitive = true
}

idp "bad-ids" {
  graph {
    tenant_id     = "not a tenant" # ERROR: Invalid tenant id
    client_id     = "confsync"     # ERROR: Invalid client id
    client_secret = var.graph_secret
  }
}

idp "bad-urls" {
  graph {
    tenant_id     = "contoso.onmicrosoft.com"
    client_id     = "00001111-aaaa-2222-bbbb-3333cccc4444"
    client_secret = var.graph_secret
    authority     = "ftp://login.microsoftonline.com"      # ERROR: Invalid authority URL
    endpoint      = "https://graph.microsoft.com/v1.0"     # ERROR: Invalid endpoint URL
    groups        = ["Engineering", " ", "engineering"]    # ERROR: Empty group name | WARNING: Duplicate group name
    user_filter   = "startswith(displayName, 'A'"          # ERROR: Invalid user_filter
    parallelism   = 100                                    # ERROR: Value out of range
  }
}

idp "no-secret" {
  graph { # ERROR: Missing Graph credentials
    tenant_id = "contoso.onmicrosoft.com"
    client_id = "00001111-aaaa-2222-bbbb-3333cccc4444"
  }
}

idp "cert-missing" {
  graph {
    tenant_id        = "contoso.onmicrosoft.com"
    client_id        = "00001111-aaaa-2222-bbbb-3333cccc4444"
    certificate_file = "confsync.crt" # ERROR: Unusable certificate credentials
    private_key_file = "confsync.key"
  }
}

idp "cert-mismatch" {
  graph {
    tenant_id        = "contoso.onmicrosoft.com"
    client_id        = "00001111-aaaa-2222-bbbb-3333cccc4444"
    certificate_file = "../valid/certs/graph-app.crt"
    private_key_file = "../valid/certs/other.key" # ERROR: Unusable certificate credentials
  }
}

idp "cert-encrypted" {
  graph {
    tenant_id        = "contoso.onmicrosoft.com"
    client_id        = "00001111-aaaa-2222-bbbb-3333cccc4444"
    certificate_file = "../valid/certs/graph-app.crt"
    private_key_file = "../valid/certs/graph-app-encrypted.key" # ERROR: Unusable certificate credentials
  }
}

idp "cert-not-pem" {
  graph {
    tenant_id        = "contoso.onmicrosoft.com"
    client_id        = "00001111-aaaa-2222-bbbb-3333cccc4444"
    certificate_file = "../valid/certs/graph-app.key" # ERROR: Unusable certificate credentials
    private_key_file = "../valid/certs/graph-app.key"
  }
}

idp "cert-ec" {
  graph {
    tenant_id        = "contoso.onmicrosoft.com"
    client_id        = "00001111-aaaa-2222-bbbb-3333cccc4444"
    certificate_file = "../valid/certs/ec.crt" # ERROR: Unusable certificate credentials
    private_key_file = "../valid/certs/ec.key"
  }
}

idp "cert-half" {
  graph {
    tenant_id        = "contoso.onmicrosoft.com"
    client_id        = "00001111-aaaa-2222-bbbb-3333cccc4444"
    certificate_file = "../valid/certs/graph-app.crt" # ERROR: Incomplete certificate credentials
  }
}

idp "cert-and-secret" {
  graph {
    tenant_id        = "contoso.onmicrosoft.com"
    client_id        = "00001111-aaaa-2222-bbbb-3333cccc4444"
    client_secret    = var.graph_secret # ERROR: Conflicting Graph credentials
    certificate_file = "../valid/certs/graph-app.crt"
    private_key_file = "../valid/certs/graph-app.key"
  }
}

idp "clear" {
  graph {
    tenant_id     = "contoso.onmicrosoft.com"
    client_id     = "00001111-aaaa-2222-bbbb-3333cccc4444"
    client_secret = var.graph_secret
    endpoint      = "http://graph.internal" # WARNING: Graph credentials sent in clear text
  }
}

idp "two" {
  graph {
    tenant_id     = "contoso.onmicrosoft.com"
    client_id     = "00001111-aaaa-2222-bbbb-3333cccc4444"
    client_secret = var.graph_secret
  }
  okta { # ERROR: More than one source block
    org_url = "https://example.okta.com"
    token   = var.graph_secret
  }
}
