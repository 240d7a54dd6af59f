package main

import (
	"github.com/spf13/cobra"
)

// rootOptions are the flags every command shares.
type rootOptions struct {
	// configPath is --config, else CONFSYNC_CONFIG, else ".".
	configPath string
	// vars are --var NAME=VALUE settings.
	vars []string
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
	}
	cmd.PersistentFlags().StringVar(&ro.configPath, "config", "", "configuration file or directory (default $CONFSYNC_CONFIG, else the current directory)")
	cmd.PersistentFlags().StringArrayVar(&ro.vars, "var", nil, "set a variable, NAME=VALUE (repeatable)")
	cmd.PersistentFlags().StringVar(&ro.logLevel, "log-level", "info", "log level: debug, info, warn, error")

	cmd.AddCommand(
		newVersionCmd(),
		newValidateCmd(ro),
		newFmtCmd(ro),
		newLDAPCmd(ro),
		newTokenCmd(ro),
		newStatusCmd(ro),
		newHistoryCmd(ro),
		newServeCmd(ro),
		newPlanCmd(ro), newShowCmd(), newApplyCmd(ro), newForceUnlockCmd(ro),
	)
	return cmd
}
