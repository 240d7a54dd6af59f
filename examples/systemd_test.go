// Package examples holds the shipped example configurations and deployment
// files; its tests check the deployment files with the tools that consume
// them (systemd-analyze, Kubernetes' API types, actionlint).
package examples

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// requireTool finds a program the test needs. Where CI has set the
// variable (.ci/run), a missing program fails the test; elsewhere it skips.
func requireTool(t *testing.T, name, env string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	if os.Getenv(env) != "" {
		t.Fatalf("%s is required (%s is set) but not found: %v", name, env, err)
	}
	t.Skipf("%s not found (install Debian's systemd package; set %s=1 to make this a failure)", name, env)
	return ""
}

// TestSystemdUnit checks examples/systemd/confsync.service with
// systemd-analyze verify (no warnings at all: systemd ignores unknown or
// misspelt settings with only a warning) and its sandboxing with
// systemd-analyze security. verify needs ExecStart's program to exist, so
// the unit is checked with the path of this test binary in its place.
func TestSystemdUnit(t *testing.T) {
	analyze := requireTool(t, "systemd-analyze", "CONFSYNC_REQUIRE_SYSTEMD")
	src, err := os.ReadFile(filepath.Join("systemd", "confsync.service"))
	if err != nil {
		t.Fatal(err)
	}
	unit := string(src)
	for _, want := range []string{
		"ExecStart=/usr/local/bin/confsync serve\n", "ExecReload=/bin/kill -HUP $MAINPID\n", "User=confsync\n",
		"NoNewPrivileges=yes\n", "ProtectSystem=strict\n", "StateDirectory=confsync\n", "CapabilityBoundingSet=\n",
	} {
		if !strings.Contains(unit, want) {
			t.Errorf("the unit lacks %q", want)
		}
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	path := filepath.Join(dir, "confsync.service")
	unit = strings.Replace(unit, "ExecStart=/usr/local/bin/confsync", "ExecStart="+self, 1)
	if err := os.WriteFile(path, []byte(unit), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(analyze, "verify", path).CombinedOutput()
	if err != nil || len(out) > 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
	// The exposure score (0 safest, 10 unsandboxed) must stay at 2.0 or
	// below; --threshold is in tenths.
	out, err = exec.Command(analyze, "security", "--offline=yes", "--threshold=20", path).CombinedOutput()
	if err != nil {
		t.Errorf("systemd-analyze security: %v\n%s", err, out)
	}
	t.Logf("%s", lastLine(out))
}

func lastLine(b []byte) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return lines[len(lines)-1]
}
