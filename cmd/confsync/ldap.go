package main

import (
	"context"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/confsync/confsync/providers/ldap"
)

// ldapSearchOptions are the flags of confsync ldap search.
type ldapSearchOptions struct {
	root     *rootOptions
	idp      string
	username string
	stdout   io.Writer
	stderr   io.Writer
}

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
	opts := &ldapSearchOptions{root: ro}
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

It changes nothing, in the directory or in Confluence.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.username = args[0]
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runLDAPSearch(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.idp, "idp", "", "name of the ldap IdP to search (required)")
	_ = cmd.MarkFlagRequired("idp")
	return cmd
}

func runLDAPSearch(ctx context.Context, opts *ldapSearchOptions) error {
	cfg, err := loadConfig(opts.root, opts.stderr)
	if err != nil {
		return err
	}
	idp := cfg.IDP(opts.idp)
	if idp == nil {
		return fmt.Errorf("no idp %q in the configuration%s", opts.idp, ldapIDPNames(cfg))
	}
	if idp.LDAP == nil {
		return fmt.Errorf("idp %q is a %s IdP: ldap search reads ldap IdPs only%s", idp.Name, idp.Kind(), ldapIDPNames(cfg))
	}
	logger, err := opts.root.logger(opts.stderr, false)
	if err != nil {
		return err
	}
	logger = logger.With("idp", idp.Name)
	src, err := ldap.NewSource(idp.LDAP, logger)
	if err != nil {
		return fmt.Errorf("idp %q: %w", idp.Name, err)
	}
	entry, err := src.LookupUser(ctx, usernameAttribute(idp), opts.username, plan.SourceAttributes(idp))
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

// writeTestSync renders a Test Sync result. It reports false when the user
// could not become a Confluence user.
func writeTestSync(w io.Writer, idp *config.IDP, e *ldap.UserEntry) (bool, error) {
	var b strings.Builder
	fmt.Fprintf(&b, "Directory entry of idp %q\n", idp.Name)
	fmt.Fprintf(&b, "  dn: %s\n\n", e.DN)
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

	idAttr := idp.LDAP.UserIDAttribute
	if idAttr == "" {
		idAttr = ldap.DefaultIDAttribute
	}
	fmt.Fprintf(&b, "\nStable id (%s): %s\n", idAttr, e.User.ID)
	if e.User.Active {
		b.WriteString("Account: active\n")
	} else {
		b.WriteString("Account: disabled in the directory (userAccountControl); confsync deactivates it in Confluence\n")
	}

	b.WriteString("\nDirectory groups (nested groups included):\n")
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
		why := fmt.Sprintf("(from directory group %q)", g.From)
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

func usernameAttribute(idp *config.IDP) string {
	if idp.Attributes.Username != "" {
		return idp.Attributes.Username
	}
	return config.DefaultLDAPUsername
}

// oneLine keeps a multi-line value (postalAddress, description) on one
// line of the table.
func oneLine(s string) string {
	return strings.NewReplacer("\r\n", `\n`, "\n", `\n`, "\r", `\r`).Replace(s)
}
