// Command confsync-demo shows confsync end to end on one machine, the way
// `make demo` runs it: it starts the Confluence emulator and `confsync
// serve` on the embedded SQLite store in a temporary directory, provisions
// a small company over SCIM the way Entra ID does (real HTTP requests),
// runs confsync plan and apply, makes a day-two change (a leaver and a team
// move) and plans and applies again, prints what Confluence then holds, and
// stops everything it started.
//
// It runs the binaries `make build` puts in bin/; -bin points elsewhere.
package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"
)

func main() {
	bin := flag.String("bin", "bin", "directory holding the confsync and confluence-emulator binaries")
	keep := flag.Bool("keep", false, "keep the temporary directory (configuration, store, logs) for a look afterwards")
	graphMode := flag.Bool("graph", false, "read the company from an emulated Entra ID through Microsoft Graph instead of receiving SCIM")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	runDemo := run
	if *graphMode {
		runDemo = runGraph
	}
	if err := runDemo(ctx, *bin, *keep); err != nil {
		fmt.Fprintln(os.Stderr, "demo failed:", err)
		os.Exit(1)
	}
}

// demo holds what the demo started.
type demo struct {
	bin       string
	dir       string
	emuURL    string
	emuToken  string
	scimURL   string
	scimToken string
	procs     []*exec.Cmd
	out       io.Writer
	extraEnv  []string // more variables for the commands run
}

// setUp checks that bin holds the binaries, makes the demo's temporary
// directory (named after prefix) and starts the Confluence emulator.
// finish stops what the demo started and removes the directory unless
// keep; setUp calls it itself when it fails.
func setUp(ctx context.Context, bin, prefix string, keep bool) (d *demo, finish func(), err error) {
	bin, err = filepath.Abs(bin)
	if err != nil {
		return nil, nil, err
	}
	for _, b := range []string{"confsync", "confluence-emulator"} {
		if _, err := os.Stat(filepath.Join(bin, b)); err != nil {
			return nil, nil, fmt.Errorf("%s not found in %s: run make build first (or give -bin)", b, bin)
		}
	}
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		return nil, nil, err
	}
	d = &demo{bin: bin, dir: dir, out: os.Stdout}
	finish = func() {
		d.stopAll()
		if keep {
			fmt.Fprintf(d.out, "\nKept %s (configuration, confsync.db, logs).\n", dir)
		} else {
			os.RemoveAll(dir)
		}
	}
	if err := d.startEmulator(ctx); err != nil {
		finish()
		return nil, nil, err
	}
	return d, finish, nil
}

// startEmulator starts the Confluence emulator and waits for it.
func (d *demo) startEmulator(ctx context.Context) error {
	d.step("Starting the Confluence emulator")
	emuPort, err := freePort()
	if err != nil {
		return err
	}
	d.emuURL = "http://127.0.0.1:" + emuPort
	d.emuToken = randomHex(16)
	if err := d.start("emulator.log", filepath.Join(d.bin, "confluence-emulator"), "-listen", "127.0.0.1:"+emuPort); err != nil {
		return err
	}
	if err := waitHTTP(ctx, d.emuURL+"/rest/api/user/current", "Bearer "+d.emuToken); err != nil {
		return fmt.Errorf("the emulator did not come up: %w (see %s)", err, filepath.Join(d.dir, "emulator.log"))
	}
	fmt.Fprintf(d.out, "  Confluence (emulated) at %s\n", d.emuURL)
	return nil
}

// planAndApply runs confsync plan --out file and then confsync apply file,
// each announced as a step with its note.
func (d *demo) planAndApply(ctx context.Context, file, planNote, applyNote string) error {
	d.step("confsync plan --out " + file + planNote)
	if err := d.confsync(ctx, "plan", "--out", filepath.Join(d.dir, file)); err != nil {
		return err
	}
	d.step("confsync apply " + file + applyNote)
	return d.confsync(ctx, "apply", filepath.Join(d.dir, file))
}

