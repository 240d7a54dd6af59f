package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/confluence"
	"github.com/confsync/confsync/providers/graph"
	"github.com/confsync/confsync/providers/ldap"
	"github.com/confsync/confsync/providers/okta"
	"github.com/confsync/confsync/providers/scim"
	"github.com/confsync/confsync/providers/store"
)

// buildEngine builds what the engine reads and writes from the
// configuration: one Source per IdP (SCIM IdPs read what they pushed into
// st; LDAP IdPs search their directory; Graph and Okta IdPs read their
// APIs) and the Confluence target. It is
// the one place that knows the concrete providers; plan, apply and serve's
// auto-apply all use it. Its signature is serve's engineParts.
func buildEngine(ctx context.Context, cfg *config.Config, st store.Store, logger *slog.Logger) (map[string]plan.Source, plan.Target, error) {
	if cfg.Confluence == nil {
		return nil, nil, errors.New("the configuration has no confluence block: plan and apply need the Confluence instance to write to")
	}
	sources := make(map[string]plan.Source, len(cfg.IDPs))
	for _, p := range cfg.IDPs {
		switch p.Kind() {
		case "ldap":
			src, err := ldap.NewSource(p.LDAP, logger.With("idp", p.Name))
			if err != nil {
				return nil, nil, fmt.Errorf("idp %q: %w", p.Name, err)
			}
			sources[p.Name] = src
		case "graph":
			// Delta queries, their state kept in the store so that each
			// plan process reads only the changes; a full round at each
			// reconcile_interval, as for the other IdPs.
			opts := graph.Options{Logger: logger.With("idp", p.Name), Delta: true, FullReadEvery: cfg.Server.ReconcileInterval}
			if st != nil {
				opts.Cursors, opts.CursorKey = st, p.Name
			}
			src, err := graph.NewSource(p.Graph, opts)
			if err != nil {
				return nil, nil, fmt.Errorf("idp %q: %w", p.Name, err)
			}
			sources[p.Name] = src
		case "okta":
			src, err := okta.NewSource(p.Okta, okta.Options{Logger: logger.With("idp", p.Name)})
			if err != nil {
				return nil, nil, fmt.Errorf("idp %q: %w", p.Name, err)
			}
			sources[p.Name] = src
		default:
			sources[p.Name] = scim.NewSource(st, p.Name)
		}
	}
	c := cfg.Confluence
	target, err := confluence.New(confluence.Options{
		BaseURL:           c.URL,
		ContextPath:       c.ContextPath,
		Token:             c.Token.Reveal(),
		Username:          c.Username,
		Password:          c.Password.Reveal(),
		CAFile:            c.CAFile,
		Parallelism:       c.Parallelism,
		RequestsPerSecond: c.RequestsPerSecond,
		Logger:            logger.With("component", "confluence"),
	})
	if err != nil {
		return nil, nil, err
	}
	return sources, target, nil
}

// engineSession is a loaded configuration with its open store, sources
// and target: everything plan and apply need.
type engineSession struct {
	cfg     *config.Config
	store   store.Store
	sources map[string]plan.Source
	target  plan.Target
	log     *slog.Logger
	// refreshPermissions makes the plan read every space's permissions
	// (plan --refresh-permissions) instead of the kept ones.
	refreshPermissions bool
}

// openEngine loads the configuration and opens the store, the sources and
// the target. Close releases them.
func openEngine(ctx context.Context, ro *rootOptions, stderr io.Writer) (*engineSession, error) {
	logger, err := ro.logger(stderr, false) // the plan itself goes to stdout
	if err != nil {
		return nil, err
	}
	cfg, err := loadConfig(ro, stderr)
	if err != nil {
		return nil, err
	}
	st, err := openStore(ctx, cfg, logger)
	if err != nil {
		return nil, err
	}
	sources, target, err := buildEngine(ctx, cfg, st, logger)
	if err != nil {
		st.Close()
		return nil, err
	}
	return &engineSession{cfg: cfg, store: st, sources: sources, target: target, log: logger}, nil
}

// Close closes the store.
func (s *engineSession) Close() error { return s.store.Close() }

// inputs are the session's parts as plan.Compute reads them.
func (s *engineSession) inputs(hook plan.Hook, opts plan.Options) plan.Inputs {
	return plan.Inputs{Config: s.cfg, Sources: s.sources, Target: s.target, Permissions: s.permissions(), State: s.store, Hook: hook, Options: opts}
}

// compute runs plan.Compute with the session's parts.
func (s *engineSession) compute(ctx context.Context, hook plan.Hook, opts plan.Options) (*plan.Plan, error) {
	return plan.Compute(ctx, s.inputs(hook, opts))
}
