package emulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/mail"
	"net/url"
	"strconv"
	"strings"
	"unicode"
)

const maxBody = 1 << 20

// personJSON is a user as Confluence renders it: type "known", username,
// userKey, profilePicture, displayName and _links; status only when
// expanded (otherwise listed in _expandable), email unless hidden.
type personJSON struct {
	Type           string         `json:"type"`
	Username       string         `json:"username"`
	UserKey        string         `json:"userKey"`
	ProfilePicture profilePicture `json:"profilePicture"`
	DisplayName    string         `json:"displayName"`
	Email          *string        `json:"email,omitempty"`
	Status         string         `json:"status,omitempty"`
	Links          personLinks    `json:"_links"`
	Expandable     *expandable    `json:"_expandable,omitempty"`
}

type profilePicture struct {
	Path      string `json:"path"`
	Width     int    `json:"width"`
	Height    int    `json:"height"`
	IsDefault bool   `json:"isDefault"`
}

type personLinks struct {
	Base    string `json:"base"`
	Context string `json:"context"`
	Self    string `json:"self"`
}

type expandable struct {
	Status string `json:"status"`
}

func (s *Server) person(r *http.Request, u *User, withStatus bool) personJSON {
	base := s.baseURL(r)
	p := personJSON{
		Type:     "known",
		Username: u.Username,
		UserKey:  u.Key,
		ProfilePicture: profilePicture{
			Path: s.opts.ContextPath + "/images/icons/profilepics/default.svg", Width: 48, Height: 48, IsDefault: true,
		},
		DisplayName: u.DisplayName,
		Links:       personLinks{Base: base, Context: s.opts.ContextPath, Self: base + "/rest/api/user?key=" + url.QueryEscape(u.Key)},
	}
	if !s.opts.HideEmail {
		e := u.Email
		p.Email = &e
	}
	switch {
	case !withStatus:
		p.Expandable = &expandable{}
	case u.Active:
		p.Status = "Active"
	default:
		p.Status = "Deactivated"
	}
	return p
}

func (s *Server) anonymousPerson(r *http.Request) map[string]any {
	return map[string]any{
		"type": "anonymous",
		"profilePicture": map[string]any{
			"path": s.opts.ContextPath + "/images/icons/profilepics/anonymous.svg", "width": 48, "height": 48, "isDefault": true,
		},
		"displayName": "Anonymous",
		"_links":      map[string]any{"base": s.baseURL(r), "context": s.opts.ContextPath},
	}
}

func (s *Server) currentUser(w http.ResponseWriter, r *http.Request, c caller) {
	if c.anonymous {
		writeJSON(w, http.StatusOK, s.anonymousPerson(r))
		return
	}
	s.mu.Lock()
	u, ok := s.st.users[c.username]
	var p personJSON
	if ok {
		p = s.person(r, u, expands(r, "status"))
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusForbidden, "The calling user does not have permission to use Confluence")
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *Server) getUser(w http.ResponseWriter, r *http.Request, c caller) {
	if c.anonymous {
		writeError(w, http.StatusForbidden, "Anonymous users do not have permission to view users")
		return
	}
	q := r.URL.Query()
	name, key := q.Get("username"), q.Get("key")
	if name == "" && key == "" {
		writeError(w, http.StatusBadRequest, "A username or a key is required")
		return
	}
	s.mu.Lock()
	found := s.st.findUser(name, key)
	var p personJSON
	if found != nil {
		p = s.person(r, found, expands(r, "status"))
	}
	s.mu.Unlock()
	if found == nil {
		writeError(w, http.StatusNotFound, "No user found with "+userQuery(name, key))
		return
	}
	writeJSON(w, http.StatusOK, p)
}

// findUser finds a user by username, or by key when username is empty;
// nil when there is none. s.mu must be held.
func (st *state) findUser(name, key string) *User {
	if name != "" {
		return st.users[strings.ToLower(name)]
	}
	for _, u := range st.users {
		if u.Key == key {
			return u
		}
	}
	return nil
}

// userQuery names what a user was looked up by, for a 404 message.
func userQuery(name, key string) string {
	if name == "" {
		return "key: " + key
	}
	return "username: " + name
}

func (s *Server) listUsers(w http.ResponseWriter, r *http.Request, c caller) {
	if c.anonymous {
		writeError(w, http.StatusForbidden, "Anonymous users do not have permission to view users")
		return
	}
	p, bad := s.parsePage(r, 100)
	if bad != "" {
		writeError(w, http.StatusBadRequest, bad)
		return
	}
	status := expands(r, "status")
	s.mu.Lock()
	order := s.st.sortedUsers()
	lo, hi, more := p.window(len(order))
	results := make([]any, 0, hi-lo)
	for _, n := range order[lo:hi] {
		results = append(results, s.person(r, s.st.users[n], status))
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, s.newPage(r, p, results, more))
}

