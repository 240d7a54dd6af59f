package emulator

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

// User is a user as the emulator holds it. Username is stored lower-case.
type User struct {
	Username    string `json:"username"`
	Key         string `json:"key"`
	DisplayName string `json:"displayName"`
	Email       string `json:"email"`
	Active      bool   `json:"active"`
}

// Group is a group and its direct members (lower-case usernames, sorted).
type Group struct {
	Name    string   `json:"name"`
	Members []string `json:"members"`
}

// group is the in-memory form of a group; sorted is a cache of the
// member list, rebuilt lazily after a change.
type group struct {
	name    string
	members map[string]struct{}
	sorted  []string
}

func (g *group) sortedMembers() []string {
	if g.sorted == nil {
		g.sorted = make([]string, 0, len(g.members))
		for m := range g.members {
			g.sorted = append(g.sorted, m)
		}
		sort.Strings(g.sorted)
	}
	return g.sorted
}

// longTask is an asynchronous user deletion.
type longTask struct {
	id       string
	username string
	polls    int
	failed   bool
}

// state is everything the emulator persists. It is guarded by Server.mu.
type state struct {
	users  map[string]*User
	groups map[string]*group
	seq    int64
	tasks  map[string]*longTask
	// spaces and global hold the permission model (spaces.go).
	spaces map[string]*space
	global map[Permission]struct{}

	userOrder  []string // sorted usernames, nil when stale
	groupOrder []string // sorted group names, nil when stale
	spaceOrder []string // sorted space keys, nil when stale
}

func newState() *state {
	return &state{users: map[string]*User{}, groups: map[string]*group{}, tasks: map[string]*longTask{},
		spaces: map[string]*space{}, global: map[Permission]struct{}{}}
}

func (st *state) nextKey() string {
	st.seq++
	return fmt.Sprintf("8a7f8081%024x", st.seq)
}

func (st *state) sortedUsers() []string {
	if st.userOrder == nil {
		st.userOrder = make([]string, 0, len(st.users))
		for n := range st.users {
			st.userOrder = append(st.userOrder, n)
		}
		sort.Strings(st.userOrder)
	}
	return st.userOrder
}

func (st *state) sortedGroups() []string {
	if st.groupOrder == nil {
		st.groupOrder = make([]string, 0, len(st.groups))
		for n := range st.groups {
			st.groupOrder = append(st.groupOrder, n)
		}
		sort.Strings(st.groupOrder)
	}
	return st.groupOrder
}

func (st *state) activeUsers() int {
	n := 0
	for _, u := range st.users {
		if u.Active {
			n++
		}
	}
	return n
}

func (st *state) addUser(u User) *User {
	u.Username = strings.ToLower(u.Username)
	if u.Key == "" {
		u.Key = st.nextKey()
	}
	p := &u
	st.users[u.Username] = p
	st.userOrder = nil
	return p
}

func (st *state) removeUser(name string) {
	delete(st.users, name)
	st.userOrder = nil
	for _, g := range st.groups {
		if _, ok := g.members[name]; ok {
			delete(g.members, name)
			g.sorted = nil
		}
	}
}

func (st *state) addGroup(name string) *group {
	name = strings.ToLower(name)
	g := &group{name: name, members: map[string]struct{}{}}
	st.groups[name] = g
	st.groupOrder = nil
	return g
}

// seedDefaults gives a fresh instance what a newly installed Confluence
// has: the admin user in the two default groups.
func (st *state) seedDefaults(admin string) {
	st.addUser(User{Username: admin, DisplayName: "Administrator", Email: admin + "@example.com", Active: true})
	for _, g := range []string{"confluence-administrators", "confluence-users"} {
		st.addGroup(g).members[admin] = struct{}{}
	}
}

// persisted is the data file's format.
type persisted struct {
	Version int     `json:"version"`
	Seq     int64   `json:"seq"`
	Users   []User  `json:"users"`
	Groups  []Group `json:"groups"`
	// Spaces and Global were added later; older files have neither.
	Spaces []Space      `json:"spaces,omitempty"`
	Global []Permission `json:"global_permissions,omitempty"`
}

func (st *state) snapshot() persisted {
	p := persisted{Version: 1, Seq: st.seq}
	for _, n := range st.sortedUsers() {
		p.Users = append(p.Users, *st.users[n])
	}
	for _, n := range st.sortedGroups() {
		g := st.groups[n]
		p.Groups = append(p.Groups, Group{Name: g.name, Members: append([]string{}, g.sortedMembers()...)})
	}
	p.Spaces = st.persistedSpaces()
	p.Global = sortPerms(st.global)
	return p
}

// save writes the state atomically: a temporary file in the same
// directory, fsynced, then renamed over the data file.
func (st *state) save(path string) error {
	data, err := json.Marshal(st.snapshot())
	if err != nil {
		return err
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".emulator-*.tmp")
	if err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	tmp := f.Name()
	defer os.Remove(tmp) // a no-op once renamed
	if _, err := f.Write(data); err != nil {
		f.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("save state: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("save state: %w", err)
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return nil
}

// load reads a data file; a missing file is reported with os.ErrNotExist.
func load(path string) (*state, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var p persisted
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("read state %s: %w", path, err)
	}
	if p.Version != 1 {
		return nil, fmt.Errorf("read state %s: unsupported version %d", path, p.Version)
	}
	st := newState()
	st.seq = p.Seq
	for _, u := range p.Users {
		if u.Username == "" {
			return nil, errors.New("read state: a user without a username")
		}
		st.addUser(u)
	}
	for _, g := range p.Groups {
		ng := st.addGroup(g.Name)
		for _, m := range g.Members {
			ng.members[strings.ToLower(m)] = struct{}{}
		}
	}
	st.loadSpaces(p.Spaces, p.Global)
	return st, nil
}
