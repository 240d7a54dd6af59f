package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/confsync/confsync/config"
	"github.com/confsync/confsync/providers/store"
)

// tokenPrefix marks confsync bearer tokens, so that secret scanners and
// people recognise one.
const tokenPrefix = "cst_"

// tokenBytes is the randomness of a token: 256 bits.
const tokenBytes = 32

// tokenOptions are the flags of the token subcommands.
type tokenOptions struct {
	ro             *rootOptions
	idp            string
	description    string
	id             string
	stdout, stderr io.Writer
}

func newTokenCmd(ro *rootOptions) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "token",
		Short: "Create, list and revoke the bearer tokens SCIM IdPs use",
		Long: `Bearer tokens authenticate an IdP (Entra ID, Okta) to confsync serve. Only
their SHA-256 hashes are stored; several tokens of one IdP are valid at once,
so a token can be rotated without downtime: create the new one, paste it
into the IdP, then revoke the old one.`,
		Args: cobra.NoArgs,
	}
	cmd.AddCommand(newTokenCreateCmd(ro), newTokenListCmd(ro), newTokenRevokeCmd(ro))
	return cmd
}

func newTokenCreateCmd(ro *rootOptions) *cobra.Command {
	opts := &tokenOptions{ro: ro}
	cmd := &cobra.Command{
		Use:   "create --idp NAME [--description TEXT]",
		Short: "Create a bearer token for a scim IdP and print it once",
		Long: `Create prints a new random bearer token (256 bits) on stdout, alone on its
line, and keeps only its SHA-256 hash. Paste the token into the IdP's
provisioning settings (Entra ID: Secret Token); it cannot be shown again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runTokenCreate(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.idp, "idp", "", "the scim IdP the token is for (required)")
	cmd.Flags().StringVar(&opts.description, "description", "", "free text to recognise the token by in token list")
	_ = cmd.MarkFlagRequired("idp")
	return cmd
}

func newTokenListCmd(ro *rootOptions) *cobra.Command {
	opts := &tokenOptions{ro: ro}
	cmd := &cobra.Command{
		Use:   "list [--idp NAME]",
		Short: "List bearer tokens (never the tokens themselves)",
		Long: `List prints one line per bearer token in the store: its id (for token
revoke), the IdP it belongs to, when it was created, the first 12 hex digits
of its SHA-256 hash and its description. The tokens themselves cannot be
shown: only their hashes are kept. To find which token an IdP holds, hash it
(printf %s "$TOKEN" | sha256sum) and compare the prefix.

Example:

  confsync token list --idp entra`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runTokenList(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.idp, "idp", "", "list only this IdP's tokens")
	return cmd
}

func newTokenRevokeCmd(ro *rootOptions) *cobra.Command {
	opts := &tokenOptions{ro: ro}
	return &cobra.Command{
		Use:   "revoke ID",
		Short: "Revoke a bearer token: it stops working within seconds",
		Long: `Revoke deletes a bearer token from the store, by the id token list shows
(tok_...). Every confsync serve sharing the store refuses it (401) within
about two seconds; tokens listed in the configuration (scim { token_sha256 })
are not in the store and are removed there instead. To rotate without downtime,
create the new token, paste it into the IdP, check that provisioning still
works, then revoke the old one.

Example:

  confsync token list --idp entra
  confsync token revoke tok_0123456789ab`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			opts.id = args[0]
			opts.stdout, opts.stderr = cmd.OutOrStdout(), cmd.ErrOrStderr()
			return runTokenRevoke(cmd.Context(), opts)
		},
	}
}

// newToken returns a fresh bearer token and the hex SHA-256 of the token
// exactly as the IdP will send it after "Bearer ".
func newToken() (token, hash string, err error) {
	b := make([]byte, tokenBytes)
	if _, err := rand.Read(b); err != nil {
		return "", "", fmt.Errorf("generate a token: %w", err)
	}
	token = tokenPrefix + base64.RawURLEncoding.EncodeToString(b)
	return token, store.TokenHash(token), nil
}

// scimIDP returns the named IdP, or an error saying why tokens cannot be
// made for it.
func scimIDP(cfg *config.Config, name string) (*config.IDP, error) {
	p := cfg.IDP(name)
	if p == nil {
		var names []string
		for _, q := range cfg.IDPs {
			names = append(names, q.Name)
		}
		known := "the configuration declares none"
		if len(names) > 0 {
			known = "declared: " + strings.Join(names, ", ")
		}
		return nil, fmt.Errorf("no IdP %q in the configuration (%s)", name, known)
	}
	if p.Kind() != "scim" {
		return nil, fmt.Errorf("IdP %q is an %s IdP: bearer tokens are for scim IdPs, which push identities to confsync serve", name, p.Kind())
	}
	return p, nil
}

func runTokenCreate(ctx context.Context, opts *tokenOptions) error {
	cfg, err := loadConfig(opts.ro, opts.stderr)
	if err != nil {
		return err
	}
	idp, err := scimIDP(cfg, opts.idp)
	if err != nil {
		return err
	}
	st, err := openCommandStore(ctx, opts.ro, opts.stderr, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	token, hash, err := newToken()
	if err != nil {
		return err
	}
	rec := &store.Token{IDP: idp.Name, SHA256: hash, Description: opts.description}
	if err := st.CreateToken(ctx, rec); err != nil {
		return fmt.Errorf("store the token: %w", err)
	}
	fmt.Fprintln(opts.stdout, token)
	fmt.Fprintf(opts.stderr, "Created token %s for IdP %q. Paste it into the IdP's provisioning settings:\n"+
		"it is shown only this once, and confsync keeps only its SHA-256 hash.\n", rec.ID, idp.Name)
	return nil
}

func runTokenList(ctx context.Context, opts *tokenOptions) error {
	cfg, err := loadConfig(opts.ro, opts.stderr)
	if err != nil {
		return err
	}
	if opts.idp != "" && cfg.IDP(opts.idp) == nil {
		_, err := scimIDP(cfg, opts.idp) // says which IdPs exist
		return err
	}
	st, err := openCommandStore(ctx, opts.ro, opts.stderr, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	tokens, err := st.ListTokens(ctx, opts.idp)
	if err != nil {
		return err
	}
	if len(tokens) == 0 {
		if opts.idp != "" {
			fmt.Fprintf(opts.stdout, "No tokens for IdP %q.\n", opts.idp)
		} else {
			fmt.Fprintln(opts.stdout, "No tokens.")
		}
		return nil
	}
	tw := tabwriter.NewWriter(opts.stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "ID\tIDP\tCREATED\tSHA-256\tDESCRIPTION")
	for _, t := range tokens {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s…\t%s\n", t.ID, t.IDP, t.Created.UTC().Format(time.RFC3339), t.SHA256[:12], t.Description)
	}
	return tw.Flush()
}

func runTokenRevoke(ctx context.Context, opts *tokenOptions) error {
	cfg, err := loadConfig(opts.ro, opts.stderr)
	if err != nil {
		return err
	}
	st, err := openCommandStore(ctx, opts.ro, opts.stderr, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	tokens, err := st.ListTokens(ctx, "")
	if err != nil {
		return err
	}
	idp := ""
	for _, t := range tokens {
		if t.ID == opts.id {
			idp = t.IDP
		}
	}
	if err := st.RevokeToken(ctx, opts.id); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("no token %q (confsync token list shows the ids)", opts.id)
		}
		return err
	}
	fmt.Fprintf(opts.stdout, "Revoked token %s of IdP %q.\n", opts.id, idp)
	return nil
}
