package views

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confsync/confsync/plan"
	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite the golden files")

func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if d := cmp.Diff(string(want), string(got)); d != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, d)
	}
}

func samplePlan() *plan.Plan {
	return &plan.Plan{
		ID:      "0b6f3c1e-plan",
		Created: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC),
		IDPs:    []string{"entra"},
		Skipped: []plan.SkippedIDP{{IDP: "ad", Reason: "its source failed: ldap: connection refused",
			Cause: plan.CauseFailed, Severity: plan.SeverityError}},
		ConfigHash:         "c0ffee",
		DesiredFingerprint: "d1",
		ActualFingerprint:  "a1",
		Notices: []plan.Notice{
			{Severity: plan.SeverityError, Kind: plan.NoticeSource, IDP: "ad", Subject: "idp ad", Summary: "left out of this plan: its source failed: ldap: connection refused",
				Detail: "No change is planned for the users, groups and memberships of this IdP, and nobody it manages is deprovisioned."},
			{Severity: plan.SeverityWarning, Kind: plan.NoticeMapping, IDP: "entra", Subject: "idp user John Smith", Summary: `idp "entra" user John Smith (id 7): username "john smith": contains whitespace`, LeftOut: true},
			{Severity: plan.SeverityInfo, Kind: plan.NoticeProtected, IDP: "entra", Subject: "user admin", Summary: "is protected: idp \"entra\" has a user with this name (id 9), but confsync leaves the account alone"},
		},
		Changes: []plan.Change{
			{Action: plan.ActionCreate, Kind: plan.KindGroup, Group: "devs", IDP: "entra", Reason: `idp "entra" maps group "Devs" onto it and Confluence lacks it`},
			{Action: plan.ActionAdopt, Kind: plan.KindGroup, Group: "confluence-users", IDP: "entra", StateOnly: true, Reason: "an existing Confluence group matches a group idp \"entra\" maps onto; confsync starts managing it"},
			{Action: plan.ActionCreate, Kind: plan.KindUser, User: "alice", IDP: "entra", SourceID: "1", Reason: `active in idp "entra" and not in Confluence`,
				After: &plan.UserValues{DisplayName: "Alice Liddell", Email: "alice@example.com", Active: true, Custom: map[string]string{"department": "R&D"}}},
			{Action: plan.ActionUpdate, Kind: plan.KindUser, User: "bob", IDP: "entra", SourceID: "2", Reason: `attributes differ from idp "entra"`,
				Before: &plan.UserValues{DisplayName: "Bob", Email: "bob@example.com", Active: true},
				After:  &plan.UserValues{DisplayName: "Robert Tables, Head of Database Administration and Sanitisation", Email: "bob@example.com", Active: true, Custom: map[string]string{"department": "Sales"}},
				Attributes: []plan.AttributeChange{
					{Name: "display_name", Before: "Robert Tables, Head of Database Administration", After: "Robert Tables, Head of Database Administration and Sanitisation"},
					{Name: "custom.department", Before: "", After: "Sales", StateOnly: true},
				}},
			{Action: plan.ActionUpdate, Kind: plan.KindUser, User: "dan", IDP: "entra", SourceID: "4", Reason: `attributes differ from idp "entra"`,
				Before:     &plan.UserValues{DisplayName: "Dan", Active: true},
				After:      &plan.UserValues{DisplayName: "Dan", Email: "dan@example.com", Active: true},
				Attributes: []plan.AttributeChange{{Name: "email", Before: "", After: "dan@example.com"}}},
			{Action: plan.ActionAdopt, Kind: plan.KindUser, User: "erin.new", PreviousUsername: "erin", IDP: "entra", SourceID: "5", StateOnly: true, Reason: `renamed in Confluence from "erin", as the IdP renamed it; confsync's ownership follows`,
				After: &plan.UserValues{DisplayName: "Erin", Email: "erin@example.com", Active: true}},
			{Action: plan.ActionEnable, Kind: plan.KindUser, User: "fay", IDP: "entra", SourceID: "6", Reason: `active in idp "entra", disabled in Confluence`},
			{Action: plan.ActionAdd, Kind: plan.KindMembership, User: "alice", Group: "devs", IDP: "entra", Reason: `member of "Devs" in idp "entra"`, DependsOn: []int{0, 2}},
			{Action: plan.ActionAdopt, Kind: plan.KindMembership, User: "bob", Group: "devs", IDP: "entra", StateOnly: true, Reason: "already in Confluence; confsync starts managing it"},
			{Action: plan.ActionRemove, Kind: plan.KindMembership, User: "zoe", Group: "devs", IDP: "entra", Reason: `no longer a member in idp "entra"`},
			{Action: plan.ActionDisable, Kind: plan.KindUser, User: "carol", IDP: "entra", SourceID: "3", Reason: `gone from a complete read of idp "entra"`,
				Before: &plan.UserValues{DisplayName: "Carol", Email: "carol@example.com", Active: true}, After: &plan.UserValues{DisplayName: "Carol", Email: "carol@example.com"}},
			{Action: plan.ActionDelete, Kind: plan.KindUser, User: "mallory", IDP: "entra", SourceID: "8", Reason: `deactivated in idp "entra"; users.delete = true`},
			{Action: plan.ActionDelete, Kind: plan.KindGroup, Group: "old-team", IDP: "entra", Reason: "created by confsync and no IdP maps onto it any more"},
		},
	}
}

