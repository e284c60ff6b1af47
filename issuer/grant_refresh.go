package issuer

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// errRefreshInvalid is AADSTS70000 invalid_grant, our answer for a refresh
// token we cannot use: one we never issued, one of another shape, one
// issued to another client. Entra answers a malformed token with
// AADSTS9002313 invalid_grant in one capture; our table keeps 9002313 for
// malformed requests (invalid_request), and one code has one `error`, so
// every unusable refresh token gets 70000, the code Entra uses for an
// invalid refresh_token or assertion value (protocol.md §2.4). Both are
// invalid_grant, which is what MSAL acts on.
func errRefreshInvalid() *Error {
	return errorf(CodeInvalidGrant, "The provided value for the input parameter 'refresh_token' or 'assertion' is not valid.")
}

// errRefreshReplayed is AADSTS70008 invalid_grant for a refresh token that
// was already redeemed, under strict rotation only
// (RefreshTokenReuseRevokeFamily). Entra does not rotate refresh tokens
// out: it keeps an old one valid after handing out a new one (protocol.md
// §2.4), which is the default here too. With strict rotation this issuer
// follows RFC 9700 §4.14: a redeemed token is dead, and presenting it again
// looks like a stolen token being replayed, so the whole family (every
// token of the same sign-in) is revoked. 70008 is Entra's code for an
// expired or revoked refresh token.
func errRefreshReplayed() *Error {
	return errorf(CodeGrantExpired,
		"The provided authorization code or refresh token is expired. Send a new interactive authorization request for this user and resource. "+
			"The refresh token was already redeemed; every token issued from the same sign-in is now revoked.")
}

// errRefreshRevoked is AADSTS50173 invalid_grant, for a revoked token:
// Entra's code for a grant revoked after it was issued (protocol.md §5.2),
// whose message names a password change, the cause Entra's revocation
// table gives; here a replay under strict rotation revokes too (and the
// replayed token itself gets 70008).
func errRefreshRevoked() *Error {
	return errorf(CodeGrantRevoked,
		"The provided grant has expired due to it being revoked, and a fresh auth token is needed. "+
			"The user might have changed or reset their password, or a refresh token issued from the same sign-in was replayed.")
}

// refreshToken implements the refresh_token grant (protocol.md §2.4), v2
// (scope= optional) and v1 (resource= optional). It looks the token up by
// its hash: unknown, malformed, or issued to another client is AADSTS70000.
// It then checks the client and its credential in the token's tenant (a
// confidential client must authenticate again; AADSTS700016, 7000215, …),
// and only then the token's state: a revoked token is AADSTS50173 (a
// password change, or its family replayed), an expired one AADSTS700082
// (suberror bad_token), and under strict rotation one already redeemed is
// a replay, which revokes its family (AADSTS70008) — only an authenticated
// client can cause that. Last it re-checks what the
// original sign-in relied on, as Entra does on every refresh: the user
// (gone: AADSTS50034) and the engine's rules (a disabled user 50057,
// consent revoked 65001, assignment 50105, …). Without scope or resource
// the token is for the resource and scopes of the refresh token's basis;
// with them, for any resource the client has consent for, as Entra's
// refresh tokens are not bound to one resource.
//
// A successful refresh returns a new refresh token, in one write
// transaction (the only write on this path): by default the presented one
// stays valid, as in Entra; under strict rotation it is marked redeemed
// (Config.RefreshTokenReuse).
func (s *Server) refreshToken(ctx context.Context, c *call, a authority, req *tokenRequest) (issued, error) {
	switch {
	case a.kind == consumersAuthority:
		return issued{}, errNotOnCommon()
	case req.RefreshToken == "":
		return issued{}, errMissing("refresh_token")
	case req.ClientID == "":
		return issued{}, errMissing("client_id")
	}
	// scope and resource are optional: without them the token is for the
	// refresh token's own resource (refreshScope).
	if err := resourceParameters(req, false); err != nil {
		return issued{}, err
	}
	rt, err := s.lookupRefreshToken(ctx, req)
	if err != nil {
		return issued{}, err
	}
	scope, err := refreshScope(req, rt)
	if err != nil {
		return issued{}, err
	}
	if err := checkRefreshTenant(a, rt); err != nil {
		return issued{}, err
	}
	creq, f, acr, err := s.client(ctx, c, a, delegatedConsent(consent.FlowRefreshToken, rt.TenantID, rt.UserID, scope), req, rt.SPA)
	var e *Error
	switch {
	case errors.As(err, &e) && e.Code == CodeTenantNotFound:
		// The tenant was deleted after the token was issued.
		return issued{}, errRefreshInvalid().wrap(err)
	case err != nil:
		return issued{}, err
	}
	if err := s.checkRedeemable(ctx, c.now, rt); err != nil {
		return issued{}, err
	}
	// An SPA's refresh token, like its code, is redeemed cross-origin
	// only, and nothing else is (the same rules and codes as grant_code).
	switch {
	case rt.SPA && req.Origin == "":
		return issued{}, errSPANeedsOrigin()
	case !rt.SPA && req.Origin != "":
		return issued{}, errCrossOriginNotSPA(req.Origin)
	}
	if _, err := userOf(f, rt.UserID); err != nil {
		return issued{}, err
	}
	return s.issueDelegated(ctx, c, delegatedRequest{
		creq: creq, facts: f, endpoint: req.Endpoint, scope: scope, acr: acr, clientInfo: req.ClientInfo,
		refresh: &rt, wantsRenew: true,
	})
}