func run(ctx context.Context, bin string, keep bool) error {
	d, finish, err := setUp(ctx, bin, "confsync-demo-", keep)
	if err != nil {
		return err
	}
	defer finish()
	dir := d.dir

	d.step("Writing a configuration in " + dir)
	scimPort, err := freePort()
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "confsync.hcl"), []byte(demoConfig(d.emuURL, scimPort)), 0o600); err != nil {
		return err
	}
	fmt.Fprint(d.out, indent(demoConfig(d.emuURL, scimPort)))

	d.step("Creating a SCIM bearer token for Entra ID")
	tok, err := d.confsyncOutput(ctx, "token", "create", "--idp", "entra", "--description", "demo")
	if err != nil {
		return err
	}
	d.scimToken = strings.TrimSpace(strings.SplitN(tok, "\n", 2)[0])
	fmt.Fprintln(d.out, "  confsync token create --idp entra  (the token is shown once; confsync keeps its SHA-256 only)")

	d.step("Starting confsync serve")
	if err := d.start("serve.log", filepath.Join(d.bin, "confsync"), "serve", "--config", dir); err != nil {
		return err
	}
	base := "http://127.0.0.1:" + scimPort
	d.scimURL = base + "/scim/v2/entra"
	if err := waitHTTP(ctx, d.scimURL+"/ServiceProviderConfig", "Bearer "+d.scimToken); err != nil {
		return fmt.Errorf("confsync serve did not come up: %w (see %s)", err, filepath.Join(dir, "serve.log"))
	}
	fmt.Fprintf(d.out, "  SCIM endpoint %s\n", d.scimURL)

	d.step("Provisioning over SCIM, as Entra ID does")
	ids, groupIDs, err := d.provision(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(d.out, "  %d users and %d groups pushed (GET ?filter, POST /Users, POST /Groups, PATCH members)\n", len(ids), len(groupIDs))

	if err := d.planAndApply(ctx, "initial.plan", "", "  (exactly the plan above, refused if anything changed since)"); err != nil {
		return err
	}
	d.step("confsync plan (again: nothing left to do)")
	if err := d.confsync(ctx, "plan"); err != nil {
		return err
	}

	d.step("Day two in Entra ID: Nina Novak leaves, Omar Haddad moves from Sales to Support")
	if err := d.patch(ctx, "/Users/"+ids["nina.novak"], map[string]any{"op": "Replace", "path": "active", "value": false}); err != nil {
		return err
	}
	if err := d.patch(ctx, "/Groups/"+groupIDs["CONF-Sales"], map[string]any{"op": "Remove", "path": fmt.Sprintf("members[value eq %q]", ids["omar.haddad"])}); err != nil {
		return err
	}
	if err := d.patch(ctx, "/Groups/"+groupIDs["CONF-Support"], map[string]any{"op": "Add", "path": "members", "value": []map[string]string{{"value": ids["omar.haddad"]}}}); err != nil {
		return err
	}
	if err := d.planAndApply(ctx, "change.plan", "  (what a pull request would show)", ""); err != nil {
		return err
	}

	d.step("What Confluence now holds (read from its REST API)")
	return d.printConfluence(ctx)
}

func demoConfig(emuURL, scimPort string) string {
	return fmt.Sprintf(`confluence {
  url              = %q
  token            = env("DEMO_CONFLUENCE_TOKEN")
  protected_users  = ["admin"]
  protected_groups = ["confluence-administrators"]
}

server {
  listen = "127.0.0.1:%s"
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
  max_deactivations = "20%%"
}
`, emuURL, scimPort)
}

var people = []string{
	"Ava Martin", "Ben Okafor", "Chloe Dubois", "Daniel Kim", "Elena Rossi",
	"Farid Haddad", "Grace Liu", "Hugo Silva", "Isla Murphy", "Jonas Berg",
	"Kira Tanaka", "Leo Fischer", "Maya Patel", "Nina Novak", "Omar Haddad",
	"Priya Shah", "Quinn Walsh", "Rosa Alvarez", "Sam Cohen", "Tara Nguyen",
	"Umar Farouk", "Vera Ivanova", "Will Turner", "Xena Park", "Yusuf Demir",
}

// teams maps the Entra groups to indexes of people.
var teams = []struct {
	name    string
	members []int
}{
	{"CONF-Engineering", []int{0, 1, 3, 6, 9, 11, 16, 20, 22}},
	{"CONF-Marketing", []int{2, 4, 12, 17, 23}},
	{"CONF-Sales", []int{5, 7, 14, 18, 24}},
	{"CONF-Support", []int{8, 10, 13, 15, 19, 21}},
	{"CONF-Leadership", []int{0, 4, 5, 8}},
}

func upn(name string) string {
	return strings.ToLower(strings.ReplaceAll(name, " ", ".")) + "@example.com"
}

