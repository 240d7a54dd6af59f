package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/providers/scim"
	"github.com/spf13/cobra"
)

// serveOptions are the flags of `confsync serve`.
type serveOptions struct {
	root   *rootOptions
	listen string
	stdout io.Writer
	stderr io.Writer
	// ready, when set, receives the address served once the listener is
	// open (for tests).
	ready func(addr string)
}

func newServeCmd(ro *rootOptions) *cobra.Command {
	opts := &serveOptions{root: ro}
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve SCIM 2.0 for every IdP with a scim source",
		Long: `Serve runs the SCIM 2.0 endpoint that Entra ID and Okta provision into:
/scim/v2/{idp}/Users, /Groups, /ServiceProviderConfig, /ResourceTypes and /Schemas
for every IdP with a scim source. What they push is kept in the store, where plan
and apply read it. It stops gracefully on SIGINT or SIGTERM. SIGHUP reloads the
TLS certificate and key (server.tls_cert, server.tls_key) without dropping
connections: new handshakes get the new certificate.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runServe(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.listen, "listen", "", "address to listen on (default: server.listen, else 127.0.0.1:8080)")
	return cmd
}

// Timeouts of the HTTP server. A SCIM request carries at most
// server.max_body_bytes; these bound slow clients, not slow work.
const (
	serveReadHeaderTimeout = 10 * time.Second
	serveReadTimeout       = 60 * time.Second
	serveWriteTimeout      = 120 * time.Second
	serveIdleTimeout       = 120 * time.Second
	serveShutdownTimeout   = 30 * time.Second
)

// scimIDPs lists the IdPs serve answers SCIM for, with their configured
// token hashes.
func scimIDPs(cfg *config.Config) []scim.IDP {
	var idps []scim.IDP
	for _, p := range cfg.IDPs {
		if p.SCIM != nil {
			idps = append(idps, scim.IDP{Name: p.Name, TokenSHA256: p.SCIM.TokenSHA256})
		}
	}
	return idps
}

// serveHooks are what the layers around the SCIM endpoint (metrics,
// auto-apply) plug in; every field may be nil.
type serveHooks struct {
	// OnChange is called after every committed SCIM write.
	OnChange func(idp string)
	// Observe is called after every SCIM request.
	Observe func(idp, method string, status int, d time.Duration)
	// Register adds more handlers to the mux (probes, metrics, status).
	Register func(mux *http.ServeMux)
}

// newServeMux assembles serve's HTTP handlers: the SCIM endpoint under
// /scim/v2/, plus whatever hooks.Register adds.
func newServeMux(cfg *config.Config, st scim.Store, logger *slog.Logger, hooks serveHooks) *http.ServeMux {
	mux := http.NewServeMux()
	mux.Handle(scim.PathPrefix, scim.NewServer(scim.Options{
		Store:        st,
		IDPs:         scimIDPs(cfg),
		Logger:       logger,
		MaxBodyBytes: cfg.Server.MaxBodyBytes,
		OnChange:     hooks.OnChange,
		Observe:      hooks.Observe,
		RateLimit:    scim.RateLimit{PerSecond: float64(cfg.Server.SCIMRequestsPerSecond), Burst: cfg.Server.SCIMRequestBurst},
	}))
	if hooks.Register != nil {
		hooks.Register(mux)
	}
	return mux
}

func runServe(ctx context.Context, opts *serveOptions) error {
	cfg, err := loadConfig(opts.root, opts.stderr)
	if err != nil {
		return err
	}
	logger, err := opts.root.logger(opts.stderr, true) // JSON lines: serve runs as a service
	if err != nil {
		return err
	}
	st, err := openStore(ctx, cfg, logger)
	if err != nil {
		return err
	}
	defer st.Close()

	idps := scimIDPs(cfg)
	if len(idps) == 0 {
		logger.Warn("no IdP has a scim source: serve answers no SCIM requests")
	}
	// The ops layer (serve_ops.go): metrics, probes, /status and, with
	// server.auto_apply, the reconciler. It stops with ctx, after which
	// serveHTTP finishes the requests in flight; stopOps waits for the
	// reconciler to release the apply lock.
	ops, err := newServeOps(ctx, cfg, st, buildEngine, logger)
	if err != nil {
		return err
	}
	stopOps := ops.Start(ctx)
	defer stopOps()
	handler := newServeMux(cfg, ops.Store, logger, ops.Hooks())
	return serveHTTP(ctx, opts, cfg, handler, logger)
}

// serveHTTP listens, prints the SCIM base URLs, serves until ctx is done,
// then shuts down gracefully: requests in flight finish (bounded by
// serveShutdownTimeout).
func serveHTTP(ctx context.Context, opts *serveOptions, cfg *config.Config, handler http.Handler, logger *slog.Logger) error {
	addr := opts.listen
	if addr == "" {
		addr = cfg.Server.Listen
	}
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	useTLS := cfg.Server.TLSCert != "" || cfg.Server.TLSKey != ""
	var tlsConfig *tls.Config
	if useTLS {
		certs, err := newCertReloader(cfg.Server.TLSCert, cfg.Server.TLSKey, logger)
		if err != nil {
			return err
		}
		certs.watch(ctx)
		// Entra ID requires TLS 1.2 and does not speak only 1.3.
		tlsConfig = &tls.Config{MinVersion: tls.VersionTLS12, GetCertificate: certs.GetCertificate}
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: serveReadHeaderTimeout,
		ReadTimeout:       serveReadTimeout,
		WriteTimeout:      serveWriteTimeout,
		IdleTimeout:       serveIdleTimeout,
		TLSConfig:         tlsConfig,
		ErrorLog:          slog.NewLogLogger(logger.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", addr, err)
	}
	scheme := "http"
	if useTLS {
		scheme = "https"
		ln = tls.NewListener(ln, tlsConfig)
	}
	bound := ln.Addr().String()
	fmt.Fprintf(opts.stdout, "confsync serve listening on %s://%s\n", scheme, bound)
	for _, p := range scimIDPs(cfg) {
		fmt.Fprintf(opts.stdout, "SCIM base URL for %s: %s://%s%s%s\n", p.Name, scheme, bound, scim.PathPrefix, p.Name)
	}
	logger.Info("serving", "addr", bound, "tls", useTLS)
	if opts.ready != nil {
		opts.ready(bound)
	}

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	logger.Info("shutting down: finishing requests in flight")
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), serveShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	logger.Info("stopped")
	return nil
}