func bigPlan() *plan.Plan {
	p := &plan.Plan{Created: time.Date(2026, 11, 26, 12, 0, 0, 0, time.UTC), IDPs: []string{"entra"}}
	for g := range 3 {
		for u := range 1500 {
			p.Changes = append(p.Changes, plan.Change{Action: plan.ActionAdd, Kind: plan.KindMembership, User: fmt.Sprintf("user%04d", u), Group: fmt.Sprintf("group-%d", g), IDP: "entra"})
		}
	}
	p.Changes = append(p.Changes, plan.Change{Action: plan.ActionRemove, Kind: plan.KindMembership, User: "zed", Group: "small", IDP: "entra"})
	return p
}

func TestHumanGolden(t *testing.T) {
	tests := []struct {
		name  string
		plan  *plan.Plan
		color bool
	}{
		{"plan", samplePlan(), false},
		{"plan-color", samplePlan(), true},
		{"empty", &plan.Plan{}, false},
		{"big-memberships", bigPlan(), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Human(&b, tt.plan, HumanOptions{Color: tt.color}); err != nil {
				t.Fatal(err)
			}
			golden(t, "human-"+tt.name, b.Bytes())
		})
	}
}

func TestJSONGolden(t *testing.T) {
	var b bytes.Buffer
	if err := JSON(&b, samplePlan()); err != nil {
		t.Fatal(err)
	}
	golden(t, "json-plan", b.Bytes())
	var back map[string]any
	if err := json.Unmarshal(b.Bytes(), &back); err != nil {
		t.Fatal(err)
	}
	if back["format_version"] != "1.1" {
		t.Errorf("format_version = %v", back["format_version"])
	}
	// The big plan's JSON lists every membership, which the human form
	// only counts.
	b.Reset()
	if err := JSON(&b, bigPlan()); err != nil {
		t.Fatal(err)
	}
	var big JSONPlan
	if err := json.Unmarshal(b.Bytes(), &big); err != nil {
		t.Fatal(err)
	}
	if len(big.Changes) != 4501 || big.Summary.Memberships["add"] != 4500 {
		t.Errorf("big JSON: %d changes, summary %v", len(big.Changes), big.Summary)
	}
}

func TestSummaryLine(t *testing.T) {
	p := &plan.Plan{}
	add := func(n int, a plan.Action, k plan.Kind) {
		for range n {
			p.Changes = append(p.Changes, plan.Change{Action: a, Kind: k})
		}
	}
	add(3, plan.ActionCreate, plan.KindUser)
	add(2, plan.ActionUpdate, plan.KindUser)
	add(1, plan.ActionDisable, plan.KindUser)
	add(40, plan.ActionAdd, plan.KindMembership)
	add(2, plan.ActionRemove, plan.KindMembership)
	want := "Plan: 3 users to create, 2 to update, 1 to disable; 40 memberships to add, 2 to remove."
	if got := SummaryLine(p); got != want {
		t.Errorf("SummaryLine = %q, want %q", got, want)
	}
	if got := SummaryLine(&plan.Plan{}); got != "No changes. Confluence matches the desired state." {
		t.Errorf("empty: %q", got)
	}
}

