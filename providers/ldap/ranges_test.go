package ldap

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	goldap "github.com/go-ldap/ldap/v3"
)

// OpenLDAP has no ranged attributes, so Active Directory's range retrieval
// is tested here against a fake directory that answers the way AD does.

// rangedDirectory serves one group whose member attribute holds n values,
// at most max per answer, as Active Directory does with MaxValRange.
type rangedDirectory struct {
	dn       string
	values   []string
	max      int
	requests []string
	// lie, when set, rewrites the range the server claims to return.
	lie func(low, high int, last bool) string
}

func (d *rangedDirectory) Search(req *goldap.SearchRequest) (*goldap.SearchResult, error) {
	if req.BaseDN != d.dn || req.Scope != goldap.ScopeBaseObject || len(req.Attributes) != 1 {
		return nil, fmt.Errorf("unexpected search %+v", req)
	}
	d.requests = append(d.requests, req.Attributes[0])
	_, r, ok, err := parseRangedName(req.Attributes[0])
	if err != nil || !ok || !r.last {
		return nil, fmt.Errorf("unexpected attribute %q", req.Attributes[0])
	}
	return &goldap.SearchResult{Entries: []*goldap.Entry{d.entry(r.low)}}, nil
}

// entry returns the group with the values from low on, ranged as AD does.
func (d *rangedDirectory) entry(low int) *goldap.Entry {
	high := min(low+d.max, len(d.values)) - 1
	last := high == len(d.values)-1
	name := fmt.Sprintf("member;range=%d-%d", low, high)
	if last {
		name = fmt.Sprintf("member;range=%d-*", low)
	}
	if d.lie != nil {
		name = d.lie(low, high, last)
	}
	return &goldap.Entry{DN: d.dn, Attributes: []*goldap.EntryAttribute{
		{Name: "cn", Values: []string{"big"}, ByteValues: [][]byte{[]byte("big")}},
		{Name: name, Values: d.values[low : high+1]},
	}}
}

func members(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("CN=user%05d,OU=Staff,DC=corp,DC=example", i)
	}
	return out
}

func TestRangeRetrieval(t *testing.T) {
	for _, n := range []int{1, 1499, 1500, 1501, 3000, 5000} {
		t.Run(fmt.Sprint(n), func(t *testing.T) {
			d := &rangedDirectory{dn: "CN=big,OU=Groups,DC=corp,DC=example", values: members(n), max: 1500}
			first := d.entry(0)
			if n <= 1500 {
				// AD sends small attributes without a range option.
				first.Attributes[1].Name = "member"
			}
			got, err := attributeValues(context.Background(), d, first, "member", 30)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, d.values) {
				t.Fatalf("got %d values, want %d in order", len(got), len(d.values))
			}
			var want []string
			for low := 1500; low < n; low += 1500 {
				want = append(want, fmt.Sprintf("member;range=%d-*", low))
			}
			if !slices.Equal(d.requests, want) {
				t.Errorf("requests = %v, want %v", d.requests, want)
			}
		})
	}
}

func TestRangeRetrievalErrors(t *testing.T) {
	dn := "CN=big,OU=Groups,DC=corp,DC=example"
	tests := []struct {
		name string
		lie  func(low, high int, last bool) string
		want string
	}{
		{"gap", func(low, high int, last bool) string {
			if low == 0 {
				return "member;range=0-1499"
			}
			return fmt.Sprintf("member;range=%d-*", low+1)
		}, "asked for values from 1500 and got 1501"},
		{"range dropped", func(low, high int, last bool) string {
			if low == 0 {
				return "member;range=0-1499"
			}
			return "member"
		}, "without a range"},
		{"no values", func(low, high int, last bool) string {
			if low == 0 {
				return "member;range=0-1499"
			}
			return "description"
		}, "returned no values"},
		{"malformed", func(low, high int, last bool) string {
			if low == 0 {
				return "member;range=0-1499"
			}
			return "member;range=1500-x"
		}, "malformed range"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := &rangedDirectory{dn: dn, values: members(4000), max: 1500, lie: tt.lie}
			_, err := attributeValues(context.Background(), d, d.entry(0), "member", 30)
			if !errors.Is(err, ErrIncompleteRead) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("err = %v, want an incomplete read containing %q", err, tt.want)
			}
		})
	}
	t.Run("first range not at 0", func(t *testing.T) {
		d := &rangedDirectory{dn: dn, values: members(4000), max: 1500}
		_, err := attributeValues(context.Background(), d, d.entry(1500), "member", 30)
		if !errors.Is(err, ErrIncompleteRead) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		d := &rangedDirectory{dn: dn, values: members(4000), max: 1500}
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := attributeValues(ctx, d, d.entry(0), "member", 30)
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v", err)
		}
	})
}

