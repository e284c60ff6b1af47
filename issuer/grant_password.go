package issuer

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// password implements the resource-owner password credentials grant the way
// Entra does (protocol.md §2.5, §4.3), v2 and v1:
//
//   - at a tenant, or at /organizations, where the tenant is the one that
//     owns the domain of the user name; /common and /consumers are
//     AADSTS9001023;
//   - the client (AADSTS700016 / 7000112), then its credential: a public
//     client presents nothing, a confidential one its secret;
//   - scope (v2) or resource (v1), by the delegated scope rules;
//   - the user: unknown AADSTS50034, no password AADSTS50056, wrong
//     password AADSTS50126; a disabled user is refused by the engine
//     (AADSTS50057) with the other policy rules, consent (65001) and
//     assignment (50105) among them;
//   - the answer carries scope, an id_token for openid, client_info for
//     client_info=1, and a refresh token on v1 always, on v2 with
//     offline_access.
func (s *Server) password(ctx context.Context, c *call, a authority, req *tokenRequest) (issued, error) {
	switch {
	case a.kind == commonAuthority || a.kind == consumersAuthority:
		return issued{}, errNotOnCommon()
	case req.ClientID == "":
		return issued{}, errMissing("client_id")
	case req.Username == "":
		return issued{}, errMissing("username")
	case req.Password == "":
		return issued{}, errMissing("password")
	}
	scope, err := requestedDelegatedScope(req)
	if err != nil {
		return issued{}, err
	}
	t := a.tenant
	if a.kind == organizationsAuthority {
		if t, err = s.homeTenantOf(ctx, req.Username); err != nil {
			return issued{}, err
		}
	}
	creq, f, acr, err := s.client(ctx, c, a, delegatedConsent(consent.FlowPassword, t.ID, req.Username, scope), req, false)
	if err != nil {
		return issued{}, err
	}
	if err := s.checkPassword(ctx, f, req.Username, req.Password); err != nil {
		return issued{}, err
	}
	return s.issueDelegated(ctx, c, delegatedRequest{
		creq: creq, facts: f, endpoint: req.Endpoint, scope: scope, acr: acr, clientInfo: req.ClientInfo,
		wantsRenew: req.Endpoint == 1 || scope.has("offline_access"),
	})
}

// homeTenantOf finds the tenant of a user name at /organizations: the one
// that has the name's domain. An unknown domain is an unknown user
// (AADSTS50034), as Entra's home realm discovery finds no directory for it.
func (s *Server) homeTenantOf(ctx context.Context, username string) (tenant.Tenant, error) {
	domain := username[strings.LastIndex(username, "@")+1:]
	if !strings.Contains(username, "@") || !tenant.ValidTenantSegment(domain) || tenant.IsGUID(domain) {
		return tenant.Tenant{}, errUserNotFound(username, "organizations")
	}
	t, err := s.cfg.Directory.ResolveTenant(ctx, domain)
	switch {
	case errors.Is(err, tenant.ErrNotFound), errors.Is(err, tenant.ErrInvalid):
		return tenant.Tenant{}, errUserNotFound(username, "organizations").wrap(err)
	case err != nil:
		return tenant.Tenant{}, err
	}
	return t, nil
}

// checkPassword signs the user in: the user must exist in the tenant
// (AADSTS50034), have a password (AADSTS50056) and the password must match
// (AADSTS50126). The comparison runs argon2id; neither the password nor the
// hash appear in any message or log line.
func (s *Server) checkPassword(ctx context.Context, f consent.Facts, username, password string) error {
	u, err := userOf(f, username)
	switch {
	case err != nil:
		return err
	case u.PasswordHash == "":
		return errorf(CodeNoPassword, "Invalid or missing password: password does not exist in the directory for this user.")
	}
	ok, err := s.passwordSlots.check(ctx, func() bool { return u.CheckPassword(password) })
	switch {
	case err != nil:
		return err
	case !ok:
		return errorf(CodeInvalidCredentials, "Error validating credentials due to invalid username or password.")
	}
	return nil
}

// passwordSlots bounds how many password checks run at once. Each runs
// argon2id over 19 MiB; unbounded, a burst of password grants would hold
// that much memory per request. The work is CPU-bound, so more checks than
// CPUs at a time would not finish sooner: the others wait, holding only
// their request.
type passwordSlots chan struct{}

func newPasswordSlots() passwordSlots { return make(passwordSlots, max(2, runtime.GOMAXPROCS(0))) }

// check runs fn in a slot, waiting for one until ctx ends.
func (p passwordSlots) check(ctx context.Context, fn func() bool) (bool, error) {
	select {
	case p <- struct{}{}:
	case <-ctx.Done():
		return false, fmt.Errorf("issuer: waiting to check a password: %w", ctx.Err())
	}
	defer func() { <-p }()
	return fn(), nil
}
