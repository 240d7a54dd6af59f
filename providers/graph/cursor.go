package graph

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/confsync/confsync/plan"
)

// cursorVersion is the version of the saved delta state's format; a
// cursor of another version is ignored (a full round replaces it).
const cursorVersion = 1

// savedState is the delta state as the cursor store keeps it (gzipped
// JSON). Tenant, client and endpoint name what it was read from: a cursor
// of another tenant is never applied.
type savedState struct {
	Version    int          `json:"version"`
	Tenant     string       `json:"tenant"`
	Client     string       `json:"client"`
	Endpoint   string       `json:"endpoint"`
	Attrs      []string     `json:"attrs"`
	UsersLink  string       `json:"usersLink"`
	GroupsLink string       `json:"groupsLink"`
	FullAt     time.Time    `json:"fullAt"`
	Users      []savedUser  `json:"users"`
	Groups     []savedGroup `json:"groups"`
}

type savedUser struct {
	ID     string            `json:"id"`
	Active bool              `json:"active"`
	Attrs  map[string]string `json:"attrs,omitempty"`
}

type savedGroup struct {
	ID      string   `json:"id"`
	Name    string   `json:"name"`
	Members []string `json:"members,omitempty"`
}

// encodeState returns st as a cursor value.
func (s *Source) encodeState(st *deltaState) ([]byte, error) {
	v := savedState{
		Version: cursorVersion, Tenant: s.cfg.TenantID, Client: s.cfg.ClientID, Endpoint: s.cfg.Endpoint,
		Attrs: st.attrs, UsersLink: st.usersLink, GroupsLink: st.groupsLink, FullAt: st.fullAt,
		Users: make([]savedUser, 0, len(st.users)), Groups: make([]savedGroup, 0, len(st.groups)),
	}
	for _, u := range st.users {
		v.Users = append(v.Users, savedUser{ID: u.ID, Active: u.Active, Attrs: u.Attributes})
	}
	slices.SortFunc(v.Users, func(a, b savedUser) int { return strings.Compare(a.ID, b.ID) })
	for id, g := range st.groups {
		sg := savedGroup{ID: id, Name: g.name, Members: make([]string, 0, len(g.members))}
		for m := range g.members {
			sg.Members = append(sg.Members, m)
		}
		slices.Sort(sg.Members)
		v.Groups = append(v.Groups, sg)
	}
	slices.SortFunc(v.Groups, func(a, b savedGroup) int { return strings.Compare(a.ID, b.ID) })
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestSpeed) // the level is valid
	if err := json.NewEncoder(zw).Encode(&v); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// decodeState reads a cursor value; it refuses one of another format
// version or another tenant, client or endpoint. Its errors never quote
// the value.
func (s *Source) decodeState(b []byte) (*deltaState, error) {
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		return nil, errors.New("not a gzip stream")
	}
	var v savedState
	if err := json.NewDecoder(io.LimitReader(zr, 4<<30)).Decode(&v); err != nil {
		return nil, errors.New("not a saved delta state")
	}
	switch {
	case v.Version != cursorVersion:
		return nil, fmt.Errorf("format version %d, want %d", v.Version, cursorVersion)
	case v.Tenant != s.cfg.TenantID || v.Client != s.cfg.ClientID || v.Endpoint != s.cfg.Endpoint:
		return nil, errors.New("saved for another tenant, client or endpoint")
	case v.UsersLink == "" || v.GroupsLink == "":
		return nil, errors.New("no deltaLink")
	}
	st := &deltaState{
		attrs: v.Attrs, usersLink: v.UsersLink, groupsLink: v.GroupsLink, fullAt: v.FullAt,
		users: make(map[string]plan.SourceUser, len(v.Users)), groups: make(map[string]*deltaGroup, len(v.Groups)),
	}
	if st.attrs == nil {
		st.attrs = []string{}
	}
	for _, u := range v.Users {
		st.users[u.ID] = plan.SourceUser{ID: u.ID, Active: u.Active, Attributes: u.Attrs}
	}
	for _, g := range v.Groups {
		dg := &deltaGroup{name: g.Name, members: make(map[string]bool, len(g.Members))}
		for _, m := range g.Members {
			dg.members[m] = true
		}
		st.groups[g.ID] = dg
	}
	return st, nil
}

// loadCursor returns the saved delta state, or nil (a full round) when
// there is none or it cannot be used. The value is never logged.
func (s *Source) loadCursor(ctx context.Context) *deltaState {
	if s.cursors == nil {
		return nil
	}
	b, ok, err := s.cursors.SourceCursor(ctx, s.cursorKey)
	if err != nil {
		s.logger.Warn("graph delta state could not be loaded; reading everything", "err", err)
		return nil
	}
	if !ok {
		return nil
	}
	st, err := s.decodeState(b)
	if err != nil {
		s.logger.Warn("graph delta state in the store is not usable; reading everything", "reason", err.Error())
		return nil
	}
	return st
}

// saveCursor keeps st for the next process. A failure costs the next
// process a full round, not this read: it is logged (without the value)
// and the read goes on.
func (s *Source) saveCursor(ctx context.Context, st *deltaState) {
	if s.cursors == nil {
		return
	}
	b, err := s.encodeState(st)
	if err == nil {
		err = s.cursors.SetSourceCursor(ctx, s.cursorKey, b)
	}
	if err != nil {
		s.logger.Warn("graph delta state could not be saved; the next process reads everything", "err", err)
	}
}
