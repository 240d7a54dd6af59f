package main

import (
	"fmt"
	"os"
	"time"
)

// waitfile FILE waits up to 30 seconds for a background helper (the
// emulator) to write FILE, so that a script does not race it.
func init() {
	commands["waitfile"] = func() { os.Exit(waitFileCmd(os.Args[1:])) }
}

func waitFileCmd(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: waitfile FILE")
		return 2
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if fi, err := os.Stat(args[0]); err == nil && fi.Size() > 0 {
			return 0
		}
	}
	fmt.Fprintf(os.Stderr, "%s was not written within 30 seconds\n", args[0])
	return 1
}
