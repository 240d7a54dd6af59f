package main

import (
	"encoding/json"

	"github.com/rogpeppe/go-internal/testscript"
)

// The rollback script (testdata/script/rollback.txtar) needs a run id as
// an argument; a script cannot read one into a variable, so:
//
//	lastrun VAR   set $VAR to the newest run's id in the history --json on stdout
func init() {
	scriptCmds["lastrun"] = func(ts *testscript.TestScript, neg bool, args []string) {
		if neg || len(args) != 1 {
			ts.Fatalf("usage: lastrun VAR")
		}
		var h struct {
			Runs []struct {
				ID string `json:"id"`
			} `json:"runs"`
		}
		if err := json.Unmarshal([]byte(ts.ReadFile("stdout")), &h); err != nil {
			ts.Fatalf("lastrun: %v", err)
		}
		if len(h.Runs) == 0 {
			ts.Fatalf("lastrun: no runs in the history")
		}
		ts.Setenv(args[0], h.Runs[0].ID)
	}
}
