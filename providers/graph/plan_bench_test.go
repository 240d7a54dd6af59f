package graph_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/plantest"
	"github.com/confsync/confsync/providers/backoff"
	"github.com/confsync/confsync/providers/graph"
	"github.com/confsync/confsync/providers/ldap"
	"github.com/confsync/confsync/providers/ldap/ldaptest"
	"github.com/confsync/confsync/providers/pulltest"
	"github.com/confsync/confsync/providers/store/sqlstore"
)

// BenchmarkPlanGraphVsLDAP computes the same plan at the reference size
// (100,000 users, 20,000 groups, 1,000,000 memberships: 50 per group)
// from a graph IdP and from an ldap IdP holding the same people and
// groups, and reports the ratio of the two (issue 11's target: at most
// 1.25). The Graph tenant is the emulator in another process (as
// BenchmarkReadTenant), the directory a real slapd loaded with slapadd;
// both over loopback. Usernames map to the same Confluence names
// (userPrincipalName without @contoso.com; uid), so both plans are the
// same first import into an empty Confluence, which the benchmark checks.
// Each plan is plan.Compute: the source read, the (in-memory) Confluence
// read and the diff. Three cases, alternated in every iteration so that
// they see the same machine load:
//
//   - ldap: a full read of slapd;
//   - graph-full: a full read of the tenant (a new Source, no delta);
//   - graph-delta: a new Source whose delta state is in a SQLite store, as
//     for a confsync plan process after an earlier plan or serve poll:
//     load the state, one /users/delta and one /groups/delta page (nothing
//     changed, so the state is not saved again);
//   - graph-delta-saved: the same, saving the state afterwards, as against
//     Graph, whose deltaLinks change at every round.
func BenchmarkPlanGraphVsLDAP(b *testing.B) {
	users := pulltest.Size("CONFSYNC_GRAPH_BENCH_USERS", 100_000)
	groups := pulltest.Size("CONFSYNC_GRAPH_BENCH_GROUPS", 20_000)
	per := pulltest.Size("CONFSYNC_GRAPH_BENCH_MEMBERS", 50)
	ctx := context.Background()

	// The directory: the same users and memberships as seedTenant.
	const suffix = ldaptest.DefaultSuffix
	dir := b.TempDir()
	var w strings.Builder
	fmt.Fprintf(&w, "dn: %s\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n\n", suffix)
	fmt.Fprintf(&w, "dn: ou=people,%s\nobjectClass: organizationalUnit\nou: people\n\n", suffix)
	fmt.Fprintf(&w, "dn: ou=groups,%s\nobjectClass: organizationalUnit\nou: groups\n\n", suffix)
	fmt.Fprintf(&w, "dn: ou=system,%s\nobjectClass: organizationalUnit\nou: system\n\n", suffix)
	fmt.Fprintf(&w, "dn: cn=reader,ou=system,%s\nobjectClass: inetOrgPerson\ncn: reader\nsn: reader\nuserPassword: readerpass\n\n", suffix)
	for i := range users {
		fmt.Fprintf(&w, "dn: uid=user%06d,ou=people,%s\nobjectClass: inetOrgPerson\nuid: user%06d\ncn: User %d\nsn: Number%d\ndisplayName: User Number %d\nmail: user%06d@contoso.com\ntitle: Engineer\n\n",
			i, suffix, i, i, i, i, i)
	}
	for g := range groups {
		fmt.Fprintf(&w, "dn: cn=group%05d,ou=groups,%s\nobjectClass: groupOfNames\ncn: group%05d\n", g, suffix, g)
		for k := range per {
			fmt.Fprintf(&w, "member: uid=user%06d,ou=people,%s\n", (g*7+k*7919)%users, suffix)
		}
		w.WriteString("\n")
	}
	ldif := filepath.Join(dir, "bench.ldif")
	if err := os.WriteFile(ldif, []byte(w.String()), 0o600); err != nil {
		b.Fatal(err)
	}
	w = strings.Builder{}
	start := time.Now()
	srv := ldaptest.Start(b, ldaptest.Config{LDIF: []string{ldif}, DatabaseConfig: `limits dn.exact="cn=reader,ou=system,dc=example,dc=com" size=unlimited size.prtotal=unlimited
`})
	b.Logf("slapd loaded in %s", time.Since(start).Round(time.Millisecond))
	start = time.Now()
	url := pulltest.StartEmulator(b)
	b.Logf("emulator seeded in %s", time.Since(start).Round(time.Millisecond))

	strip := func(re string) *config.Rewrite { return &config.Rewrite{Pattern: regexp.MustCompile(re), Replace: ""} }
	sync := config.UserSync{Create: true, Update: true, Deactivate: true, Reactivate: true}
	groupSync := config.GroupSync{Mode: config.GroupModeOnTheFly, CreateMissing: true, KeepExisting: true}
	graphCfg := &config.GraphSource{TenantID: tenant, ClientID: clientID, ClientSecret: secret, Authority: url, Endpoint: url, Parallelism: 4, Timeout: time.Minute}
	graphIDP := &config.IDP{Name: "entra", Graph: graphCfg,
		Attributes: config.Attributes{Username: "userPrincipalName", Email: "mail", DisplayName: "displayName"},
		Users:      config.UserSync{Create: true, Update: true, Deactivate: true, Reactivate: true, UsernameTransform: strip(`@contoso\.com$`)},
		Groups:     groupSync}
	ldapCfg := &config.LDAPSource{URL: srv.URL, BindDN: "cn=reader,ou=system," + suffix, BindPassword: "readerpass",
		UserBase: "ou=people," + suffix, UserFilter: "(objectClass=inetOrgPerson)", GroupBase: "ou=groups," + suffix,
		PageSize: 500, Timeout: 10 * time.Minute}
	ldapIDP := &config.IDP{Name: "entra", LDAP: ldapCfg,
		Attributes: config.Attributes{Username: "uid", Email: "mail", DisplayName: "displayName"},
		Users:      sync, Groups: groupSync}
	ldapSrc, err := ldap.NewSource(ldapCfg, slog.New(slog.DiscardHandler))
	if err != nil {
		b.Fatal(err)
	}

	st, err := sqlstore.OpenSQLite(ctx, filepath.Join(dir, "confsync.db"), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { st.Close() })
	tc := &timedCursors{s: st}
	newDelta := func(save bool) plan.Source {
		src, err := graph.NewSource(graphCfg, graph.Options{Delta: true, Cursors: tc, CursorKey: "entra",
			Retry: backoff.Policy{Attempts: 1}, HTTPClient: &http.Client{Timeout: time.Minute}})
		if err != nil {
			b.Fatal(err)
		}
		if save {
			graph.AlwaysSaveCursor(src)
		}
		return src
	}
	deltaSource := func() plan.Source { return newDelta(false) }
	// The earlier process that left the delta state: a full delta round.
	start = time.Now()
	if _, err := deltaSource().Read(ctx, plan.ReadRequest{Attributes: []string{"userPrincipalName", "mail", "displayName"}}); err != nil {
		b.Fatal(err)
	}
	cursor, _, _ := st.SourceCursor(ctx, "entra")
	b.Logf("first delta round and saving its state (%.1f MB gzipped) in %s", float64(len(cursor))/(1<<20), time.Since(start).Round(time.Millisecond))

	type kase struct {
		name      string
		idp       *config.IDP
		src       func() plan.Source
		wall, cpu time.Duration
		read      time.Duration
	}
	cases := []*kase{
		{name: "ldap", idp: ldapIDP, src: func() plan.Source { return ldapSrc }},
		{name: "graph-full", idp: graphIDP, src: func() plan.Source {
			src, err := graph.NewSource(graphCfg, graph.Options{Retry: backoff.Policy{Attempts: 1}, HTTPClient: &http.Client{Timeout: time.Minute}})
			if err != nil {
				b.Fatal(err)
			}
			return src
		}},
		{name: "graph-delta", idp: graphIDP, src: deltaSource},
		{name: "graph-delta-saved", idp: graphIDP, src: func() plan.Source { return newDelta(true) }},
	}
	tc.load, tc.save, tc.loads, tc.saves = 0, 0, 0, 0
	var summaries []string
	b.ResetTimer()
	for range b.N {
		summaries = summaries[:0]
		for _, c := range cases {
			cfg := &config.Config{Hash: "h", Confluence: &config.Confluence{URL: "http://confluence.invalid"}, IDPs: []*config.IDP{c.idp}}
			ts := &timedSource{s: c.src()}
			in := plan.Inputs{Config: cfg, Sources: map[string]plan.Source{"entra": ts},
				Target: plantest.NewTarget(), State: plantest.NewState(), Options: plan.Options{AllowMassChanges: true}}
			runtime.GC()
			t0, cpu0 := time.Now(), benchCPU()
			p, err := plan.Compute(ctx, in)
			c.wall += time.Since(t0)
			c.cpu += benchCPU() - cpu0
			c.read += ts.d
			if err != nil {
				b.Fatalf("%s: %v", c.name, err)
			}
			s := p.Summary()
			if len(p.Skipped) != 0 || s.UsersCreate != users {
				b.Fatalf("%s: plan %+v, skipped %v; want %d users created", c.name, s, p.Skipped, users)
			}
			summaries = append(summaries, fmt.Sprintf("%+v", s))
		}
		for i, s := range summaries {
			if s != summaries[0] {
				b.Fatalf("the plans differ:\n%s: %s\n%s: %s", cases[0].name, summaries[0], cases[i].name, s)
			}
		}
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(tc.load.Seconds()/float64(max(tc.loads, 1)), "cursor-load-s")
	b.ReportMetric(tc.save.Seconds()/float64(max(tc.saves, 1)), "cursor-save-s")
	for _, c := range cases {
		b.ReportMetric(c.read.Seconds()/n, c.name+"-read-s/op")
		b.ReportMetric(c.wall.Seconds()/n, c.name+"-s/op")
		b.ReportMetric(c.cpu.Seconds()/n, c.name+"-cpu-s/op")
	}
	b.ReportMetric(float64(cases[1].wall)/float64(cases[0].wall), "full/ldap")
	b.ReportMetric(float64(cases[2].wall)/float64(cases[0].wall), "delta/ldap")
	b.ReportMetric(float64(cases[3].wall)/float64(cases[0].wall), "delta-saved/ldap")
	b.Logf("plan summary (every case): %s", summaries[0])
}

// benchCPU is this process's user and system CPU time.
func benchCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// timedSource times the source read inside a plan.
type timedSource struct {
	s plan.Source
	d time.Duration
}

func (t *timedSource) Read(ctx context.Context, req plan.ReadRequest) (*plan.Snapshot, error) {
	t0 := time.Now()
	snap, err := t.s.Read(ctx, req)
	t.d += time.Since(t0)
	return snap, err
}

// timedCursors times the store's cursor calls (the SQLite read and write
// of the saved delta state, not its decoding).
type timedCursors struct {
	s            graph.CursorStore
	load, save   time.Duration
	loads, saves int
}

func (t *timedCursors) SourceCursor(ctx context.Context, key string) ([]byte, bool, error) {
	t0 := time.Now()
	defer func() { t.load += time.Since(t0); t.loads++ }()
	return t.s.SourceCursor(ctx, key)
}

func (t *timedCursors) SetSourceCursor(ctx context.Context, key string, v []byte) error {
	t0 := time.Now()
	defer func() { t.save += time.Since(t0); t.saves++ }()
	return t.s.SetSourceCursor(ctx, key, v)
}
