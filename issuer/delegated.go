package issuer

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// delegatedRequest is a user flow (password, on-behalf-of, refresh token)
// after its grant has resolved it and checked the client's and the user's
// credentials: the consent request and its facts, which Decide judges, and
// what shapes the answer.
type delegatedRequest struct {
	creq       consent.Request
	facts      consent.Facts  // ClientApp, ClientSP and User are set
	endpoint   int            // 1 or 2: the response shape and the id_token version
	scope      delegatedScope // what was asked, for the engine and the response
	acr        string         // appidacr / azpacr
	clientInfo bool           // client_info=1
	// refresh is the redeemed token a refresh grant rotates; nil for the
	// other grants, which start a new family when they return a token.
	refresh    *tenant.RefreshToken
	wantsRenew bool // whether the answer carries a refresh token
	// nonce is the authorization request's nonce, which the id_token of
	// a redeemed authorization code echoes.
	nonce string
	// spa: the code redeemed was issued to a single-page application's
	// redirect URI, which starts an SPA refresh token family.
	spa bool
}

// issueDelegated judges the request on its facts, signs the access token of
// the version the resource accepts, and adds what the user flow's answer carries: scope,
// id_token (openid was asked), client_info (client_info=1) and a refresh
// token, stored before the answer leaves.
func (s *Server) issueDelegated(ctx context.Context, c *call, r delegatedRequest) (issued, error) {
	// The sign-in log names what the request resolved to, refused or not.
	c.tenantID, c.resource = r.facts.Tenant.ID, r.scope.Resource
	if r.facts.User != nil {
		c.user = r.facts.User.UserPrincipalName
	}
	out, dec, err := s.decideAndSign(c.now, r.creq, r.facts, r.acr)
	if err != nil {
		return issued{}, err
	}
	out.scope = r.scope.responseScope(r.endpoint, dec.Scopes)
	user := *r.facts.User
	if r.scope.has("openid") {
		if out.idToken, err = s.signIDToken(r.endpoint, idToken{
			TenantID: r.facts.Tenant.ID, ClientAppID: r.facts.ClientApp.AppID, User: user,
			Optional: optionalUserClaims(r.facts.ClientApp, tenant.TokenTypeID, r.endpoint, user),
			Issued:   c.now, Lifetime: policyLifetime(r.facts.ClientApp, s.cfg.TokenLifetime), ID: s.cfg.NewID(), Nonce: r.nonce,
			Groups: r.facts.IDGroups, WIDs: wids(r.facts.ClientApp, user),
			Roles: consent.IDTokenRoles(r.facts), GroupsAsRoles: groupsAsRoles(r.facts.ClientApp, tenant.TokenTypeID),
		}); err != nil {
			return issued{}, err
		}
	}
	if r.clientInfo {
		out.clientInfo = clientInfo(user)
	}
	if r.wantsRenew {
		if out.refreshToken, err = s.storeRefreshToken(ctx, c.now, r); err != nil {
			return issued{}, err
		}
	}
	return out, nil
}

// decideAndSign is the core every delegated token goes through, the
// token endpoint's and `issuer token user`'s alike: judge the request on
// its facts, sign. A refusal is the *Error Entra answers.
func (s *Server) decideAndSign(now time.Time, creq consent.Request, f consent.Facts, acr string) (issued, consent.Decision, error) {
	dec, err := decide(creq, f)
	if err != nil {
		return issued{}, consent.Decision{}, err
	}
	acc := s.newAccess(creq, f, dec, acr, now)
	acc.Lifetime = policyLifetime(f.ResourceApp, s.cfg.userTokenLifetime()) // 60 to 90 minutes, unlike app-only tokens
	out, err := s.signAccess(userToken{access: acc, User: *f.User, Scopes: dec.Scopes,
		Optional: optionalUserClaims(f.ResourceApp, tenant.TokenTypeAccess, dec.TokenVersion, *f.User),
		WIDs:     wids(f.ResourceApp, *f.User)})
	if err != nil {
		return issued{}, consent.Decision{}, err
	}
	return out, dec, nil
}

// signIDToken returns the id_token of the endpoint called: signed with the
// v2 header on the v2 endpoint, unsigned (alg none) on v1, as Entra does.
// It picks a version as signAccess does, but by the endpoint rather than
// the resource, and the v1 token is not signed at all, so the two stay
// apart.
func (s *Server) signIDToken(endpoint int, t idToken) (string, error) {
	if endpoint == 1 {
		return unsignedJWT(t.claimsV1(s.issuer(1, t.TenantID)))
	}
	return s.keyring().Sign(2, t.claimsV2(s.issuer(2, t.TenantID)))
}

