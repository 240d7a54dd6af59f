package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confsync/confsync/providers/confluence/emulator"
	"github.com/confsync/confsync/providers/scim"
	"github.com/confsync/confsync/providers/store/sqlstore"
)

// e2e is a Confluence emulator, a SCIM endpoint over the embedded SQLite
// store, and a configuration directory: the pieces of a pull-request flow
// (SCIM pushes, plan --out, show, apply FILE, plan again), all over real
// HTTP. The confsync commands run in-process through the root command.
type e2e struct {
	t       *testing.T
	dir     string
	emu     *emulator.Server
	scimURL string
	token   string
}

const e2eConfig = `
confluence {
  url              = %q
  token            = "emu-admin-token"
  protected_users  = ["admin"]
  protected_groups = ["confluence-administrators"]
}

idp "entra" {
  scim {}
  users {
    username_transform {
      pattern = "^([^@]+)@example\\.com$"
      replace = "$1"
    }
  }
  groups {
    mode               = "on_the_fly"
    create_missing     = true
    include            = ["^CONF-"]
    default_groups_new = ["confluence-users"]
    rename {
      pattern = "^CONF-(.+)$"
      replace = "$1"
    }
  }
}

safety {
  max_deactivations = 2
}
`

func newE2E(t *testing.T, emuOpts ...func(*emulator.Options)) *e2e {
	t.Helper()
	o := emulator.Options{AdminToken: "emu-admin-token"}
	for _, f := range emuOpts {
		f(&o)
	}
	emu, emuURL := emulator.Start(t, o)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), fmt.Appendf(nil, e2eConfig, emuURL), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "confsync.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	token := "scim-e2e-token"
	sum := sha256.Sum256([]byte(token))
	srv := httptest.NewServer(scim.NewServer(scim.Options{Store: st, IDPs: []scim.IDP{{Name: "entra", TokenSHA256: []string{hex.EncodeToString(sum[:])}}}}))
	t.Cleanup(srv.Close)
	return &e2e{t: t, dir: dir, emu: emu, scimURL: srv.URL + scim.PathPrefix + "entra", token: token}
}

// scim sends one SCIM request the way Entra ID does and decodes the answer.
func (e *e2e) scim(method, path string, body any, wantStatus int) map[string]any {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, e.scimURL+path, rd)
	req.Header.Set("Authorization", "Bearer "+e.token)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != wantStatus {
		e.t.Fatalf("%s %s: %d %s, want %d", method, path, resp.StatusCode, data, wantStatus)
	}
	var out map[string]any
	json.Unmarshal(data, &out)
	return out
}

// provisionUser does what Entra ID does for an assigned user: look it up
// by userName, then create it.
func (e *e2e) provisionUser(upn, display string) string {
	q := e.scim("GET", "/Users?filter="+url.QueryEscape(fmt.Sprintf("userName eq %q", upn)), nil, 200)
	if n, _ := q["totalResults"].(float64); n != 0 {
		e.t.Fatalf("%s already provisioned", upn)
	}
	u := e.scim("POST", "/Users", map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName":    upn,
		"active":      true,
		"displayName": display,
		"externalId":  "ext-" + upn,
		"emails":      []map[string]any{{"type": "work", "value": upn, "primary": true}},
	}, 201)
	return u["id"].(string)
}

// provisionGroup creates a group without members, then adds them with a
// PATCH, as Entra ID does.
func (e *e2e) provisionGroup(name string, memberIDs ...string) string {
	g := e.scim("POST", "/Groups", map[string]any{
		"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:Group"},
		"displayName": name,
		"externalId":  "ext-" + name,
	}, 201)
	id := g["id"].(string)
	var members []map[string]string
	for _, m := range memberIDs {
		members = append(members, map[string]string{"value": m})
	}
	e.scim("PATCH", "/Groups/"+id, map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []map[string]any{{"op": "Add", "path": "members", "value": members}},
	}, 204)
	return id
}

