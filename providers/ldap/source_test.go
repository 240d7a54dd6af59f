package ldap_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/ldap"
	"github.com/confsync/confsync/providers/ldap/ldaptest"
)

const suffix = "dc=example,dc=com"

// readerLimits lifts slapd's default size limit (500) for the reader
// account, as an admin must for the account confsync binds as.
const readerLimits = `limits dn.exact="cn=reader,ou=system,dc=example,dc=com" size=unlimited size.prtotal=unlimited
`

// startOpenLDAP starts slapd with the inetOrgPerson fixture.
func startOpenLDAP(t *testing.T, dbConfig string, extraLDIF ...string) *ldaptest.Server {
	t.Helper()
	return ldaptest.Start(t, ldaptest.Config{
		LDIF:           append([]string{"testdata/openldap.ldif"}, extraLDIF...),
		DatabaseConfig: readerLimits + dbConfig,
	})
}

// startAD starts slapd holding the Active Directory-shaped fixture.
func startAD(t *testing.T) *ldaptest.Server {
	t.Helper()
	return ldaptest.Start(t, ldaptest.Config{
		Schemas: []string{"testdata/ad.schema"},
		LDIF:    []string{"testdata/ad.ldif"},
	})
}

func openLDAPConfig(srv *ldaptest.Server) *config.LDAPSource {
	return &config.LDAPSource{
		URL:          srv.URL,
		BindDN:       "cn=reader,ou=system," + suffix,
		BindPassword: "readerpass",
		UserBase:     "ou=people," + suffix,
		UserFilter:   "(objectClass=inetOrgPerson)",
		GroupBase:    "ou=groups," + suffix,
		NestedGroups: true,
		PageSize:     2, // several pages even for the small fixture
		Timeout:      time.Minute,
	}
}

func adConfig(srv *ldaptest.Server) *config.LDAPSource {
	return &config.LDAPSource{
		URL:                   srv.URL,
		BindDN:                "CN=svc-confsync,OU=Service Accounts," + suffix,
		BindPassword:          "readerpass",
		UserBase:              "OU=Staff," + suffix,
		UserFilter:            "(objectClass=user)",
		UserIDAttribute:       "objectGUID",
		GroupBase:             "OU=Groups," + suffix,
		GroupFilter:           "(objectClass=group)",
		UserMemberOfAttribute: "memberOf",
		NestedGroups:          true,
		PageSize:              2,
		Timeout:               time.Minute,
	}
}