// lookupRefreshToken finds the presented refresh token, which must have
// been issued to the requesting client.
func (s *Server) lookupRefreshToken(ctx context.Context, req *tokenRequest) (tenant.RefreshToken, error) {
	hash, ok := parseRefreshToken(req.RefreshToken)
	if !ok {
		return tenant.RefreshToken{}, errRefreshInvalid()
	}
	rt, err := s.backend.GetRefreshToken(ctx, hash)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		return tenant.RefreshToken{}, errRefreshInvalid().wrap(err)
	case err != nil:
		return tenant.RefreshToken{}, err
	case !strings.EqualFold(rt.ClientAppID, req.ClientID):
		// Another client's token: refused, and nothing is revoked, since
		// it is not the token's own client replaying it.
		return tenant.RefreshToken{}, errRefreshInvalid().wrap(fmt.Errorf("refresh token of family %s was issued to client %s", rt.FamilyID, rt.ClientAppID))
	}
	return rt, nil
}

// checkRedeemable refuses a refresh token that cannot be redeemed at now:
// revoked, expired, or, under strict rotation, already redeemed (which
// revokes its family).
func (s *Server) checkRedeemable(ctx context.Context, now time.Time, rt tenant.RefreshToken) error {
	switch {
	case rt.Revoked():
		return errRefreshRevoked().wrap(fmt.Errorf("refresh token family %s revoked at %s", rt.FamilyID, rt.RevokedDateTime))
	case rt.Expired(now):
		return errorf(CodeRefreshTokenExpired,
			"The refresh token has expired due to inactivity. The token was issued on %s and was inactive for %s.",
			entraTime(rt.IssuedDateTime), entraDuration(rt.ExpiresDateTime.Sub(rt.IssuedDateTime)))
	case rt.Rotated() && s.cfg.RefreshTokenReuse == RefreshTokenReuseRevokeFamily:
		n, err := s.backend.RevokeRefreshTokenFamily(ctx, rt.FamilyID, now)
		if err != nil {
			return fmt.Errorf("issuer: revoking refresh token family %s after a replay: %w", rt.FamilyID, err)
		}
		return errRefreshReplayed().wrap(fmt.Errorf("refresh token of family %s replayed; %d tokens revoked", rt.FamilyID, n))
	}
	return nil
}

// refreshScope is what a refresh asks for: the resource named by scope=
// (v2) or resource= (v1), or else the refresh token's own basis. OpenID
// Connect scopes count either way.
func refreshScope(req *tokenRequest, rt tenant.RefreshToken) (delegatedScope, error) {
	if req.Endpoint == 1 && req.Resource != "" {
		return v1DelegatedScope(req.Resource, req.Scopes), nil
	}
	if req.Endpoint == 2 && namesResource(req.Scopes) {
		return parseDelegatedScopes(req.Scopes)
	}
	d := delegatedScope{Resource: rt.Resource, Values: rt.Scopes, Default: len(rt.Scopes) == 0}
	for _, sc := range req.Scopes {
		if isOIDCScope(sc) {
			d.OIDC = append(d.OIDC, sc)
		}
	}
	return d, nil
}

// namesResource reports whether scopes name anything besides
// OpenID Connect scopes.
func namesResource(scopes []string) bool {
	for _, sc := range scopes {
		if !isOIDCScope(sc) {
			return true
		}
	}
	return false
}

// checkRefreshTenant checks the tenant of the request against the
// refreshed token's, the user's, which the refresh token recorded and the
// new token is issued in. At /common and /organizations any will do; a
// tenant segment naming another tenant finds no such user there
// (AADSTS50034: this issuer has no guest users).
func checkRefreshTenant(a authority, rt tenant.RefreshToken) error {
	if a.kind == tenantAuthority && a.tenant.ID != rt.TenantID {
		return errUserNotFound(rt.UserID, or(a.tenant.DisplayName, a.tenant.ID))
	}
	return nil
}

// entraDuration formats d as Entra's messages do: days.hh:mm:ss.
func entraDuration(d time.Duration) string {
	d = d.Truncate(time.Second)
	days := d / (24 * time.Hour)
	d -= days * 24 * time.Hour
	return fmt.Sprintf("%d.%02d:%02d:%02d", days, d/time.Hour, d%time.Hour/time.Minute, d%time.Minute/time.Second)
}