// provision pushes the people and teams the way Entra ID's provisioning
// service does: a filtered GET to match each object, a POST to create it,
// groups created empty and filled with PATCH.
func (d *demo) provision(ctx context.Context) (users, groups map[string]string, err error) {
	users = map[string]string{}
	for _, p := range people {
		mail := upn(p)
		var list struct {
			TotalResults int `json:"totalResults"`
		}
		if err := d.scim(ctx, "GET", "/Users?filter="+url.QueryEscape(fmt.Sprintf("userName eq %q", mail)), nil, 200, &list); err != nil {
			return nil, nil, err
		}
		if list.TotalResults != 0 {
			return nil, nil, fmt.Errorf("%s exists already", mail)
		}
		first, last, _ := strings.Cut(p, " ")
		body := map[string]any{
			"schemas":     []string{"urn:ietf:params:scim:schemas:core:2.0:User", "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"},
			"externalId":  randomHex(8),
			"userName":    mail,
			"active":      true,
			"displayName": p,
			"name":        map[string]string{"givenName": first, "familyName": last, "formatted": p},
			"emails":      []map[string]any{{"primary": true, "type": "work", "value": mail}},
		}
		var created struct {
			ID string `json:"id"`
		}
		if err := d.scim(ctx, "POST", "/Users", body, 201, &created); err != nil {
			return nil, nil, err
		}
		users[strings.TrimSuffix(mail, "@example.com")] = created.ID
	}
	groups = map[string]string{}
	for _, t := range teams {
		var list struct {
			TotalResults int `json:"totalResults"`
		}
		if err := d.scim(ctx, "GET", "/Groups?excludedAttributes=members&filter="+url.QueryEscape(fmt.Sprintf("displayName eq %q", t.name)), nil, 200, &list); err != nil {
			return nil, nil, err
		}
		var created struct {
			ID string `json:"id"`
		}
		body := map[string]any{"schemas": []string{"urn:ietf:params:scim:schemas:core:2.0:Group"}, "externalId": randomHex(8), "displayName": t.name}
		if err := d.scim(ctx, "POST", "/Groups", body, 201, &created); err != nil {
			return nil, nil, err
		}
		groups[t.name] = created.ID
		var members []map[string]string
		for _, i := range t.members {
			members = append(members, map[string]string{"value": users[strings.TrimSuffix(upn(people[i]), "@example.com")]})
		}
		if err := d.patch(ctx, "/Groups/"+created.ID, map[string]any{"op": "Add", "path": "members", "value": members}); err != nil {
			return nil, nil, err
		}
	}
	return users, groups, nil
}

// patch sends a SCIM PatchOp with one operation.
func (d *demo) patch(ctx context.Context, path string, op map[string]any) error {
	body := map[string]any{"schemas": []string{"urn:ietf:params:scim:api:messages:2.0:PatchOp"}, "Operations": []any{op}}
	return d.scim(ctx, "PATCH", path, body, 0, nil)
}

// scim sends one SCIM request; want 0 accepts any 2xx.
func (d *demo) scim(ctx context.Context, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, d.scimURL+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+d.scimToken)
	req.Header.Set("Content-Type", "application/scim+json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, _ := io.ReadAll(resp.Body)
	if (want != 0 && resp.StatusCode != want) || resp.StatusCode/100 != 2 {
		return fmt.Errorf("SCIM %s %s: %s: %s", method, path, resp.Status, data)
	}
	if out != nil {
		return json.Unmarshal(data, out)
	}
	return nil
}

// printConfluence lists the users and groups the emulator holds, through
// the same REST API a real Confluence Data Center answers.
func (d *demo) printConfluence(ctx context.Context) error {
	type person struct {
		Username    string `json:"username"`
		DisplayName string `json:"displayName"`
		Email       string `json:"email"`
		Status      any    `json:"status"`
	}
	var users []person
	if err := d.pages(ctx, "/rest/api/user/list?expand=status", func(raw json.RawMessage) error {
		var p person
		if err := json.Unmarshal(raw, &p); err != nil {
			return err
		}
		users = append(users, p)
		return nil
	}); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "  Users (%d):\n", len(users))
	for _, u := range users {
		status := fmt.Sprint(u.Status)
		if m, ok := u.Status.(map[string]any); ok {
			status = fmt.Sprint(m["value"])
		}
		fmt.Fprintf(d.out, "    %-16s %-16s %-30s %s\n", u.Username, u.DisplayName, u.Email, status)
	}
	var groups []string
	if err := d.pages(ctx, "/rest/api/group", func(raw json.RawMessage) error {
		var g struct {
			Name string `json:"name"`
		}
		if err := json.Unmarshal(raw, &g); err != nil {
			return err
		}
		groups = append(groups, g.Name)
		return nil
	}); err != nil {
		return err
	}
	sort.Strings(groups)
	fmt.Fprintf(d.out, "  Groups (%d):\n", len(groups))
	for _, g := range groups {
		var members []string
		if err := d.pages(ctx, "/rest/api/group/"+url.PathEscape(g)+"/member", func(raw json.RawMessage) error {
			var p person
			if err := json.Unmarshal(raw, &p); err != nil {
				return err
			}
			members = append(members, p.Username)
			return nil
		}); err != nil {
			return err
		}
		sort.Strings(members)
		fmt.Fprintf(d.out, "    %-26s %2d: %s\n", g, len(members), strings.Join(members, ", "))
	}
	return nil
}

