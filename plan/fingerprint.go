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

// The fingerprints detect change (a stale plan), not tampering: a plan
// file's integrity is checked separately with SHA-256. They are
// order-independent digests of sets of records: each record hashes to a
// 128-bit value and the values are summed, which costs one pass and no
// sorting, and lets a membership's hash be combined from the hashes of its
// user and group names, each computed once.

// h128 is a 128-bit hash.
type h128 struct{ a, b uint64 }

const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

// mix64 is SplitMix64's finaliser.
func mix64(x uint64) uint64 {
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return x
}

// hashString hashes s with FNV-1a, widened to 128 bits.
func hashString(s string) h128 {
	a := uint64(fnvOffset)
	for i := 0; i < len(s); i++ {
		a = (a ^ uint64(s[i])) * fnvPrime
	}
	a = mix64(a ^ uint64(len(s)))
	return h128{a, mix64(a ^ 0x9e3779b97f4a7c15)}
}

// combine hashes an ordered tuple of hashes.
func combine(hs ...h128) h128 {
	var r h128
	for i, h := range hs {
		k := uint64(i+1) * 0x9e3779b97f4a7c15
		r.a = mix64(r.a ^ h.a + k)
		r.b = mix64(r.b ^ h.b + k*3)
	}
	return r
}

// hashFields is combine over the fields' hashes, without allocating.
func hashFields(fields ...string) h128 {
	var r h128
	for i, f := range fields {
		h := hashString(f)
		k := uint64(i+1) * 0x9e3779b97f4a7c15
		r.a = mix64(r.a ^ h.a + k)
		r.b = mix64(r.b ^ h.b + k*3)
	}
	return r
}

// multiset sums record hashes.
type multiset struct{ a, b, n uint64 }

func (m *multiset) addHash(h h128) {
	m.a += h.a
	m.b += h.b
	m.n++
}

func (m *multiset) add(fields ...string) { m.addHash(hashFields(fields...)) }

func digest(sets ...*multiset) string {
	buf := make([]byte, 0, 24*len(sets))
	for _, s := range sets {
		buf = binary.BigEndian.AppendUint64(buf, s.a)
		buf = binary.BigEndian.AppendUint64(buf, s.b)
		buf = binary.BigEndian.AppendUint64(buf, s.n)
	}
	sum := sha256.Sum256(buf)
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

// nameHashes hashes the interned user and group names once each.
func (d *diff) nameHashes() (users, groups []h128) {
	m := &d.members
	users = make([]h128, len(m.userNames))
	for i, n := range m.userNames {
		users[i] = hashString(n)
	}
	groups = make([]h128, len(m.groupNames))
	for i, n := range m.groupNames {
		groups[i] = hashString(n)
	}
	return users, groups
}

// fingerprints digests the desired state (the users that won their
// usernames with their values, the usable groups, the memberships) and
// the actual state (Confluence's users, groups and memberships, and the
// ownership state).
func (d *diff) fingerprints(actual *Actual) (desired, current string) {
	m := &d.members
	uh, gh := d.nameHashes()
	idpH := make([]h128, len(m.idpNames))
	for i, n := range m.idpNames {
		idpH[i] = hashString(n)
	}

	var users, groups, wanted, idps multiset
	for _, u := range d.desired {
		users.add(u.Username, u.IDP, u.SourceID, u.DisplayName, u.Email, boolString(u.Active), customString(u.Custom))
	}
	for name, g := range d.groups {
		groups.add(name, g.owner, boolString(g.usable), boolString(g.authoritative))
	}
	for uid, l := range m.wantedBy {
		for _, w := range l {
			wanted.addHash(combine(uh[uid], gh[w.gid], idpH[w.idp]))
		}
	}
	for name := range d.active {
		idps.add(name)
	}
	desired = digest(&users, &groups, &wanted, &idps)

	var ausers, agroups, amembers, owned multiset
	for _, u := range actual.Users {
		ausers.add(u.Username, u.DisplayName, u.Email, boolString(u.Active))
	}
	for _, g := range actual.Groups {
		agroups.add(g.Name)
	}
	for uid, l := range m.actualBy {
		for _, gid := range l {
			amembers.addHash(combine(uh[uid], gh[gid]))
		}
	}
	for _, u := range d.own.Users {
		owned.add("u", u.Username, u.IDP, u.SourceID, u.DisplayName, u.Email, boolString(u.Active), customString(u.Custom))
	}
	for _, g := range d.own.Groups {
		owned.add("g", g.Name, g.IDP, boolString(g.Created))
	}
	idpOf := map[string]h128{}
	for uid, l := range m.managedBy {
		for _, r := range l {
			name := d.own.Memberships[r.idx].IDP
			h, ok := idpOf[name]
			if !ok {
				h = hashString(name)
				idpOf[name] = h
			}
			owned.addHash(combine(uh[uid], gh[r.gid], h))
		}
	}
	current = digest(&ausers, &agroups, &amembers, &owned)
	return desired, current
}
