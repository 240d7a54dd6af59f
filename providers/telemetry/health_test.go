package telemetry

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/plantest"
)

type failingHealth struct{}

func (failingHealth) Health(context.Context, string) (plan.SourceHealth, bool, error) {
	return plan.SourceHealth{}, false, errors.New("store down")
}

// The source-health gauges come from the store at scrape time: a healthy
// IdP is 1 with its last complete read and left-out count, a failed one 0
// with its last failure, an IdP no plan read has no series.
func TestSourceHealthMetrics(t *testing.T) {
	ctx := context.Background()
	st := plantest.NewState()
	at := time.Unix(1_700_000_000, 0).UTC()
	if err := st.RecordHealth(ctx, "entra", plan.HealthReport{At: at, Complete: true, Counts: plan.SourceCounts{Users: 10}, LeftOut: 3}); err != nil {
		t.Fatal(err)
	}
	if err := st.RecordHealth(ctx, "corp", plan.HealthReport{At: at.Add(time.Minute), Failure: "its source failed: ldap: invalid credentials"}); err != nil {
		t.Fatal(err)
	}
	m := NewMetrics()
	m.RegisterSourceHealth(st, []string{"entra", "corp", "okta"}, nil)
	want := `
# HELP confsync_idp_source_healthy 1 when the last plan (plan, apply or serve) read the IdP completely and it took part, 0 when it was left out (a failed, incomplete or shrunken read, or nothing delivered yet).
# TYPE confsync_idp_source_healthy gauge
confsync_idp_source_healthy{idp="corp"} 0
confsync_idp_source_healthy{idp="entra"} 1
# HELP confsync_idp_identities_left_out Users and groups of the IdP's last complete read that cannot become Confluence objects (a missing email, an invalid name).
# TYPE confsync_idp_identities_left_out gauge
confsync_idp_identities_left_out{idp="corp"} 0
confsync_idp_identities_left_out{idp="entra"} 3
# HELP confsync_idp_last_complete_read_timestamp_seconds Unix time of the IdP's last complete read (0: none).
# TYPE confsync_idp_last_complete_read_timestamp_seconds gauge
confsync_idp_last_complete_read_timestamp_seconds{idp="corp"} 0
confsync_idp_last_complete_read_timestamp_seconds{idp="entra"} 1.7e+09
# HELP confsync_idp_last_source_failure_timestamp_seconds Unix time the IdP was last left out of a plan (0: never).
# TYPE confsync_idp_last_source_failure_timestamp_seconds gauge
confsync_idp_last_source_failure_timestamp_seconds{idp="corp"} 1.70000006e+09
confsync_idp_last_source_failure_timestamp_seconds{idp="entra"} 0
`
	if err := testutil.GatherAndCompare(m.Registry(), strings.NewReader(want),
		"confsync_idp_source_healthy", "confsync_idp_identities_left_out",
		"confsync_idp_last_complete_read_timestamp_seconds", "confsync_idp_last_source_failure_timestamp_seconds"); err != nil {
		t.Error(err)
	}

	broken := NewMetrics()
	broken.RegisterSourceHealth(failingHealth{}, []string{"entra"}, nil)
	if n, err := testutil.GatherAndCount(broken.Registry(), "confsync_idp_source_healthy"); err != nil || n != 0 {
		t.Errorf("a store that does not answer: %d series, error %v; want none and the scrape to succeed", n, err)
	}
}