// pages walks a paged Confluence list.
func (d *demo) pages(ctx context.Context, path string, fn func(json.RawMessage) error) error {
	sep := "?"
	if strings.Contains(path, "?") {
		sep = "&"
	}
	for start := 0; ; {
		req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s%s%sstart=%d&limit=100", d.emuURL, path, sep, start), nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", "Bearer "+d.emuToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return err
		}
		var page struct {
			Results []json.RawMessage `json:"results"`
			Size    int               `json:"size"`
			Links   map[string]any    `json:"_links"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err != nil {
			return fmt.Errorf("GET %s: %w", path, err)
		}
		for _, r := range page.Results {
			if err := fn(r); err != nil {
				return err
			}
		}
		if _, more := page.Links["next"]; !more || len(page.Results) == 0 {
			return nil
		}
		start += len(page.Results)
	}
}

func (d *demo) step(s string) { fmt.Fprintf(d.out, "\n==> %s\n", s) }

func (d *demo) env() []string {
	return append(append(os.Environ(), "DEMO_CONFLUENCE_TOKEN="+d.emuToken, "NO_COLOR=", "CONFLUENCE_EMULATOR_ADMIN_TOKEN="+d.emuToken), d.extraEnv...)
}

// start runs a background process with its output in dir/logName.
func (d *demo) start(logName, name string, args ...string) error {
	log, err := os.Create(filepath.Join(d.dir, logName))
	if err != nil {
		return err
	}
	cmd := exec.Command(name, args...)
	cmd.Stdout, cmd.Stderr, cmd.Env, cmd.Dir = log, log, d.env(), d.dir
	if err := cmd.Start(); err != nil {
		log.Close()
		return fmt.Errorf("start %s: %w", filepath.Base(name), err)
	}
	d.procs = append(d.procs, cmd)
	return nil
}

// stopAll stops what start started, newest first: SIGINT, then SIGKILL
// after a grace period.
func (d *demo) stopAll() {
	for i := len(d.procs) - 1; i >= 0; i-- {
		cmd := d.procs[i]
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
	}
	d.procs = nil
}

// confsync runs a confsync command against the demo configuration, its
// output going to the demo's.
func (d *demo) confsync(ctx context.Context, args ...string) error {
	cmd := exec.CommandContext(ctx, filepath.Join(d.bin, "confsync"), append(args, "--config", d.dir)...)
	cmd.Stdout, cmd.Stderr, cmd.Env = prefixWriter{d.out}, prefixWriter{d.out}, d.env()
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("confsync %s: %w", strings.Join(args, " "), err)
	}
	return nil
}

func (d *demo) confsyncOutput(ctx context.Context, args ...string) (string, error) {
	cmd := exec.CommandContext(ctx, filepath.Join(d.bin, "confsync"), append(args, "--config", d.dir)...)
	var stderr bytes.Buffer
	cmd.Stderr, cmd.Env = &stderr, d.env()
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("confsync %s: %w: %s", strings.Join(args, " "), err, stderr.String())
	}
	return string(out), nil
}

// prefixWriter indents a command's output under the demo's steps.
type prefixWriter struct{ w io.Writer }

func (p prefixWriter) Write(b []byte) (int, error) {
	sc := bufio.NewScanner(bytes.NewReader(b))
	var out bytes.Buffer
	for sc.Scan() {
		out.WriteString("  " + sc.Text() + "\n")
	}
	if _, err := p.w.Write(out.Bytes()); err != nil {
		return 0, err
	}
	return len(b), nil
}

func indent(s string) string {
	var b strings.Builder
	for _, l := range strings.Split(strings.TrimRight(s, "\n"), "\n") {
		b.WriteString("  " + l + "\n")
	}
	return b.String()
}

// freePort asks the kernel for a free local port.
func freePort() (string, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer l.Close()
	_, port, err := net.SplitHostPort(l.Addr().String())
	return port, err
}

// waitHTTP polls url until it answers 200 or 30 seconds pass.
func waitHTTP(ctx context.Context, url, auth string) error {
	deadline := time.Now().Add(30 * time.Second)
	var last error
	for time.Now().Before(deadline) {
		req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
		if err != nil {
			return err
		}
		req.Header.Set("Authorization", auth)
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
			last = errors.New(resp.Status)
		} else {
			last = err
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return last
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