func newSource(t *testing.T, cfg *config.LDAPSource) *ldap.Source {
	t.Helper()
	src, err := ldap.NewSource(cfg, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func read(t *testing.T, cfg *config.LDAPSource, attrs ...string) *plan.Snapshot {
	t.Helper()
	snap, err := newSource(t, cfg).Read(context.Background(), plan.ReadRequest{Attributes: attrs})
	if err != nil {
		t.Fatalf("Read: %v", err)
	}
	return snap
}

// groupsByName renders a snapshot's groups as name -> sorted values of
// the members' attribute attr, for comparison.
func groupsByName(t *testing.T, snap *plan.Snapshot, attr string) map[string][]string {
	t.Helper()
	byID := map[string]string{}
	for _, u := range snap.Users {
		byID[u.ID] = u.Attributes[attr]
	}
	out := map[string][]string{}
	for _, g := range snap.Groups {
		names := []string{}
		for _, id := range g.MemberIDs {
			name, ok := byID[id]
			if !ok {
				t.Errorf("group %s has member id %s that is not a user of the snapshot", g.Name, id)
			}
			names = append(names, name)
		}
		slices.Sort(names)
		out[g.Name] = names
	}
	return out
}

func TestReadOpenLDAP(t *testing.T) {
	srv := startOpenLDAP(t, "")
	cfg := openLDAPConfig(srv)
	snap := read(t, cfg, "uid", "mail", "displayName", "employeeNumber")

	users := map[string]plan.SourceUser{}
	for _, u := range snap.Users {
		users[u.Attributes["uid"]] = u
	}
	if got := slices.Sorted(maps.Keys(users)); !slices.Equal(got, []string{"alice", "bob", "carol", "dave", "erin", "frank"}) {
		t.Fatalf("users = %v", got)
	}
	alice := users["alice"]
	if want := map[string]string{"uid": "alice", "mail": "alice@example.com", "displayName": "Alice Adams", "employeeNumber": "E1001"}; !cmp.Equal(alice.Attributes, want) {
		t.Errorf("alice attributes: %s", cmp.Diff(want, alice.Attributes))
	}
	if !alice.Active {
		t.Error("alice is inactive")
	}
	if len(alice.ID) != 36 || strings.Count(alice.ID, "-") != 4 {
		t.Errorf("alice's id %q is not an entryUUID", alice.ID)
	}

	want := map[string][]string{
		"engineering": {"alice", "bob"}, // the reader account is outside user_base
		"finance":     {"carol"},
		"all-staff":   {"alice", "bob", "carol", "frank"},
		"cycle-a":     {"dave", "erin"},
		"cycle-b":     {"dave", "erin"},
		"self-loop":   {"alice"},
	}
	if diff := cmp.Diff(want, groupsByName(t, snap, "uid")); diff != "" {
		t.Errorf("groups (-want +got):\n%s", diff)
	}

	// Ids are stable: a second read yields the same ones.
	again := read(t, cfg, "uid")
	for _, u := range again.Users {
		if users[u.Attributes["uid"]].ID != u.ID {
			t.Errorf("%s: id changed from %s to %s", u.Attributes["uid"], users[u.Attributes["uid"]].ID, u.ID)
		}
	}

	t.Run("without nesting", func(t *testing.T) {
		c := *cfg
		c.NestedGroups = false
		want := map[string][]string{
			"engineering": {"alice", "bob"},
			"finance":     {"carol"},
			"all-staff":   {"frank"},
			"cycle-a":     {"dave"},
			"cycle-b":     {"erin"},
			"self-loop":   {"alice"},
		}
		if diff := cmp.Diff(want, groupsByName(t, read(t, &c, "uid"), "uid")); diff != "" {
			t.Errorf("groups (-want +got):\n%s", diff)
		}
	})
	t.Run("uniqueMember", func(t *testing.T) {
		c := *cfg
		c.GroupBase = "ou=unique," + suffix
		c.GroupFilter = "(objectClass=groupOfUniqueNames)"
		c.GroupMemberAttribute = "uniqueMember"
		want := map[string][]string{"wiki-editors": {"alice", "dave"}}
		if diff := cmp.Diff(want, groupsByName(t, read(t, &c, "uid"), "uid")); diff != "" {
			t.Errorf("groups (-want +got):\n%s", diff)
		}
	})
	t.Run("memberUid", func(t *testing.T) {
		c := *cfg
		c.GroupBase = "ou=posix," + suffix
		c.GroupFilter = "(objectClass=posixGroup)"
		c.GroupMemberAttribute = "memberUid"
		want := map[string][]string{"developers": {"alice", "erin"}}
		got := groupsByName(t, read(t, &c, "uid"), "uid")
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("groups (-want +got):\n%s", diff)
		}
		byMail := groupsByName(t, read(t, &c, "mail"), "mail")
		if diff := cmp.Diff(map[string][]string{"developers": {"alice@example.com", "erin@example.com"}}, byMail); diff != "" {
			t.Errorf("groups when uid is not requested (-want +got):\n%s", diff)
		}
	})
	t.Run("no group base", func(t *testing.T) {
		c := *cfg
		c.GroupBase = ""
		snap := read(t, &c, "uid")
		if len(snap.Users) != 6 || len(snap.Groups) != 0 {
			t.Errorf("got %d users and %d groups, want 6 and 0", len(snap.Users), len(snap.Groups))
		}
	})
}

// The GUIDs of ad.ldif, as Active Directory tools print them.
var adGUIDs = map[string]string{
	"aarcher": "3dd6b2d9-33a2-4a4c-9b10-1d9e0c3f5e7a",
	"bbaker":  "00112233-4455-6677-8899-aabbccddeeff",
	"cchen":   "f0e1d2c3-b4a5-9687-7869-5a4b3c2d1e0f",
	"dobrien": "12345678-9abc-def0-1234-56789abcdef0",
	"eevans":  "a1a2a3a4-b1b2-c1c2-d1d2-e1e2e3e4e5e6",
}

func TestReadActiveDirectory(t *testing.T) {
	srv := startAD(t)
	wantGroups := map[string][]string{
		"Engineering":      {"aarcher", "bbaker"},
		"Finance":          {"cchen", "dobrien"},
		"All Staff":        {"aarcher", "bbaker", "cchen", "dobrien"},
		"Confluence Users": {"aarcher"},
		"Cycle A":          {"dobrien", "eevans"},
		"Cycle B":          {"dobrien", "eevans"},
	}
	check := func(t *testing.T, cfg *config.LDAPSource) {
		snap := read(t, cfg, "sAMAccountName", "mail", "displayName", "userPrincipalName", "objectGUID")
		got := map[string]string{}
		active := map[string]bool{}
		for _, u := range snap.Users {
			sam := u.Attributes["sAMAccountName"]
			got[sam] = u.ID
			active[sam] = u.Active
			if u.Attributes["objectGUID"] != u.ID {
				t.Errorf("%s: objectGUID attribute %q, id %q", sam, u.Attributes["objectGUID"], u.ID)
			}
		}
		if diff := cmp.Diff(adGUIDs, got); diff != "" {
			t.Errorf("ids (-want +got):\n%s", diff)
		}
		wantActive := map[string]bool{"aarcher": true, "bbaker": true, "cchen": false, "dobrien": true, "eevans": true}
		if diff := cmp.Diff(wantActive, active); diff != "" {
			t.Errorf("active (-want +got):\n%s", diff)
		}
		if diff := cmp.Diff(wantGroups, groupsByName(t, snap, "sAMAccountName")); diff != "" {
			t.Errorf("groups (-want +got):\n%s", diff)
		}
	}
	t.Run("memberOf", func(t *testing.T) { check(t, adConfig(srv)) })
	t.Run("member", func(t *testing.T) {
		cfg := adConfig(srv)
		cfg.UserMemberOfAttribute = ""
		cfg.GroupMemberAttribute = "member"
		check(t, cfg)
	})
}

func TestLookupUser(t *testing.T) {
	t.Run("active directory", func(t *testing.T) {
		srv := startAD(t)
		src := newSource(t, adConfig(srv))
		e, err := src.LookupUser(context.Background(), "sAMAccountName", "DOBRIEN", []string{"sAMAccountName", "mail", "displayName", "title"})
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(strings.ToLower(e.DN), "cn=dan o'brien") {
			t.Errorf("DN = %q, want Dan O'Brien's", e.DN)
		}
		if e.User.ID != adGUIDs["dobrien"] || !e.User.Active {
			t.Errorf("user = %+v", e.User)
		}
		if want := []string{"All Staff", "Cycle A", "Cycle B", "Finance"}; !slices.Equal(e.Groups, want) {
			t.Errorf("groups = %v, want %v", e.Groups, want)
		}
		attrs := map[string][]string{}
		var names []string
		for _, a := range e.Attributes {
			attrs[a.Name] = a.Values
			names = append(names, a.Name)
		}
		if !slices.IsSortedFunc(names, func(a, b string) int { return strings.Compare(strings.ToLower(a), strings.ToLower(b)) }) {
			t.Errorf("attributes are not sorted: %v", names)
		}
		if got := attrs["objectGUID"]; !slices.Equal(got, []string{adGUIDs["dobrien"]}) {
			t.Errorf("objectGUID rendered as %v", got)
		}
		if _, ok := attrs["unicodePwd"]; ok {
			t.Error("unicodePwd is shown")
		}
		if got := attrs["title"]; !slices.Equal(got, []string{"Analyst"}) {
			t.Errorf("title = %v", got)
		}
	})
	t.Run("openldap", func(t *testing.T) {
		srv := startOpenLDAP(t, "")
		src := newSource(t, openLDAPConfig(srv))
		e, err := src.LookupUser(context.Background(), "uid", "alice", []string{"uid", "mail"})
		if err != nil {
			t.Fatal(err)
		}
		if want := []string{"all-staff", "engineering", "self-loop"}; !slices.Equal(e.Groups, want) {
			t.Errorf("groups = %v, want %v", e.Groups, want)
		}
		for _, a := range e.Attributes {
			if strings.EqualFold(a.Name, "userPassword") {
				t.Error("userPassword is shown")
			}
		}
		if e.User.Attributes["mail"] != "alice@example.com" {
			t.Errorf("user = %+v", e.User)
		}
		for _, name := range []string{"*", "a*", "alice)(uid=*", "nobody"} {
			if _, err := src.LookupUser(context.Background(), "uid", name, nil); err == nil || !strings.Contains(err.Error(), "no user") {
				t.Errorf("LookupUser(%q) = %v, want no user", name, err)
			}
		}
	})
}

// writeLDIF writes generated LDIF to a file in dir and returns its path.
func writeLDIF(t testing.TB, dir, name string, gen func(w *strings.Builder)) string {
	t.Helper()
	var b strings.Builder
	gen(&b)
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestBigGroup(t *testing.T) {
	const n = 5000
	ldif := writeLDIF(t, t.TempDir(), "big.ldif", func(w *strings.Builder) {
		for i := range n {
			fmt.Fprintf(w, "dn: uid=user%05d,ou=people,%s\nobjectClass: inetOrgPerson\nuid: user%05d\ncn: User %d\nsn: %d\nmail: user%05d@example.com\n\n", i, suffix, i, i, i, i)
		}
		fmt.Fprintf(w, "dn: cn=everyone,ou=groups,%s\nobjectClass: groupOfNames\ncn: everyone\n", suffix)
		for i := range n {
			fmt.Fprintf(w, "member: uid=user%05d,ou=people,%s\n", i, suffix)
		}
	})
	srv := startOpenLDAP(t, "", ldif)
	cfg := openLDAPConfig(srv)
	cfg.PageSize = 500
	snap := read(t, cfg, "uid")
	if len(snap.Users) != n+6 {
		t.Errorf("%d users, want %d", len(snap.Users), n+6)
	}
	members := groupsByName(t, snap, "uid")["everyone"]
	if len(members) != n {
		t.Fatalf("everyone has %d members, want %d", len(members), n)
	}
	for i, m := range members {
		if want := fmt.Sprintf("user%05d", i); m != want {
			t.Fatalf("member %d is %s, want %s", i, m, want)
		}
	}
}

func TestIncompleteReads(t *testing.T) {
	t.Run("size limit", func(t *testing.T) {
		srv := startOpenLDAP(t, `limits dn.exact="cn=limited,ou=system,dc=example,dc=com" size=3`)
		cfg := openLDAPConfig(srv)
		cfg.BindDN, cfg.BindPassword = "cn=limited,ou=system,"+suffix, "limitedpass"
		snap, err := newSource(t, cfg).Read(context.Background(), plan.ReadRequest{Attributes: []string{"uid"}})
		if !errors.Is(err, ldap.ErrIncompleteRead) || snap != nil {
			t.Fatalf("Read = %v, %v; want an incomplete read", snap, err)
		}
		if !strings.Contains(err.Error(), "size limit") {
			t.Errorf("error does not name the size limit: %v", err)
		}
	})
	t.Run("dropped connection", func(t *testing.T) {
		ldif := writeLDIF(t, t.TempDir(), "many.ldif", func(w *strings.Builder) {
			for i := range 2000 {
				fmt.Fprintf(w, "dn: uid=user%05d,ou=people,%s\nobjectClass: inetOrgPerson\nuid: user%05d\ncn: User %d\nsn: %d\n\n", i, suffix, i, i, i)
			}
		})
		srv := startOpenLDAP(t, "", ldif)
		for _, cut := range []int64{20, 5000, 100000} {
			t.Run(fmt.Sprint(cut), func(t *testing.T) {
				cfg := openLDAPConfig(srv)
				cfg.URL = "ldap://" + ldaptest.CutProxy(t, srv.Addr, cut)
				cfg.PageSize = 100
				snap, err := newSource(t, cfg).Read(context.Background(), plan.ReadRequest{Attributes: []string{"uid"}})
				if err == nil || snap != nil {
					t.Fatalf("Read after the connection dropped = %d users, %v; want an error", len(snap.Users), err)
				}
				if cut > 1000 && !errors.Is(err, ldap.ErrIncompleteRead) {
					t.Errorf("error does not wrap ErrIncompleteRead: %v", err)
				}
			})
		}
	})
	t.Run("referral", func(t *testing.T) {
		ldif := writeLDIF(t, t.TempDir(), "ref.ldif", func(w *strings.Builder) {
			fmt.Fprintf(w, "dn: ou=elsewhere,ou=people,%s\nobjectClass: referral\nobjectClass: extensibleObject\nou: elsewhere\nref: ldap://other.example.net/ou=people,dc=other\n", suffix)
		})
		srv := startOpenLDAP(t, "", ldif)
		_, err := newSource(t, openLDAPConfig(srv)).Read(context.Background(), plan.ReadRequest{Attributes: []string{"uid"}})
		if !errors.Is(err, ldap.ErrIncompleteRead) || !strings.Contains(err.Error(), "other.example.net") {
			t.Fatalf("Read = %v; want an incomplete read naming the referral", err)
		}
	})
}

func TestErrors(t *testing.T) {
	srv := startOpenLDAP(t, "")
	tests := []struct {
		name   string
		modify func(*config.LDAPSource)
		want   string
	}{
		{"invalid credentials", func(c *config.LDAPSource) { c.BindPassword = "wrong-password-xyz" }, "invalid credentials"},
		{"missing user base", func(c *config.LDAPSource) { c.UserBase = "ou=nowhere," + suffix }, `user_base "ou=nowhere,dc=example,dc=com" does not exist`},
		{"missing group base", func(c *config.LDAPSource) { c.GroupBase = "ou=nowhere," + suffix }, `group_base "ou=nowhere,dc=example,dc=com" does not exist`},
		{"no id attribute", func(c *config.LDAPSource) { c.UserIDAttribute = "employeeType" }, "has no employeeType attribute"},
		{"duplicate ids", func(c *config.LDAPSource) { c.UserIDAttribute = "gidNumber" }, "must be unique"},
		{"nothing listening", func(c *config.LDAPSource) { c.URL = "ldap://127.0.0.1:1" }, "cannot connect"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := openLDAPConfig(srv)
			tt.modify(cfg)
			_, err := newSource(t, cfg).Read(context.Background(), plan.ReadRequest{Attributes: []string{"uid"}})
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Read = %v, want an error containing %q", err, tt.want)
			}
			if strings.Contains(err.Error(), "wrong-password-xyz") || strings.Contains(err.Error(), "readerpass") {
				t.Errorf("the error carries the password: %v", err)
			}
		})
	}
}

