package telemetry

import (
	"context"
	"errors"
	"time"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/store"
)

// InstrumentStore returns s with the latency of every operation recorded in
// m (confsync_store_operation_duration_seconds) and its failures counted.
// Answers that are part of the protocol (not found, conflict, version
// mismatch, lock held) are not failures.
func InstrumentStore(s store.Store, m *Metrics) store.Store {
	return &instrumentedStore{s: s, m: m}
}

type instrumentedStore struct {
	s store.Store
	m *Metrics
}

var _ store.Store = (*instrumentedStore)(nil)

func (i *instrumentedStore) done(op string, start time.Time, err error) {
	failed := err != nil && !errors.Is(err, store.ErrNotFound) && !errors.Is(err, store.ErrConflict) &&
		!errors.Is(err, store.ErrVersionMismatch) && !errors.Is(err, plan.ErrLocked) &&
		!errors.Is(err, context.Canceled)
	i.m.ObserveStore(op, time.Since(start), failed)
}

func (i *instrumentedStore) CreateUser(ctx context.Context, u *store.User) error {
	start := time.Now()
	err := i.s.CreateUser(ctx, u)
	i.done("create_user", start, err)
	return err
}

func (i *instrumentedStore) GetUser(ctx context.Context, idp, id string) (*store.User, error) {
	start := time.Now()
	v0, err := i.s.GetUser(ctx, idp, id)
	i.done("get_user", start, err)
	return v0, err
}

func (i *instrumentedStore) ReplaceUser(ctx context.Context, u *store.User, ifVersion int64) error {
	start := time.Now()
	err := i.s.ReplaceUser(ctx, u, ifVersion)
	i.done("replace_user", start, err)
	return err
}

func (i *instrumentedStore) DeleteUser(ctx context.Context, idp, id string) error {
	start := time.Now()
	err := i.s.DeleteUser(ctx, idp, id)
	i.done("delete_user", start, err)
	return err
}

func (i *instrumentedStore) FindUsers(ctx context.Context, idp string, l store.Lookup) ([]*store.User, error) {
	start := time.Now()
	v0, err := i.s.FindUsers(ctx, idp, l)
	i.done("find_users", start, err)
	return v0, err
}

func (i *instrumentedStore) ListUsers(ctx context.Context, idp string, p store.Page) ([]*store.User, error) {
	start := time.Now()
	v0, err := i.s.ListUsers(ctx, idp, p)
	i.done("list_users", start, err)
	return v0, err
}

func (i *instrumentedStore) CountUsers(ctx context.Context, idp string) (int, error) {
	start := time.Now()
	v0, err := i.s.CountUsers(ctx, idp)
	i.done("count_users", start, err)
	return v0, err
}

func (i *instrumentedStore) CreateGroup(ctx context.Context, g *store.Group, members []store.Member) error {
	start := time.Now()
	err := i.s.CreateGroup(ctx, g, members)
	i.done("create_group", start, err)
	return err
}

func (i *instrumentedStore) GetGroup(ctx context.Context, idp, id string) (*store.Group, error) {
	start := time.Now()
	v0, err := i.s.GetGroup(ctx, idp, id)
	i.done("get_group", start, err)
	return v0, err
}

func (i *instrumentedStore) ReplaceGroup(ctx context.Context, g *store.Group, ifVersion int64) error {
	start := time.Now()
	err := i.s.ReplaceGroup(ctx, g, ifVersion)
	i.done("replace_group", start, err)
	return err
}

func (i *instrumentedStore) DeleteGroup(ctx context.Context, idp, id string) error {
	start := time.Now()
	err := i.s.DeleteGroup(ctx, idp, id)
	i.done("delete_group", start, err)
	return err
}

func (i *instrumentedStore) FindGroups(ctx context.Context, idp string, l store.Lookup) ([]*store.Group, error) {
	start := time.Now()
	v0, err := i.s.FindGroups(ctx, idp, l)
	i.done("find_groups", start, err)
	return v0, err
}

func (i *instrumentedStore) ListGroups(ctx context.Context, idp string, p store.Page) ([]*store.Group, error) {
	start := time.Now()
	v0, err := i.s.ListGroups(ctx, idp, p)
	i.done("list_groups", start, err)
	return v0, err
}

func (i *instrumentedStore) CountGroups(ctx context.Context, idp string) (int, error) {
	start := time.Now()
	v0, err := i.s.CountGroups(ctx, idp)
	i.done("count_groups", start, err)
	return v0, err
}

