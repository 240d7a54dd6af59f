package plan

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/confsync/confsync/config"
)

// DefaultMinReadRatio is the source-health guard's default: a read with
// fewer than half the users or groups of the IdP's last successful read
// stops the plan for that IdP.
const DefaultMinReadRatio = 0.5

// Options tune Compute.
type Options struct {
	// IDPs limits the plan to these IdPs (--idp); empty means all. Objects
	// managed for the other IdPs are left alone.
	IDPs []string
	// AllowMassChanges waives the safety thresholds (--allow-mass-changes).
	AllowMassChanges bool
	// MinReadRatio overrides DefaultMinReadRatio (0 keeps the default).
	MinReadRatio float64
	// Now returns the plan's time (time.Now when nil).
	Now func() time.Time
	// NoRefresh plans against the Confluence state recorded at the last
	// full read (plan --refresh=false) instead of reading Confluence.
	NoRefresh bool
	// PermissionImpactOnlyIfLimited reads the permissions a plan's
	// removals take away only when safety.max_space_access_lost is set.
	// serve's reconciles use it: the reads cost one request per space of
	// the site, too much for every event, while a reviewed plan shows them.
	PermissionImpactOnlyIfLimited bool
}

// Inputs is everything Compute reads.
type Inputs struct {
	Config *config.Config
	// Sources holds one Source per IdP name.
	Sources map[string]Source
	Target  Target
	// Permissions reads what groups grant, for the plan's permission
	// impact; when nil, Target is used if it implements PermissionReader.
	Permissions PermissionReader
	State       StateStore
	// Rollback, when set, makes the plan a rollback (plan/rollback.go):
	// no IdP is read, and the desired state of the objects the run
	// changed is their state before it; nothing else changes.
	Rollback *Rollback
	// Scope, when set, makes the plan targeted (plan/scope.go): only the
	// identities it names are read and diffed. Compute returns
	// ErrNotTargetable when an input cannot read part of itself.
	Scope *Scope
	// Hook receives progress; nil for none.
	Hook    Hook
	Options Options
}

// Hook receives the engine's progress. Compute and Apply call it from
// their own goroutines (Apply from several at once); implementations must
// be safe for concurrent use and quick.
type Hook interface {
	// ReadStarted and ReadDone bracket the read of one IdP's source.
	ReadStarted(idp string)
	ReadDone(idp string, c SourceCounts, err error)
	// ApplyStarted announces how many changes an apply will run.
	ApplyStarted(total int)
	// ActionDone reports one finished change (err nil on success).
	ActionDone(c *Change, err error)
}

// NopHook is a Hook that ignores everything; embed it to implement only
// some methods.
type NopHook struct{}

// ReadStarted does nothing.
func (NopHook) ReadStarted(string) {}

// ReadDone does nothing.
func (NopHook) ReadDone(string, SourceCounts, error) {}

// ApplyStarted does nothing.
func (NopHook) ApplyStarted(int) {}

// ActionDone does nothing.
func (NopHook) ActionDone(*Change, error) {}

// SafetyError is returned by Compute when a plan exceeds a safety
// threshold. The plan is returned with it, for display; it must not be
// applied.
type SafetyError struct {
	Violations []string
}

func (e *SafetyError) Error() string {
	return "safety thresholds exceeded: " + strings.Join(e.Violations, "; ") +
		". Review the plan; if these changes are intended, run again with --allow-mass-changes"
}

