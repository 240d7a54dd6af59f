package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/views"
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
	var entry *views.TestSyncEntry
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
	entry.UsernameAttribute = usernameAttribute(idp)
	ok, err := views.TestSync(opts.stdout, idp, entry)
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

func graphTestSync(ctx context.Context, idp *config.IDP, logger *slog.Logger, username string) (*views.TestSyncEntry, error) {
	src, err := graph.NewSource(idp.Graph, graph.Options{Logger: logger})
	if err != nil {
		return nil, err
	}
	e, err := src.LookupUser(ctx, usernameAttribute(idp), username, plan.SourceAttributes(idp))
	if err != nil {
		return nil, err
	}
	out := &views.TestSyncEntry{
		Title: "Entra ID user", Locator: []string{"id: " + e.User.ID}, IDLabel: "object id", User: e.User,
		Inactive: "disabled in Entra ID (accountEnabled is false)", GroupsHead: "Entra ID groups (nested groups included)",
		GroupKind: "Entra ID group", Groups: e.Groups, OutOfScope: e.OutOfScope,
	}
	for _, p := range e.Properties {
		out.Attributes = append(out.Attributes, views.TestSyncAttribute{Name: p.Name, Values: []string{p.Value}})
	}
	return out, nil
}

func oktaTestSync(ctx context.Context, idp *config.IDP, logger *slog.Logger, username string) (*views.TestSyncEntry, error) {
	src, err := okta.NewSource(idp.Okta, okta.Options{Logger: logger})
	if err != nil {
		return nil, err
	}
	e, err := src.LookupUser(ctx, usernameAttribute(idp), username, plan.SourceAttributes(idp))
	if err != nil {
		return nil, err
	}
	out := &views.TestSyncEntry{
		Title: "Okta user", Locator: []string{"id: " + e.User.ID, "status: " + e.Status}, IDLabel: "Okta user id", User: e.User,
		Inactive: "not active in Okta (status " + e.Status + ")", GroupsHead: "Okta groups",
		GroupKind: "Okta group", Groups: e.Groups, OutOfScope: e.OutOfScope,
	}
	for _, p := range e.Profile {
		out.Attributes = append(out.Attributes, views.TestSyncAttribute{Name: "profile." + p.Name, Values: []string{p.Value}})
	}
	return out, nil
}
