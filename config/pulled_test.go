package config

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// TestLoadPulledSources checks that every attribute of the graph and okta
// blocks lands in its field, the defaults, and the attribute defaults of
// those kinds.
func TestLoadPulledSources(t *testing.T) {
	cfg := mustLoad(t, LoadOptions{
		Path: "testdata/valid/pulled",
		Vars: map[string]string{"graph_secret": "graph-s3cret", "okta_token": "00okta-token"},
	})
	want := []*IDP{
		{
			Name: "entra",
			Graph: &GraphSource{
				TenantID:     "72f988bf-86f1-41af-91ab-2d7cd011db47",
				ClientID:     "00001111-aaaa-2222-bbbb-3333cccc4444",
				ClientSecret: "graph-s3cret",
				Authority:    "https://login.microsoftonline.us",
				Endpoint:     "https://graph.microsoft.us",
				Groups:       []string{"Confluence Users", "Engineering"},
				UserFilter:   "accountEnabled eq true and startswith(displayName, 'A''s')",
				Parallelism:  2,
				Timeout:      20 * time.Second,
				PollInterval: 5 * time.Minute,
			},
			Users:      UserSync{Create: true, Update: true, Deactivate: true, Reactivate: true},
			Attributes: Attributes{Username: "onPremisesSamAccountName", Email: "extension_b7d8e6a0_workMail", DisplayName: "onPremisesExtensionAttributes.extensionAttribute1"},
			Groups:     GroupSync{Mode: "manual", KeepExisting: true},
		},
		{
			Name: "entra-defaults",
			Graph: &GraphSource{
				TenantID:     "contoso.onmicrosoft.com",
				ClientID:     "00001111-aaaa-2222-bbbb-3333cccc4444",
				ClientSecret: "graph-s3cret",
				Authority:    DefaultGraphAuthority,
				Endpoint:     DefaultGraphEndpoint,
				Parallelism:  DefaultGraphParallelism,
				Timeout:      DefaultGraphTimeout,
				PollInterval: DefaultPollInterval,
			},
			Users:      UserSync{Create: true, Update: true, Deactivate: true, Reactivate: true},
			Attributes: Attributes{Username: "userPrincipalName", Email: "mail", DisplayName: "displayName"},
			Groups:     GroupSync{Mode: "manual", KeepExisting: true},
		},
		{
			Name: "okta",
			Okta: &OktaSource{
				OrgURL:       "https://example.okta.com",
				Token:        "00okta-token",
				Groups:       []string{"Everyone"},
				UserFilter:   `status eq "ACTIVE"`,
				Parallelism:  DefaultOktaParallelism,
				Timeout:      DefaultOktaTimeout,
				PollInterval: 0,
			},
			Users:      UserSync{Create: true, Update: true, Deactivate: true, Reactivate: true},
			Attributes: Attributes{Username: "login", Email: "email", DisplayName: "displayName"},
			Groups:     GroupSync{Mode: "manual", KeepExisting: true},
		},
	}
	if diff := cmp.Diff(want, cfg.IDPs, cmpConfig...); diff != "" {
		t.Errorf("Load mismatch (-want +got):\n%s", diff)
	}
	for name, kind := range map[string]string{"entra": "graph", "entra-defaults": "graph", "okta": "okta"} {
		if got := cfg.IDP(name).Kind(); got != kind {
			t.Errorf("idp %s: Kind() = %q, want %q", name, got, kind)
		}
	}
	// The secrets are redacted wherever the configuration is printed.
	for _, s := range []string{fmt.Sprintf("%v %+v", cfg.IDP("entra").Graph, cfg.IDP("okta").Okta), fmt.Sprintf("%#v", *cfg.IDP("entra").Graph)} {
		if strings.Contains(s, "graph-s3cret") || strings.Contains(s, "00okta-token") {
			t.Errorf("a secret is printed: %s", s)
		}
	}
}
