package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/store"
	"github.com/google/uuid"
	"github.com/spf13/cobra"
)

// address names one object of the ownership state, Terraform-style:
// user.<idp>.<key> or group.<idp>.<name>. For a user the key is the IdP's
// stable id or the Confluence username; for a group it is the Confluence
// group name. The IdP name cannot contain a dot; the key may (an email).
type address struct {
	kind plan.Kind // KindUser or KindGroup
	idp  string
	key  string
}

func (a address) String() string { return a.kind.String() + "." + a.idp + "." + a.key }

// parseAddress parses an address given on the command line.
func parseAddress(s string) (address, error) {
	bad := func(why string) (address, error) {
		return address{}, &exitError{code: 1, err: fmt.Errorf("invalid address %q: %s; use user.<idp>.<id-or-username> or group.<idp>.<name>", s, why)}
	}
	kind, rest, ok := strings.Cut(s, ".")
	if !ok {
		return bad("no dot")
	}
	idp, key, ok := strings.Cut(rest, ".")
	if !ok || idp == "" || key == "" {
		return bad("it needs an IdP name and a key")
	}
	switch kind {
	case "user":
		return address{kind: plan.KindUser, idp: idp, key: key}, nil
	case "group":
		return address{kind: plan.KindGroup, idp: idp, key: key}, nil
	}
	return bad("it starts with " + kind + ", not user or group")
}

// userAddress and groupAddress give the address state list prints for an
// object: the Confluence username for users, the one key the state always
// has and that a person recognises.
func userAddress(u plan.ManagedUser) string   { return "user." + u.IDP + "." + u.Username }
func groupAddress(g plan.ManagedGroup) string { return "group." + g.IDP + "." + g.Name }

// findUser returns the managed user an address names: by the IdP's stable
// id first, then by Confluence username (case-insensitively).
func findUser(o *plan.Ownership, a address) (plan.ManagedUser, bool) {
	for _, u := range o.Users {
		if u.IDP == a.idp && u.SourceID == a.key {
			return u, true
		}
	}
	for _, u := range o.Users {
		if u.IDP == a.idp && strings.EqualFold(u.Username, a.key) {
			return u, true
		}
	}
	return plan.ManagedUser{}, false
}

func findGroup(o *plan.Ownership, a address) (plan.ManagedGroup, bool) {
	for _, g := range o.Groups {
		if g.IDP == a.idp && strings.EqualFold(g.Name, a.key) {
			return g, true
		}
	}
	return plan.ManagedGroup{}, false
}

// stateOptions are the flags of the confsync state subcommands.
type stateOptions struct {
	ro             *rootOptions
	idps           []string // state list --idp
	addr           string
	stdout, stderr io.Writer
}

func newStateCmd(ro *rootOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "state",
		Short: "Inspect and correct the ownership state",
		Long: `The ownership state is what confsync manages in Confluence: the users,
groups and memberships it created or adopted, keyed by each IdP's stable id,
like Terraform's state. These commands read and correct it without touching
Confluence. Each takes the apply lock, so none runs while an apply (or
serve's auto-apply) does; state rm is written to the audit log (history).

Addresses: user.<idp>.<id-or-username> (the IdP's stable id or the
Confluence username) and group.<idp>.<name> (the Confluence group name).`,
	}
	cmd.AddCommand(newStateListCmd(ro), newStateShowCmd(ro), newStateRmCmd(ro))
	return cmd
}

