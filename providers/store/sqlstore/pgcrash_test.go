package sqlstore

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/confsync/confsync/providers/store"
	"github.com/confsync/confsync/providers/store/pgtest"
)

// TestPostgresKill9LosesNoAcknowledgedWrite kills the PostgreSQL server
// with SIGKILL while writers are busy, restarts it (crash recovery) and
// checks that every write the store acknowledged is there.
func TestPostgresKill9LosesNoAcknowledgedWrite(t *testing.T) {
	if testing.Short() {
		t.Skip("starts PostgreSQL")
	}
	ctx := context.Background()
	c, err := pgtest.StartCluster(ctx)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Stop()
	dsn, err := c.CreateDatabase(ctx)
	if err != nil {
		t.Fatal(err)
	}
	s, err := OpenPostgres(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	g := &store.Group{IDP: "entra", DisplayName: "everyone"}
	if err := s.CreateGroup(ctx, g, nil); err != nil {
		t.Fatal(err)
	}

	var mu sync.Mutex
	var acked []string
	enough := make(chan struct{})
	var once sync.Once
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				u := &store.User{IDP: "entra", UserName: fmt.Sprintf("w%d-%d", w, i)}
				if err := s.CreateUser(ctx, u); err != nil {
					return // the server is gone: this write was not acknowledged
				}
				if err := s.AddMembers(ctx, "entra", g.ID, []store.Member{{ID: u.ID}}); err != nil {
					return
				}
				mu.Lock()
				acked = append(acked, u.ID)
				if len(acked) >= 300 {
					once.Do(func() { close(enough) })
				}
				mu.Unlock()
			}
		}()
	}
	<-enough
	if err := c.Crash(); err != nil {
		t.Fatal(err)
	}
	wg.Wait()
	s.Close()
	mu.Lock()
	t.Logf("%d writes acknowledged before SIGKILL", len(acked))
	mu.Unlock()

	if err := c.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	s, err = OpenPostgres(ctx, dsn, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	members, err := s.ListMembers(ctx, "entra", g.ID, store.Page{})
	if err != nil {
		t.Fatal(err)
	}
	in := map[string]bool{}
	for _, m := range members {
		in[m.ID] = true
	}
	lost := 0
	for _, id := range acked {
		if _, err := s.GetUser(ctx, "entra", id); err != nil || !in[id] {
			lost++
		}
	}
	if lost > 0 {
		t.Errorf("%d of %d acknowledged writes lost", lost, len(acked))
	}
}
