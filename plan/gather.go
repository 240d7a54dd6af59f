package plan

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/confsync/confsync/config"
)

// gathered is what a plan reads before it diffs: the ownership state,
// Confluence's state and the healthy IdPs' reads. A full plan reads all
// of them; a targeted plan (plan/scope.go) reads the part a Scope names,
// and the diff that follows is the same.
type gathered struct {
	own    *Ownership
	actual *Actual
	reads  []idpRead
	// counts, when set, are the sizes of the whole ownership state, of
	// which own is a part; the safety thresholds are judged against them.
	counts *OwnershipCounts
	// scopeIDs, when set, are the IdP ids a targeted plan read: only a
	// managed user among them can be found gone.
	scopeIDs map[sourceKey]bool
	// mapped, in a targeted plan, is Scope.Mapped.
	mapped map[string]string
	// wait finishes what the gathering left running (recording a full
	// Confluence read for --refresh=false) and returns its error.
	wait func() error
}

// ErrNotTargetable is returned by Compute for a Scope it cannot plan
// (an IdP whose source cannot read part of itself, a target or a state
// store without scoped reads); the caller plans in full instead.
var ErrNotTargetable = errors.New("a targeted plan is not possible here")

// gatherFull reads everything: the whole ownership state, all of
// Confluence (or its recorded state, with Options.NoRefresh) and every
// selected IdP.
func gatherFull(ctx context.Context, in Inputs, p *Plan, selected []*config.IDP, hook Hook, now func() time.Time) (*gathered, error) {
	// The ownership state (a million rows at the reference size) and
	// Confluence are independent reads: one runs beside the other.
	type ownRead struct {
		own *Ownership
		err error
	}
	owned := make(chan ownRead, 1)
	go func() {
		own, err := in.State.Ownership(ctx)
		owned <- ownRead{own, err}
	}()
	g := &gathered{wait: func() error { return nil }}
	actual, err := readConfluence(ctx, in, p, g)
	o := <-owned
	switch {
	case o.err != nil:
		return nil, errors.Join(fmt.Errorf("read ownership state: %w", o.err), g.wait())
	case err != nil:
		return nil, errors.Join(err, g.wait())
	}
	g.own, g.actual = o.own, actual
	for _, idp := range selected {
		r, skip, err := readIDP(ctx, in, idp, hook, now)
		if err != nil {
			return nil, err
		}
		addRead(p, g, idp, r, skip)
	}
	return g, nil
}

// readConfluence reads all of Confluence, and records what it read for
// plans made with --refresh=false while the diff runs; with
// Options.NoRefresh it returns that recorded state instead.
func readConfluence(ctx context.Context, in Inputs, p *Plan, g *gathered) (*Actual, error) {
	cache, cached := in.State.(ConfluenceCache)
	if in.Options.NoRefresh {
		if !cached {
			return nil, errors.New("--refresh=false: this state store does not record Confluence's state")
		}
		a, at, ok, err := cache.ConfluenceState(ctx)
		if err != nil {
			return nil, fmt.Errorf("read the recorded Confluence state: %w", err)
		}
		if !ok {
			return nil, errors.New("--refresh=false: no full read of Confluence is recorded yet; run confsync plan once without it")
		}
		p.Kind, p.ConfluenceReadAt = RunCached, at.UTC()
		p.Notices = append(p.Notices, Notice{Severity: SeverityWarning, Kind: NoticeSource, Subject: "confluence",
			Summary: "not read: this plan compares against the Confluence state recorded at " + at.UTC().Format(time.RFC3339) + " (--refresh=false)",
			Detail:  "Changes made in Confluence since then are not seen. confsync apply of this plan first reads the users and groups it changes, and refuses it if they differ."})
		return a, nil
	}
	a, err := in.Target.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("read confluence: %w", err)
	}
	if cached && in.Rollback == nil {
		done := make(chan error, 1)
		at := p.Created
		go func() { done <- cache.ReplaceConfluenceState(context.WithoutCancel(ctx), a, at) }()
		g.wait = func() error {
			if err := <-done; err != nil {
				return fmt.Errorf("record the Confluence state read: %w", err)
			}
			return nil
		}
	}
	return a, nil
}

