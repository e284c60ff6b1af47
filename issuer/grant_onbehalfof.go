package issuer

import (
	"context"
	"crypto/rsa"
	"strings"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// requestedTokenUseOBO is the requested_token_use of the on-behalf-of flow.
const requestedTokenUseOBO = "on_behalf_of"

// onBehalfOf implements the on-behalf-of flow (the jwt-bearer grant with
// requested_token_use=on_behalf_of) the way Entra does (protocol.md §2.3,
// §4.3), v2 (scope=) and v1 (resource=). In order:
//
//   - requested_token_use, assertion and client_id are required
//     (AADSTS900144); scope or resource as in the password grant;
//   - the assertion must be a token this issuer signed, by a key it
//     publishes (AADSTS50013), within its lifetime (AADSTS500133);
//   - the token is issued in the user's tenant, the assertion's tid, also
//     when the request came to /common or /organizations; a tenant segment
//     naming another tenant finds no such user there (AADSTS50034);
//   - the middle tier (the client) must have a service principal in that
//     tenant (AADSTS700016) and authenticate as for client credentials; a
//     public client cannot (AADSTS7000218);
//   - the assertion must be an access token (an id_token is
//     AADSTS240002), for a user (an app-only token is AADSTS7000114), whose
//     audience is the middle tier: its appId or one of its identifier URIs
//     (AADSTS500131);
//   - the engine decides for the middle tier on the downstream resource:
//     its service principal in the tenant (500011), consent for the middle
//     tier from an admin or from this user (65001, consent_required),
//     exposed scopes (70011), user assignment (50105), the user enabled
//     (50057);
//   - the new token keeps the user and names the middle tier as appid/azp,
//     with a new pairwise sub for the new audience and the normal lifetime
//     (Entra does not cap OBO tokens at the assertion's expiry). A refresh
//     token comes with it on v1 always, on v2 with offline_access (which
//     MSAL always sends). The new token can itself be the assertion of a
//     further hop.
func (s *Server) onBehalfOf(ctx context.Context, c *call, a authority, req *tokenRequest) (issued, error) {
	switch {
	case a.kind == consumersAuthority:
		return issued{}, errNotOnCommon()
	case req.RequestedTokenUse == "":
		return issued{}, errMissing("requested_token_use")
	case req.RequestedTokenUse != requestedTokenUseOBO:
		return issued{}, errMalformed("The value of 'requested_token_use' must be 'on_behalf_of'; this issuer serves no other jwt-bearer grant.")
	case req.Assertion == "":
		return issued{}, errMissing("assertion")
	case req.ClientID == "":
		return issued{}, errMissing("client_id")
	}
	scope, err := requestedDelegatedScope(req)
	if err != nil {
		return issued{}, err
	}
	kr := s.keyring()
	claims, err := parseUserAssertion(req.Assertion,
		func(kid string) *rsa.PublicKey { return kr.PublicKey(kid, c.now) }, s.issuer)
	if err != nil {
		return issued{}, err
	}
	if err := checkAssertionTime(claims, c.now); err != nil {
		return issued{}, err
	}
	t, err := s.assertionTenant(ctx, a, claims)
	if err != nil {
		return issued{}, err
	}
	creq, f, acr, err := s.client(ctx, c, a, delegatedConsent(consent.FlowOnBehalfOf, t.ID, claims.OID, scope), req, false)
	if err != nil {
		return issued{}, err
	}
	aud := claims.Aud[0]
	switch {
	case acr == appIDACRPublic:
		return issued{}, errNoClientCredential()
	case claims.isIDToken():
		return issued{}, errorf(CodeIDTokenAssertion, "The id_token can't be used as urn:ietf:params:oauth:grant-type:jwt-bearer grant.")
	case claims.isAppOnly():
		return issued{}, errorf(CodeAppOnlyAssertion, "Application '%s' is not allowed to make application on-behalf-of calls.", f.ClientApp.AppID)
	case !audienceIs(aud, *f.ClientApp):
		return issued{}, errorf(CodeOBOAudience,
			"Assertion audience does not match the Client app presenting the assertion. The audience in the assertion was '%s' and the expected audience is '%s' "+
				"or one of the Application Uris of this application with App ID '%s'(%s). The downstream client must request a token for the expected audience "+
				"(the application that made the OBO request) and this application should use that token as the assertion.",
			aud, f.ClientApp.AppID, f.ClientApp.AppID, f.ClientApp.DisplayName)
	}
	if _, err := userOf(f, claims.userName()); err != nil {
		return issued{}, err
	}
	return s.issueDelegated(ctx, c, delegatedRequest{
		creq: creq, facts: f, endpoint: req.Endpoint, scope: scope, acr: acr, clientInfo: req.ClientInfo,
		wantsRenew: req.Endpoint == 1 || scope.has("offline_access"),
	})
}

// assertionTenant is the tenant the OBO token is issued in: the user's, the
// assertion's tid (protocol.md §1.2: at /common and /organizations Entra
// issues in the user's home tenant). A request to a specific tenant that is
// not the user's finds no such user there: this issuer has no guest users.
func (s *Server) assertionTenant(ctx context.Context, a authority, c userAssertionClaims) (tenant.Tenant, error) {
	if a.kind == tenantAuthority {
		if !strings.EqualFold(a.tenant.ID, c.TID) {
			return tenant.Tenant{}, errUserNotFound(c.userName(), or(a.tenant.DisplayName, a.tenant.ID))
		}
		return a.tenant, nil
	}
	home, err := s.resolveAuthority(ctx, c.TID)
	switch {
	case err != nil:
		return tenant.Tenant{}, err
	case home.kind != tenantAuthority: // the consumers GUID: no directory of ours
		return tenant.Tenant{}, errUserNotFound(c.userName(), c.TID)
	}
	return home.tenant, nil
}

// audienceIs reports whether aud names app: its appId, or one of its
// identifier URIs (compared as the store compares them: without case and
// one trailing slash; a report of case-sensitive matching in Entra is
// unconfirmed).
func audienceIs(aud string, app tenant.Application) bool {
	return strings.EqualFold(aud, app.AppID) || app.HasName(aud)
}
