package main

import (
	"fmt"
	"io"
	"log/slog"

	"github.com/spf13/cobra"
)

// rootOptions are the flags every command shares.
type rootOptions struct {
	// configPath is --config, else CONFSYNC_CONFIG, else ".".
	configPath string
	// varArgs are the --var NAME=VALUE and --var-file FILE flags, in the
	// order given, which is their order of precedence.
	varArgs []varArg
	// logLevel is --log-level.
	logLevel string
}

func newRootCmd() *cobra.Command {
	ro := &rootOptions{}
	cmd := &cobra.Command{
		Use:           "confsync",
		Short:         "Provision users and groups into Confluence Data Center, as code",
		SilenceUsage:  true,
		SilenceErrors: true,
		Version:       currentVersion().String(),
	}
	cmd.SetVersionTemplate("{{.Version}}\n")
	cmd.PersistentFlags().StringVar(&ro.configPath, "config", "", "configuration file or directory (default $CONFSYNC_CONFIG, else the current directory)")
	cmd.PersistentFlags().Var(&varFlag{args: &ro.varArgs}, "var", "set a variable, `NAME=VALUE` (repeatable; a later --var or --var-file wins)")
	cmd.PersistentFlags().Var(&varFlag{args: &ro.varArgs, file: true}, "var-file", "set variables from an HCL `FILE` of NAME = VALUE lines (repeatable)")
	cmd.PersistentFlags().StringVar(&ro.logLevel, "log-level", "info", "log level: debug, info, warn, error")

	cmd.AddCommand(
		newVersionCmd(),
		newValidateCmd(ro),
		newFmtCmd(ro),
		newLDAPCmd(ro),
		newSourceCmd(ro),
		newTokenCmd(ro),
		newStatusCmd(ro),
		newHistoryCmd(ro),
		newServeCmd(ro),
		newPlanCmd(ro), newRollbackCmd(ro), newShowCmd(), newApplyCmd(ro), newForceUnlockCmd(ro),
		newStateCmd(ro), newImportCmd(ro), newHealthcheckCmd(ro),
	)
	return cmd
}

// logger returns a logger on w at --log-level: JSON lines for serve, which
// runs as a service, text for the commands people run by hand.
func (ro *rootOptions) logger(w io.Writer, json bool) (*slog.Logger, error) {
	var level slog.Level
	if err := level.UnmarshalText([]byte(ro.logLevel)); err != nil {
		return nil, &exitError{code: 1, err: fmt.Errorf("invalid --log-level %q: use debug, info, warn or error", ro.logLevel)}
	}
	opts := &slog.HandlerOptions{Level: level}
	if json {
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return slog.New(slog.NewTextHandler(w, opts)), nil
}