// addRead adds one IdP's read to the plan, or, when the source-health
// guard left it out, says why.
func addRead(p *Plan, g *gathered, idp *config.IDP, r idpRead, skip *SkippedIDP) {
	if skip != nil {
		p.Skipped = append(p.Skipped, *skip)
		detail := "No change is planned for the users, groups and memberships of this IdP, and nobody it manages is deprovisioned."
		if skip.Failed() {
			detail += " The other IdPs' changes are planned; plan and apply exit 1 until this IdP is read completely."
		}
		p.Notices = append(p.Notices, Notice{Severity: skip.Severity, Kind: NoticeSource, IDP: idp.Name,
			Subject: "idp " + idp.Name, Summary: "left out of this plan: " + skip.Reason, Detail: detail})
		return
	}
	g.reads = append(g.reads, r)
	p.IDPs = append(p.IDPs, idp.Name)
	p.Reads[idp.Name] = r.counts
}

// gatherTargeted reads what in.Scope names: the touched identities from
// their IdPs, the ownership state of the users they map onto (and of the
// names those users had), and just those users and their groups from
// Confluence. Objects of IdPs outside the scope are left alone, as with
// --idp.
func gatherTargeted(ctx context.Context, in Inputs, p *Plan, hook Hook, now func() time.Time) (*gathered, error) {
	scoped, ok := in.State.(ScopedOwnership)
	reader, rok := in.Target.(ScopedReader)
	if !ok || !rok || in.Rollback != nil || in.Options.NoRefresh || in.Scope.Mapped == nil || !contestFree(in.Config) {
		return nil, ErrNotTargetable
	}
	var selected []*config.IDP
	for name := range in.Scope.IDPs {
		idp := in.Config.IDP(name)
		if idp == nil {
			continue // an IdP removed from the configuration: nothing to plan
		}
		if _, ok := in.Sources[name].(ScopedSource); !ok || in.Scope.IDPs[name].Full {
			return nil, ErrNotTargetable
		}
		selected = append(selected, idp)
	}
	sortByPriority(selected)
	p.Kind = RunTargeted
	for _, idp := range selected {
		p.IDPFilter = append(p.IDPFilter, idp.Name)
	}
	g := &gathered{scopeIDs: map[sourceKey]bool{}, wait: func() error { return nil }}
	for _, idp := range selected {
		r, skip, err := readIDPScope(ctx, in, idp, in.Scope.IDPs[idp.Name], hook, now)
		if err != nil {
			return nil, err
		}
		for _, id := range in.Scope.IDPs[idp.Name].Users {
			g.scopeIDs[sourceKey{idp.Name, id}] = true
		}
		if r.snap != nil {
			for _, u := range r.snap.Users {
				g.scopeIDs[sourceKey{idp.Name, u.ID}] = true
			}
		}
		addRead(p, g, idp, r, skip)
	}

	names := scopeNames(g.reads)
	own, err := scopedOwnership(ctx, scoped, g, names)
	if err != nil {
		return nil, err
	}
	if extra := unreadOwners(own, g); len(extra) > 0 {
		// A username the scope maps onto is managed for a person of the
		// same IdP the scope did not name: read that person too, so that
		// the plan decides between the two as a full read would.
		if err := readExtra(ctx, in, g, extra); err != nil {
			return nil, err
		}
		names = scopeNames(g.reads)
		if own, err = scopedOwnership(ctx, scoped, g, names); err != nil {
			return nil, err
		}
	}
	counts, err := scoped.OwnershipCounts(ctx)
	if err != nil {
		return nil, fmt.Errorf("count the ownership state: %w", err)
	}
	g.own, g.counts = own, &counts
	users, groups := names.users, names.groups
	for _, u := range own.Users {
		users = append(users, u.Username) // the names a renamed person had
	}
	for _, m := range own.Memberships {
		groups = append(groups, m.Group)
	}
	for _, gr := range own.Groups {
		groups = append(groups, gr.Name)
	}
	g.mapped = in.Scope.Mapped
	ts := TargetScope{Users: sortedUnique(users), Groups: sortedUnique(groups)}
	if g.actual, err = reader.ReadScope(ctx, ts); err != nil {
		return nil, fmt.Errorf("read the touched users and groups from confluence: %w", err)
	}
	// The groups the reads reached beyond the ones asked for (a managed
	// membership's group, a Confluence group a touched user is in) need
	// their ownership too: a group confsync created is not to be adopted.
	if err := addGroupOwnership(ctx, scoped, own, g.actual, names.groups); err != nil {
		return nil, err
	}
	return g, nil
}

