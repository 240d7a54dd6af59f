package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// startRun runs the command until the returned stop is called, and returns
// the base URL it printed.
func startRun(t *testing.T, args ...string) (string, func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		err := run(ctx, args, pw, io.Discard)
		pw.CloseWithError(io.EOF)
		done <- err
	}()
	line, err := bufio.NewReader(pr).ReadString('\n')
	if err != nil {
		cancel()
		t.Fatalf("no base URL printed: %v (%v)", err, <-done)
	}
	go io.Copy(io.Discard, pr)
	stop := func() error {
		cancel()
		select {
		case err := <-done:
			return err
		case <-time.After(time.Minute):
			t.Fatal("no shutdown")
			return nil
		}
	}
	return strings.TrimSpace(line), stop
}

func get(t *testing.T, url, token string) int {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func TestRunServesAndPersists(t *testing.T) {
	data := filepath.Join(t.TempDir(), "state.json")
	args := []string{"--listen", "127.0.0.1:0", "--admin-token", "tok", "--data", data, "--context-path", "/confluence"}
	base, stop := startRun(t, args...)
	if !strings.HasSuffix(base, "/confluence") {
		t.Errorf("base URL %q", base)
	}
	req, _ := http.NewRequest("POST", base+"/rest/api/admin/group", strings.NewReader(`{"type":"group","name":"kept"}`))
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("create group: %v %v", resp, err)
	}
	resp.Body.Close()
	if err := stop(); err != nil {
		t.Fatalf("shutdown: %v", err)
	}
	base, stop = startRun(t, args...)
	defer stop()
	if code := get(t, base+"/rest/api/group/kept", "tok"); code != 200 {
		t.Errorf("group after restart: %d", code)
	}
	if code := get(t, base+"/rest/api/user/current", "wrong"); code != 401 {
		t.Errorf("wrong token without anonymous access: %d", code)
	}
}

func TestFlagErrors(t *testing.T) {
	t.Setenv("CONFLUENCE_EMULATOR_ADMIN_TOKEN", "")
	t.Setenv("CONFLUENCE_EMULATOR_ADMIN_PASSWORD", "")
	for name, args := range map[string][]string{
		"no credentials": {"--listen", "127.0.0.1:0"},
		"bad rate":       {"--admin-token", "t", "--rate-limit", "fast"},
		"bad burst":      {"--admin-token", "t", "--rate-limit", "10/x"},
		"bad error rate": {"--admin-token", "t", "--error-rate", "2", "--listen", "127.0.0.1:0"},
		"extra argument": {"--admin-token", "t", "extra"},
		"unknown flag":   {"--nope"},
	} {
		if err := run(context.Background(), args, io.Discard, io.Discard); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// TestHelp: -h and --help print the flags and succeed, before the
// credentials check; an unknown flag still fails.
func TestHelp(t *testing.T) {
	for _, arg := range []string{"-h", "--help", "-help"} {
		var stderr strings.Builder
		if err := run(context.Background(), []string{arg}, io.Discard, &stderr); err != nil {
			t.Errorf("%s: %v", arg, err)
		}
		if !strings.Contains(stderr.String(), "-listen") || !strings.Contains(stderr.String(), "-admin-token") {
			t.Errorf("%s printed no usage:\n%s", arg, stderr.String())
		}
	}
	if err := run(context.Background(), []string{"--no-such-flag"}, io.Discard, io.Discard); err == nil {
		t.Error("an unknown flag succeeded")
	}
}
