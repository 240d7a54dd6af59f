package main

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/confluence/emulator"
	"github.com/confsync/confsync/providers/store"
	"github.com/confsync/confsync/providers/store/sqlstore"
)

// The operator page in a real browser: headless Chromium (the Debian
// package chromium) driven over the DevTools protocol, against an
// in-process `confsync serve` with auto_apply, the Confluence emulator and
// the SQLite store.
//
// CONFSYNC_SCREENSHOTS=DIR writes the screenshots docs/operations.md shows
// (make screenshots does it into docs/img).

const uiOperatorToken = "operator-token-for-the-ui-test-0123"

// chromiumPath finds Chromium; without it the test is skipped, or fails
// when CONFSYNC_REQUIRE_CHROMIUM is set (CI sets it).
func chromiumPath(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CONFSYNC_REQUIRE_CHROMIUM") != "" {
		t.Fatal("chromium is not installed (apt-get install chromium) and CONFSYNC_REQUIRE_CHROMIUM is set")
	}
	t.Skip("chromium is not installed (apt-get install chromium); set CONFSYNC_REQUIRE_CHROMIUM=1 to fail instead")
	return ""
}

// startUIServe runs serve in-process with the operator page on and
// returns its base URL and the configuration directory.
func startUIServe(t *testing.T) (*e2e, string) {
	t.Helper()
	emu, emuURL := emulator.Start(t, emulator.Options{AdminToken: emulatorToken})
	dir := t.TempDir()
	sum := sha256.Sum256([]byte(replicaSCIMToken))
	hcl := fmt.Sprintf(`confluence {
  url   = %q
  token = %q
}

server {
  auto_apply         = true
  debounce           = "200ms"
  reconcile_interval = "1h"
  operator_token     = %q
}

safety {
  max_deactivations = 1
}

idp "entra" {
  scim {
    token_sha256 = [%q]
  }
  users {
    username_transform {
      pattern = "^([^@]+)@example\\.com$"
      replace = "$1"
    }
  }
}
`, emuURL, emulatorToken, uiOperatorToken, hex.EncodeToString(sum[:]))
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(hcl), 0o600); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr syncBuffer
	ready := make(chan string, 1)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	opts := &serveOptions{
		root:   &rootOptions{configPath: dir, logLevel: "info"},
		listen: "127.0.0.1:0",
		stdout: &stdout, stderr: &stderr,
		ready: func(addr string) { ready <- addr },
	}
	go func() { done <- runServe(ctx, opts) }()
	t.Cleanup(func() {
		cancel()
		<-done
		for _, secret := range []string{uiOperatorToken, replicaSCIMToken, emulatorToken} {
			if strings.Contains(stderr.String()+stdout.String(), secret) {
				t.Errorf("serve's output contains a secret")
			}
		}
		if t.Failed() {
			t.Logf("serve's log:\n%s", tail([]byte(stderr.String()), 6000))
		}
	})
	var addr string
	select {
	case addr = <-ready:
	case err := <-done:
		t.Fatalf("serve stopped: %v\n%s", err, stderr.String())
	case <-time.After(60 * time.Second):
		t.Fatal("serve did not start")
	}
	base := "http://" + addr
	return &e2e{t: t, dir: dir, emu: emu, scimURL: base + "/scim/v2/entra", token: replicaSCIMToken}, base
}

// browser starts headless Chromium with a fresh profile and the flags
// that keep it off the network, and sends the operator token with every
// request. console returns what the pages logged or threw so far.
func browser(t *testing.T, exe string) (ctx context.Context, console func() []string) {
	t.Helper()
	alloc, cancelAlloc := chromedp.NewExecAllocator(context.Background(),
		chromedp.ExecPath(exe),
		chromedp.Headless,
		chromedp.NoSandbox, // the tests may run as root
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(1280, 1000),
	)
	ctx, cancel := chromedp.NewContext(alloc)
	t.Cleanup(func() { cancel(); cancelAlloc() })
	var mu sync.Mutex
	var msgs []string
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	go func() {
		for m, err := range chromedp.Console(ctx) {
			if err != nil {
				return
			}
			mu.Lock()
			msgs = append(msgs, string(m.Type)+": "+m.Text)
			mu.Unlock()
		}
	}()
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("oncall:"+uiOperatorToken))
	if _, err := chromedp.Call(ctx, network.SetExtraHTTPHeaders, network.SetExtraHTTPHeadersParams{Headers: network.Headers{"Authorization": auth}}); err != nil {
		t.Fatalf("set the operator token: %v", err)
	}
	return ctx, func() []string {
		mu.Lock()
		defer mu.Unlock()
		return append([]string(nil), msgs...)
	}
}