func (i *instrumentedStore) AddMembers(ctx context.Context, idp, groupID string, m []store.Member) error {
	start := time.Now()
	err := i.s.AddMembers(ctx, idp, groupID, m)
	i.done("add_members", start, err)
	return err
}

func (i *instrumentedStore) RemoveMembers(ctx context.Context, idp, groupID string, ids []string) error {
	start := time.Now()
	err := i.s.RemoveMembers(ctx, idp, groupID, ids)
	i.done("remove_members", start, err)
	return err
}

func (i *instrumentedStore) ReplaceMembers(ctx context.Context, idp, groupID string, m []store.Member) error {
	start := time.Now()
	err := i.s.ReplaceMembers(ctx, idp, groupID, m)
	i.done("replace_members", start, err)
	return err
}

func (i *instrumentedStore) UpdateGroup(ctx context.Context, idp, groupID string, u store.GroupUpdate) (*store.Group, bool, error) {
	start := time.Now()
	g, changed, err := i.s.UpdateGroup(ctx, idp, groupID, u)
	i.done("update_group", start, err)
	return g, changed, err
}

func (i *instrumentedStore) ListMembers(ctx context.Context, idp, groupID string, p store.Page) ([]store.Member, error) {
	start := time.Now()
	v0, err := i.s.ListMembers(ctx, idp, groupID, p)
	i.done("list_members", start, err)
	return v0, err
}

func (i *instrumentedStore) GroupsOf(ctx context.Context, idp, memberID string) ([]string, error) {
	start := time.Now()
	v0, err := i.s.GroupsOf(ctx, idp, memberID)
	i.done("groups_of", start, err)
	return v0, err
}

func (i *instrumentedStore) Memberships(ctx context.Context, idp string, fn func(groupID string, m store.Member) error) error {
	start := time.Now()
	err := i.s.Memberships(ctx, idp, fn)
	i.done("memberships", start, err)
	return err
}

func (i *instrumentedStore) Revision(ctx context.Context, idp string) (int64, error) {
	start := time.Now()
	v0, err := i.s.Revision(ctx, idp)
	i.done("revision", start, err)
	return v0, err
}

func (i *instrumentedStore) CreateToken(ctx context.Context, t *store.Token) error {
	start := time.Now()
	err := i.s.CreateToken(ctx, t)
	i.done("create_token", start, err)
	return err
}

func (i *instrumentedStore) ListTokens(ctx context.Context, idp string) ([]*store.Token, error) {
	start := time.Now()
	v0, err := i.s.ListTokens(ctx, idp)
	i.done("list_tokens", start, err)
	return v0, err
}

func (i *instrumentedStore) RevokeToken(ctx context.Context, id string) error {
	start := time.Now()
	err := i.s.RevokeToken(ctx, id)
	i.done("revoke_token", start, err)
	return err
}

func (i *instrumentedStore) TokenHashes(ctx context.Context, idp string) ([]string, error) {
	start := time.Now()
	v0, err := i.s.TokenHashes(ctx, idp)
	i.done("token_hashes", start, err)
	return v0, err
}

func (i *instrumentedStore) Ownership(ctx context.Context) (*plan.Ownership, error) {
	start := time.Now()
	v0, err := i.s.Ownership(ctx)
	i.done("ownership", start, err)
	return v0, err
}

func (i *instrumentedStore) RecordUser(ctx context.Context, u plan.ManagedUser) error {
	start := time.Now()
	err := i.s.RecordUser(ctx, u)
	i.done("record_user", start, err)
	return err
}

func (i *instrumentedStore) ForgetUser(ctx context.Context, username string) error {
	start := time.Now()
	err := i.s.ForgetUser(ctx, username)
	i.done("forget_user", start, err)
	return err
}

func (i *instrumentedStore) RecordGroup(ctx context.Context, g plan.ManagedGroup) error {
	start := time.Now()
	err := i.s.RecordGroup(ctx, g)
	i.done("record_group", start, err)
	return err
}

func (i *instrumentedStore) ForgetGroup(ctx context.Context, name string) error {
	start := time.Now()
	err := i.s.ForgetGroup(ctx, name)
	i.done("forget_group", start, err)
	return err
}

func (i *instrumentedStore) RecordMembership(ctx context.Context, m plan.ManagedMembership) error {
	start := time.Now()
	err := i.s.RecordMembership(ctx, m)
	i.done("record_membership", start, err)
	return err
}

func (i *instrumentedStore) ForgetMembership(ctx context.Context, username, group string) error {
	start := time.Now()
	err := i.s.ForgetMembership(ctx, username, group)
	i.done("forget_membership", start, err)
	return err
}

