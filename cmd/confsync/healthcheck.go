package main

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/spf13/cobra"
)

// healthcheckOptions are the flags of confsync healthcheck.
type healthcheckOptions struct {
	ro      *rootOptions
	url     string
	timeout time.Duration
	stdout  io.Writer
	stderr  io.Writer
}

func newHealthcheckCmd(ro *rootOptions) *cobra.Command {
	opts := &healthcheckOptions{ro: ro}
	cmd := &cobra.Command{
		Use:   "healthcheck",
		Short: "Probe a local confsync serve's /healthz (for container healthchecks)",
		Long: `Requests /healthz from the confsync serve on this machine and exits 0 when it
answers 200, 1 otherwise. The address comes from server.listen (a wildcard
host is probed on loopback) and the scheme from whether TLS is configured.
It exists because the container image has no shell and no curl: the image's
healthcheck runs it. Over TLS the certificate is not verified, since the
probe only asks whether the local process answers, not who it is.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runHealthcheck(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.url, "url", "", "probe this `URL` instead of the one server.listen gives")
	cmd.Flags().DurationVar(&opts.timeout, "timeout", 5*time.Second, "give up after this long")
	return cmd
}

func runHealthcheck(ctx context.Context, opts *healthcheckOptions) error {
	url := opts.url
	if url == "" {
		cfg, err := loadConfig(opts.ro, opts.stderr)
		if err != nil {
			return err
		}
		host, port, err := net.SplitHostPort(cfg.Server.Listen)
		if err != nil {
			return fmt.Errorf("server.listen %q: %w", cfg.Server.Listen, err)
		}
		if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
			host = "127.0.0.1"
		}
		scheme := "http"
		if cfg.Server.TLSCert != "" {
			scheme = "https"
		}
		url = scheme + "://" + net.JoinHostPort(host, port) + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, opts.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("healthcheck: %w", err)}
	}
	client := &http.Client{Transport: &http.Transport{
		// A liveness probe of the local process: see the command's help.
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec
	}}
	res, err := client.Do(req)
	if err != nil {
		return &exitError{code: 1, err: fmt.Errorf("healthcheck: %w", err)}
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return &exitError{code: 1, err: fmt.Errorf("healthcheck: %s answered %s", url, res.Status)}
	}
	fmt.Fprintf(opts.stdout, "%s: ok\n", url)
	return nil
}