// Compute reads every selected IdP's source, Confluence and the ownership
// state, and returns the plan that makes Confluence match the desired
// state. It prints nothing. When a safety threshold is exceeded it returns
// the plan and a *SafetyError.
func Compute(ctx context.Context, in Inputs) (*Plan, error) {
	if in.Config == nil || in.Target == nil || in.State == nil {
		return nil, errors.New("plan: Compute needs a configuration, a target and a state store")
	}
	if in.Config.Confluence == nil {
		return nil, errors.New("the configuration has no confluence block")
	}
	hook := in.Hook
	if hook == nil {
		hook = NopHook{}
	}
	now := time.Now
	if in.Options.Now != nil {
		now = in.Options.Now
	}
	selected, err := selectIDPs(in.Config, in.Options.IDPs)
	if err != nil {
		return nil, err
	}
	p := &Plan{
		ID:               uuid.NewString(),
		Created:          now().UTC(),
		IDPFilter:        append([]string(nil), in.Options.IDPs...),
		ConfigHash:       in.Config.Hash,
		AllowMassChanges: in.Options.AllowMassChanges,
		Reads:            map[string]SourceCounts{},
		Kind:             RunFull,
	}
	if in.Rollback != nil {
		selected, p.RollbackOf = nil, in.Rollback.RunID
	}
	var g *gathered
	switch {
	case in.Scope != nil:
		g, err = gatherTargeted(ctx, in, p, hook, now)
	default:
		g, err = gatherFull(ctx, in, p, selected, hook, now)
	}
	if err != nil {
		return nil, err
	}
	own, actual, reads := g.own, g.actual, g.reads

	d := newDiff(in.Config, own, actual, reads, selected)
	d.now = p.Created
	d.scopeIDs, d.mappedBefore = g.scopeIDs, g.mapped
	if g.scopeIDs != nil {
		// A targeted plan never deletes a group: whether any IdP still
		// maps onto it is known only from a full read.
		d.allRead = false
	}
	if in.Rollback != nil {
		d.allRead = false
		d.runRollback(in.Rollback)
		d.notices = append(d.notices, in.Rollback.Notices...)
	} else {
		d.run()
	}
	p.Changes = d.ordered()
	if (p.Kind == RunTargeted || d.allRead) && in.Rollback == nil {
		p.MappedGroups = d.mappedOwners()
	}
	noteDeletedGroups(p, actual)
	slices.SortStableFunc(d.notices, func(a, b Notice) int {
		if c := strings.Compare(a.Kind, b.Kind); c != 0 {
			return c
		}
		return strings.Compare(a.Subject, b.Subject)
	})
	p.Notices = append(p.Notices, d.notices...)
	reader := permissionReader(in)
	if in.Options.PermissionImpactOnlyIfLimited && !in.Config.Safety.MaxSpaceAccessLost.Set {
		reader = nil
	}
	if err := assessImpact(ctx, reader, p, actual); err != nil {
		return nil, err
	}
	p.DesiredFingerprint, p.ActualFingerprint = d.desiredDigest(), d.actualFP.digest
	if in.Rollback != nil {
		p.DesiredFingerprint = rollbackDigest(in.Rollback)
	}
	p.ConfluenceFingerprint, p.StateFingerprint = d.actualFP.confluence, d.actualFP.state

	if err := recordHealth(ctx, in.State, p, p.Kind != RunTargeted); err != nil {
		return nil, err
	}
	if p.Empty() && p.Kind != RunTargeted {
		// Nothing to apply: the reads describe what Confluence already
		// holds, so they become the guard's reference now.
		for idp, c := range p.Reads {
			if err := in.State.RecordRead(ctx, idp, c); err != nil {
				return nil, fmt.Errorf("record read of idp %q: %w", idp, err)
			}
		}
	}
	if err := g.wait(); err != nil {
		return nil, err
	}
	if v := checkSafety(in.Config.Safety, p, own, g.counts); len(v) > 0 && !in.Options.AllowMassChanges {
		return p, &SafetyError{Violations: v}
	}
	return p, nil
}

// selectIDPs returns the IdPs to plan for, in priority order (higher
// first, ties by name).
func selectIDPs(cfg *config.Config, filter []string) ([]*config.IDP, error) {
	var out []*config.IDP
	if len(filter) == 0 {
		out = append(out, cfg.IDPs...)
	} else {
		for _, n := range filter {
			idp := cfg.IDP(n)
			if idp == nil {
				names := make([]string, 0, len(cfg.IDPs))
				for _, p := range cfg.IDPs {
					names = append(names, p.Name)
				}
				return nil, fmt.Errorf("--idp %q: no such idp in the configuration (it has: %s)", n, strings.Join(names, ", "))
			}
			dup := false
			for _, o := range out {
				dup = dup || o == idp
			}
			if !dup {
				out = append(out, idp)
			}
		}
	}
	sortByPriority(out)
	return out, nil
}