func (i *instrumentedStore) LastRead(ctx context.Context, idp string) (plan.SourceCounts, bool, error) {
	start := time.Now()
	v0, v1, err := i.s.LastRead(ctx, idp)
	i.done("last_read", start, err)
	return v0, v1, err
}

func (i *instrumentedStore) RecordRead(ctx context.Context, idp string, c plan.SourceCounts) error {
	start := time.Now()
	err := i.s.RecordRead(ctx, idp, c)
	i.done("record_read", start, err)
	return err
}

func (i *instrumentedStore) RecordHealth(ctx context.Context, idp string, r plan.HealthReport) error {
	start := time.Now()
	err := i.s.RecordHealth(ctx, idp, r)
	i.done("record_health", start, err)
	return err
}

func (i *instrumentedStore) Health(ctx context.Context, idp string) (plan.SourceHealth, bool, error) {
	start := time.Now()
	v0, v1, err := i.s.Health(ctx, idp)
	i.done("health", start, err)
	return v0, v1, err
}

func (i *instrumentedStore) SourceCursor(ctx context.Context, idp string) ([]byte, bool, error) {
	start := time.Now()
	v0, v1, err := i.s.SourceCursor(ctx, idp)
	i.done("source_cursor", start, err)
	return v0, v1, err
}

func (i *instrumentedStore) SetSourceCursor(ctx context.Context, idp string, value []byte) error {
	start := time.Now()
	err := i.s.SetSourceCursor(ctx, idp, value)
	i.done("set_source_cursor", start, err)
	return err
}

func (i *instrumentedStore) Pending(ctx context.Context, limit int) (map[string]plan.Touched, error) {
	start := time.Now()
	v0, err := i.s.Pending(ctx, limit)
	i.done("pending_changes", start, err)
	return v0, err
}

func (i *instrumentedStore) Cover(ctx context.Context, idp string, revision int64) error {
	start := time.Now()
	err := i.s.Cover(ctx, idp, revision)
	i.done("cover_changes", start, err)
	return err
}

func (i *instrumentedStore) RunOfPlan(ctx context.Context, planID string) (*plan.Run, error) {
	start := time.Now()
	v0, err := i.s.RunOfPlan(ctx, planID)
	i.done("run_of_plan", start, err)
	return v0, err
}

func (i *instrumentedStore) AcquireLock(ctx context.Context, holder string, ttl time.Duration) error {
	start := time.Now()
	err := i.s.AcquireLock(ctx, holder, ttl)
	i.done("acquire_lock", start, err)
	return err
}

func (i *instrumentedStore) ReleaseLock(ctx context.Context, holder string) error {
	start := time.Now()
	err := i.s.ReleaseLock(ctx, holder)
	i.done("release_lock", start, err)
	return err
}

func (i *instrumentedStore) ForceUnlock(ctx context.Context) error {
	start := time.Now()
	err := i.s.ForceUnlock(ctx)
	i.done("force_unlock", start, err)
	return err
}

func (i *instrumentedStore) Lock(ctx context.Context) (*plan.LockInfo, error) {
	start := time.Now()
	v0, err := i.s.Lock(ctx)
	i.done("lock", start, err)
	return v0, err
}

func (i *instrumentedStore) AppendRun(ctx context.Context, r plan.Run) error {
	start := time.Now()
	err := i.s.AppendRun(ctx, r)
	i.done("append_run", start, err)
	return err
}

func (i *instrumentedStore) Runs(ctx context.Context, limit int) ([]plan.Run, error) {
	start := time.Now()
	v0, err := i.s.Runs(ctx, limit)
	i.done("runs", start, err)
	return v0, err
}

func (i *instrumentedStore) Ping(ctx context.Context) error {
	start := time.Now()
	err := i.s.Ping(ctx)
	i.done("ping", start, err)
	return err
}

// Close closes the underlying store.
func (i *instrumentedStore) Close() error { return i.s.Close() }

func (i *instrumentedStore) AddRequestCounts(ctx context.Context, counts []store.MinuteCount) error {
	start := time.Now()
	err := i.s.AddRequestCounts(ctx, counts)
	i.done("add_request_counts", start, err)
	return err
}

func (i *instrumentedStore) RequestCounts(ctx context.Context, since time.Time) ([]store.MinuteCount, error) {
	start := time.Now()
	v0, err := i.s.RequestCounts(ctx, since)
	i.done("request_counts", start, err)
	return v0, err
}

func (i *instrumentedStore) PruneRequestCounts(ctx context.Context, before time.Time) error {
	start := time.Now()
	err := i.s.PruneRequestCounts(ctx, before)
	i.done("prune_request_counts", start, err)
	return err
}
