package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// These are set by make build with -ldflags "-X main.revision=..." and so
// on, from git. Where one is empty, confsync version reads the build
// information the go command records in the binary (from go.mod and, unless
// -buildvcs=false, the VCS).
var (
	version      = "" // git describe --tags, when the repository has tags
	revision     = "" // git rev-parse HEAD
	revisionTime = "" // the commit time, RFC 3339
	modified     = "" // "true" when the work tree had uncommitted changes
)

// buildVersion says which code a binary was built from.
type buildVersion struct {
	Version   string // a release or pseudo-version; "(devel)" when not known
	Module    string // the main module's path
	Revision  string // the VCS revision; "" when not known
	Time      string // the revision's commit time, RFC 3339
	Modified  bool   // the work tree had uncommitted changes
	GoVersion string
	Platform  string
}

// readBuildVersion combines the values set by -ldflags with the build
// information, which the go command records from go.mod and the VCS.
func readBuildVersion(info *debug.BuildInfo, ld buildVersion) buildVersion {
	b := ld
	b.GoVersion, b.Platform = runtime.Version(), runtime.GOOS+"/"+runtime.GOARCH
	if info != nil {
		b.Module = info.Main.Path
		if b.Version == "" && info.Main.Version != "" {
			b.Version = info.Main.Version
		}
		if info.GoVersion != "" {
			b.GoVersion = info.GoVersion
		}
		for _, s := range info.Settings {
			switch s.Key {
			case "vcs.revision":
				if ld.Revision == "" {
					b.Revision = s.Value
				}
			case "vcs.time":
				if ld.Revision == "" {
					b.Time = s.Value
				}
			case "vcs.modified":
				if ld.Revision == "" {
					b.Modified = s.Value == "true"
				}
			}
		}
	}
	if b.Version == "" {
		b.Version = "(devel)"
	}
	if b.Module == "" {
		b.Module = "github.com/confsync/confsync"
	}
	return b
}

// String is what confsync version and confsync --version print.
func (b buildVersion) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "confsync %s\n", b.Version)
	fmt.Fprintf(&sb, "module %s\n", b.Module)
	switch {
	case b.Revision == "":
		sb.WriteString("revision unknown (built without version control information)\n")
	default:
		var notes []string
		if b.Time != "" {
			notes = append(notes, b.Time)
		}
		if b.Modified {
			notes = append(notes, "with uncommitted changes")
		}
		fmt.Fprintf(&sb, "revision %s", b.Revision)
		if len(notes) > 0 {
			fmt.Fprintf(&sb, " (%s)", strings.Join(notes, ", "))
		}
		sb.WriteString("\n")
	}
	fmt.Fprintf(&sb, "built with %s %s", b.GoVersion, b.Platform)
	return sb.String()
}

// currentVersion is this binary's version.
func currentVersion() buildVersion {
	info, _ := debug.ReadBuildInfo()
	return readBuildVersion(info, buildVersion{Version: version, Revision: revision, Time: revisionTime, Modified: modified == "true"})
}

func newVersionCmd() *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Print the confsync version, module and VCS revision",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			fmt.Fprintln(cmd.OutOrStdout(), currentVersion())
			return nil
		},
	}
}