func newStateListCmd(ro *rootOptions) *cobra.Command {
	opts := &stateOptions{ro: ro}
	cmd := &cobra.Command{
		Use:   "list",
		Short: "List the addresses of everything confsync manages",
		Long: `Prints one address per line, groups first, then users, each sorted:
group.<idp>.<name> and user.<idp>.<username>. With --idp, only that IdP's
objects. Memberships are listed by state show on their user or group.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runStateList(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringArrayVar(&opts.idps, "idp", nil, "list this IdP's objects only (repeatable)")
	return cmd
}

func newStateShowCmd(ro *rootOptions) *cobra.Command {
	opts := &stateOptions{ro: ro}
	return &cobra.Command{
		Use:   "show ADDRESS",
		Short: "Show what the state holds for one address",
		Long: `Prints what the ownership state records for a user (its IdP's stable
id, the last applied display name and email, custom attributes, whether it
was adopted, its managed memberships) or a group (whether confsync created
it, its managed members).`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.addr, opts.stdout, opts.stderr = args[0], cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runStateShow(cmd.Context(), opts)
		},
	}
}

func newStateRmCmd(ro *rootOptions) *cobra.Command {
	opts := &stateOptions{ro: ro}
	return &cobra.Command{
		Use:   "rm ADDRESS",
		Short: "Forget an object: confsync stops managing it, Confluence is not touched",
		Long: `Removes a user (with its managed memberships) or a group (with the
memberships confsync manages in it) from the ownership state. Confluence is
not changed. The next plan treats the object as one confsync does not own:
a user or group the IdP still maps is adopted again; anything else is left
alone, and a group confsync had created is no longer deleted by it.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.addr, opts.stdout, opts.stderr = args[0], cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runStateRm(cmd.Context(), opts)
		},
	}
}