func (e *e2e) setActive(id string, active bool) {
	e.scim("PATCH", "/Users/"+id, map[string]any{
		"schemas":    []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"},
		"Operations": []map[string]any{{"op": "Replace", "path": "active", "value": active}},
	}, 200)
}

// confsync runs a confsync command in-process and returns its output and
// exit status as the binary would.
func (e *e2e) confsync(args ...string) (stdout, stderr string, code int) {
	e.t.Helper()
	var out, errOut bytes.Buffer
	cmd := newRootCmd()
	cmd.SetArgs(append([]string{"--config", e.dir}, args...))
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetIn(strings.NewReader(""))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	err := cmd.ExecuteContext(ctx)
	code = 0
	if err != nil {
		code = 1
		var ee *exitError
		if errors.As(err, &ee) {
			code = ee.code
			if ee.err != nil {
				fmt.Fprintln(&errOut, "Error:", ee.err)
			}
		} else {
			fmt.Fprintln(&errOut, "Error:", err)
		}
	}
	return out.String(), errOut.String(), code
}

func (e *e2e) mustRun(wantCode int, args ...string) string {
	e.t.Helper()
	out, errOut, code := e.confsync(args...)
	if code != wantCode {
		e.t.Fatalf("confsync %s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", strings.Join(args, " "), code, wantCode, out, errOut)
	}
	return out
}

func (e *e2e) members(group string) string {
	for _, g := range e.emu.Groups() {
		if g.Name == group {
			return strings.Join(g.Members, ",")
		}
	}
	return "(no group)"
}