// addGroupOwnership adds to own the managed groups among those of its
// memberships and of actual that asked did not name.
func addGroupOwnership(ctx context.Context, st ScopedOwnership, own *Ownership, actual *Actual, asked []string) error {
	known := map[string]bool{}
	for _, n := range asked {
		known[n] = true
	}
	var more []string
	for _, m := range own.Memberships {
		if !known[m.Group] {
			known[m.Group] = true
			more = append(more, m.Group)
		}
	}
	for _, ag := range actual.Groups {
		if n := strings.ToLower(ag.Name); !known[n] {
			known[n] = true
			more = append(more, n)
		}
	}
	if len(more) == 0 {
		return nil
	}
	extra, err := st.OwnershipOf(ctx, nil, nil, sortedUnique(more))
	if err != nil {
		return fmt.Errorf("read ownership state: %w", err)
	}
	have := map[string]bool{}
	for _, gr := range own.Groups {
		have[gr.Name] = true
	}
	for _, gr := range extra.Groups {
		if !have[gr.Name] {
			own.Groups = append(own.Groups, gr)
		}
	}
	slices.SortFunc(own.Groups, func(a, b ManagedGroup) int { return strings.Compare(a.Name, b.Name) })
	return nil
}

// targetNames are the Confluence names a targeted read covers.
type targetNames struct{ users, groups []string }

// scopeNames maps the scoped reads onto Confluence usernames and the
// groups their IdP groups and default groups map onto.
func scopeNames(reads []idpRead) targetNames {
	var n targetNames
	for _, r := range reads {
		for _, su := range r.snap.Users {
			if mu, err := MapUser(r.idp, su); err == nil {
				n.users = append(n.users, mu.Username)
			}
		}
		gm := NewGroupMapper(r.idp)
		for _, sg := range r.snap.Groups {
			for _, mg := range gm.Map(sg.Name) {
				n.groups = append(n.groups, mg.Name)
			}
		}
		for _, d := range r.idp.Groups.DefaultGroupsAll {
			n.groups = append(n.groups, strings.ToLower(d))
		}
		for _, d := range r.idp.Groups.DefaultGroupsNew {
			n.groups = append(n.groups, strings.ToLower(d))
		}
	}
	n.users, n.groups = sortedUnique(n.users), sortedUnique(n.groups)
	return n
}

func sortedUnique(l []string) []string {
	slices.Sort(l)
	return slices.Compact(l)
}

// readIDPScope reads the part of one IdP a Touched names. The
// source-health guard judges the IdP's whole population, as a full read
// would.
func readIDPScope(ctx context.Context, in Inputs, idp *config.IDP, t Touched, hook Hook, now func() time.Time) (idpRead, *SkippedIDP, error) {
	src := in.Sources[idp.Name].(ScopedSource)
	hook.ReadStarted(idp.Name)
	snap, counts, err := src.ReadScope(ctx, ReadRequest{Attributes: SourceAttributes(idp)}, t)
	if err != nil {
		hook.ReadDone(idp.Name, SourceCounts{}, err)
		// Nothing is planned from a part of a read: the touched
		// identities stay pending and the next run retries them.
		return idpRead{}, nil, fmt.Errorf("read the touched identities of idp %q: %w", idp.Name, err)
	}
	if snap == nil {
		snap = &Snapshot{}
	}
	counts.At = now().UTC()
	hook.ReadDone(idp.Name, counts, nil)
	return guardRead(ctx, in, idp, snap, counts)
}