// withStateLock opens the store and runs fn holding the apply lock.
func withStateLock(ctx context.Context, ro *rootOptions, stderr io.Writer, fn func(ctx context.Context, st store.Store) error) error {
	cfg, err := loadConfig(ro, stderr)
	if err != nil {
		return err
	}
	st, err := openCommandStore(ctx, ro, stderr, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	lctx, release, err := plan.HoldLock(ctx, st, "", 0)
	if err != nil {
		return err
	}
	defer release()
	return fn(lctx, st)
}

func runStateList(ctx context.Context, opts *stateOptions) error {
	return withStateLock(ctx, opts.ro, opts.stderr, func(ctx context.Context, st store.Store) error {
		o, err := st.Ownership(ctx)
		if err != nil {
			return fmt.Errorf("read the ownership state: %w", err)
		}
		keep := func(idp string) bool {
			if len(opts.idps) == 0 {
				return true
			}
			for _, want := range opts.idps {
				if want == idp {
					return true
				}
			}
			return false
		}
		var lines []string
		for _, u := range o.Users {
			if keep(u.IDP) {
				lines = append(lines, userAddress(u))
			}
		}
		sort.Strings(lines)
		var groups []string
		for _, g := range o.Groups {
			if keep(g.IDP) {
				groups = append(groups, groupAddress(g))
			}
		}
		sort.Strings(groups)
		for _, l := range append(groups, lines...) {
			fmt.Fprintln(opts.stdout, l)
		}
		return nil
	})
}

func runStateShow(ctx context.Context, opts *stateOptions) error {
	a, err := parseAddress(opts.addr)
	if err != nil {
		return err
	}
	return withStateLock(ctx, opts.ro, opts.stderr, func(ctx context.Context, st store.Store) error {
		o, err := st.Ownership(ctx)
		if err != nil {
			return fmt.Errorf("read the ownership state: %w", err)
		}
		tw := tabwriter.NewWriter(opts.stdout, 0, 4, 1, ' ', 0)
		defer tw.Flush()
		switch a.kind {
		case plan.KindUser:
			u, ok := findUser(o, a)
			if !ok {
				return notInState(a)
			}
			fmt.Fprintf(tw, "# %s\n", userAddress(u))
			fmt.Fprintf(tw, "username\t%s\n", u.Username)
			fmt.Fprintf(tw, "idp\t%s\n", u.IDP)
			fmt.Fprintf(tw, "source_id\t%s\n", u.SourceID)
			fmt.Fprintf(tw, "display_name\t%q\n", u.DisplayName)
			fmt.Fprintf(tw, "email\t%q\n", u.Email)
			fmt.Fprintf(tw, "active\t%t\n", u.Active)
			fmt.Fprintf(tw, "adopted\t%t\n", u.Adopted)
			names := make([]string, 0, len(u.Custom))
			for k := range u.Custom {
				names = append(names, k)
			}
			sort.Strings(names)
			for _, k := range names {
				fmt.Fprintf(tw, "custom.%s\t%q\n", k, u.Custom[k])
			}
			fmt.Fprintf(tw, "memberships\t%s\n", strings.Join(membershipsOf(o, func(m plan.ManagedMembership) (string, bool) {
				return m.Group, m.Username == u.Username
			}), " "))
			fmt.Fprintf(tw, "updated\t%s\n", stampOrNever(u.Updated))
		default:
			g, ok := findGroup(o, a)
			if !ok {
				return notInState(a)
			}
			fmt.Fprintf(tw, "# %s\n", groupAddress(g))
			fmt.Fprintf(tw, "name\t%s\n", g.Name)
			fmt.Fprintf(tw, "idp\t%s\n", g.IDP)
			fmt.Fprintf(tw, "created_by_confsync\t%t\n", g.Created)
			fmt.Fprintf(tw, "members\t%s\n", strings.Join(membershipsOf(o, func(m plan.ManagedMembership) (string, bool) {
				return m.Username, m.Group == g.Name
			}), " "))
			fmt.Fprintf(tw, "updated\t%s\n", stampOrNever(g.Updated))
		}
		return nil
	})
}

func membershipsOf(o *plan.Ownership, pick func(plan.ManagedMembership) (string, bool)) []string {
	var out []string
	for _, m := range o.Memberships {
		if v, ok := pick(m); ok {
			out = append(out, v)
		}
	}
	sort.Strings(out)
	return out
}

func stampOrNever(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format(time.RFC3339)
}

func notInState(a address) error {
	return &exitError{code: 1, err: fmt.Errorf("%s is not in the ownership state (confsync state list shows what is)", a)}
}

func runStateRm(ctx context.Context, opts *stateOptions) error {
	a, err := parseAddress(opts.addr)
	if err != nil {
		return err
	}
	return withStateLock(ctx, opts.ro, opts.stderr, func(ctx context.Context, st store.Store) error {
		o, err := st.Ownership(ctx)
		if err != nil {
			return fmt.Errorf("read the ownership state: %w", err)
		}
		var object string
		switch a.kind {
		case plan.KindUser:
			u, ok := findUser(o, a)
			if !ok {
				return notInState(a)
			}
			if err := st.ForgetUser(ctx, u.Username); err != nil {
				return err
			}
			object = "user " + u.Username
		default:
			g, ok := findGroup(o, a)
			if !ok {
				return notInState(a)
			}
			if err := st.ForgetGroup(ctx, g.Name); err != nil {
				return err
			}
			object = "group " + g.Name
		}
		msg := fmt.Sprintf("state rm %s: confsync no longer manages %s; Confluence was not changed", a, object)
		if err := recordStateRun(ctx, st, msg, "forget", object, a.idp); err != nil {
			return err
		}
		fmt.Fprintf(opts.stdout, "Removed %s from the ownership state. Confluence was not changed.\n", a)
		return nil
	})
}

// recordStateRun writes a state correction to the audit log, so history
// shows who changed ownership outside a plan.
func recordStateRun(ctx context.Context, st plan.StateStore, msg, action, object, idp string) error {
	now := time.Now().UTC()
	run := plan.Run{
		ID: uuid.NewString(), Started: now, Finished: now, Trigger: plan.TriggerCLI, Outcome: plan.OutcomeApplied,
		Message: msg + " (by " + plan.DefaultHolder() + ")",
		Actions: []plan.RunAction{{Action: action, Object: object, IDP: idp}},
	}
	if err := st.AppendRun(context.WithoutCancel(ctx), run); err != nil {
		return fmt.Errorf("the state was changed, but appending it to the audit log failed: %w", err)
	}
	return nil
}

// errIDPUnknown is returned for an address whose IdP the configuration
// does not declare.
var errIDPUnknown = errors.New("unknown IdP")
