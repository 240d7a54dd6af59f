package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/plan"
	"github.com/spf13/cobra"
)

// importOptions are the arguments of confsync import.
type importOptions struct {
	ro             *rootOptions
	addr, name     string
	stdout, stderr io.Writer
}

func newImportCmd(ro *rootOptions) *cobra.Command {
	opts := &importOptions{ro: ro}
	return &cobra.Command{
		Use:   "import ADDRESS NAME",
		Short: "Adopt an existing Confluence user or group for an IdP identity",
		Long: `Records in the ownership state that the Confluence user or group NAME
belongs to the IdP identity ADDRESS, without changing Confluence:

  confsync import user.entra.alice@example.com asmith
  confsync import group.ldap.engineering eng-team

For a user, ADDRESS names the IdP's user by its stable id or its username
(as the IdP holds it, or as the mapping turns it into a Confluence
username); for a group, by its name or id in the IdP. NAME must exist in
Confluence and must not be managed already (confsync state rm first). The
next plan compares NAME with what the mapping wants and shows any update.
Import takes the apply lock and is written to the audit log.`,
		Args: cobra.ExactArgs(2),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.addr, opts.name = args[0], args[1]
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runImport(cmd.Context(), opts)
		},
	}
}

func runImport(ctx context.Context, opts *importOptions) error {
	a, err := parseAddress(opts.addr)
	if err != nil {
		return err
	}
	name := strings.ToLower(strings.TrimSpace(opts.name))
	if name == "" {
		return &exitError{code: 1, err: fmt.Errorf("import: NAME is empty")}
	}
	s, err := openEngine(ctx, opts.ro, opts.stderr)
	if err != nil {
		return err
	}
	defer s.Close()
	idp := s.cfg.IDP(a.idp)
	if idp == nil {
		return &exitError{code: 1, err: fmt.Errorf("%s: %w: the configuration declares no idp %q", a, errIDPUnknown, a.idp)}
	}
	ctx, release, err := plan.HoldLock(ctx, s.store, "", 0)
	if err != nil {
		return err
	}
	defer release()

	own, err := s.store.Ownership(ctx)
	if err != nil {
		return fmt.Errorf("read the ownership state: %w", err)
	}
	actual, err := s.target.Read(ctx)
	if err != nil {
		return fmt.Errorf("read Confluence: %w", err)
	}
	snap, err := s.sources[idp.Name].Read(ctx, plan.ReadRequest{Attributes: plan.SourceAttributes(idp)})
	if err != nil {
		return fmt.Errorf("read idp %q: %w", idp.Name, err)
	}

	var object string
	switch a.kind {
	case plan.KindUser:
		su, mapped, err := findSourceUser(idp, snap, a.key)
		if err != nil {
			return &exitError{code: 1, err: fmt.Errorf("%s: %w", a, err)}
		}
		for _, u := range own.Users {
			if u.Username == name {
				return &exitError{code: 1, err: fmt.Errorf("user %q is already managed for %s; to move it, run confsync state rm %s first", name, userAddress(u), userAddress(u))}
			}
			if u.IDP == idp.Name && u.SourceID == su.ID {
				return &exitError{code: 1, err: fmt.Errorf("%s is already managed as Confluence user %q; run confsync state rm %s first", a, u.Username, userAddress(u))}
			}
		}
		var cu *plan.ActualUser
		for i := range actual.Users {
			if actual.Users[i].Username == name {
				cu = &actual.Users[i]
			}
		}
		if cu == nil {
			return &exitError{code: 1, err: fmt.Errorf("there is no Confluence user %q to import", name)}
		}
		if name == actual.Caller {
			return &exitError{code: 1, err: fmt.Errorf("user %q is the account confsync calls Confluence with; it is never managed", name)}
		}
		mu := plan.ManagedUser{Username: name, IDP: idp.Name, SourceID: su.ID, DisplayName: cu.DisplayName, Email: cu.Email, Active: cu.Active, Adopted: true}
		if err := s.store.RecordUser(ctx, mu); err != nil {
			return err
		}
		object = "user " + name
		if mapped != "" && mapped != name {
			fmt.Fprintf(opts.stdout, "Note: the mapping turns this identity into username %q, not %q; the next plan shows what that means.\n", mapped, name)
		}
	default:
		if _, err := findSourceGroup(snap, a.key); err != nil {
			return &exitError{code: 1, err: fmt.Errorf("%s: %w", a, err)}
		}
		for _, g := range own.Groups {
			if g.Name == name {
				return &exitError{code: 1, err: fmt.Errorf("group %q is already managed for %s; run confsync state rm %s first", name, groupAddress(g), groupAddress(g))}
			}
		}
		found := false
		for _, g := range actual.Groups {
			found = found || g.Name == name
		}
		if !found {
			return &exitError{code: 1, err: fmt.Errorf("there is no Confluence group %q to import", name)}
		}
		if err := s.store.RecordGroup(ctx, plan.ManagedGroup{Name: name, IDP: idp.Name, Created: false}); err != nil {
			return err
		}
		object = "group " + name
	}
	msg := fmt.Sprintf("import %s %s: confsync now manages %s; Confluence was not changed", a, name, object)
	if err := recordStateRun(ctx, s.store, msg, plan.ActionAdopt.String(), object, idp.Name); err != nil {
		return err
	}
	fmt.Fprintf(opts.stdout, "Imported %s as %s. Confluence was not changed; run confsync plan to see what the mapping would change.\n", object, a)
	return nil
}

// findSourceUser finds the IdP user a key names: its stable id, its
// username as the IdP holds it, or the Confluence username the mapping
// makes of it. It returns the mapped username ("" when the user does not
// map).
func findSourceUser(idp *config.IDP, snap *plan.Snapshot, key string) (plan.SourceUser, string, error) {
	mapped := func(u plan.SourceUser) string {
		m, err := plan.MapUser(idp, u)
		if err != nil {
			return ""
		}
		return m.Username
	}
	for _, u := range snap.Users {
		if u.ID == key {
			return u, mapped(u), nil
		}
	}
	var hits []plan.SourceUser
	for _, u := range snap.Users {
		m, err := plan.MapUser(idp, u)
		if err == nil && (strings.EqualFold(m.SourceUsername, key) || m.Username == strings.ToLower(key)) {
			hits = append(hits, u)
		}
	}
	switch len(hits) {
	case 0:
		return plan.SourceUser{}, "", fmt.Errorf("the IdP has no user with that id or username")
	case 1:
		return hits[0], mapped(hits[0]), nil
	}
	return plan.SourceUser{}, "", fmt.Errorf("%d IdP users have that username; name one by its stable id", len(hits))
}

// findSourceGroup finds the IdP group a key names: its id or its name
// (case-insensitively).
func findSourceGroup(snap *plan.Snapshot, key string) (plan.SourceGroup, error) {
	for _, g := range snap.Groups {
		if g.ID == key {
			return g, nil
		}
	}
	for _, g := range snap.Groups {
		if strings.EqualFold(g.Name, key) {
			return g, nil
		}
	}
	return plan.SourceGroup{}, fmt.Errorf("the IdP has no group with that id or name")
}
