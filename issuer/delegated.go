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
// after its grant has found the tenant, the client and the user and checked
// their credentials: the consent request the engine decides, and what shapes
// the answer.
type delegatedRequest struct {
	creq       consent.Request // Flow, Tenant, ClientAppID, ClientApp, ClientSP and User are set
	endpoint   int             // 1 or 2: the response shape and the id_token version
	scope      delegatedScope  // what was asked, for the engine and the response
	acr        string          // appidacr / azpacr
	clientInfo bool            // client_info=1
	// refresh is the redeemed token a refresh grant rotates; nil for the
	// other grants, which start a new family when they return a token.
	refresh    *tenant.RefreshToken
	wantsRenew bool // whether the answer carries a refresh token
}

// issueDelegated resolves the resource through its service principal in the
// user's tenant, asks the engine, signs the access token of the version the
// resource accepts, and adds what the user flow's answer carries: scope,
// id_token (openid was asked), client_info (client_info=1) and a refresh
// token, stored before the answer leaves.
func (s *Server) issueDelegated(ctx context.Context, c *call, r delegatedRequest) (issued, error) {
	// The sign-in log names what the request resolved to, refused or not.
	c.tenantID, c.resource = r.creq.Tenant.ID, r.scope.Resource
	if r.creq.User != nil {
		c.user = r.creq.User.UserPrincipalName
	}
	out, dec, err := s.decideAndSign(ctx, c.now, &r.creq, r.scope, r.acr)
	if err != nil {
		return issued{}, err
	}
	out.resource = r.scope.Resource
	out.scope = r.scope.responseScope(r.endpoint, dec.Scopes)
	user := *r.creq.User
	if r.scope.has("openid") {
		if out.idToken, err = s.signIDToken(r.endpoint, idToken{
			TenantID: r.creq.Tenant.ID, ClientAppID: r.creq.ClientApp.AppID, User: user,
			Optional: optionalUserClaims(r.creq.ClientApp, tenant.TokenTypeID, r.endpoint, user),
			Issued:   c.now, Lifetime: s.cfg.TokenLifetime.Truncate(time.Second), ID: s.cfg.NewID(),
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
// token endpoint's and `issuer token user`'s alike: resolve the resource
// scope names in creq's tenant, let the engine decide, sign. A refusal is
// the *Error Entra answers.
func (s *Server) decideAndSign(ctx context.Context, now time.Time, creq *consent.Request, scope delegatedScope, acr string) (issued, consent.Decision, error) {
	creq.ResourceName, creq.Scopes, creq.Default = scope.Resource, scope.Values, scope.Default
	var err error
	if creq.ResourceApp, creq.ResourceSP, err = consent.ResolveResource(ctx, s.cfg.Directory.Store(), creq.Tenant, scope.Resource); err != nil {
		return issued{}, consent.Decision{}, err
	}
	dec, err := s.decide(ctx, *creq)
	if err != nil {
		return issued{}, consent.Decision{}, err
	}
	t := userToken{
		Version:       dec.TokenVersion,
		TenantID:      creq.Tenant.ID,
		ClientAppID:   creq.ClientApp.AppID,
		ResourceAppID: creq.ResourceApp.AppID,
		ResourceName:  creq.ResourceName,
		User:          *creq.User,
		Roles:         dec.Roles,
		Scopes:        dec.Scopes,
		ACR:           acr,
		Optional:      optionalUserClaims(creq.ResourceApp, tenant.TokenTypeAccess, dec.TokenVersion, *creq.User),
		Issued:        now,
		Lifetime:      s.cfg.userTokenLifetime(),
		ID:            s.cfg.NewID(),
	}
	var claims any
	if t.Version == 2 {
		claims = t.claimsV2(s.issuer(2, t.TenantID))
	} else {
		claims = t.claimsV1(s.issuer(1, t.TenantID))
	}
	token, err := s.keyring().signer.sign(t.Version, claims)
	if err != nil {
		return issued{}, consent.Decision{}, err
	}
	iat, exp := tokenTimes(t.Issued, t.Lifetime)
	return issued{token: token, lifetime: int64(t.Lifetime / time.Second), notBefore: iat, expiresOn: exp}, dec, nil
}

// signIDToken returns the id_token of the endpoint called: signed with the
// v2 header on the v2 endpoint, unsigned (alg none) on v1, as Entra does.
func (s *Server) signIDToken(endpoint int, t idToken) (string, error) {
	if endpoint == 1 {
		return unsignedJWT(t.claimsV1(s.issuer(1, t.TenantID)))
	}
	return s.keyring().signer.sign(2, t.claimsV2(s.issuer(2, t.TenantID)))
}

// storeRefreshToken mints the refresh token of the answer and stores it:
// as the successor of the token a refresh grant redeemed (rotation), or as
// the first of a new family. The record's basis is this request's resource
// and scopes, so that a later refresh without scope asks for them again.
//
// Rotation is where a replay shows: the store revokes the family and we
// answer AADSTS70008 (see refreshToken). A family revoked meanwhile is
// AADSTS50173, and a token pruned meanwhile AADSTS70000.
func (s *Server) storeRefreshToken(ctx context.Context, now time.Time, r delegatedRequest) (string, error) {
	basis := tenant.RefreshToken{
		TenantID: r.creq.Tenant.ID, ClientAppID: r.creq.ClientApp.AppID, UserID: r.creq.User.ID,
		Resource: r.scope.Resource,
	}
	if !r.scope.Default {
		basis.Scopes = r.scope.Values
	}
	if r.refresh != nil {
		basis.FamilyID = r.refresh.FamilyID
	} else {
		basis.FamilyID = s.cfg.NewID()
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
	err = store.RotateRefreshToken(ctx, r.refresh.Hash, now, rt)
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
// asks for: on the v1 endpoint resource= (required, AADSTS900144); on v2
// scope= (required; a resource parameter is AADSTS901002), parsed by the
// rules of parseDelegatedScopes.
func requestedDelegatedScope(req *tokenRequest) (delegatedScope, error) {
	if req.Endpoint == 1 {
		if req.Resource == "" {
			return delegatedScope{}, errMissing("resource")
		}
		return v1DelegatedScope(req.Resource, req.Scopes), nil
	}
	if req.Resource != "" {
		return delegatedScope{}, errorf(CodeResourceParameter, "The 'resource' request parameter isn't supported.")
	}
	if len(req.Scopes) == 0 {
		return delegatedScope{}, errMissing("scope")
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

// findUser looks a user up by UPN or object id in t; absent is
// AADSTS50034.
func (s *Server) findUser(ctx context.Context, t tenant.Tenant, ref, nameForMessage string) (tenant.User, error) {
	u, err := s.cfg.Directory.FindUser(ctx, t.ID, ref)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		return tenant.User{}, errUserNotFound(nameForMessage, or(t.DisplayName, t.ID)).wrap(err)
	case err != nil:
		return tenant.User{}, err
	}
	return u, nil
}
