package main

import (
	"strings"
	"testing"
)

// TestApplyHint: the apply command repeats --config and the variable flags
// in order, a --var by name only, quoted for a POSIX shell.
func TestApplyHint(t *testing.T) {
	for _, tc := range []struct {
		name string
		ro   rootOptions
		file string
		want string
	}{
		{"bare", rootOptions{}, "p.plan", "confsync apply p.plan"},
		{"config", rootOptions{configPath: "/etc/confsync"}, "p.plan", "confsync apply --config /etc/confsync p.plan"},
		{"order kept, values never", rootOptions{configPath: "conf", varArgs: []varArg{
			{s: "token=hunter2"}, {file: true, s: "prod.vars.hcl"}, {s: " url =https://x"}}},
			"out.plan", "confsync apply --config conf --var token=... --var-file prod.vars.hcl --var url=... out.plan"},
		{"quoted", rootOptions{configPath: "my conf", varArgs: []varArg{{file: true, s: "it's.vars.hcl"}}},
			"a plan", `confsync apply --config 'my conf' --var-file 'it'\''s.vars.hcl' 'a plan'`},
		{"shell metacharacters", rootOptions{varArgs: []varArg{{file: true, s: "$(rm -rf ~).hcl"}}}, "p;x",
			`confsync apply --var-file '$(rm -rf ~).hcl' 'p;x'`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _, _ := strings.Cut(applyHint(&tc.ro, tc.file), "\n")
			if got != tc.want {
				t.Errorf("got  %s\nwant %s", got, tc.want)
			}
			if strings.Contains(got, "hunter2") || strings.Contains(got, "https://x") {
				t.Errorf("a value was printed: %s", got)
			}
		})
	}
}