func TestPlanApplyEndToEnd(t *testing.T) {
	e := newE2E(t)
	ids := map[string]string{}
	for _, n := range []string{"alice", "bob", "carol", "dave", "erin"} {
		ids[n] = e.provisionUser(n+"@example.com", strings.ToUpper(n[:1])+n[1:]+" Example")
	}
	e.provisionGroup("CONF-Engineering", ids["alice"], ids["bob"], ids["carol"])
	e.provisionGroup("CONF-Marketing", ids["dave"], ids["erin"])
	e.provisionGroup("Not-Synced", ids["alice"])

	// The pull request: a saved plan, shown for review.
	out := e.mustRun(2, "plan", "--detailed-exitcode", "--out", filepath.Join(e.dir, "pr.plan"))
	if !strings.Contains(out, "Plan: 5 users to create; 2 groups to create") || !strings.Contains(out, "10 memberships to add") {
		t.Fatalf("plan:\n%s", out)
	}
	if strings.Contains(out, "not-synced") {
		t.Error("an excluded group is in the plan")
	}
	shown := e.mustRun(0, "show", filepath.Join(e.dir, "pr.plan"))
	if !strings.Contains(shown, `+ user "alice"`) || !strings.Contains(shown, `group "engineering": +3 to add`) {
		t.Fatalf("show:\n%s", shown)
	}
	js := e.mustRun(0, "show", "--json", filepath.Join(e.dir, "pr.plan"))
	var jp struct {
		FormatVersion string `json:"format_version"`
		Changes       []struct {
			Actions []string `json:"actions"`
			IDP     string   `json:"idp"`
		} `json:"changes"`
	}
	if err := json.Unmarshal([]byte(js), &jp); err != nil || jp.FormatVersion != "1.1" || len(jp.Changes) != 18 {
		t.Fatalf("show --json: %v, %+v", err, jp)
	}

	// The merge applies exactly that plan.
	out = e.mustRun(0, "apply", filepath.Join(e.dir, "pr.plan"))
	if !strings.Contains(out, "Apply complete: 18 changes applied.") {
		t.Fatalf("apply:\n%s", out)
	}
	if u, ok := e.emu.User("alice"); !ok || u.DisplayName != "Alice Example" || u.Email != "alice@example.com" || !u.Active {
		t.Fatalf("alice in Confluence = %+v", u)
	}
	if got := e.members("engineering"); got != "alice,bob,carol" {
		t.Errorf("engineering = %s", got)
	}
	if got := e.members("confluence-users"); !strings.Contains(got, "alice,bob,carol,dave,erin") {
		t.Errorf("confluence-users = %s", got)
	}
	out = e.mustRun(0, "plan", "--detailed-exitcode")
	if !strings.Contains(out, "No changes. Confluence matches the desired state.") {
		t.Fatalf("plan after apply:\n%s", out)
	}
	// The applied plan cannot be applied again, and says so.
	if _, errOut, code := e.confsync("apply", filepath.Join(e.dir, "pr.plan")); code != 1 || !strings.Contains(errOut, "this plan was already applied (run ") {
		t.Fatalf("re-applying: exit %d, %s", code, errOut)
	}

	// A plan made before an IdP change is refused.
	e.mustRun(0, "plan", "--out", filepath.Join(e.dir, "old.plan"))
	e.setActive(ids["erin"], false)
	if _, errOut, code := e.confsync("apply", filepath.Join(e.dir, "old.plan")); code != 1 || !strings.Contains(errOut, "identities in the IdPs changed") {
		t.Fatalf("stale plan: exit %d, %s", code, errOut)
	}
	// Without a terminal, apply does not wait for a "yes".
	if _, errOut, code := e.confsync("apply"); code != 1 || !strings.Contains(errOut, "no terminal") {
		t.Fatalf("apply without a terminal: exit %d, %s", code, errOut)
	}
	out = e.mustRun(0, "apply", "--auto-approve")
	if !strings.Contains(out, `- user "erin"`) {
		t.Fatalf("apply --auto-approve:\n%s", out)
	}
	if u, _ := e.emu.User("erin"); u.Active {
		t.Error("erin is still active")
	}

	// A deprovisioning storm is stopped by max_deactivations = 2.
	for _, n := range []string{"alice", "bob", "carol"} {
		e.setActive(ids[n], false)
	}
	_, errOut, code := e.confsync("apply", "--auto-approve")
	if code != 1 || !strings.Contains(errOut, "disable 3 of 5 managed users, above max_deactivations = 2") {
		t.Fatalf("storm: exit %d, %s", code, errOut)
	}
	if u, _ := e.emu.User("alice"); !u.Active {
		t.Fatal("the storm got through")
	}
	for _, n := range []string{"alice", "bob", "carol"} {
		e.setActive(ids[n], true)
	}

	// An IdP that empties after a good read is left out, as an error:
	// nobody is deactivated, and the plan never says Confluence matches.
	for _, id := range ids {
		e.scim("DELETE", "/Users/"+id, nil, 204)
	}
	out, errOut, code = e.confsync("plan", "--detailed-exitcode")
	if code != 1 || !strings.Contains(out, "left out of this plan") || !strings.Contains(out, "No changes for the IdPs read; idp entra left out") ||
		strings.Contains(out, "matches") || !strings.Contains(errOut, "idp entra was left out") {
		t.Fatalf("empty source: exit %d\n%s\n%s", code, out, errOut)
	}

	// The protected admin never appeared anywhere.
	if u, _ := e.emu.User("admin"); !u.Active {
		t.Error("admin was disabled")
	}
}

func TestForceUnlockEndToEnd(t *testing.T) {
	e := newE2E(t)
	e.provisionUser("alice@example.com", "Alice")
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(e.dir, "confsync.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	if err := st.AcquireLock(context.Background(), "deadhost:4242", time.Hour); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := e.confsync("apply", "--auto-approve")
	if code != 1 || !strings.Contains(errOut, "deadhost:4242") {
		t.Fatalf("apply under someone else's lock: exit %d, %s", code, errOut)
	}
	if _, ok := e.emu.User("alice"); ok {
		t.Fatal("applied without the lock")
	}
	out := e.mustRun(0, "force-unlock")
	if !strings.Contains(out, "Released the apply lock held by deadhost:4242") {
		t.Fatalf("force-unlock: %s", out)
	}
	e.mustRun(0, "apply", "--auto-approve")
	if _, ok := e.emu.User("alice"); !ok {
		t.Fatal("alice not created")
	}
	out = e.mustRun(0, "force-unlock")
	if !strings.Contains(out, "not held") {
		t.Errorf("force-unlock after apply: %s", out)
	}
}
