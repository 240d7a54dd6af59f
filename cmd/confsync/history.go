package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/confsync/confsync/plan/live/report"
	"github.com/confsync/confsync/plan/views"
)

// historyOptions are the flags of confsync history.
type historyOptions struct {
	root   *rootOptions
	limit  int
	json   bool
	stdout io.Writer
	stderr io.Writer
}

// maxHistory bounds --limit.
const maxHistory = 10000

func newHistoryCmd(ro *rootOptions) *cobra.Command {
	opts := &historyOptions{root: ro}
	cmd := &cobra.Command{
		Use:   "history",
		Short: "List past applies from the audit log, with their actions and results",
		Long: `History lists the applies kept in the store's audit log, newest first: when
each ran, what started it (cli, auto, reconcile), its outcome (applied,
partial, refused, error) and message, and every action with its result.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runHistory(cmd.Context(), opts)
		},
	}
	cmd.Flags().IntVar(&opts.limit, "limit", 20, "show at most this many runs")
	cmd.Flags().BoolVar(&opts.json, "json", false, "print the runs as JSON (format_version 1.0)")
	return cmd
}

func runHistory(ctx context.Context, opts *historyOptions) error {
	view := views.NewHistory(views.JSONFlag(opts.json), views.Streams{Out: opts.stdout, Err: opts.stderr})
	if opts.limit < 1 || opts.limit > maxHistory {
		return &exitError{code: 1, err: fmt.Errorf("--limit must be between 1 and %d", maxHistory)}
	}
	cfg, err := loadConfig(opts.root, opts.stderr)
	if err != nil {
		return err
	}
	st, err := openCommandStore(ctx, opts.root, opts.stderr, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	runs, err := st.Runs(ctx, opts.limit)
	if err != nil {
		return fmt.Errorf("read the audit log: %w", err)
	}
	return view.History(report.NewHistory(runs))
}
