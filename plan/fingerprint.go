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

// actualFP is the actual-state digest, computed on its own goroutine
// while the diff runs, with the name hashes it needed.
type actualFP struct {
	digest string
	// confluence and state digest each side alone, so that a stale
	// saved plan can say which one changed.
	confluence, state string
	uh, gh            []h128
}

// interned is a snapshot of the interning tables, taken when only one
// goroutine writes them.
type interned struct {
	userNames, groupNames []string
	actualBy              [][]uint32
	managedBy             [][]managedRef
}

func (m *members) snapshot() interned {
	return interned{userNames: m.userNames, groupNames: m.groupNames, actualBy: m.actualBy, managedBy: m.managedBy}
}

func hashAll(names []string, have []h128) []h128 {
	out := make([]h128, len(names))
	n := copy(out, have)
	for i := n; i < len(names); i++ {
		out[i] = hashString(names[i])
	}
	return out
}

// actualDigest digests Confluence's users, groups and memberships and the
// ownership state.
func (d *diff) actualDigest(in interned) actualFP {
	uh, gh := hashAll(in.userNames, nil), hashAll(in.groupNames, nil)
	var users, groups, members, owned multiset
	for _, u := range d.actual.Users {
		users.add(u.Username, u.DisplayName, u.Email, boolString(u.Active))
	}
	for _, g := range d.actual.Groups {
		groups.add(g.Name)
	}
	for uid, l := range in.actualBy {
		for _, gid := range l {
			members.addHash(combine(uh[uid], gh[gid]))
		}
	}
	for _, u := range d.own.Users {
		owned.add("u", u.Username, u.IDP, u.SourceID, u.DisplayName, u.Email, boolString(u.Active), customString(u.Custom))
	}
	for _, g := range d.own.Groups {
		owned.add("g", g.Name, g.IDP, boolString(g.Created))
	}
	var lastIDP string
	var lastH h128
	for uid, l := range in.managedBy {
		for _, r := range l {
			if name := d.own.Memberships[r.idx].IDP; name != lastIDP || lastH == (h128{}) {
				lastIDP, lastH = name, hashString(name)
			}
			owned.addHash(combine(uh[uid], gh[r.gid], lastH))
		}
	}
	return actualFP{digest: digest(&users, &groups, &members, &owned),
		confluence: digest(&users, &groups, &members), state: digest(&owned), uh: uh, gh: gh}
}

// desiredDigest digests the desired state: the users that won their
// usernames with their values, the usable groups, the memberships and the
// IdPs that took part.
func (d *diff) desiredDigest() string {
	m := &d.members
	uh, gh := hashAll(m.userNames, d.actualFP.uh), hashAll(m.groupNames, d.actualFP.gh)
	idpH := hashAll(m.idpNames, nil)
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
	return digest(&users, &groups, &wanted, &idps)
}
