package sqlstore

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/confsync/confsync/providers/store"
)

// crashDBEnv names the database the crash child writes to; when it is set
// the test binary is the child.
const crashDBEnv = "CONFSYNC_SQLSTORE_CRASH_DB"

// TestCrashChild is the writer TestKill9LosesNoAcknowledgedWrite kills. It
// writes users from several goroutines and prints "ack ID" after each
// write returns, which is the moment the store promises durability.
func TestCrashChild(t *testing.T) {
	path := os.Getenv(crashDBEnv)
	if path == "" {
		t.Skip("run by TestKill9LosesNoAcknowledgedWrite")
	}
	ctx := context.Background()
	s, err := OpenSQLite(ctx, path, nil)
	if err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	g := &store.Group{IDP: "entra", DisplayName: "everyone"}
	if err := s.CreateGroup(ctx, g, nil); err != nil {
		fmt.Println("error", err)
		os.Exit(1)
	}
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				u := &store.User{IDP: "entra", UserName: fmt.Sprintf("w%d-user%07d", w, i), Active: true}
				if err := s.CreateUser(ctx, u); err != nil {
					fmt.Println("error", err)
					os.Exit(1)
				}
				if err := s.AddMembers(ctx, "entra", g.ID, []store.Member{{ID: u.ID, Type: "User"}}); err != nil {
					fmt.Println("error", err)
					os.Exit(1)
				}
				mu.Lock()
				// One write(2) per line: once it returns, the parent can read
				// it even if this process dies the next instant.
				fmt.Fprintf(os.Stdout, "ack %s %s\n", g.ID, u.ID)
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// TestKill9LosesNoAcknowledgedWrite kills a writer with SIGKILL in the
// middle of its load, reopens the database and checks that every write the
// writer saw acknowledged is there.
func TestKill9LosesNoAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	path := filepath.Join(t.TempDir(), "crash.db")
	cmd := exec.Command(os.Args[0], "-test.run=^TestCrashChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), crashDBEnv+"="+path)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	type ack struct{ group, user string }
	var acks []ack
	sc := bufio.NewScanner(out)
	killed := false
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, "error") {
			t.Fatalf("child: %s", line)
		}
		f := strings.Fields(line)
		if len(f) != 3 || f[0] != "ack" {
			continue // the testing package's own output
		}
		acks = append(acks, ack{f[1], f[2]})
		if len(acks) == 300 && !killed {
			if err := cmd.Process.Signal(syscall.SIGKILL); err != nil {
				t.Fatal(err)
			}
			killed = true
		}
	}
	// Lines written before the kill are still in the pipe: they were
	// acknowledged too, and the loop above has read them.
	err = cmd.Wait()
	if !killed {
		t.Fatalf("child ended after %d acks before it was killed: %v", len(acks), err)
	}
	t.Logf("%d writes acknowledged before SIGKILL", len(acks))

	s, err := OpenSQLite(t.Context(), path, nil)
	if err != nil {
		t.Fatalf("reopen after kill: %v", err)
	}
	defer s.Close()
	ctx := t.Context()
	lost := 0
	for _, a := range acks {
		if _, err := s.GetUser(ctx, "entra", a.user); err != nil {
			lost++
			t.Errorf("acknowledged user %s lost: %v", a.user, err)
		}
	}
	groups, err := s.GroupsOf(ctx, "entra", acks[0].user)
	if err != nil || len(groups) != 1 {
		t.Errorf("acknowledged membership lost: %v %v", groups, err)
	}
	members, err := s.ListMembers(ctx, "entra", acks[0].group, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	if len(members) < len(acks) {
		t.Errorf("%d members after the crash, %d acknowledged", len(members), len(acks))
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged writes lost", lost, len(acks))
	}
	// The change journal was written in the same transactions: every
	// acknowledged user is pending.
	pending, err := s.Pending(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	touched := map[string]bool{}
	for _, id := range pending["entra"].Users {
		touched[id] = true
	}
	for _, a := range acks {
		if !touched[a.user] {
			t.Errorf("acknowledged user %s is not in the change journal", a.user)
		}
	}
}
