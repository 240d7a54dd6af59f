package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"
)

// unlockOptions are the flags of confsync force-unlock.
type unlockOptions struct {
	ro             *rootOptions
	stdout, stderr io.Writer
}

func newForceUnlockCmd(ro *rootOptions) *cobra.Command {
	opts := &unlockOptions{ro: ro}
	return &cobra.Command{
		Use:   "force-unlock",
		Short: "Release the apply lock whoever holds it",
		Long: `Releases the apply lock kept in the store. Use it only when the run that
holds it is dead (a killed process, a lost machine): two applies at once can
race each other's changes. A live apply renews its lock, and a dead one's
lock expires by itself after a few minutes.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runForceUnlock(cmd.Context(), opts)
		},
	}
}

func runForceUnlock(ctx context.Context, opts *unlockOptions) error {
	cfg, err := loadConfig(opts.ro, opts.stderr)
	if err != nil {
		return err
	}
	st, err := openCommandStore(ctx, opts.ro, opts.stderr, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	l, err := st.Lock(ctx)
	if err != nil {
		return fmt.Errorf("read the apply lock: %w", err)
	}
	if l == nil {
		fmt.Fprintln(opts.stdout, "The apply lock is not held.")
		return nil
	}
	if err := st.ForceUnlock(ctx); err != nil {
		return fmt.Errorf("release the apply lock: %w", err)
	}
	fmt.Fprintf(opts.stdout, "Released the apply lock held by %s (it would have expired at %s).\n", l.Holder, l.Expires.UTC().Format(time.RFC3339))
	return nil
}
