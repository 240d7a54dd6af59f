package plan

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"maps"
	"slices"
	"strconv"
	"strings"
)

// multiset is an order-independent digest of a set of records: each record
// is hashed with two independent 64-bit FNV-1a variants and the hashes are
// summed. It detects change (a stale plan), not tampering: a plan file's
// integrity is checked separately with SHA-256. It costs one pass and no
// sorting, which matters with a million memberships.
type multiset struct {
	a, b, n uint64
}

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func (m *multiset) add(fields ...string) {
	a, b := uint64(fnvOffset), uint64(fnvOffset^0x9e3779b97f4a7c15)
	for _, f := range fields {
		for i := 0; i < len(f); i++ {
			a = (a ^ uint64(f[i])) * fnvPrime
			b = (b ^ uint64(f[i])) * fnvPrime
			b ^= b >> 29
		}
		// a field separator that cannot appear in the fields' bytes as a
		// single unit
		a = (a ^ 0x1ff) * fnvPrime
		b = (b ^ 0x1ff) * fnvPrime
	}
	m.a += a
	m.b += b * 0x9e3779b97f4a7c15
	m.n++
}

func (m *multiset) sum(h []byte) []byte {
	var buf [24]byte
	binary.BigEndian.PutUint64(buf[0:], m.a)
	binary.BigEndian.PutUint64(buf[8:], m.b)
	binary.BigEndian.PutUint64(buf[16:], m.n)
	return append(h, buf[:]...)
}

func digest(sets ...*multiset) string {
	var b []byte
	for _, s := range sets {
		b = s.sum(b)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func customString(c map[string]string) string {
	if len(c) == 0 {
		return ""
	}
	var sb strings.Builder
	for _, k := range slices.Sorted(maps.Keys(c)) {
		sb.WriteString(strconv.Quote(k))
		sb.WriteByte('=')
		sb.WriteString(strconv.Quote(c[k]))
		sb.WriteByte(';')
	}
	return sb.String()
}

func boolString(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// desiredFingerprint digests the desired state: the users that won their
// usernames with their values, the usable groups and the memberships.
func (d *diff) desiredFingerprint() string {
	var users, groups, members, idps multiset
	for _, u := range d.desired {
		users.add(u.Username, u.IDP, u.SourceID, u.DisplayName, u.Email, boolString(u.Active), customString(u.Custom))
	}
	for name, g := range d.groups {
		groups.add(name, g.owner, boolString(g.usable), boolString(g.authoritative))
	}
	for k, idp := range d.wanted {
		members.add(k.user, k.group, idp)
	}
	for name := range d.active {
		idps.add(name)
	}
	return digest(&users, &groups, &members, &idps)
}

// actualFingerprint digests Confluence's state and the ownership state.
func actualFingerprint(a *Actual, own *Ownership) string {
	var users, groups, members, owned multiset
	for _, u := range a.Users {
		users.add(u.Username, u.DisplayName, u.Email, boolString(u.Active))
	}
	for _, g := range a.Groups {
		groups.add(g.Name)
		for _, m := range g.Members {
			members.add(g.Name, m)
		}
	}
	for _, u := range own.Users {
		owned.add("u", u.Username, u.IDP, u.SourceID, u.DisplayName, u.Email, boolString(u.Active), customString(u.Custom))
	}
	for _, g := range own.Groups {
		owned.add("g", g.Name, g.IDP, boolString(g.Created))
	}
	for _, m := range own.Memberships {
		owned.add("m", m.Username, m.Group, m.IDP)
	}
	return digest(&users, &groups, &members, &owned)
}
