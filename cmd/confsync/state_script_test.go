package main

import (
	"context"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/confsync/confsync/plan"
)

func init() {
	commands["confsync-lock"] = func() { os.Exit(lockCmd(os.Args[1:])) }
}

// lockCmd takes the apply lock of the configuration in its argument as
// another holder ("another-run") for ten minutes, as a running apply would.
func lockCmd(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: confsync-lock CONFIG")
		return 2
	}
	ctx := context.Background()
	ro := &rootOptions{configPath: args[0], logLevel: "error"}
	cfg, err := loadConfig(ro, os.Stderr)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	st, err := openStore(ctx, cfg, nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer st.Close()
	if err := st.AcquireLock(ctx, "another-run", 10*time.Minute); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func TestParseAddress(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want address
		err  string
	}{
		{in: "user.entra.alice@example.com", want: address{kind: plan.KindUser, idp: "entra", key: "alice@example.com"}},
		{in: "group.ldap.Engineering", want: address{kind: plan.KindGroup, idp: "ldap", key: "Engineering"}},
		{in: "user.entra", err: `invalid address "user.entra": it needs an IdP name and a key`},
		{in: "user..x", err: "it needs an IdP name and a key"},
		{in: "member.entra.x", err: "it starts with member, not user or group"},
		{in: "alice", err: "no dot"},
	} {
		got, err := parseAddress(tc.in)
		if tc.err != "" {
			if err == nil || !strings.Contains(err.Error(), tc.err) {
				t.Errorf("parseAddress(%q) error %v, want %q", tc.in, err, tc.err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("parseAddress(%q) = %+v, %v; want %+v", tc.in, got, err, tc.want)
		}
	}
}

func TestFindUserByIDThenUsername(t *testing.T) {
	o := &plan.Ownership{Users: []plan.ManagedUser{
		{Username: "alice", IDP: "entra", SourceID: "id-1"},
		{Username: "id-1", IDP: "entra", SourceID: "id-2"},
		{Username: "bob", IDP: "okta", SourceID: "id-3"},
	}}
	for key, want := range map[string]string{"id-1": "alice", "ALICE": "alice", "id-2": "id-1"} {
		u, ok := findUser(o, address{kind: plan.KindUser, idp: "entra", key: key})
		if !ok || u.Username != want {
			t.Errorf("findUser(%q) = %q, %t; want %q", key, u.Username, ok, want)
		}
	}
	if _, ok := findUser(o, address{kind: plan.KindUser, idp: "entra", key: "bob"}); ok {
		t.Error("findUser found okta's bob under entra")
	}
}