// userCreation is UserDetailsForCreation; notifyViaEmail is raw because
// Atlassian's own example sends it as a string.
type userCreation struct {
	UserName       *string         `json:"userName"`
	FullName       *string         `json:"fullName"`
	Email          *string         `json:"email"`
	Password       *string         `json:"password"`
	NotifyViaEmail json.RawMessage `json:"notifyViaEmail"`
}

func str(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

func decodeBody(r *http.Request, v any) error {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBody+1))
	if err != nil {
		return fmt.Errorf("could not read the request body")
	}
	if len(data) > maxBody {
		return fmt.Errorf("request body too large")
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return fmt.Errorf("a request body is required")
	}
	if err := json.Unmarshal(data, v); err != nil {
		return fmt.Errorf("could not parse the request body: %v", err)
	}
	return nil
}

func parseBoolish(raw json.RawMessage) (bool, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return false, nil
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return b, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return strconv.ParseBool(s)
	}
	return false, fmt.Errorf("not a boolean")
}

// usernameProblem applies the documented userName rules.
func usernameProblem(name string) string {
	switch {
	case strings.TrimSpace(name) == "":
		return "The userName should not be null or blank"
	case strings.ContainsAny(name, "\\,+<>'\""):
		return "The userName should not contain any of these characters \\ , + < > ' \""
	case strings.IndexFunc(name, unicode.IsSpace) >= 0:
		return "The userName should not contain any whitespace characters"
	case strings.EqualFold(name, "anonymous"):
		return "The userName should not be \"anonymous\""
	case strings.IndexFunc(name, unicode.IsUpper) >= 0:
		return "The userName should not contain any upper case characters"
	}
	return ""
}

// detailsProblem applies the documented fullName and email rules shared by
// creation and update.
func detailsProblem(fullName, email string) string {
	switch {
	case strings.TrimSpace(fullName) == "":
		return "The fullName should not be null or blank"
	case strings.ContainsAny(fullName, "<>"):
		return "The fullName should not contain any of these characters < >"
	case strings.EqualFold(strings.TrimSpace(fullName), "anonymous"):
		return "The fullName should not be \"anonymous\""
	case strings.TrimSpace(email) == "":
		return "The email should not be null or blank"
	case !validEmail(email):
		return "The email should be a valid email address"
	}
	return ""
}

func validEmail(e string) bool {
	a, err := mail.ParseAddress(e)
	if err != nil || a.Address != e {
		return false
	}
	_, domain, ok := strings.Cut(e, "@")
	return ok && domain != "" && !strings.HasPrefix(domain, ".") && !strings.HasSuffix(domain, ".")
}

func (s *Server) requireAdmin(w http.ResponseWriter, c caller, anonStatus int) bool {
	if c.anonymous {
		writeError(w, anonStatus, "This resource requires an authenticated administrator")
		return false
	}
	if !c.admin {
		writeError(w, http.StatusForbidden, "The calling user does not have permission to perform this action")
		return false
	}
	return true
}

func (s *Server) createUser(w http.ResponseWriter, r *http.Request, c caller) {
	if !s.requireAdmin(w, c, http.StatusUnauthorized) {
		return
	}
	var in userCreation
	if err := decodeBody(r, &in); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	notify, err := parseBoolish(in.NotifyViaEmail)
	if err != nil {
		writeError(w, http.StatusBadRequest, "notifyViaEmail should be true or false")
		return
	}
	name := str(in.UserName)
	if msg := usernameProblem(name); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	if msg := detailsProblem(str(in.FullName), str(in.Email)); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	switch {
	case notify && in.Password != nil:
		writeError(w, http.StatusBadRequest, "If notifyViaEmail is true then the password should not be specified")
		return
	case !notify && strings.TrimSpace(str(in.Password)) == "":
		writeError(w, http.StatusBadRequest, "If notifyViaEmail is false then the password should not be null or blank")
		return
	}
	s.mu.Lock()
	if _, dup := s.st.users[name]; dup {
		s.mu.Unlock()
		writeError(w, http.StatusConflict, fmt.Sprintf("User with username %s already exists", name))
		return
	}
	if s.opts.Seats > 0 && s.st.activeUsers() >= s.opts.Seats {
		s.mu.Unlock()
		writeError(w, http.StatusPaymentRequired, "No more licenses available: the licensed user limit has been reached")
		return
	}
	// The password is not kept: nothing in the emulator logs users in
	// except the administrator.
	u := s.st.addUser(User{Username: name, DisplayName: str(in.FullName), Email: str(in.Email), Active: true})
	key := u.Key
	err = s.persistLocked()
	s.mu.Unlock()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "could not save state")
		return
	}
	writeJSON(w, http.StatusCreated, map[string]string{"userKey": key})
}

