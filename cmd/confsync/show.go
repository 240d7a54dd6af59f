package main

import (
	"context"
	"io"

	"github.com/confsync/confsync/plan/planfile"
	"github.com/confsync/confsync/plan/views"
	"github.com/spf13/cobra"
)

// showOptions are the flags of confsync show.
type showOptions struct {
	file   string
	json   bool
	format string
	stdout io.Writer
}

func newShowCmd() *cobra.Command {
	opts := &showOptions{}
	cmd := &cobra.Command{
		Use:   "show [--json | --format human|json|markdown] FILE",
		Short: "Show a plan saved with confsync plan --out",
		Long: `Renders a saved plan file, as plan printed it, as JSON, or as a GitHub
pull-request comment in Markdown (--format markdown). It reads neither
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
	cmd.Flags().BoolVar(&opts.json, "json", false, "print the plan as JSON (format_version 1.0); the same as --format json")
	cmd.Flags().StringVar(&opts.format, "format", "", "`FORMAT` of the plan: human (default), json, or markdown (a GitHub pull-request comment)")
	return cmd
}

func runShow(_ context.Context, opts *showOptions) error {
	format, err := views.ParseFormat(opts.format, opts.json)
	if err != nil {
		return &exitError{code: 1, err: err}
	}
	p, err := planfile.Read(opts.file)
	if err != nil {
		return err
	}
	return views.NewPlan(format, views.Streams{Out: opts.stdout}).Plan(p, false)
}
