package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/confsync/confsync/plan/live/report"
	"github.com/confsync/confsync/plan/views"
)

// statusOptions are the flags of confsync status.
type statusOptions struct {
	root   *rootOptions
	json   bool
	server string
	stdout io.Writer
	stderr io.Writer
}

func newStatusCmd(ro *rootOptions) *cobra.Command {
	opts := &statusOptions{root: ro}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each IdP's state, the apply lock and the last runs",
		Long: `Status reads the store and shows, for each IdP, what SCIM pushed into it,
the last read that reached Confluence and its source health as the last plan
saw it (healthy or not, the last complete read, the last failure and its
cause, the identities left out); who holds the apply lock; and the last
run of each trigger (auto: serve after SCIM changes, reconcile: serve's
periodic run, cli: confsync apply) with its outcome and why.

With --server, it also asks a running confsync serve replica for its live
state: whether it is applying, the SCIM changes it has seen but not yet
reconciled, and why a due reconcile waits.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runStatus(cmd.Context(), opts)
		},
	}
	cmd.Flags().BoolVar(&opts.json, "json", false, "print the status as JSON (format_version 1.1)")
	cmd.Flags().StringVar(&opts.server, "server", "", "base URL of a running confsync serve replica to ask for its live state, e.g. http://127.0.0.1:8080")
	return cmd
}

func runStatus(ctx context.Context, opts *statusOptions) error {
	view := views.NewStatus(views.JSONFlag(opts.json), views.Streams{Out: opts.stdout, Err: opts.stderr})
	cfg, err := loadConfig(opts.root, opts.stderr)
	if err != nil {
		return err
	}
	st, err := openCommandStore(ctx, opts.root, opts.stderr, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	s, err := report.Collect(ctx, cfg, st, time.Now())
	if err != nil {
		return err
	}
	var serveErr error
	if opts.server != "" {
		base := strings.TrimRight(opts.server, "/")
		if !strings.HasPrefix(base, "http://") && !strings.HasPrefix(base, "https://") {
			return &exitError{code: 1, err: errors.New("--server must be an http:// or https:// URL")}
		}
		fctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		s.Serve, serveErr = report.Fetch(fctx, http.DefaultClient, base)
	}
	if err := view.Status(s); err != nil {
		return err
	}
	if serveErr != nil {
		return fmt.Errorf("the store's status is above, but the serve replica did not answer: %w", serveErr)
	}
	return nil
}
