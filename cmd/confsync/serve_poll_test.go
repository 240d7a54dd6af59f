package main

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/confsync/confsync/config"
)

func TestPollIntervals(t *testing.T) {
	cfg := &config.Config{IDPs: []*config.IDP{
		{Name: "entra", Graph: &config.GraphSource{PollInterval: time.Minute}},
		{Name: "okta", Okta: &config.OktaSource{PollInterval: 0}},
		{Name: "scim", SCIM: &config.SCIMSource{}},
		{Name: "ad", LDAP: &config.LDAPSource{}},
	}}
	got := pollIntervals(cfg)
	if len(got) != 1 || got["entra"] != time.Minute {
		t.Errorf("pollIntervals = %v, want entra every minute only", got)
	}
}

// TestPollPulled: each IdP is notified about every interval, and nothing
// after ctx is done.
func TestPollPulled(t *testing.T) {
	var mu sync.Mutex
	counts := map[string]int{}
	ctx, cancel := context.WithCancel(context.Background())
	pollPulled(ctx, map[string]time.Duration{"fast": 10 * time.Millisecond, "slow": time.Hour}, func(idp string) {
		mu.Lock()
		counts[idp]++
		mu.Unlock()
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		mu.Lock()
		n := counts["fast"]
		mu.Unlock()
		if n >= 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("fast was notified %d times in 10s", n)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	time.Sleep(50 * time.Millisecond)
	mu.Lock()
	after := counts["fast"]
	slow := counts["slow"]
	mu.Unlock()
	time.Sleep(100 * time.Millisecond)
	mu.Lock()
	defer mu.Unlock()
	if counts["fast"] != after {
		t.Errorf("notified after ctx was done: %d then %d", after, counts["fast"])
	}
	if slow != 0 {
		t.Errorf("slow (every hour) was notified %d times", slow)
	}
}