// A plan that left anything out never says Confluence matches the desired
// state, whether an IdP failed, delivered nothing, or users were dropped.
func TestSummaryLineLeftOut(t *testing.T) {
	failed := plan.SkippedIDP{IDP: "corp", Reason: "its source failed: ldap: bind", Cause: plan.CauseFailed, Severity: plan.SeverityError}
	empty := plan.SkippedIDP{IDP: "okta", Reason: "its source returned no users", Cause: plan.CauseEmpty, Severity: plan.SeverityWarning}
	user := func(n string) plan.Notice {
		return plan.Notice{Severity: plan.SeverityWarning, Kind: plan.NoticeMapping, IDP: "entra", Subject: "idp user " + n, Summary: "no email", LeftOut: true}
	}
	create := []plan.Change{{Action: plan.ActionCreate, Kind: plan.KindUser, User: "a"}}
	tests := []struct {
		name string
		p    *plan.Plan
		want string
	}{
		{"idp and users", &plan.Plan{Skipped: []plan.SkippedIDP{failed}, Notices: []plan.Notice{user("a"), user("b"), user("c")}},
			"No changes for the IdPs read; idp corp left out, 3 users left out: see the errors and warnings above."},
		{"users only", &plan.Plan{Notices: []plan.Notice{user("a")}},
			"No changes for the IdPs read; 1 user left out: see the warnings above."},
		{"fresh idp", &plan.Plan{Skipped: []plan.SkippedIDP{empty}},
			"No changes for the IdPs read; idp okta left out: see the warnings above."},
		{"failed idp", &plan.Plan{Skipped: []plan.SkippedIDP{failed}},
			"No changes for the IdPs read; idp corp left out: see the errors above."},
		{"changes", &plan.Plan{Skipped: []plan.SkippedIDP{failed}, Changes: create},
			"Plan: 1 user to create. Left out: idp corp (see the errors above)."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := SummaryLine(tt.p)
			if got != tt.want {
				t.Errorf("SummaryLine = %q, want %q", got, tt.want)
			}
			if strings.Contains(got, "matches") {
				t.Errorf("a plan that left something out says %q", got)
			}
			var b bytes.Buffer
			if err := JSON(&b, tt.p); err != nil {
				t.Fatal(err)
			}
			var j JSONPlan
			if err := json.Unmarshal(b.Bytes(), &j); err != nil {
				t.Fatal(err)
			}
			if j.Complete || len(j.LeftOut) == 0 {
				t.Errorf("JSON complete = %v, left_out = %+v", j.Complete, j.LeftOut)
			}
		})
	}
}

// The human view says when the plan was made, and a plan shown without
// --out says it is not kept.
func TestHumanMadeAndUnsaved(t *testing.T) {
	var b bytes.Buffer
	if err := Human(&b, samplePlan(), HumanOptions{Unsaved: true}); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Plan made at 2026-11-26T12:00:00Z.", "It is not kept", "confsync plan --out FILE"} {
		if !strings.Contains(b.String(), want) {
			t.Errorf("unsaved view lacks %q:\n%s", want, b.String())
		}
	}
	b.Reset()
	if err := Human(&b, samplePlan(), HumanOptions{}); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(b.String(), "It is not kept") || !strings.Contains(b.String(), "Plan made at") {
		t.Errorf("saved view:\n%s", b.String())
	}
}

func TestProgressLines(t *testing.T) {
	var b bytes.Buffer
	pr := NewProgress(&b, false, false)
	pr.ApplyStarted(2)
	pr.ActionDone(&plan.Change{Action: plan.ActionCreate, Kind: plan.KindUser, User: "a"}, nil)
	pr.ActionDone(&plan.Change{Action: plan.ActionAdd, Kind: plan.KindMembership, User: "a", Group: "g"}, fmt.Errorf("boom"))
	want := "+ create user a: done\n+ add membership a -> g: failed: boom\n"
	if b.String() != want {
		t.Errorf("got %q, want %q", b.String(), want)
	}
	b.Reset()
	pr = NewProgress(&b, true, false)
	now := time.Unix(0, 0)
	pr.now = func() time.Time { return now }
	pr.ApplyStarted(4)
	now = now.Add(2 * time.Second)
	pr.ActionDone(&plan.Change{Action: plan.ActionCreate, Kind: plan.KindUser, User: "a"}, nil)
	if !bytes.Contains(b.Bytes(), []byte("1/4  0.5/s  ETA 6s")) {
		t.Errorf("bar = %q", b.String())
	}
}

