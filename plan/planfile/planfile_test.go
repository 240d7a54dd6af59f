package planfile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/confsync/confsync/plan"
	"github.com/google/go-cmp/cmp"
)

func sample() *plan.Plan {
	return &plan.Plan{
		Created: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC), IDPs: []string{"entra"}, ConfigHash: "abc",
		DesiredFingerprint: "d", ActualFingerprint: "a", IDPFilter: []string{"entra"},
		Reads: map[string]plan.SourceCounts{"entra": {Users: 2, At: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}},
		Changes: []plan.Change{
			{Action: plan.ActionCreate, Kind: plan.KindUser, User: "a", IDP: "entra", After: &plan.UserValues{DisplayName: "A", Email: "a@x.org", Active: true, Custom: map[string]string{"k": "R&D <x>"}}},
			{Action: plan.ActionAdd, Kind: plan.KindMembership, User: "a", Group: "g", IDP: "entra", DependsOn: []int{0}},
		},
	}
}

func TestRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.plan")
	if err := Write(path, sample()); err != nil {
		t.Fatal(err)
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(sample(), got); d != "" {
		t.Error(d)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode = %v, want 0600", fi.Mode().Perm())
	}
}

func TestRefused(t *testing.T) {
	var buf bytes.Buffer
	if err := Encode(&buf, sample()); err != nil {
		t.Fatal(err)
	}
	good := buf.String()
	tests := []struct {
		name, data, want string
	}{
		{"edited", strings.Replace(good, `"user":"a"`, `"user":"b"`, 1), "checksum"},
		{"not json", "hello", "not a confsync plan file"},
		{"other json", `{"a":1}`, "not a confsync plan file"},
		{"newer", strings.Replace(good, `"version":1`, `"version":2`, 1), "version 2 is not supported"},
		{"truncated", good[:len(good)/2], "not a confsync plan file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Decode(strings.NewReader(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("err = %v, want %q", err, tt.want)
			}
		})
	}
}

func FuzzDecode(f *testing.F) {
	var buf bytes.Buffer
	Encode(&buf, sample())
	f.Add(buf.Bytes())
	f.Add([]byte(`{"format":"confsync-plan","version":1,"sha256":"","plan":{}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := Decode(bytes.NewReader(data))
		if err == nil && p == nil {
			t.Fatal("nil plan without error")
		}
	})
}
