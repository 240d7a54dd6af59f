package main

import (
	"context"
	"io"

	"github.com/confsync/confsync/plan/planfile"
	"github.com/spf13/cobra"
)

// showOptions are the flags of confsync show.
type showOptions struct {
	file   string
	json   bool
	stdout io.Writer
}

func newShowCmd() *cobra.Command {
	opts := &showOptions{}
	cmd := &cobra.Command{
		Use:   "show [--json] FILE",
		Short: "Show a plan saved with confsync plan --out",
		Long: `Renders a saved plan file, as plan printed it or as JSON. It reads neither
the configuration nor Confluence: it shows what apply FILE would do if the
plan is still current.`,
		// The flag is in Use already; cobra would append "[flags]" after FILE.
		DisableFlagsInUseLine: true,
		Args:                  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.file, opts.stdout = args[0], cmd.OutOrStdout()
			return runShow(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print the plan as JSON (format_version 1.0)")
	return cmd
}

func runShow(_ context.Context, opts *showOptions) error {
	p, err := planfile.Read(opts.file)
	if err != nil {
		return err
	}
	return renderPlan(opts.stdout, p, opts.json, false)
}