func navigate(t *testing.T, ctx context.Context, url string) {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("navigate to %s: %v", url, err)
	}
}

// waitText waits (the page reloads itself every second) until the text of
// sel contains want.
func waitText(t *testing.T, ctx context.Context, sel, want string) string {
	t.Helper()
	var text string
	var err error
	deadline := time.Now().Add(60 * time.Second)
	for {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		text, err = chromedp.Run(tctx, chromedp.Text(chromedp.CSS(sel)))
		cancel()
		if err == nil && strings.Contains(text, want) {
			return text
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited for %q in %s; it shows %q (last error %v)", want, sel, text, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// waitJS waits (the page reloads itself) until the expression is true.
func waitJS(t *testing.T, ctx context.Context, what, js string) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](js))
		if err == nil && ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waited for %s (%s; last error %v)", what, js, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func evaluate[T any](t *testing.T, ctx context.Context, js string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](js))
	if err != nil {
		t.Fatalf("evaluate %s: %v", js, err)
	}
	return v
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100)) // 100: PNG
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("screenshot %s is not a PNG", name)
	}
	if dir := os.Getenv("CONFSYNC_SCREENSHOTS"); dir != "" {
		if err := os.WriteFile(filepath.Join(dir, name), png, 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

// TestOperatorPageInBrowser: the page shows a live serve's state, follows
// a SCIM write by itself, shows a refused run with its reason, shows a
// <script> user name as text without running it, and answers nothing
// without the operator token.
func TestOperatorPageInBrowser(t *testing.T) {
	exe := chromiumPath(t)
	e, base := startUIServe(t)
	ctx, console := browser(t, exe)

	alice := e.provisionUser("alice@example.com", "Alice Liddell")
	bob := e.provisionUser("bob@example.com", "Bob Builder")
	waitFor(t, 60*time.Second, "auto_apply to create alice and bob", func() bool {
		return strings.Count(fmt.Sprint(e.emu.Users()), "alice")+strings.Count(fmt.Sprint(e.emu.Users()), "bob") >= 2
	})

	// The live state of the replica.
	navigate(t, ctx, base+"/?refresh=1")
	waitText(t, ctx, `#recent tbody`, "applied")
	// The apply's reads become the last complete read once it finished.
	row := waitText(t, ctx, `tr[data-idp="entra"]`, "2 users, 0 groups at")
	for _, want := range []string{"scim", "ok", "users pushed: 2"} {
		if !strings.Contains(row, want) {
			t.Errorf("the entra row %q lacks %q", row, want)
		}
	}
	waitText(t, ctx, `#replica`, "auto_apply on as serve")
	waitText(t, ctx, `#lock`, "free")
	waitText(t, ctx, `#plot-changes figcaption`, "2 in all")
	// The SCIM requests reach the store with the next flush (10 s).
	waitJS(t, ctx, "SCIM requests in the plot", `parseInt(document.querySelector("#plot-requests .total").textContent, 10) >= 4`)
	if bars := evaluate[int](t, ctx, `document.querySelectorAll("#plot-changes rect.bar").length`); bars < 1 {
		t.Errorf("the changes plot has %d bars", bars)
	}

	// A SCIM write: the page follows by itself (it reloads every second).
	e.provisionUser("carol@example.com", "Carol")
	waitText(t, ctx, `tr[data-idp="entra"]`, "users pushed: 3")
	waitText(t, ctx, `#recent tbody`, "1 change applied")
	waitJS(t, ctx, "carol's SCIM requests in the plot", `parseInt(document.querySelector("#plot-requests .total").textContent, 10) >= 6`)
	waitJS(t, ctx, "three changes in the plot", `parseInt(document.querySelector("#plot-changes .total").textContent, 10) == 3`)

	// Deactivating two users at once exceeds max_deactivations = 1: the
	// reconcile is refused, and the page says why.
	e.setActive(alice, false)
	e.setActive(bob, false)
	refused := waitText(t, ctx, `#refused tbody`, "refused")
	if !strings.Contains(refused, "safety") {
		t.Errorf("the refused run does not say why: %q", refused)
	}
	screenshot(t, ctx, "operator-overview.png")

	// A run's page, reached by its link.
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS(`#recent tbody a`), "href"))
	if err != nil || !strings.HasPrefix(href.Value, "/ui/runs/") {
		t.Fatalf("no run link: %+v %v", href, err)
	}
	navigate(t, ctx, base+href.Value)
	waitText(t, ctx, `#message`, "nothing applied")
	screenshot(t, ctx, "operator-run.png")

	// IdP-supplied markup. Confluence forbids < and > in user names, so
	// no apply can make such a user; a user pushed over SCIM with one is
	// left out of the plan, and a run naming one (as another confsync
	// writing the same store could record) is shown as text.
	e.scim("POST", "/Users", map[string]any{
		"schemas":  []string{"urn:ietf:params:scim:schemas:core:2.0:User"},
		"userName": "<script>window.pwned=1</script>@example.com", "active": true,
		"displayName": "<img src=x onerror=window.pwned=2>",
		"emails":      []map[string]any{{"type": "work", "value": "x@example.com", "primary": true}},
	}, 201)
	st, err := sqlstore.OpenSQLite(context.Background(), filepath.Join(e.dir, "confsync.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	evil := "<script>window.pwned=1</script>"
	now := time.Now()
	if err := st.AppendRun(context.Background(), plan.Run{ID: "evil-run", Started: now, Finished: now, Trigger: "cli", Outcome: "partial",
		Message: `1 of 2 changes failed: <img src=x onerror="window.pwned=2">`,
		Actions: []plan.RunAction{{Action: "create", Object: "user " + evil, IDP: "entra"}, {Action: "create", Object: "user x", IDP: "entra", Error: evil}}}); err != nil {
		t.Fatal(err)
	}
	navigate(t, ctx, base+"/?refresh=1")
	waitText(t, ctx, `#recent tbody`, `<img src=x onerror="window.pwned=2">`)
	navigate(t, ctx, base+"/ui/runs/evil-run")
	waitText(t, ctx, `#actions`, "user "+evil)
	screenshot(t, ctx, "operator-escaped.png")
	pwned := evaluate[bool](t, ctx, `typeof window.pwned !== "undefined"`)
	scripts := evaluate[int](t, ctx, `document.querySelectorAll("script").length`)
	if pwned || scripts != 1 {
		t.Errorf("IdP-supplied markup ran or became elements: pwned=%v, %d script elements (want only refresh.js)", pwned, scripts)
	}
	// No exception, and no Content-Security-Policy violation (which would
	// mean the page needs something the policy forbids).
	for _, m := range console() {
		if strings.HasPrefix(m, "exception") || strings.Contains(m, "Content Security Policy") || strings.Contains(m, "pwned") {
			t.Errorf("the page logged: %s", m)
		}
	}

	// Without the token serve answers the challenge and nothing else
	// (Chromium, headless, turns the challenge into a navigation error).
	resp, err := http.Get(base + "/")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || strings.Contains(string(b), "alice") || resp.Header.Get("Content-Security-Policy") == "" {
		t.Errorf("without the token: %s %q", resp.Status, b)
	}
}

// TestOperatorTokenIsNotASCIMToken: serve refuses an operator_token that
// is also a SCIM token, configured or made with `confsync token create`.
func TestOperatorTokenIsNotASCIMToken(t *testing.T) {
	ctx := context.Background()
	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(t.TempDir(), "c.db"), slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	hash := func(s string) string { sum := sha256.Sum256([]byte(s)); return hex.EncodeToString(sum[:]) }
	const stored = "a-token-made-with-token-create"
	if err := st.CreateToken(ctx, &store.Token{ID: "t1", IDP: "okta", SHA256: hash(stored)}); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{IDPs: []*config.IDP{
		{Name: "entra", SCIM: &config.SCIMSource{TokenSHA256: []string{strings.ToUpper(hash("a-configured-scim-token"))}}},
		{Name: "okta", SCIM: &config.SCIMSource{}},
		{Name: "corp", LDAP: &config.LDAPSource{}},
	}}
	for _, tc := range []struct {
		token   config.Secret
		wantIdP string
	}{
		{"", ""},
		{"an-operator-token-of-its-own", ""},
		{"a-configured-scim-token", "entra"},
		{stored, "okta"},
	} {
		cfg.Server.OperatorToken = tc.token
		err := checkOperatorToken(ctx, cfg, st)
		switch {
		case tc.wantIdP == "" && err != nil:
			t.Errorf("token %q refused: %v", tc.token.Reveal(), err)
		case tc.wantIdP != "" && (err == nil || !strings.Contains(err.Error(), `idp "`+tc.wantIdP+`"`)):
			t.Errorf("token %q: %v, want a refusal naming idp %q", tc.token.Reveal(), err, tc.wantIdP)
		case err != nil && strings.Contains(err.Error(), tc.token.Reveal()):
			t.Errorf("the refusal shows the token: %v", err)
		}
	}
}
