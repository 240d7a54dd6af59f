package emulator

import (
	"errors"
	"fmt"
	"io/fs"
	"net/http/httptest"
	"strings"
	"testing"
)

func isNotExist(err error) bool { return errors.Is(err, fs.ErrNotExist) }

// SeedUsers adds users directly, bypassing the REST API (for large test
// fixtures). An existing user of the same name is replaced; an empty key
// is generated.
func (s *Server) SeedUsers(users ...User) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, u := range users {
		if usernameProblem(strings.ToLower(u.Username)) != "" {
			return fmt.Errorf("seed user %q: %s", u.Username, usernameProblem(strings.ToLower(u.Username)))
		}
		s.st.addUser(u)
	}
	return s.persistLocked()
}

// SeedGroups adds groups and their members directly. Members must exist.
func (s *Server) SeedGroups(groups ...Group) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, g := range groups {
		if strings.TrimSpace(g.Name) == "" {
			return errors.New("seed group: empty name")
		}
		ng, ok := s.st.groups[strings.ToLower(g.Name)]
		if !ok {
			ng = s.st.addGroup(g.Name)
		}
		for _, m := range g.Members {
			m = strings.ToLower(m)
			if _, ok := s.st.users[m]; !ok {
				return fmt.Errorf("seed group %q: no user %q", g.Name, m)
			}
			ng.members[m] = struct{}{}
		}
		ng.sorted = nil
	}
	return s.persistLocked()
}

// SetToken registers a personal access token for an existing user.
func (s *Server) SetToken(token, username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokens[token] = strings.ToLower(username)
}

// FailDeletion makes the next deletion tasks of a user end unsuccessfully.
func (s *Server) FailDeletion(username string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failTasks[strings.ToLower(username)] = true
}

// User returns one user.
func (s *Server) User(username string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.st.users[strings.ToLower(username)]
	if !ok {
		return User{}, false
	}
	return *u, true
}

// Users returns every user, sorted by username.
func (s *Server) Users() []User {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]User, 0, len(s.st.users))
	for _, n := range s.st.sortedUsers() {
		out = append(out, *s.st.users[n])
	}
	return out
}

// Groups returns every group with its members, sorted by name.
func (s *Server) Groups() []Group {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Group, 0, len(s.st.groups))
	for _, n := range s.st.sortedGroups() {
		g := s.st.groups[n]
		out = append(out, Group{Name: g.name, Members: append([]string{}, g.sortedMembers()...)})
	}
	return out
}

// Start runs an emulator over real HTTP on a free local port for the
// duration of a test and returns it with its base URL (context path
// included). It fails the test when the options are invalid.
func Start(t testing.TB, opts Options) (*Server, string) {
	t.Helper()
	s, err := New(opts)
	if err != nil {
		t.Fatalf("start emulator: %v", err)
	}
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	return s, ts.URL + s.ContextPath()
}
