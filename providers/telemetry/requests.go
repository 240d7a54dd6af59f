package telemetry

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/confsync/confsync/providers/store"
)

// RequestCountStore is where a RequestCounter keeps its counts.
type RequestCountStore interface {
	AddRequestCounts(ctx context.Context, counts []store.MinuteCount) error
	PruneRequestCounts(ctx context.Context, before time.Time) error
}

// Defaults of a RequestCounter.
const (
	// RequestCountFlush is how often counts are written to the store: one
	// small transaction per period, whatever the request rate.
	RequestCountFlush = 10 * time.Second
	// RequestCountKeep is how long counters are kept (the page plots 24 h).
	RequestCountKeep = 48 * time.Hour
)

// RequestCounter counts SCIM requests per IdP and minute in memory and
// adds them to the store in batches, for the operator page's plot of SCIM
// requests per minute. Counting costs a map update under a mutex; the
// request never waits for the store.
type RequestCounter struct {
	st  RequestCountStore
	log *slog.Logger
	now func() time.Time

	mu      sync.Mutex
	pending map[requestKey]int64
}

type requestKey struct {
	minute time.Time
	idp    string
}

// NewRequestCounter returns a counter that flushes into st.
func NewRequestCounter(st RequestCountStore, logger *slog.Logger) *RequestCounter {
	if logger == nil {
		logger = slog.New(slog.DiscardHandler)
	}
	return &RequestCounter{st: st, log: logger, now: time.Now, pending: map[requestKey]int64{}}
}

// Observe counts one SCIM request of idp, now.
func (c *RequestCounter) Observe(idp string) {
	k := requestKey{c.now().UTC().Truncate(time.Minute), idp}
	c.mu.Lock()
	c.pending[k]++
	c.mu.Unlock()
}

// Flush adds the counts observed since the last flush to the store. When
// the store fails, the counts are kept for the next flush.
func (c *RequestCounter) Flush(ctx context.Context) error {
	c.mu.Lock()
	taken := c.pending
	c.pending = map[requestKey]int64{}
	c.mu.Unlock()
	if len(taken) == 0 {
		return nil
	}
	counts := make([]store.MinuteCount, 0, len(taken))
	for k, n := range taken {
		counts = append(counts, store.MinuteCount{Minute: k.minute, IDP: k.idp, Requests: n})
	}
	if err := c.st.AddRequestCounts(ctx, counts); err != nil {
		c.mu.Lock()
		for k, n := range taken {
			c.pending[k] += n
		}
		c.mu.Unlock()
		return err
	}
	return nil
}

// Run flushes every RequestCountFlush and prunes counters older than
// RequestCountKeep every hour, until ctx is done; then it flushes once more.
func (c *RequestCounter) Run(ctx context.Context) {
	flush := time.NewTicker(RequestCountFlush)
	defer flush.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	c.prune(ctx)
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := c.Flush(fctx); err != nil {
				c.log.Warn("the last SCIM request counts were not stored", "error", err.Error())
			}
			return
		case <-flush.C:
			if err := c.Flush(ctx); err != nil && ctx.Err() == nil {
				c.log.Warn("storing SCIM request counts failed; retrying at the next flush", "error", err.Error())
			}
		case <-prune.C:
			c.prune(ctx)
		}
	}
}

func (c *RequestCounter) prune(ctx context.Context) {
	if err := c.st.PruneRequestCounts(ctx, c.now().Add(-RequestCountKeep)); err != nil && ctx.Err() == nil {
		c.log.Warn("pruning old SCIM request counts failed", "error", err.Error())
	}
}
