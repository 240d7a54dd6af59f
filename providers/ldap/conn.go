package ldap

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"

	goldap "github.com/go-ldap/ldap/v3"

	"github.com/confsync/confsync/plan"
)

// ErrIncompleteRead is wrapped by every error that means the directory did
// not return everything the search asked for: a size, time or
// administrative limit, a referral not followed, a dropped connection or a
// server that stopped paging. The plan engine must not act on such a read;
// it is plan.ErrIncompleteRead, so that the plan names the cause.
var ErrIncompleteRead = plan.ErrIncompleteRead

// searcher is the part of a go-ldap connection the readers need; tests give
// a fake one to exercise what slapd cannot do (AD range retrieval).
type searcher interface {
	Search(*goldap.SearchRequest) (*goldap.SearchResult, error)
}

// connect dials the directory, secures the connection as configured and
// binds: the one place confsync opens a directory connection. The
// connection is closed when ctx is done, which makes any blocked read or
// write return at once; the caller must call the returned release
// function when done with it.
func (s *Source) connect(ctx context.Context) (*wireConn, func(), error) {
	cfg := &s.cfg
	dialer := net.Dialer{Timeout: cfg.timeout}
	raw, err := dialer.DialContext(ctx, "tcp", cfg.address)
	if err != nil {
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, nil, fmt.Errorf("ldap: connect to %s: %w", cfg.address, ctxErr)
		}
		return nil, nil, fmt.Errorf("ldap: cannot connect to %s: %w", cfg.address, err)
	}
	stop := context.AfterFunc(ctx, func() { raw.Close() })
	c := newWireConn(raw, cfg.timeout)
	release := func() {
		stop()
		if ctx.Err() == nil {
			c.unbind()
		}
		raw.Close()
	}
	fail := func(err error) (*wireConn, func(), error) {
		release()
		if ctxErr := ctx.Err(); ctxErr != nil {
			return nil, nil, fmt.Errorf("ldap: connect to %s: %w", cfg.address, ctxErr)
		}
		return nil, nil, err
	}
	handshake := func() error {
		tc := tls.Client(raw, cfg.tls)
		hctx, cancel := context.WithTimeout(ctx, cfg.timeout)
		defer cancel()
		if err := tc.HandshakeContext(hctx); err != nil {
			return fmt.Errorf("ldap: TLS handshake with %s failed: %w", cfg.address, err)
		}
		c.useConn(tc)
		return nil
	}

	switch {
	case cfg.url.Scheme == "ldaps":
		if err := handshake(); err != nil {
			return fail(err)
		}
	case cfg.startTLS:
		if err := c.startTLS(); err != nil {
			return fail(fmt.Errorf("ldap: StartTLS with %s failed: %w", cfg.address, err))
		}
		if err := handshake(); err != nil {
			return fail(err)
		}
	}
	if cfg.bindDN != "" {
		if err := c.bind(cfg.bindDN, cfg.bindPass.Reveal()); err != nil {
			return fail(bindError(cfg.bindDN, err))
		}
	}
	s.logger.DebugContext(ctx, "ldap connected", "address", cfg.address, "tls", cfg.url.Scheme == "ldaps" || cfg.startTLS, "bind_dn", cfg.bindDN)
	return c, release, nil
}

// bindError explains a failed bind. The password is never part of it.
func bindError(dn string, err error) error {
	var le *goldap.Error
	if errors.As(err, &le) {
		switch le.ResultCode {
		case goldap.LDAPResultInvalidCredentials:
			return fmt.Errorf("ldap: bind as %q failed: invalid credentials (check bind_dn and bind_password)%s", dn, diagnostic(le))
		case goldap.LDAPResultInvalidDNSyntax:
			return fmt.Errorf("ldap: bind as %q failed: the server takes only a DN as bind_dn: use the account's DN (user@domain and DOMAIN\\user are Active Directory's)%s", dn, diagnostic(le))
		case goldap.LDAPResultConfidentialityRequired, goldap.LDAPResultStrongAuthRequired:
			return fmt.Errorf("ldap: bind as %q failed: the server requires a secure connection (use ldaps:// or start_tls)%s", dn, diagnostic(le))
		case goldap.LDAPResultUnwillingToPerform, goldap.LDAPResultInappropriateAuthentication:
			return fmt.Errorf("ldap: bind as %q failed: the server refused a simple bind%s", dn, diagnostic(le))
		}
	}
	return fmt.Errorf("ldap: bind as %q failed: %w", dn, err)
}

