package main

import (
	"bytes"
	"strings"
	"testing"
)

// The usage line of show reads as the docs write it.
func TestShowUsageLine(t *testing.T) {
	cmd := newRootCmd()
	var out bytes.Buffer
	cmd.SetOut(&out)
	cmd.SetErr(&out)
	cmd.SetArgs([]string{"show", "--help"})
	if err := cmd.Execute(); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "confsync show [--json | --format human|json|markdown] FILE\n") || strings.Contains(out.String(), "FILE [flags]") {
		t.Fatalf("show --help:\n%s", out.String())
	}
}