func TestParseRangedName(t *testing.T) {
	tests := []struct {
		in     string
		base   string
		r      valueRange
		ranged bool
		bad    bool
	}{
		{in: "member", base: "member"},
		{in: "member;range=0-1499", base: "member", r: valueRange{0, 1499, false}, ranged: true},
		{in: "Member;Range=1500-*", base: "Member", r: valueRange{1500, 0, true}, ranged: true},
		{in: "member;binary;range=3-4", base: "member", r: valueRange{3, 4, false}, ranged: true},
		{in: "userCertificate;binary", base: "userCertificate"},
		{in: "member;range=", base: "member", bad: true},
		{in: "member;range=5-4", base: "member", bad: true},
		{in: "member;range=-1-4", base: "member", bad: true},
		{in: "member;range=a-*", base: "member", bad: true},
	}
	for _, tt := range tests {
		base, r, ranged, err := parseRangedName(tt.in)
		if (err != nil) != tt.bad || base != tt.base || (!tt.bad && (r != tt.r || ranged != tt.ranged)) {
			t.Errorf("parseRangedName(%q) = %q, %+v, %v, %v", tt.in, base, r, ranged, err)
		}
	}
}

func FuzzParseRangedName(f *testing.F) {
	for _, s := range []string{"member", "member;range=0-1499", "member;range=1500-*", "a;range=9-", ";;range=1-2"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		base, r, ranged, err := parseRangedName(s)
		if err == nil && ranged && (r.low < 0 || (!r.last && r.high < r.low)) {
			t.Fatalf("parseRangedName(%q) accepted %+v", s, r)
		}
		if !strings.HasPrefix(s, base) {
			t.Fatalf("base %q is not a prefix of %q", base, s)
		}
	})
}

// pages is a fake directory that answers paged searches from canned pages.
type pages struct {
	results []*goldap.SearchResult
	calls   int
}

func (p *pages) Search(req *goldap.SearchRequest) (*goldap.SearchResult, error) {
	if p.calls >= len(p.results) {
		return nil, errors.New("too many searches")
	}
	p.calls++
	return p.results[p.calls-1], nil
}

func page(cookie string, dns ...string) *goldap.SearchResult {
	r := &goldap.SearchResult{}
	for _, dn := range dns {
		r.Entries = append(r.Entries, &goldap.Entry{DN: dn})
	}
	c := goldap.NewControlPaging(2)
	c.SetCookie([]byte(cookie))
	r.Controls = append(r.Controls, c)
	return r
}

func TestPagedSearch(t *testing.T) {
	collect := func(p *pages) ([]string, error) {
		var got []string
		req := goldap.NewSearchRequest("ou=x", goldap.ScopeWholeSubtree, 0, 0, 0, false, "(objectClass=*)", nil, nil)
		err := pagedSearch(context.Background(), p, "user_base", req, 2, func(e *goldap.Entry) error {
			got = append(got, e.DN)
			return nil
		})
		return got, err
	}
	t.Run("complete", func(t *testing.T) {
		got, err := collect(&pages{results: []*goldap.SearchResult{page("c1", "a", "b"), page("c2", "c", "d"), page("", "e")}})
		if err != nil || !slices.Equal(got, []string{"a", "b", "c", "d", "e"}) {
			t.Fatalf("got %v, %v", got, err)
		}
	})
	t.Run("control missing", func(t *testing.T) {
		noControl := page("", "c")
		noControl.Controls = nil
		_, err := collect(&pages{results: []*goldap.SearchResult{page("c1", "a", "b"), noControl}})
		if !errors.Is(err, ErrIncompleteRead) || !strings.Contains(err.Error(), "paged results control") {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("referral", func(t *testing.T) {
		ref := page("", "c")
		ref.Referrals = []string{"ldap://elsewhere/ou=x"}
		_, err := collect(&pages{results: []*goldap.SearchResult{page("c1", "a", "b"), ref}})
		if !errors.Is(err, ErrIncompleteRead) {
			t.Fatalf("err = %v", err)
		}
	})
	t.Run("server error", func(t *testing.T) {
		p := &failing{err: goldap.NewError(goldap.LDAPResultTimeLimitExceeded, errors.New("time"))}
		req := goldap.NewSearchRequest("ou=x", goldap.ScopeWholeSubtree, 0, 0, 0, false, "(objectClass=*)", nil, nil)
		err := pagedSearch(context.Background(), p, "user_base", req, 2, func(*goldap.Entry) error { return nil })
		if !errors.Is(err, ErrIncompleteRead) || !strings.Contains(err.Error(), "time limit") {
			t.Fatalf("err = %v", err)
		}
	})
}

type failing struct{ err error }

func (f *failing) Search(*goldap.SearchRequest) (*goldap.SearchResult, error) { return nil, f.err }