func scopedOwnership(ctx context.Context, st ScopedOwnership, g *gathered, names targetNames) (*Ownership, error) {
	sourceIDs := map[string][]string{}
	for k := range g.scopeIDs {
		sourceIDs[k.idp] = append(sourceIDs[k.idp], k.id)
	}
	own, err := st.OwnershipOf(ctx, names.users, sourceIDs, names.groups)
	if err != nil {
		return nil, fmt.Errorf("read ownership state: %w", err)
	}
	return own, nil
}

// unreadOwners lists, per IdP read, the ids of managed users the scope
// reached by username but did not read.
func unreadOwners(own *Ownership, g *gathered) map[string][]string {
	read := map[string]bool{}
	for _, r := range g.reads {
		read[r.idp.Name] = true
	}
	extra := map[string][]string{}
	for _, u := range own.Users {
		if read[u.IDP] && !g.scopeIDs[sourceKey{u.IDP, u.SourceID}] {
			extra[u.IDP] = append(extra[u.IDP], u.SourceID)
		}
	}
	return extra
}

// readExtra reads the users extra names from their IdPs and merges them
// into the reads.
func readExtra(ctx context.Context, in Inputs, g *gathered, extra map[string][]string) error {
	for i := range g.reads {
		r := &g.reads[i]
		ids := extra[r.idp.Name]
		if len(ids) == 0 {
			continue
		}
		src := in.Sources[r.idp.Name].(ScopedSource)
		snap, _, err := src.ReadScope(ctx, ReadRequest{Attributes: SourceAttributes(r.idp)}, Touched{Users: ids})
		if err != nil {
			return fmt.Errorf("read the touched identities of idp %q: %w", r.idp.Name, err)
		}
		for _, id := range ids {
			g.scopeIDs[sourceKey{r.idp.Name, id}] = true
		}
		r.snap = mergeSnapshots(r.snap, snap)
	}
	return nil
}

// mergeSnapshots returns a with b's users and group members added, each
// once.
func mergeSnapshots(a, b *Snapshot) *Snapshot {
	if b == nil {
		return a
	}
	out := &Snapshot{Users: slices.Clone(a.Users)}
	seen := map[string]bool{}
	for _, u := range a.Users {
		seen[u.ID] = true
	}
	for _, u := range b.Users {
		if !seen[u.ID] {
			seen[u.ID] = true
			out.Users = append(out.Users, u)
		}
	}
	byID := map[string]int{}
	for _, gr := range a.Groups {
		byID[gr.ID] = len(out.Groups)
		out.Groups = append(out.Groups, SourceGroup{ID: gr.ID, Name: gr.Name, MemberIDs: slices.Clone(gr.MemberIDs)})
	}
	for _, gr := range b.Groups {
		i, ok := byID[gr.ID]
		if !ok {
			byID[gr.ID] = len(out.Groups)
			out.Groups = append(out.Groups, SourceGroup{ID: gr.ID, Name: gr.Name, MemberIDs: slices.Clone(gr.MemberIDs)})
			continue
		}
		out.Groups[i].MemberIDs = sortedUnique(append(out.Groups[i].MemberIDs, gr.MemberIDs...))
	}
	return out
}

// contestFree reports whether no two people can claim one Confluence
// username, which a targeted plan needs: it reads only the people the
// writes touched, and a contest (between two IdPs, or two people of one
// IdP whose usernames a transform or another attribute makes equal) is
// settled by everyone who claims the name, touched or not. That holds for
// one IdP whose usernames are SCIM's userName as it is, which the store
// keeps unique.
func contestFree(cfg *config.Config) bool {
	if len(cfg.IDPs) != 1 {
		return false
	}
	idp := cfg.IDPs[0]
	username, _, _ := userAttributeNames(idp)
	return idp.Kind() == "scim" && strings.EqualFold(username, config.DefaultSCIMUsername) && idp.Users.UsernameTransform == nil
}
