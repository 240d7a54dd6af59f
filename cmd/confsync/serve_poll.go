package main

import (
	"context"
	"time"

	"github.com/confsync/confsync/config"
)

// pollIntervals returns, for each pulled cloud IdP (graph, okta) whose
// poll_interval is set, how often serve looks for its changes.
func pollIntervals(cfg *config.Config) map[string]time.Duration {
	out := map[string]time.Duration{}
	for _, p := range cfg.IDPs {
		var d time.Duration
		switch {
		case p.Graph != nil:
			d = p.Graph.PollInterval
		case p.Okta != nil:
			d = p.Okta.PollInterval
		}
		if d > 0 {
			out[p.Name] = d
		}
	}
	return out
}

// pollPulled schedules a reconcile of each IdP every interval until ctx is
// done, through notify: the path a SCIM write takes (debounced, under the
// apply lock). A pulled IdP has no revision to watch, so its changes are
// found by reading it; graph sources read only the changes (delta
// queries).
func pollPulled(ctx context.Context, intervals map[string]time.Duration, notify func(idp string)) {
	for idp, every := range intervals {
		go func() {
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case <-t.C:
					notify(idp)
				}
			}
		}()
	}
}