// diagnostic renders the server's diagnostic message, if any, as a suffix.
func diagnostic(le *goldap.Error) string {
	if le.Err == nil || le.Err.Error() == "" {
		return ""
	}
	return ": " + le.Err.Error()
}

// searchError explains a failed search of base (named field in the
// configuration, e.g. "user_base"). Errors that mean part of the result is
// missing wrap ErrIncompleteRead.
func searchError(ctx context.Context, field, base string, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("ldap: search of %s %q stopped: %w", field, base, ctxErr)
	}
	var le *goldap.Error
	if !errors.As(err, &le) {
		return fmt.Errorf("ldap: search of %s %q failed: %w: %w", field, base, ErrIncompleteRead, err)
	}
	incomplete := func(why string) error {
		return fmt.Errorf("ldap: search of %s %q: %s%s: %w", field, base, why, diagnostic(le), ErrIncompleteRead)
	}
	switch le.ResultCode {
	case goldap.LDAPResultNoSuchObject:
		return fmt.Errorf("ldap: %s %q does not exist (or the bind DN cannot see it)%s", field, base, diagnostic(le))
	case goldap.LDAPResultSizeLimitExceeded:
		return incomplete("the server's size limit stopped the read; raise the size limit for the bind DN (OpenLDAP olcLimits size.pr/size.prtotal, AD MaxPageSize) or lower page_size")
	case goldap.LDAPResultTimeLimitExceeded:
		return incomplete("the time limit stopped the read; raise timeout or the server's time limit")
	case goldap.LDAPResultAdminLimitExceeded:
		return incomplete("an administrative limit stopped the read")
	case goldap.LDAPResultReferral:
		return incomplete("the server answered with a referral, which confsync does not follow; point the base at a naming context this server holds")
	case goldap.LDAPResultInsufficientAccessRights:
		return fmt.Errorf("ldap: search of %s %q: the bind DN may not read it (insufficient access rights)%s", field, base, diagnostic(le))
	case goldap.LDAPResultInvalidDNSyntax:
		return fmt.Errorf("ldap: %s %q is not a valid DN%s", field, base, diagnostic(le))
	case goldap.LDAPResultUnavailableCriticalExtension:
		return incomplete("the server does not support the paged results control")
	case goldap.LDAPResultBusy, goldap.LDAPResultUnavailable, goldap.LDAPResultUnwillingToPerform:
		return incomplete("the server is busy or unavailable")
	case goldap.ErrorNetwork:
		return incomplete("the connection was lost")
	}
	return fmt.Errorf("ldap: search of %s %q failed: %w: %w", field, base, err, ErrIncompleteRead)
}

// pagedSearch runs req with the paged results control (RFC 2696), one page
// at a time, and hands every entry to fn before the next page is asked for,
// so memory holds one page of raw entries at most. fn may use s for further
// searches (range retrieval) between pages. Anything that leaves the result
// incomplete is an error.
func pagedSearch(ctx context.Context, s searcher, field string, req *goldap.SearchRequest, pageSize uint32, fn func(*goldap.Entry) error) error {
	paging := goldap.NewControlPaging(pageSize)
	req.Controls = append(req.Controls, paging)
	for page := 1; ; page++ {
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("ldap: search of %s %q stopped: %w", field, req.BaseDN, err)
		}
		res, err := s.Search(req)
		if err != nil {
			return searchError(ctx, field, req.BaseDN, err)
		}
		if err := ctx.Err(); err != nil {
			return fmt.Errorf("ldap: search of %s %q stopped: %w", field, req.BaseDN, err)
		}
		if len(res.Referrals) > 0 {
			return fmt.Errorf("ldap: search of %s %q returned a referral to %s, which confsync does not follow; narrow the base to a naming context this server holds: %w",
				field, req.BaseDN, res.Referrals[0], ErrIncompleteRead)
		}
		for _, e := range res.Entries {
			if err := fn(e); err != nil {
				return err
			}
		}
		ctrl, ok := goldap.FindControl(res.Controls, goldap.ControlTypePaging).(*goldap.ControlPaging)
		if !ok {
			return fmt.Errorf("ldap: search of %s %q: the server did not return the paged results control with page %d, so the read may be truncated: %w",
				field, req.BaseDN, page, ErrIncompleteRead)
		}
		if len(ctrl.Cookie) == 0 {
			return nil
		}
		paging.SetCookie(ctrl.Cookie)
	}
}