// sortByPriority orders IdPs higher priority first, ties by name.
func sortByPriority(l []*config.IDP) {
	sort.SliceStable(l, func(i, j int) bool {
		if l[i].Priority != l[j].Priority {
			return l[i].Priority > l[j].Priority
		}
		return l[i].Name < l[j].Name
	})
}

type idpRead struct {
	idp  *config.IDP
	snap *Snapshot
	// counts are the IdP's sizes the guard judged: the read's own for a
	// full read, the IdP's whole population for a targeted one.
	counts SourceCounts
}

// readIDP reads one IdP's source and applies the source-health guard. A
// non-nil skip says why the IdP is left out; err is for failures of the
// state store, which stop the whole plan.
func readIDP(ctx context.Context, in Inputs, idp *config.IDP, hook Hook, now func() time.Time) (idpRead, *SkippedIDP, error) {
	skip := func(cause, reason string) (idpRead, *SkippedIDP, error) {
		return idpRead{}, skipped(idp, cause, reason), nil
	}
	src := in.Sources[idp.Name]
	if src == nil {
		return skip(CauseNoSource, "no source is configured for it in this process")
	}
	hook.ReadStarted(idp.Name)
	snap, err := src.Read(ctx, ReadRequest{Attributes: SourceAttributes(idp)})
	if err != nil {
		hook.ReadDone(idp.Name, SourceCounts{}, err)
		if ctx.Err() != nil {
			return idpRead{}, nil, ctx.Err()
		}
		if errors.Is(err, ErrIncompleteRead) {
			return skip(CauseIncomplete, fmt.Sprintf("its read is incomplete: %v", err))
		}
		return skip(CauseFailed, fmt.Sprintf("its source failed: %v", err))
	}
	if snap == nil {
		snap = &Snapshot{}
	}
	counts := SourceCounts{Users: len(snap.Users), Groups: len(snap.Groups), At: now().UTC()}
	hook.ReadDone(idp.Name, counts, nil)
	return guardRead(ctx, in, idp, snap, counts)
}

// guardRead is the source-health guard: an IdP whose source returned no
// users, or far fewer users or groups than its last successful read, is
// left out.
func guardRead(ctx context.Context, in Inputs, idp *config.IDP, snap *Snapshot, counts SourceCounts) (idpRead, *SkippedIDP, error) {
	skip := func(cause, reason string) (idpRead, *SkippedIDP, error) {
		return idpRead{}, skipped(idp, cause, reason), nil
	}
	last, ok, err := in.State.LastRead(ctx, idp.Name)
	if err != nil {
		return idpRead{}, nil, fmt.Errorf("read the last read counts of idp %q: %w", idp.Name, err)
	}
	if counts.Users == 0 {
		if ok && last.Users > 0 {
			return skip(CauseShrank, fmt.Sprintf("its source returned no users, after %d in its last successful read (%s); nothing is deprovisioned on an empty read",
				last.Users, last.At.UTC().Format(time.RFC3339)))
		}
		return skip(CauseEmpty, "its source returned no users (an IdP that pushed nothing yet, or a broken filter); nothing is deprovisioned on an empty read")
	}
	ratio := in.Options.MinReadRatio
	if ratio <= 0 {
		ratio = DefaultMinReadRatio
	}
	if ok {
		if float64(counts.Users) < ratio*float64(last.Users) {
			return skip(CauseShrank, fmt.Sprintf("its source returned %d users, fewer than %.0f%% of the %d of its last successful read (%s)",
				counts.Users, ratio*100, last.Users, last.At.UTC().Format(time.RFC3339)))
		}
		if float64(counts.Groups) < ratio*float64(last.Groups) {
			return skip(CauseShrank, fmt.Sprintf("its source returned %d groups, fewer than %.0f%% of the %d of its last successful read (%s)",
				counts.Groups, ratio*100, last.Groups, last.At.UTC().Format(time.RFC3339)))
		}
	}
	return idpRead{idp: idp, snap: snap, counts: counts}, nil, nil
}

