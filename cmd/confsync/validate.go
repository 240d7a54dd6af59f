package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"
)

// validateOptions are the inputs of confsync validate.
type validateOptions struct {
	root   *rootOptions
	stdout io.Writer
	stderr io.Writer
}

func newValidateCmd(ro *rootOptions) *cobra.Command {
	return &cobra.Command{
		Use:   "validate",
		Short: "Check the configuration, without contacting anything",
		Long: `Validate reads the configuration (--config, else $CONFSYNC_CONFIG, else the
current directory) and reports every problem it finds, with its position.
It checks syntax, types, values and the consistency of the blocks; it does
not contact Confluence, the directory or the store.

Exit status: 0 when the configuration is valid (warnings allowed), 1 otherwise.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runValidate(cmd.Context(), validateOptions{root: ro, stdout: cmd.OutOrStdout(), stderr: cmd.ErrOrStderr()})
		},
	}
}

// runValidate loads the configuration; loadConfig prints the diagnostics.
func runValidate(_ context.Context, opts validateOptions) error {
	_, diags, err := loadConfigDiags(opts.root, opts.stderr)
	if err != nil {
		return err
	}
	if len(diags) > 0 {
		fmt.Fprintln(opts.stdout, "Success! The configuration is valid, but there were some warnings as shown above.")
		return nil
	}
	fmt.Fprintln(opts.stdout, "Success! The configuration is valid.")
	return nil
}
