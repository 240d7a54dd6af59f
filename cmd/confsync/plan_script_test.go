package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/confsync/confsync/providers/confluence"
	"github.com/confsync/confsync/providers/confluence/emulator"
)

// Helper programs for the end-to-end scripts (testdata/script/plan_e2e_*):
// a Confluence emulator, a free port, a SCIM client and a dump of what
// Confluence holds. They talk real HTTP; files carry the addresses between
// them, since a script cannot read a file into a variable.
func init() {
	commands["confluence-emulator"] = func() { os.Exit(emulatorCmd(os.Args[1:])) }
	commands["freeport"] = func() { os.Exit(freePortCmd(os.Args[1:])) }
	commands["scimreq"] = func() { os.Exit(scimReqCmd(os.Args[1:])) }
	commands["confluence-dump"] = func() { os.Exit(confluenceDumpCmd(os.Args[1:])) }
	commands["confluence-edit"] = func() { os.Exit(confluenceEditCmd(os.Args[1:])) }
}

// scriptEmulatorToken is the emulated administrator's personal access token in
// the scripts.
const scriptEmulatorToken = "emulator-admin-token"

// emulatorCmd runs an emulator on a free port and writes its URL to the
// file named by its argument; it serves until interrupted.
func emulatorCmd(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: confluence-emulator URLFILE")
		return 2
	}
	srv, err := emulator.New(emulator.Options{AdminToken: scriptEmulatorToken})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := os.WriteFile(args[0], []byte("http://"+l.Addr().String()+"\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	hs := &http.Server{Handler: srv}
	go func() { <-ctx.Done(); hs.Close() }()
	if err := hs.Serve(l); err != nil && err != http.ErrServerClosed {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// freePortCmd writes "127.0.0.1:PORT" with a free port to a file.
func freePortCmd(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: freeport FILE")
		return 2
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	addr := l.Addr().String()
	l.Close()
	if err := os.WriteFile(args[0], []byte(addr+"\n"), 0o644); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

func readFirstLine(path string) (string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", err
	}
	line, _, _ := strings.Cut(string(data), "\n")
	return strings.TrimSpace(line), nil
}

// scimReqCmd sends one SCIM request to confsync serve:
//
//	scimreq ADDRFILE TOKENFILE METHOD PATH [BODYFILE]
//
// ADDRFILE holds serve's host:port, TOKENFILE the bearer token on its first
// line, PATH is relative to /scim/v2/. It waits up to 30 seconds for serve
// to come up, prints the answer's status and body, and fails on a non-2xx.
// "{id:NAME}" in PATH or the body is replaced by the id an earlier request
// saved in the file NAME.id (the answer's id is saved under -save NAME).
func scimReqCmd(args []string) int {
	save := ""
	if len(args) > 1 && args[0] == "-save" {
		save, args = args[1], args[2:]
	}
	if len(args) < 4 || len(args) > 5 {
		fmt.Fprintln(os.Stderr, "usage: scimreq [-save NAME] ADDRFILE TOKENFILE METHOD PATH [BODYFILE]")
		return 2
	}
	addr, err := readFirstLine(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	token, err := readFirstLine(args[1])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	method, path := args[2], substituteIDs(args[3])
	var body []byte
	if len(args) == 5 {
		if body, err = os.ReadFile(args[4]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		body = []byte(substituteIDs(string(body)))
	}
	var resp *http.Response
	deadline := time.Now().Add(30 * time.Second)
	for {
		req, _ := http.NewRequest(method, "http://"+addr+"/scim/v2/"+path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		req.Header.Set("Content-Type", "application/scim+json")
		resp, err = http.DefaultClient.Do(req)
		if err == nil || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	fmt.Printf("%d\n%s\n", resp.StatusCode, out.String())
	if save != "" {
		var v struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(out.Bytes(), &v); err != nil || v.ID == "" {
			fmt.Fprintln(os.Stderr, "no id in the answer")
			return 1
		}
		os.WriteFile(save+".id", []byte(v.ID), 0o644)
	}
	if resp.StatusCode/100 != 2 {
		return 1
	}
	return 0
}

func substituteIDs(s string) string {
	for {
		i := strings.Index(s, "{id:")
		if i < 0 {
			return s
		}
		j := strings.Index(s[i:], "}")
		if j < 0 {
			return s
		}
		id, _ := os.ReadFile(s[i+4:i+j] + ".id")
		s = s[:i] + strings.TrimSpace(string(id)) + s[i+j+1:]
	}
}

// confluenceDumpCmd prints what the Confluence at the URL in its argument
// file holds, read with confsync's REST client: one line per user, then
// one per group with its members.
func confluenceDumpCmd(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: confluence-dump URLFILE")
		return 2
	}
	c, err := scriptClient(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	a, err := c.Read(context.Background())
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	w := bufio.NewWriter(os.Stdout)
	defer w.Flush()
	for _, u := range a.Users {
		state := "active"
		if !u.Active {
			state = "disabled"
		}
		fmt.Fprintf(w, "user %s %q %s %s\n", u.Username, u.DisplayName, u.Email, state)
	}
	for _, g := range a.Groups {
		fmt.Fprintf(w, "group %s: %s\n", g.Name, strings.Join(g.Members, " "))
	}
	return 0
}

// confluenceEditCmd changes the Confluence at the URL in its argument file
// by hand, through its REST API as an administrator would:
//
//	confluence-edit URLFILE remove-member USER GROUP
//	confluence-edit URLFILE disable USER
func confluenceEditCmd(args []string) int {
	if len(args) < 3 {
		fmt.Fprintln(os.Stderr, "usage: confluence-edit URLFILE remove-member USER GROUP | disable USER")
		return 2
	}
	c, err := scriptClient(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	ctx := context.Background()
	switch {
	case args[1] == "remove-member" && len(args) == 4:
		err = c.RemoveMember(ctx, args[2], args[3])
	case args[1] == "disable" && len(args) == 3:
		err = c.DisableUser(ctx, args[2])
	default:
		fmt.Fprintln(os.Stderr, "usage: confluence-edit URLFILE remove-member USER GROUP | disable USER")
		return 2
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// scriptClient is the REST client of the emulator whose URL is the first
// line of urlFile, as its administrator.
func scriptClient(urlFile string) (*confluence.Client, error) {
	url, err := readFirstLine(urlFile)
	if err != nil {
		return nil, err
	}
	return confluence.New(confluence.Options{BaseURL: url, Token: scriptEmulatorToken})
}
