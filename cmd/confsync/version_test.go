package main

import (
	"runtime/debug"
	"strings"
	"testing"
)

// TestBuildVersion: confsync version names the version and revision from
// -ldflags when make build set them, else from the build information, and
// says so plainly when neither knows the revision.
func TestBuildVersion(t *testing.T) {
	vcs := &debug.BuildInfo{
		GoVersion: "go1.26.8",
		Main:      debug.Module{Path: "github.com/confsync/confsync", Version: "v0.0.0-20261203062418-f3a10ac1b2c3+dirty"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "f3a10ac1b2c3d4e5f60718293a4b5c6d7e8f9012"},
			{Key: "vcs.time", Value: "2026-12-03T06:24:18Z"},
			{Key: "vcs.modified", Value: "true"},
		},
	}
	devel := &debug.BuildInfo{GoVersion: "go1.26.8", Main: debug.Module{Path: "github.com/confsync/confsync", Version: "(devel)"}}
	for _, tc := range []struct {
		name string
		info *debug.BuildInfo
		ld   buildVersion
		want []string
	}{
		{"build information", vcs, buildVersion{}, []string{
			"confsync v0.0.0-20261203062418-f3a10ac1b2c3+dirty\n",
			"module github.com/confsync/confsync\n",
			"revision f3a10ac1b2c3d4e5f60718293a4b5c6d7e8f9012 (2026-12-03T06:24:18Z, with uncommitted changes)\n",
			"built with go1.26.8 "}},
		{"ldflags win", vcs, buildVersion{Version: "v1.2.0", Revision: "0123456789abcdef", Time: "2026-12-01T10:00:00Z"}, []string{
			"confsync v1.2.0\n", "revision 0123456789abcdef (2026-12-01T10:00:00Z)\n"}},
		{"ldflags without a tag", devel, buildVersion{Revision: "0123456789abcdef", Modified: true}, []string{
			"confsync (devel)\n", "revision 0123456789abcdef (with uncommitted changes)\n"}},
		{"nothing known", devel, buildVersion{}, []string{
			"confsync (devel)\n", "module github.com/confsync/confsync\n", "revision unknown (built without version control information)\n"}},
		{"no build information", nil, buildVersion{}, []string{
			"confsync (devel)\n", "module github.com/confsync/confsync\n", "revision unknown"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := readBuildVersion(tc.info, tc.ld).String()
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("want %q in:\n%s", w, got)
				}
			}
			if strings.Contains(got, "dev\n") || strings.HasPrefix(got, "confsync dev") {
				t.Errorf("prints just dev:\n%s", got)
			}
		})
	}
}
