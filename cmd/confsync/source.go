package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/graph"
	"github.com/confsync/confsync/providers/okta"
)

// sourceSearchOptions are the flags of confsync source search and its
// ldap search alias.
type sourceSearchOptions struct {
	root     *rootOptions
	idp      string
	username string
	// onlyLDAP keeps ldap search to ldap IdPs, with its own messages.
	onlyLDAP bool
	stdout   io.Writer
	stderr   io.Writer
}

func newSourceCmd(ro *rootOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "source",
		Short: "Inspect the identity providers confsync reads (ldap, graph, okta)",
		Long: `The source commands check a pulled IdP (an ldap, graph or okta block)
against the live directory without changing anything, in the IdP or in
Confluence: they sign in with the IdP's credentials and read as plan does.

Example: see what confsync would make of one Entra ID user, the way
Confluence's own "Test Sync" does:

  confsync source search --idp entra jane.doe@example.com`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newSourceSearchCmd(ro))
	return cmd
}

func newSourceSearchCmd(ro *rootOptions) *cobra.Command {
	opts := &sourceSearchOptions{root: ro}
	cmd := &cobra.Command{
		Use:   "search --idp NAME USERNAME",
		Short: "Test Sync: show one IdP user and what confsync would make of it",
		Long: `Search finds one user of a pulled IdP by the IdP's username attribute
(attributes.username: sAMAccountName for ldap, userPrincipalName for graph,
login for okta, by default), within the IdP's user filter, and prints:

  - the user's raw attributes (Graph properties, Okta profile, or the
    directory entry; passwords never shown),
  - the stable id and whether the account is active,
  - the IdP groups the user is in, nested groups included,
  - the Confluence view: username, email, display name, custom attributes
    and the Confluence groups the user would be in.

It exits 1 when the user could not become a Confluence user. It changes
nothing, in the IdP or in Confluence.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.username = args[0]
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runSourceSearch(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.idp, "idp", "", "name of the IdP to search (required)")
	_ = cmd.MarkFlagRequired("idp")
	return cmd
}

func runSourceSearch(ctx context.Context, opts *sourceSearchOptions) error {
	cfg, err := loadConfig(opts.root, opts.stderr)
	if err != nil {
		return err
	}
	names := pulledIDPNames
	if opts.onlyLDAP {
		names = ldapIDPNames
	}
	idp := cfg.IDP(opts.idp)
	switch {
	case idp == nil:
		return fmt.Errorf("no idp %q in the configuration%s", opts.idp, names(cfg))
	case opts.onlyLDAP && idp.LDAP == nil:
		return fmt.Errorf("idp %q is a %s IdP: ldap search reads ldap IdPs only%s", idp.Name, idp.Kind(), names(cfg))
	case idp.Kind() == "scim":
		return fmt.Errorf("idp %q is a scim IdP: it pushes its identities to confsync serve, so there is nothing to search; source search reads ldap, graph and okta IdPs%s", idp.Name, names(cfg))
	}
	logger, err := opts.root.logger(opts.stderr, false)
	if err != nil {
		return err
	}
	logger = logger.With("idp", idp.Name)
	var entry *testSyncEntry
	switch idp.Kind() {
	case "ldap":
		entry, err = ldapTestSync(ctx, idp, logger, opts.username)
	case "graph":
		entry, err = graphTestSync(ctx, idp, logger, opts.username)
	case "okta":
		entry, err = oktaTestSync(ctx, idp, logger, opts.username)
	}
	if err != nil {
		return fmt.Errorf("idp %q: %w", idp.Name, err)
	}
	ok, err := writeTestSync(opts.stdout, idp, entry)
	if err != nil {
		return err
	}
	if !ok {
		return &exitError{code: 1}
	}
	return nil
}

// pulledIDPNames lists the configuration's pulled IdPs for an error
// message.
func pulledIDPNames(cfg *config.Config) string {
	var names []string
	for _, p := range cfg.IDPs {
		if p.Kind() != "scim" {
			names = append(names, fmt.Sprintf("%q", p.Name))
		}
	}
	if len(names) == 0 {
		return " (the configuration has no ldap, graph or okta IdP)"
	}
	return "; pulled IdPs: " + strings.Join(names, ", ")
}

// testSyncEntry is one IdP user as Test Sync shows it, whatever the kind
// of IdP.
type testSyncEntry struct {
	Title      string   // "Directory entry", "Entra ID user"
	Locator    []string // lines under the title: "dn: ...", "id: ..."
	Attributes []testSyncAttribute
	IDLabel    string // what the stable id is: "objectGUID", "object id"
	User       plan.SourceUser
	// Inactive says how the IdP marks the user disabled, for the Account
	// line.
	Inactive   string
	GroupsHead string // "Directory groups (nested groups included)"
	GroupKind  string // "directory group", for "(from directory group X)"
	Groups     []string
	// OutOfScope, when not empty, says why plan does not read the user.
	OutOfScope string
}

type testSyncAttribute struct {
	Name   string
	Values []string
}

func graphTestSync(ctx context.Context, idp *config.IDP, logger *slog.Logger, username string) (*testSyncEntry, error) {
	src, err := graph.NewSource(idp.Graph, graph.Options{Logger: logger})
	if err != nil {
		return nil, err
	}
	e, err := src.LookupUser(ctx, usernameAttribute(idp), username, plan.SourceAttributes(idp))
	if err != nil {
		return nil, err
	}
	out := &testSyncEntry{
		Title: "Entra ID user", Locator: []string{"id: " + e.User.ID}, IDLabel: "object id", User: e.User,
		Inactive: "disabled in Entra ID (accountEnabled is false)", GroupsHead: "Entra ID groups (nested groups included)",
		GroupKind: "Entra ID group", Groups: e.Groups, OutOfScope: e.OutOfScope,
	}
	for _, p := range e.Properties {
		out.Attributes = append(out.Attributes, testSyncAttribute{Name: p.Name, Values: []string{p.Value}})
	}
	return out, nil
}

func oktaTestSync(ctx context.Context, idp *config.IDP, logger *slog.Logger, username string) (*testSyncEntry, error) {
	src, err := okta.NewSource(idp.Okta, okta.Options{Logger: logger})
	if err != nil {
		return nil, err
	}
	e, err := src.LookupUser(ctx, usernameAttribute(idp), username, plan.SourceAttributes(idp))
	if err != nil {
		return nil, err
	}
	out := &testSyncEntry{
		Title: "Okta user", Locator: []string{"id: " + e.User.ID, "status: " + e.Status}, IDLabel: "Okta user id", User: e.User,
		Inactive: "not active in Okta (status " + e.Status + ")", GroupsHead: "Okta groups",
		GroupKind: "Okta group", Groups: e.Groups, OutOfScope: e.OutOfScope,
	}
	for _, p := range e.Profile {
		out.Attributes = append(out.Attributes, testSyncAttribute{Name: "profile." + p.Name, Values: []string{p.Value}})
	}
	return out, nil
}

// writeTestSync renders a Test Sync result. It reports false when the user
// could not become a Confluence user.
func writeTestSync(w io.Writer, idp *config.IDP, e *testSyncEntry) (bool, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "%s of idp %q\n", e.Title, idp.Name)
	for _, l := range e.Locator {
		fmt.Fprintf(&b, "  %s\n", l)
	}
	b.WriteString("\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, a := range e.Attributes {
		for i, v := range a.Values {
			name := a.Name + ":"
			if i > 0 {
				name = ""
			}
			fmt.Fprintf(tw, "  %s\t%s\n", name, oneLine(v))
		}
	}
	tw.Flush()

	fmt.Fprintf(&b, "\nStable id (%s): %s\n", e.IDLabel, e.User.ID)
	if e.User.Active {
		b.WriteString("Account: active\n")
	} else {
		fmt.Fprintf(&b, "Account: %s; confsync deactivates it in Confluence\n", e.Inactive)
	}

	fmt.Fprintf(&b, "\n%s:\n", e.GroupsHead)
	gm := plan.NewGroupMapper(idp)
	if len(e.Groups) == 0 {
		b.WriteString("  (none)\n")
	}
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, g := range e.Groups {
		var to []string
		for _, m := range gm.Map(g) {
			to = append(to, m.Name)
		}
		target := "not mapped to a Confluence group"
		if len(to) > 0 {
			target = "-> " + strings.Join(to, ", ")
		}
		fmt.Fprintf(tw, "  %s\t%s\n", oneLine(g), target)
	}
	tw.Flush()

	b.WriteString("\nConfluence view:\n")
	if e.OutOfScope != "" {
		fmt.Fprintf(&b, "  This user is not synchronised: %s\n", e.OutOfScope)
		_, err := io.WriteString(w, b.String())
		return false, err
	}
	m, mapErr := plan.MapUser(idp, e.User)
	if mapErr != nil {
		fmt.Fprintf(&b, "  This user cannot be synchronised: %s\n", mapErr)
		_, err := io.WriteString(w, b.String())
		return false, err
	}
	ua, ea, da := usernameAttribute(idp), idp.Attributes.Email, idp.Attributes.DisplayName
	if ea == "" {
		ea = config.DefaultLDAPEmail
	}
	if da == "" {
		da = config.DefaultLDAPDisplayName
	}
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(tw, "  Username:\t%s\t(from %s %q)\n", m.Username, ua, m.SourceUsername)
	fmt.Fprintf(tw, "  Email:\t%s\t(from %s)\n", m.Email, ea)
	displaySource := "(from " + da + ")"
	if strings.TrimSpace(e.User.Attributes[da]) == "" {
		displaySource = "(" + da + " is empty: the username)"
	}
	fmt.Fprintf(tw, "  Display name:\t%s\t%s\n", oneLine(m.DisplayName), displaySource)
	status := "active"
	if !m.Active {
		status = "inactive (deactivated in Confluence)"
	}
	fmt.Fprintf(tw, "  Status:\t%s\n", status)
	tw.Flush()

	if len(idp.Attributes.Custom) > 0 {
		b.WriteString("  Custom attributes:\n")
		tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
		for _, name := range slices.Sorted(maps.Keys(idp.Attributes.Custom)) {
			src := idp.Attributes.Custom[name]
			v, ok := m.Custom[name]
			if !ok {
				v = "(not set)"
			}
			fmt.Fprintf(tw, "    %s\t%s\t(from %s)\n", name, oneLine(v), src)
		}
		tw.Flush()
	}

	b.WriteString("  Confluence groups:\n")
	existing := plan.MapGroups(idp, e.Groups, false)
	all := plan.MapGroups(idp, e.Groups, true)
	inExisting := map[string]bool{}
	for _, g := range existing {
		inExisting[g.Name] = true
	}
	if len(all) == 0 {
		b.WriteString("    (none)\n")
	}
	tw = tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	for _, g := range all {
		why := fmt.Sprintf("(from %s %q)", e.GroupKind, g.From)
		switch {
		case !inExisting[g.Name]:
			why = "(default group for users confsync creates)"
		case g.From == "":
			why = "(default group for every user)"
		}
		fmt.Fprintf(tw, "    %s\t%s\n", g.Name, why)
	}
	tw.Flush()
	_, err := io.WriteString(w, b.String())
	return true, err
}