func skipped(idp *config.IDP, cause, reason string) *SkippedIDP {
	sev := SeverityError
	if cause == CauseEmpty || cause == CauseNoSource {
		sev = SeverityWarning
	}
	return &SkippedIDP{IDP: idp.Name, Reason: reason, Cause: cause, Severity: sev}
}

// checkSafety returns the thresholds the plan exceeds, each naming its
// numbers.
func checkSafety(s config.Safety, p *Plan, own *Ownership, counts *OwnershipCounts) []string {
	sum := p.Summary()
	var out []string
	check := func(t config.Threshold, name string, n, total int, what string) {
		limit, ok := t.Limit(total)
		if ok && n > limit {
			out = append(out, fmt.Sprintf("the plan would %s %d of %d managed %s, above %s = %s (at most %d)",
				name, n, total, what, thresholdName(name), t, limit))
		}
	}
	users, groups, memberships := managedCounts(p, own, counts)
	check(s.MaxDeactivations, "disable", sum.UsersDisable, users, "users")
	check(s.MaxMembershipRemovals, "remove", sum.MembershipsRemove, memberships, "memberships")
	check(s.MaxDeletions, "delete", sum.UsersDelete+sum.GroupsDelete, users+groups, "users and groups")
	return append(out, checkImpact(s, p)...)
}

// managedCounts returns the thresholds' denominators: the distinct
// Confluence users, groups and memberships confsync manages once the plan
// is applied, counted by name. Objects the plan adopts count as managed (a
// first plan that adopts an existing instance is measured against it), but
// only once: an adoption that re-keys a managed user (the IdP re-created it
// with a new id) or follows a rename in Confluence is still one user.
// With counts (a targeted plan), own is the part of the state the plan
// covers, which holds every object its adoptions could repeat, and the
// adoptions' additions are added to counts.
func managedCounts(p *Plan, own *Ownership, counts *OwnershipCounts) (users, groups, memberships int) {
	userSet := make(map[string]bool, len(own.Users))
	for i := range own.Users {
		userSet[own.Users[i].Username] = true
	}
	groupSet := make(map[string]bool, len(own.Groups))
	for i := range own.Groups {
		groupSet[own.Groups[i].Name] = true
	}
	// Managed memberships are unique by (username, group) in the state, and
	// there can be a million of them: count them as they are, and look up
	// only the (few) adopted ones among them instead of indexing them all.
	type pair struct{ user, group string }
	adopted := map[pair]bool{}
	for i := range p.Changes {
		c := &p.Changes[i]
		if c.Action != ActionAdopt {
			continue
		}
		switch c.Kind {
		case KindUser:
			if c.PreviousUsername != "" && userSet[c.PreviousUsername] {
				delete(userSet, c.PreviousUsername) // the same account, renamed
			}
			userSet[c.User] = true
		case KindGroup:
			groupSet[c.Group] = true
		case KindMembership:
			adopted[pair{c.User, c.Group}] = true
		}
	}
	memberships = len(own.Memberships) + len(adopted)
	if len(adopted) > 0 {
		for i := range own.Memberships {
			if adopted[pair{own.Memberships[i].Username, own.Memberships[i].Group}] {
				memberships-- // already managed: counted once
			}
		}
	}
	if counts != nil {
		return counts.Users + len(userSet) - len(own.Users), counts.Groups + len(groupSet) - len(own.Groups),
			counts.Memberships + memberships - len(own.Memberships)
	}
	return len(userSet), len(groupSet), memberships
}

func thresholdName(action string) string {
	switch action {
	case "disable":
		return "max_deactivations"
	case "remove":
		return "max_membership_removals"
	}
	return "max_deletions"
}
