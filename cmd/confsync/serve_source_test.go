package main

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/confsync/confsync/providers/confluence/emulator"
	"github.com/confsync/confsync/providers/ldap/ldaptest"
)

// TestServeLDAPSourceFailure runs `confsync serve` with auto_apply over a
// SCIM IdP and an LDAP IdP (a real slapd) whose bind password is wrong:
// the SCIM IdP's user reaches Confluence, the LDAP IdP's users are not
// touched, no run claims success while corp is left out (partial or
// refused, naming it), and /status, /metrics and confsync status show
// corp unhealthy with its cause and no secret.
func TestServeLDAPSourceFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("starts slapd and a serve process")
	}
	slapd := ldaptest.Start(t, ldaptest.Config{LDIF: []string{filepath.Join("..", "..", "providers", "ldap", "testdata", "openldap.ldif")}})
	emu, emuURL := emulator.Start(t, emulator.Options{AdminToken: emulatorToken})
	dir := filepath.Join(t.TempDir(), "conf")
	addr := freeAddr(t)
	sum := sha256.Sum256([]byte(replicaSCIMToken))
	const wrongPassword = "hunter2-wrong-password"
	hcl := fmt.Sprintf(`confluence {
  url   = %q
  token = %q
}

server {
  listen             = %q
  auto_apply         = true
  debounce           = "200ms"
  reconcile_interval = "1h"
}

idp "entra" {
  scim {
    token_sha256 = [%q]
  }
}

idp "corp" {
  priority = 10
  ldap {
    url           = %q
    bind_dn       = "cn=reader,ou=system,dc=example,dc=com"
    bind_password = %q
    user_base     = "ou=people,dc=example,dc=com"
    user_filter   = "(|(uid=carol)(uid=dave))"
    group_base    = "ou=groups,dc=example,dc=com"
  }
  attributes {
    username = "uid"
  }
}
`, emuURL, emulatorToken, addr, hex.EncodeToString(sum[:]), slapd.URL, wrongPassword)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	p := startReplica(t, "replica", dir, addr)
	p.ready(t)

	createSCIMUser(t, p, "ann")
	waitFor(t, 60*time.Second, "the SCIM IdP's user to reach Confluence", func() bool { return countUsers(emu, []string{"ann"}) == 1 })
	waitFor(t, 60*time.Second, "an auto reconcile that names corp", func() bool {
		s := p.status(t)
		if s == nil {
			return false
		}
		for _, r := range s.LastRuns {
			if r.Trigger == "auto" && strings.Contains(r.Message, "idp corp left out") {
				return true
			}
		}
		return false
	})
	for _, n := range []string{"carol", "dave"} {
		if _, ok := emu.User(n); ok {
			t.Errorf("%s of the unreadable IdP reached Confluence", n)
		}
	}

	s := p.status(t)
	for _, r := range s.LastRuns {
		if r.Outcome == "applied" {
			t.Errorf("a %s run claims success while corp is left out: %+v", r.Trigger, r)
		}
	}
	var corp, entra bool
	for _, i := range s.IdPs {
		switch {
		case i.Name == "corp" && i.Health != nil && !i.Health.Healthy && i.Health.LastFailure != nil &&
			strings.Contains(i.Health.LastFailure.Cause, "invalid credentials"):
			corp = true
		case i.Name == "entra" && i.Health != nil && i.Health.Healthy:
			entra = true
		}
	}
	if !corp || !entra {
		t.Errorf("/status source health: %+v", s.IdPs)
	}

	get := func(path string) string {
		resp, err := http.Get(p.url + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	metrics := get("/metrics")
	for _, want := range []string{`(?m)^confsync_idp_source_healthy\{idp="corp"\} 0$`, `(?m)^confsync_idp_source_healthy\{idp="entra"\} 1$`} {
		if !regexp.MustCompile(want).MatchString(metrics) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	out, err := exec.Command("confsync", "status", "--config", dir, "--server", p.url).CombinedOutput()
	if err != nil {
		t.Fatalf("confsync status: %v\n%s", err, out)
	}
	for _, want := range []string{`(?m)^corp\s+ldap\s+.*\sunhealthy\s`, `(?m)^    last failure at \S+: its source failed: .*invalid credentials`} {
		if !regexp.MustCompile(want).Match(out) {
			t.Errorf("confsync status lacks %q:\n%s", want, out)
		}
	}
	for what, text := range map[string]string{"/status": get("/status"), "/metrics": metrics, "confsync status": string(out)} {
		if strings.Contains(text, wrongPassword) {
			t.Errorf("%s shows the bind password", what)
		}
	}
}
