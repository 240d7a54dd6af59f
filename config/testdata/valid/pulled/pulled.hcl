variable "graph_secret" {
  sensitive = true
}

variable "okta_token" {
  sensitive = true
}

confluence {
  url   = "https://confluence.example.com"
  token = "t"
}

idp "entra" {
  graph {
    tenant_id     = "72f988bf-86f1-41af-91ab-2d7cd011db47"
    client_id     = "00001111-aaaa-2222-bbbb-3333cccc4444"
    client_secret = var.graph_secret
    authority     = "https://login.microsoftonline.us"
    endpoint      = "https://graph.microsoft.us/"
    groups        = ["Confluence Users", "Engineering"]
    user_filter   = "accountEnabled eq true and startswith(displayName, 'A''s')"
    parallelism   = 2
    timeout       = "20s"
    poll_interval = "5m"
  }
  attributes {
    username     = "onPremisesSamAccountName"
    email        = "extension_b7d8e6a0_workMail"
    display_name = "onPremisesExtensionAttributes.extensionAttribute1"
  }
}

idp "entra-defaults" {
  graph {
    tenant_id     = "contoso.onmicrosoft.com"
    client_id     = "00001111-aaaa-2222-bbbb-3333cccc4444"
    client_secret = var.graph_secret
  }
}

idp "okta" {
  okta {
    org_url       = "https://example.okta.com"
    token         = var.okta_token
    groups        = ["Everyone"]
    user_filter   = "status eq \"ACTIVE\""
    poll_interval = "0s"
  }
}
