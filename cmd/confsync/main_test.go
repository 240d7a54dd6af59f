package main

import (
	"errors"
	"flag"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/rogpeppe/go-internal/testscript"
)

// update rewrites golden files and testscript expectations instead of
// comparing with them. Every test of this package shares this one flag.
var update = flag.Bool("update", false, "rewrite golden files and testscript expectations")

// commands are the programs testscript scripts can exec. Add a command
// here, once, when a script needs another program of ours.
var commands = map[string]func(){
	"confsync": func() { os.Exit(run()) },
}

func TestMain(m *testing.M) {
	testscript.Main(m, commands)
}

// TestScripts runs every testdata/script/*.txtar: each is a small shell
// session against the real confsync binary. Refresh expected output with
// go test -run TestScripts -update.
func TestScripts(t *testing.T) {
	testscript.Run(t, testscript.Params{
		Dir:                 filepath.Join("testdata", "script"),
		RequireExplicitExec: false,
		UpdateScripts:       *update,
		Cmds:                scriptCmds,
		Setup: func(env *testscript.Env) error {
			// Hermetic: nothing from the developer's environment leaks in.
			env.Setenv("HOME", filepath.Join(env.WorkDir, "home"))
			env.Setenv("NO_COLOR", "1")
			env.Setenv("CONFSYNC_CONFIG", "")
			env.Setenv("EXAMPLES", examplesDir(t))
			return os.MkdirAll(filepath.Join(env.WorkDir, "home"), 0o755)
		},
	})
}

// scriptCmds are the extra script commands:
//
//	status N PROGRAM [ARGS...]   run PROGRAM and expect exit status N
//
// (exec only distinguishes success from failure; fmt --check exits 3).
var scriptCmds = map[string]func(ts *testscript.TestScript, neg bool, args []string){
	"status": func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) < 2 {
			ts.Fatalf("usage: status N program [args...]")
		}
		want, err := strconv.Atoi(args[0])
		if err != nil {
			ts.Fatalf("status: %v", err)
		}
		got := 0
		if err := ts.Exec(args[1], args[2:]...); err != nil {
			var ee *exec.ExitError
			if !errors.As(err, &ee) {
				ts.Fatalf("status: %v", err)
			}
			got = ee.ExitCode()
		}
		if got != want {
			ts.Fatalf("exit status %d, want %d", got, want)
		}
	},
}

// examplesDir is the repository's examples directory, so that scripts can
// validate the shipped examples.
func examplesDir(t *testing.T) string {
	dir, err := filepath.Abs(filepath.Join("..", "..", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	return dir
}
