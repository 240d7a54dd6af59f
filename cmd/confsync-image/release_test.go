package main

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

// TestMakeRelease runs the Makefile's release target for this machine's
// platform only (all four take minutes; `make release` builds them) and
// checks what it wrote: the binary, stamped with the version given, and
// a SHA-256 checksums file that matches it.
func TestMakeRelease(t *testing.T) {
	if testing.Short() {
		t.Skip("builds confsync")
	}
	makeBin, err := exec.LookPath("make")
	if err != nil {
		t.Fatalf("make is needed: %v", err)
	}
	dir := t.TempDir()
	platform := runtime.GOOS + "/" + runtime.GOARCH
	cmd := exec.Command(makeBin, "-C", filepath.Join("..", ".."), "release",
		"RELEASE_PLATFORMS="+platform, "RELEASE_DIR="+dir, "RELEASE_VERSION=v9.8.7-test")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make release: %v\n%s", err, out)
	}
	name := "confsync_v9.8.7-test_" + runtime.GOOS + "_" + runtime.GOARCH
	if runtime.GOOS == "windows" {
		name += ".exe"
	}
	bin := filepath.Join(dir, name)
	b, err := os.ReadFile(bin)
	if err != nil {
		t.Fatalf("make release wrote no %s: %v\n%s", name, err, out)
	}
	sum := sha256.Sum256(b)
	sums, err := os.ReadFile(filepath.Join(dir, "SHA256SUMS"))
	if err != nil {
		t.Fatal(err)
	}
	if want := hex.EncodeToString(sum[:]) + "  " + name + "\n"; string(sums) != want {
		t.Errorf("SHA256SUMS = %q, want %q", sums, want)
	}
	if runtime.GOOS == "linux" {
		if err := checkStatic(bin); err != nil {
			t.Error(err)
		}
	}
	v, err := exec.Command(bin, "version").Output()
	if err != nil || !strings.HasPrefix(string(v), "confsync v9.8.7-test\n") {
		t.Errorf("version of the release binary: %q %v", v, err)
	}
	// make release stamps the commit it was built from (this checkout's).
	if rev, err := exec.Command("git", "rev-parse", "HEAD").Output(); err == nil && !strings.Contains(string(v), "revision "+strings.TrimSpace(string(rev))) {
		t.Errorf("the release binary does not name revision %s: %q", strings.TrimSpace(string(rev)), v)
	}
}