type userUpdate struct {
	FullName        *string `json:"fullName"`
	Email           *string `json:"email"`
	CurrentPassword *string `json:"currentPassword"`
}

func (s *Server) updateUser(w http.ResponseWriter, r *http.Request, c caller, name string) {
	if !s.requireAdmin(w, c, http.StatusUnauthorized) {
		return
	}
	var in userUpdate
	if err := decodeBody(r, &in); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if msg := detailsProblem(str(in.FullName), str(in.Email)); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	s.mu.Lock()
	u, ok := s.st.users[strings.ToLower(name)]
	var err error
	if ok {
		u.DisplayName, u.Email = str(in.FullName), str(in.Email)
		err = s.persistLocked()
	}
	s.mu.Unlock()
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, "No user found with username: "+name)
	case err != nil:
		writeError(w, http.StatusInternalServerError, "could not save state")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

func (s *Server) setActive(w http.ResponseWriter, c caller, name string, active bool) {
	if !s.requireAdmin(w, c, http.StatusUnauthorized) {
		return
	}
	s.mu.Lock()
	u, ok := s.st.users[strings.ToLower(name)]
	var err error
	if ok && u.Active != active {
		u.Active = active
		err = s.persistLocked()
	}
	s.mu.Unlock()
	switch {
	case !ok:
		writeError(w, http.StatusNotFound, "No user found with username: "+name)
	case err != nil:
		writeError(w, http.StatusInternalServerError, "could not save state")
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// deleteUser submits a long task. The user is removed when the task is
// submitted (the task then reports progress), unless FailDeletion marked
// the user, in which case the task ends unsuccessfully and the user stays.
func (s *Server) deleteUser(w http.ResponseWriter, r *http.Request, c caller, name string) {
	if !s.requireAdmin(w, c, http.StatusUnauthorized) {
		return
	}
	name = strings.ToLower(name)
	s.mu.Lock()
	_, ok := s.st.users[name]
	if !ok {
		s.mu.Unlock()
		writeError(w, http.StatusNotFound, "No user found with username: "+name)
		return
	}
	s.st.seq++
	t := &longTask{id: strconv.FormatInt(s.st.seq, 10), username: name, failed: s.failTasks[name]}
	s.st.tasks[t.id] = t
	var err error
	if !t.failed {
		s.st.removeUser(name)
		err = s.persistLocked()
	}
	s.mu.Unlock()
	if err != nil {
		writeError(w, http.StatusInternalServerError, "could not save state")
		return
	}
	base := s.baseURL(r) + "/rest/api/longtask/" + t.id
	writeJSON(w, http.StatusAccepted, map[string]any{
		"id":         t.id,
		"links":      map[string]string{"status": base + "/status", "result": base + "/result"},
		"statusPath": "status",
		"resultPath": "result",
	})
}

func (s *Server) longTask(w http.ResponseWriter, r *http.Request, c caller, id string) {
	if c.anonymous {
		writeError(w, http.StatusNotFound, "No task found with id: "+id)
		return
	}
	s.mu.Lock()
	t, ok := s.st.tasks[id]
	var polls int
	if ok {
		t.polls++
		polls = t.polls
	}
	s.mu.Unlock()
	if !ok {
		writeError(w, http.StatusNotFound, "No task found with id: "+id)
		return
	}
	done := polls >= s.opts.LongTaskPolls
	pct := min(100, polls*100/s.opts.LongTaskPolls)
	msgs := []any{}
	if done && t.failed {
		msgs = append(msgs, map[string]any{"key": "user.delete.failed", "args": []any{t.username},
			"translation": "Could not delete user " + t.username})
	}
	base := s.baseURL(r)
	writeJSON(w, http.StatusOK, map[string]any{
		"id":                 id,
		"name":               map[string]any{"key": "com.atlassian.confluence.user.delete", "args": []any{t.username}, "translation": "Delete user " + t.username},
		"elapsedTime":        polls * 100,
		"percentageComplete": pct,
		"successful":         !(done && t.failed),
		"messages":           msgs,
		"_links":             map[string]any{"base": base, "context": s.opts.ContextPath, "self": base + "/rest/api/longtask/" + id},
	})
}