// storeRefreshToken mints the refresh token of the answer and stores it:
// as the successor of the token a refresh grant redeemed, or as the first
// of a new family. The record's basis is this request's resource and
// scopes, so that a later refresh without scope asks for them again, and
// how the family began: with the user's password, by a confidential client
// (what a password change revokes, tenant.RefreshToken.PasswordBased).
//
// A successor leaves the redeemed token valid (RenewRefreshToken, Entra's
// behaviour) or, under strict rotation, rotates it (RotateRefreshToken),
// which is where a replay shows: the store revokes the family and we
// answer AADSTS70008 (see refreshToken). A token revoked meanwhile is
// AADSTS50173, and one deleted meanwhile AADSTS70000.
func (s *Server) storeRefreshToken(ctx context.Context, now time.Time, r delegatedRequest) (string, error) {
	basis := tenant.RefreshToken{
		TenantID: r.facts.Tenant.ID, ClientAppID: r.facts.ClientApp.AppID, UserID: r.facts.User.ID,
		Resource: r.scope.Resource,
	}
	if !r.scope.Default {
		basis.Scopes = r.scope.Values
	}
	if r.refresh != nil {
		basis.FamilyID = r.refresh.FamilyID
		basis.PasswordBased, basis.ConfidentialClient = r.refresh.PasswordBased, r.refresh.ConfidentialClient
		basis.SPA = r.refresh.SPA
		if basis.SPA {
			basis.ExpiresDateTime = r.refresh.ExpiresDateTime // not extended (mintRefreshToken)
		}
	} else {
		basis.SPA = r.spa
		basis.FamilyID = s.cfg.NewID()
		basis.PasswordBased = r.creq.Flow == consent.FlowPassword
		basis.ConfidentialClient = r.acr != "0" // appidacr: 0 public, 1 secret, 2 certificate or assertion
	}
	text, rt, err := s.mintRefreshToken(basis, now)
	if err != nil {
		return "", err
	}
	store := s.backend
	if r.refresh == nil {
		if err := store.CreateRefreshToken(ctx, rt); err != nil {
			return "", fmt.Errorf("issuer: storing a refresh token: %w", err)
		}
		return text, nil
	}
	if s.cfg.RefreshTokenReuse == RefreshTokenReuseRevokeFamily {
		err = store.RotateRefreshToken(ctx, r.refresh.Hash, now, rt)
	} else {
		err = store.RenewRefreshToken(ctx, r.refresh.Hash, now, rt)
	}
	switch {
	case err == nil:
		return text, nil
	case errors.Is(err, tenant.ErrRefreshTokenReused):
		return "", errRefreshReplayed().wrap(err)
	case errors.Is(err, tenant.ErrRefreshTokenRevoked):
		return "", errRefreshRevoked().wrap(err)
	case errors.Is(err, tenant.ErrNotFound):
		return "", errRefreshInvalid().wrap(err)
	}
	return "", fmt.Errorf("issuer: rotating a refresh token: %w", err)
}

// requestedDelegatedScope reads what a password or on-behalf-of request
// asks for: on the v1 endpoint resource=, on v2 scope= by the rules of
// parseDelegatedScopes, both required (resourceParameters).
func requestedDelegatedScope(req *tokenRequest) (delegatedScope, error) {
	if err := resourceParameters(req, true); err != nil {
		return delegatedScope{}, err
	}
	if req.Endpoint == 1 {
		return v1DelegatedScope(req.Resource, req.Scopes), nil
	}
	return parseDelegatedScopes(req.Scopes)
}

// errUserNotFound is AADSTS50034 (suberror bad_token): the user is not a
// member of the directory the token would be issued in.
func errUserNotFound(user, tenantName string) *Error {
	return errorf(CodeUserNotFound,
		"The user account %s does not exist in the %s directory. To sign into this application, the account must be added to the directory.",
		user, tenantName)
}

// errNotOnCommon is AADSTS9001023: user grants need a tenant, or
// organizations where the user names one.
func errNotOnCommon() *Error {
	return errorf(CodeGrantNotOnCommon,
		"The grant type isn't supported over the /common or /consumers endpoints. Please use the /organizations or tenant-specific endpoint.")
}

// delegatedConsent is the consent request of a user flow: flow in the
// tenant tenantID, for the user named by userRef (object id or UPN), asking
// for scope. The grant's client_id completes it (Server.client).
func delegatedConsent(flow consent.Flow, tenantID, userRef string, scope delegatedScope) consent.Request {
	return consent.Request{
		Flow: flow, TenantRef: tenantID, UserRef: userRef,
		ResourceName: scope.Resource, Scopes: scope.Values, Default: scope.Default,
	}
}

// userOf returns the user Resolve found; absent is AADSTS50034, naming
// the user as nameForMessage.
func userOf(f consent.Facts, nameForMessage string) (tenant.User, error) {
	if f.User == nil {
		return tenant.User{}, errUserNotFound(nameForMessage, or(f.Tenant.DisplayName, f.Tenant.ID))
	}
	return *f.User, nil
}