func TestManyNoticesCounted(t *testing.T) {
	p := &plan.Plan{}
	for i := range 25 {
		p.Notices = append(p.Notices, plan.Notice{Severity: plan.SeverityWarning, Kind: plan.NoticeMapping, Subject: fmt.Sprint("idp user u", i),
			Summary: "contains whitespace", Detail: "This user is left out of the plan."})
	}
	var b bytes.Buffer
	if err := Human(&b, p, HumanOptions{}); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if n := bytes.Count(b.Bytes(), []byte("contains whitespace")); n != 20 {
		t.Errorf("%d notices listed, want 20", n)
	}
	if n := bytes.Count(b.Bytes(), []byte("left out of the plan")); n != 1 {
		t.Errorf("detail repeated %d times", n)
	}
	if !bytes.Contains(b.Bytes(), []byte("... and 5 more mapping notices")) {
		t.Errorf("no count of the rest:\n%s", out)
	}
}

func TestMarkdownGolden(t *testing.T) {
	tests := []struct {
		name string
		plan *plan.Plan
	}{
		{"plan", samplePlan()},
		{"empty", &plan.Plan{}},
		{"big-memberships", bigPlan()},
		{"hostile", hostilePlan()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			if err := Markdown(&b, tt.plan, MarkdownOptions{}); err != nil {
				t.Fatal(err)
			}
			if !bytes.HasPrefix(b.Bytes(), []byte(MarkdownMarker+"\n")) {
				t.Errorf("the comment does not start with the marker")
			}
			if b.Len() > 65536 {
				t.Errorf("%d characters: over GitHub's comment limit", b.Len())
			}
			golden(t, "markdown-"+tt.name, b.Bytes())
		})
	}
}

// hostilePlan has names and display names that would be markup, and many
// users, so that the listing is cut.
func hostilePlan() *plan.Plan {
	p := &plan.Plan{IDPs: []string{"entra"}, Notices: []plan.Notice{
		{Severity: plan.SeverityWarning, Kind: plan.NoticeMapping, Subject: "idp user <img src=x onerror=alert(1)>", Summary: "username `x` | **bold** @team [link](http://evil)"},
	}}
	p.Changes = append(p.Changes, plan.Change{Action: plan.ActionCreate, Kind: plan.KindGroup, Group: "a|b`c", IDP: "entra", Reason: "```\n</details><script>"})
	for i := range 250 {
		p.Changes = append(p.Changes, plan.Change{Action: plan.ActionCreate, Kind: plan.KindUser, User: fmt.Sprintf("u%03d", i), IDP: "entra", Reason: "new",
			After: &plan.UserValues{DisplayName: "</details>\n```", Email: fmt.Sprintf("u%03d@example.com", i)}})
	}
	p.Changes = append(p.Changes, plan.Change{Action: plan.ActionAdd, Kind: plan.KindMembership, User: "u000", Group: "a|b`c", IDP: "entra"})
	return p
}

func TestMarkdownEscapes(t *testing.T) {
	var b bytes.Buffer
	if err := Markdown(&b, hostilePlan(), MarkdownOptions{}); err != nil {
		t.Fatal(err)
	}
	// Outside the fenced code blocks (whose text GitHub shows as is),
	// nothing from the plan is markup, and only the view's own tags open
	// and close details.
	var prose strings.Builder
	inCode := false
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, "```") {
			inCode = !inCode
			continue
		}
		if !inCode {
			prose.WriteString(l + "\n")
		}
	}
	if inCode {
		t.Fatal("a code block is left open")
	}
	out := prose.String()
	for _, bad := range []string{"<img", "<script>", "[link](", "**bold**", " @team"} {
		if strings.Contains(out, bad) {
			t.Errorf("markdown contains %q unescaped", bad)
		}
	}
	if o, c := strings.Count(out, "<details>"), strings.Count(out, "</details>"); o != c || o != 3 {
		t.Errorf("%d <details>, %d </details>; want 3 of each", o, c)
	}
	if !bytes.Contains(b.Bytes(), []byte("# … and 50 more")) {
		t.Error("250 users listed in full; want 200 and a count")
	}
}

func TestParseFormat(t *testing.T) {
	for _, tc := range []struct {
		name   string
		asJSON bool
		want   Format
		err    bool
	}{
		{"", false, FormatHuman, false}, {"", true, FormatJSON, false}, {"json", true, FormatJSON, false},
		{"markdown", false, FormatMarkdown, false}, {"markdown", true, "", true}, {"yaml", false, "", true},
	} {
		got, err := ParseFormat(tc.name, tc.asJSON)
		if got != tc.want || (err != nil) != tc.err {
			t.Errorf("ParseFormat(%q, %t) = %q, %v", tc.name, tc.asJSON, got, err)
		}
	}
}
