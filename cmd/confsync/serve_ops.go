package main

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/live"
	"github.com/confsync/confsync/plan/live/report"
	"github.com/confsync/confsync/plan/live/report/web"
	"github.com/confsync/confsync/providers/store"
	"github.com/confsync/confsync/providers/telemetry"
)

// serveOps is what serve adds around the SCIM endpoint: the metrics, the
// probes and /status an operator watches, and, with server.auto_apply, the
// reconciler that applies SCIM changes to Confluence with no command run.
type serveOps struct {
	// Store is the store with every operation timed; serve uses it for
	// everything.
	Store   store.Store
	Metrics *telemetry.Metrics
	Probes  *telemetry.Probes
	// Reconciler is nil when auto_apply is off.
	Reconciler *live.Reconciler
	// Requests counts SCIM requests per minute for the operator page.
	Requests *telemetry.RequestCounter
	cfg      *config.Config
	// idps names every configured IdP, for the source health of /status.
	idps []string
	// polls are the pulled cloud IdPs serve reads for changes, and how
	// often (serve_poll.go).
	polls map[string]time.Duration
	log   *slog.Logger
}

// engineParts builds what the engine reads and writes: a Source per IdP
// and the Confluence target.
type engineParts func(ctx context.Context, cfg *config.Config, st store.Store, logger *slog.Logger) (map[string]plan.Source, plan.Target, error)

// newServeOps wraps st and, when auto_apply is on, builds the reconciler.
func newServeOps(ctx context.Context, cfg *config.Config, st store.Store, parts engineParts, logger *slog.Logger) (*serveOps, error) {
	m := telemetry.NewMetrics()
	o := &serveOps{
		Metrics: m,
		Store:   telemetry.InstrumentStore(st, m),
		cfg:     cfg,
		log:     logger,
	}
	o.Probes = telemetry.NewProbes(o.Store, logger)
	o.Requests = telemetry.NewRequestCounter(o.Store, logger)
	if err := checkOperatorToken(ctx, cfg, o.Store); err != nil {
		return nil, err
	}
	for _, p := range cfg.IDPs {
		o.idps = append(o.idps, p.Name)
	}
	m.RegisterSourceHealth(o.Store, o.idps, logger)
	if !cfg.Server.AutoApply {
		return o, nil
	}
	sources, target, err := parts(ctx, cfg, o.Store, logger)
	if err != nil {
		return nil, err
	}
	holder := "serve " + plan.DefaultHolder()
	var scimIdPs []string
	for _, p := range cfg.IDPs {
		if p.Kind() == "scim" {
			scimIdPs = append(scimIdPs, p.Name)
		}
	}
	eng := &live.Engine{
		Config:      cfg,
		Sources:     sources,
		Target:      target,
		State:       o.Store,
		Holder:      holder,
		Parallelism: parallelism(cfg),
		OnPlan:      m.ObservePlan,
		Journal:     o.Store,
		Revisions:   o.Store,
	}
	o.Reconciler, err = live.New(live.Options{
		Runner:    eng,
		Lock:      o.Store,
		Revisions: o.Store,
		IdPs:      scimIdPs,
		Holder:    holder,
		Debounce:  cfg.Server.Debounce,
		Interval:  cfg.Server.ReconcileInterval,
		Logger:    logger,
		Observer:  m,
	})
	if err != nil {
		return nil, err
	}
	o.polls = pollIntervals(cfg)
	return o, nil
}

func parallelism(cfg *config.Config) int {
	if cfg.Confluence != nil && cfg.Confluence.Parallelism > 0 {
		return cfg.Confluence.Parallelism
	}
	return 4
}

// OnChange is scim.Options.OnChange: a committed SCIM write schedules a
// reconcile.
func (o *serveOps) OnChange(idp string) {
	if o.Reconciler != nil {
		o.Reconciler.Notify(idp)
	}
}

// ObserveSCIM is scim.Options.Observe.
func (o *serveOps) ObserveSCIM(idp, method string, status int, d time.Duration) {
	o.Metrics.ObserveSCIM(idp, method, status, d)
	o.Requests.Observe(idp)
}

// Register adds /healthz, /readyz, /metrics, /status and the operator
// page (/ and /ui/) to mux.
func (o *serveOps) Register(mux *http.ServeMux) {
	telemetry.Register(mux, o.Metrics, o.Probes)
	mux.Handle("GET /status", report.StatusHandler(o.Reconciler, o.Store, o.idps))
	web.Register(mux, web.Options{Config: o.cfg, Store: operatorStore{o.Store}, Reconciler: o.Reconciler,
		Token: o.cfg.Server.OperatorToken, Logger: o.log})
}

// Hooks plugs the ops layer into serve's mux: SCIM writes schedule
// reconciles, SCIM requests are measured, and the probes, /metrics and
// /status are served.
func (o *serveOps) Hooks() serveHooks {
	return serveHooks{OnChange: o.OnChange, Observe: o.ObserveSCIM, Register: o.Register}
}

// Run runs the reconciler until ctx is done; it returns at once when
// auto_apply is off. When it returns, a reconcile in progress has stopped
// at a safe point and the apply lock is released.
func (o *serveOps) Run(ctx context.Context) error {
	if o.Reconciler == nil {
		return nil
	}
	pollPulled(ctx, o.polls, o.Reconciler.Notify)
	return o.Reconciler.Run(ctx)
}

// Start runs the ops layer in the background until ctx is done (serve's
// SIGTERM) or the returned stop is called: /readyz starts failing at once,
// so that an ingress stops routing here while requests in flight finish,
// and the reconciler stops at its next safe point. stop waits for the
// reconciler to have released the apply lock.
func (o *serveOps) Start(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	done, counted := make(chan struct{}), make(chan struct{})
	go func() {
		<-ctx.Done()
		o.Probes.Drain()
	}()
	go func() {
		defer close(counted)
		o.Requests.Run(ctx)
	}()
	go func() {
		defer close(done)
		if err := o.Run(ctx); err != nil {
			o.log.Error("the reconciler stopped", "error", err.Error())
		}
	}()
	return func() {
		cancel()
		<-done
		<-counted
		// Requests that finished during the shutdown are counted too.
		fctx, fcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer fcancel()
		if err := o.Requests.Flush(fctx); err != nil {
			o.log.Warn("the last SCIM request counts were not stored", "error", err.Error())
		}
	}
}
