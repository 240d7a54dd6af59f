package main

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/spf13/cobra"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/plan/views"
	"github.com/confsync/confsync/providers/ldap"
)

func newLDAPCmd(ro *rootOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ldap",
		Short: "Inspect LDAP and Active Directory identity providers",
		Long: `The ldap commands check an ldap IdP against the live directory without
changing anything, in the directory or in Confluence: they bind with the
IdP's bind_dn and bind_password and search as plan does.

Example: see what confsync would make of one Active Directory account, the
way Confluence's own "Test Sync" does:

  confsync ldap search --idp corp-ad jdoe`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newLDAPSearchCmd(ro))
	return cmd
}

func newLDAPSearchCmd(ro *rootOptions) *cobra.Command {
	opts := &sourceSearchOptions{root: ro, onlyLDAP: true}
	cmd := &cobra.Command{
		Use:   "search --idp NAME USERNAME",
		Short: "Test Sync: show one directory user and what confsync would make of it",
		Long: `Search finds one user of an ldap IdP by the IdP's username attribute
(attributes.username; sAMAccountName by default) under user_base and
user_filter, and prints:

  - the entry's raw attributes (binary values such as objectGUID rendered as
    a GUID or base64; passwords never shown),
  - the stable id and whether the account is active,
  - the directory groups the user is in, nested groups included,
  - the Confluence view: username, email, display name, custom attributes and
    the Confluence groups the user would be in.

It changes nothing, in the directory or in Confluence. It is the ldap
form of confsync source search, which also reads graph and okta IdPs.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.username = args[0]
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runSourceSearch(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.idp, "idp", "", "name of the ldap IdP to search (required)")
	_ = cmd.MarkFlagRequired("idp")
	return cmd
}

// ldapIDPNames lists the configuration's ldap IdPs for an error message.
func ldapIDPNames(cfg *config.Config) string {
	var names []string
	for _, p := range cfg.IDPs {
		if p.LDAP != nil {
			names = append(names, fmt.Sprintf("%q", p.Name))
		}
	}
	if len(names) == 0 {
		return " (the configuration has no ldap IdP)"
	}
	return "; ldap IdPs: " + strings.Join(names, ", ")
}

// ldapTestSync looks up a user of an ldap IdP for Test Sync.
func ldapTestSync(ctx context.Context, idp *config.IDP, logger *slog.Logger, username string) (*views.TestSyncEntry, error) {
	src, err := ldap.NewSource(idp.LDAP, logger)
	if err != nil {
		return nil, err
	}
	e, err := src.LookupUser(ctx, usernameAttribute(idp), username, plan.SourceAttributes(idp))
	if err != nil {
		return nil, err
	}
	idAttr := idp.LDAP.Defaulted().UserIDAttribute
	out := &views.TestSyncEntry{
		Title:      "Directory entry",
		Locator:    []string{"dn: " + e.DN},
		IDLabel:    idAttr,
		User:       e.User,
		Inactive:   "disabled in the directory (userAccountControl)",
		GroupsHead: "Directory groups (nested groups included)",
		GroupKind:  "directory group",
		Groups:     e.Groups,
	}
	for _, a := range e.Attributes {
		out.Attributes = append(out.Attributes, views.TestSyncAttribute{Name: a.Name, Values: a.Values})
	}
	return out, nil
}

func usernameAttribute(idp *config.IDP) string {
	if idp.Attributes.Username != "" {
		return idp.Attributes.Username
	}
	return config.DefaultLDAPUsername
}
