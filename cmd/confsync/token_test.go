package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/confsync/confsync/providers/store/sqlstore"
)

// runConfsync runs the command line in-process and returns its output.
func runConfsync(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	cmd := newRootCmd()
	var out, errOut bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&errOut)
	cmd.SetArgs(args)
	err = cmd.ExecuteContext(context.Background())
	return out.String(), errOut.String(), err
}

// TestTokenKeepsOnlyTheHash creates, uses and revokes a token, and checks
// that the token itself is written nowhere in the database.
func TestTokenKeepsOnlyTheHash(t *testing.T) {
	dir := t.TempDir()
	conf := `confluence {
  url   = "https://confluence.example.com"
  token = "x"
}
idp "entra" {
  scim {}
}
`
	if err := os.WriteFile(filepath.Join(dir, "main.hcl"), []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	stdout, _, err := runConfsync(t, "token", "create", "--config", dir, "--idp", "entra", "--log-level", "error")
	if err != nil {
		t.Fatal(err)
	}
	token := strings.TrimSpace(stdout)
	if !regexp.MustCompile(`^cst_[A-Za-z0-9_-]{43}$`).MatchString(token) {
		t.Fatalf("token %q is not cst_ and 32 random bytes", token)
	}

	dbPath := filepath.Join(dir, "confsync.db")
	st, err := sqlstore.OpenSQLite(t.Context(), dbPath, nil)
	if err != nil {
		t.Fatal(err)
	}
	hashes, err := st.TokenHashes(t.Context(), "entra")
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	if len(hashes) != 1 || hashes[0] != fmt.Sprintf("%x", sha256.Sum256([]byte(token))) {
		t.Fatalf("stored hashes %v, want the SHA-256 of the printed token", hashes)
	}
	secret := strings.TrimPrefix(token, tokenPrefix)
	for _, f := range []string{dbPath, dbPath + "-wal"} {
		b, err := os.ReadFile(f)
		if err != nil && !os.IsNotExist(err) {
			t.Fatal(err)
		}
		if bytes.Contains(b, []byte(secret)) {
			t.Errorf("%s holds the token itself", filepath.Base(f))
		}
	}

	stdout, _, err = runConfsync(t, "token", "list", "--config", dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(stdout, secret) {
		t.Error("token list shows the token")
	}
	id := regexp.MustCompile(`tok_[0-9a-f]{12}`).FindString(stdout)
	if id == "" {
		t.Fatalf("no token id in list output:\n%s", stdout)
	}
	stdout, _, err = runConfsync(t, "token", "revoke", "--config", dir, id)
	if err != nil {
		t.Fatal(err)
	}
	if want := "Revoked token " + id + ` of IdP "entra".`; strings.TrimSpace(stdout) != want {
		t.Errorf("revoke printed %q, want %q", stdout, want)
	}
	stdout, _, err = runConfsync(t, "token", "list", "--config", dir)
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(stdout) != "No tokens." {
		t.Errorf("after revoke, list printed %q", stdout)
	}
}