func TestContextCancelled(t *testing.T) {
	// A server that accepts connections and never answers: only the
	// context can end the read.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	cfg := &config.LDAPSource{URL: "ldap://" + l.Addr().String(), BindDN: "cn=x," + suffix, BindPassword: "pw", UserBase: suffix, Timeout: time.Hour}
	ctx, cancel := context.WithCancel(context.Background())
	time.AfterFunc(100*time.Millisecond, cancel)
	_, err = newSource(t, cfg).Read(ctx, plan.ReadRequest{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Read = %v, want context.Canceled", err)
	}
}

func TestTLS(t *testing.T) {
	srv := ldaptest.Start(t, ldaptest.Config{
		LDIF:           []string{"testdata/openldap.ldif"},
		DatabaseConfig: readerLimits,
		TLS:            true,
	})
	tests := []struct {
		name   string
		modify func(*config.LDAPSource)
		want   string // an error, or "" for success
	}{
		{"ldaps with ca_file", func(c *config.LDAPSource) { c.URL = srv.LDAPSURL; c.CAFile = srv.CAFile }, ""},
		{"start_tls with ca_file", func(c *config.LDAPSource) { c.StartTLS = true; c.CAFile = srv.CAFile }, ""},
		{"ldaps with insecure_skip_verify", func(c *config.LDAPSource) { c.URL = srv.LDAPSURL; c.InsecureSkipVerify = true }, ""},
		{"ldaps with an unknown CA", func(c *config.LDAPSource) { c.URL = srv.LDAPSURL }, "TLS handshake"},
		{"start_tls with an unknown CA", func(c *config.LDAPSource) { c.StartTLS = true }, "TLS handshake"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := openLDAPConfig(srv)
			tt.modify(cfg)
			snap, err := newSource(t, cfg).Read(context.Background(), plan.ReadRequest{Attributes: []string{"uid"}})
			switch {
			case tt.want == "" && err != nil:
				t.Fatalf("Read: %v", err)
			case tt.want == "" && len(snap.Users) != 6:
				t.Fatalf("read %d users, want 6", len(snap.Users))
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Fatalf("Read = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestSilentServerTimesOut(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	cfg := &config.LDAPSource{URL: "ldap://" + l.Addr().String(), BindDN: "cn=x," + suffix, BindPassword: "pw", UserBase: suffix, Timeout: time.Second}
	_, err = newSource(t, cfg).Read(context.Background(), plan.ReadRequest{})
	if err == nil || !strings.Contains(err.Error(), "no answer within the timeout") {
		t.Fatalf("Read = %v, want a timeout", err)
	}
}

func TestPasswordNeverLogged(t *testing.T) {
	srv := startOpenLDAP(t, "")
	var logs strings.Builder
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	for _, password := range []string{"readerpass", "wrong-password-xyz"} {
		cfg := openLDAPConfig(srv)
		cfg.BindPassword = config.Secret(password)
		src, err := ldap.NewSource(cfg, logger)
		if err != nil {
			t.Fatal(err)
		}
		_, err = src.Read(context.Background(), plan.ReadRequest{Attributes: []string{"uid"}})
		if err != nil && strings.Contains(err.Error(), password) {
			t.Errorf("error carries the password: %v", err)
		}
		if e, err := src.LookupUser(context.Background(), "uid", "alice", nil); err == nil {
			for _, a := range e.Attributes {
				for _, v := range a.Values {
					if strings.Contains(v, "secret") {
						t.Errorf("LookupUser shows %s: %s", a.Name, v)
					}
				}
			}
		}
	}
	if logs.Len() == 0 {
		t.Fatal("nothing was logged; the test would prove nothing")
	}
	if strings.Contains(logs.String(), "readerpass") || strings.Contains(logs.String(), "wrong-password-xyz") {
		t.Errorf("the logs carry a password:\n%s", logs.String())
	}
}
