package scim

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/confsync/confsync/providers/store"
)

// latencies collects request durations of a benchmark.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// report sets the benchmark's ops/s and p99 (and p50) metrics.
func (l *latencies) report(b *testing.B, elapsed time.Duration) {
	if len(l.d) == 0 {
		return
	}
	slices.Sort(l.d)
	p := func(q float64) float64 {
		i := int(float64(len(l.d))*q+0.5) - 1
		i = max(0, min(i, len(l.d)-1))
		return float64(l.d[i].Microseconds()) / 1000
	}
	b.ReportMetric(float64(len(l.d))/elapsed.Seconds(), "ops/s")
	b.ReportMetric(p(0.50), "p50-ms")
	b.ReportMetric(p(0.99), "p99-ms")
}

// timed sends one request and fails the benchmark unless it is answered
// with want.
func (ts *testServer) timed(b *testing.B, l *latencies, method, path, body string, want int) {
	start := time.Now()
	r := ts.do(b, method, path, body)
	l.add(time.Since(start))
	if r.status != want {
		b.Fatalf("%s %s: %d %s", method, path, r.status, r.body)
	}
}

// benchParallel runs fn b.N times over 8 concurrent clients (an IdP
// provisions with several connections at once).
func benchParallel(b *testing.B, fn func(i int64)) time.Duration {
	var n atomic.Int64
	b.SetParallelism(4) // 4 × GOMAXPROCS clients
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			fn(n.Add(1))
		}
	})
	elapsed := time.Since(start)
	b.StopTimer()
	return elapsed
}

// BenchmarkCreateUser measures durable user creations (POST /Users) over
// HTTP into SQLite.
func BenchmarkCreateUser(b *testing.B) {
	ts := newTestServer(b, openSQLite(b))
	var l latencies
	elapsed := benchParallel(b, func(i int64) {
		body := fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"user%d@example.com","externalId":"e%d","active":true,"displayName":"User %d","emails":[{"type":"work","primary":true,"value":"user%d@example.com"}],"name":{"givenName":"U","familyName":"%d"}}`, i, i, i, i, i)
		ts.timed(b, &l, "POST", "/Users", body, 201)
	})
	l.report(b, elapsed)
}

// BenchmarkPatchGroupAddMember measures durable member additions (PATCH
// /Groups/{id}, one member each) over HTTP into SQLite.
func BenchmarkPatchGroupAddMember(b *testing.B) {
	ts := newTestServer(b, openSQLite(b))
	gid := expect(b, ts.do(b, "POST", "/Groups", `{"displayName":"bench"}`), 201).json(b)["id"].(string)
	var l latencies
	elapsed := benchParallel(b, func(i int64) {
		ts.timed(b, &l, "PATCH", "/Groups/"+gid, fmt.Sprintf(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[{"$ref":null,"value":"member-%d"}]}]}`, i), 204)
	})
	l.report(b, elapsed)
}

// BenchmarkFilterUserName measures `userName eq` lookups, Entra's matching
// query, among 2,000 users.
func BenchmarkFilterUserName(b *testing.B) {
	st := openSQLite(b)
	ctx := context.Background()
	const users = 2000
	for i := range users {
		u := &store.User{IDP: "entra", ID: fmt.Sprintf("id-%05d", i), UserName: fmt.Sprintf("user%d@example.com", i), Active: true,
			Attributes: []byte(fmt.Sprintf(`{"userName":"user%d@example.com","displayName":"User %d","emails":[{"type":"work","value":"user%d@example.com"}]}`, i, i, i))}
		if err := st.CreateUser(ctx, u); err != nil {
			b.Fatal(err)
		}
	}
	ts := newTestServer(b, st)
	var l latencies
	elapsed := benchParallel(b, func(i int64) {
		path := fmt.Sprintf("/Users?filter=userName+eq+%%22USER%d%%40example.com%%22", i%users)
		start := time.Now()
		r := ts.do(b, "GET", path, nil)
		l.add(time.Since(start))
		if r.status != 200 || !strings.Contains(string(r.body), `"totalResults":1`) {
			b.Fatalf("%s: %d %s", path, r.status, r.body)
		}
	})
	l.report(b, elapsed)
}

// BenchmarkAddMemberBigGroup measures adding one member to a group that
// already has 100,000 (the group is seeded through the store).
func BenchmarkAddMemberBigGroup(b *testing.B) {
	st := openSQLite(b)
	ctx := context.Background()
	const size = 100_000
	members := make([]store.Member, size)
	for i := range members {
		members[i] = store.Member{ID: fmt.Sprintf("seed-%06d", i), Type: "User"}
	}
	g := &store.Group{IDP: "entra", ID: "big", DisplayName: "big", Attributes: []byte(`{"displayName":"big"}`)}
	if err := st.CreateGroup(ctx, g, members); err != nil {
		b.Fatal(err)
	}
	ts := newTestServer(b, st)
	var l latencies
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		ts.timed(b, &l, "PATCH", "/Groups/big", fmt.Sprintf(`{"Operations":[{"op":"add","path":"members","value":[{"value":"new-%d"}]}]}`, i), 204)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	l.report(b, elapsed)
	// The answer to a members-excluded GET does not grow with the group.
	r := expect(b, ts.do(b, "GET", "/Groups/big?excludedAttributes=members", nil), 200)
	if len(r.body) > 2000 {
		b.Fatalf("members-excluded answer is %d bytes", len(r.body))
	}
}

// BenchmarkPatch10000Members measures one PATCH adding 10,000 members to
// an empty group.
func BenchmarkPatch10000Members(b *testing.B) {
	ts := newTestServer(b, openSQLite(b))
	var sb strings.Builder
	sb.WriteString(`{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"Add","path":"members","value":[`)
	for i := range 10_000 {
		if i > 0 {
			sb.WriteByte(',')
		}
		fmt.Fprintf(&sb, `{"$ref":null,"value":"m-%05d"}`, i)
	}
	sb.WriteString(`]}]}`)
	body := sb.String()
	var l latencies
	b.ResetTimer()
	start := time.Now()
	for i := range b.N {
		b.StopTimer()
		gid := expect(b, ts.do(b, "POST", "/Groups", fmt.Sprintf(`{"displayName":"g%d"}`, i)), 201).json(b)["id"].(string)
		b.StartTimer()
		ts.timed(b, &l, "PATCH", "/Groups/"+gid, body, http.StatusNoContent)
	}
	elapsed := time.Since(start)
	b.StopTimer()
	l.report(b, elapsed)
}
