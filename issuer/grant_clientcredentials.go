package issuer

import (
	"context"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// clientCredentials implements RFC 6749 §4.4 the way Entra does
// (protocol.md §2.2, §4.2), in Entra's order: the tenant, then the client
// (AADSTS700016 / 7000112 before any credential is looked at), then its
// credential, then the scope or resource, then the policy engine. A client
// with no app role on the resource still gets a token, without roles,
// unless the resource requires assignment (AADSTS501051). The path only
// reads: no write transaction happens for an app-only token.
func (s *Server) clientCredentials(ctx context.Context, c *call, a authority, req *tokenRequest) (issued, error) {
	if a.multiTenant() {
		// Reports conflict on whether Entra refuses app-only requests at
		// /common and /organizations or issues them in the app's home
		// tenant (protocol.md §1.2, §7.2); Microsoft documents the refusal,
		// AADSTS50059, and we follow the documentation. /consumers gets the
		// same refusal: Entra's AADSTS9002332 there concerns personal
		// accounts, which this issuer does not have, and app-only tokens
		// need a tenant in every case.
		return issued{}, errorf(CodeNoTenantInfo,
			"No tenant-identifying information found in either the request or implied by any provided credentials.")
	}
	creq, acr, err := s.client(ctx, c, a, consent.FlowClientCredentials, a.tenant, req)
	if err != nil {
		return issued{}, err
	}
	creq.Default = true
	if acr == appIDACRPublic {
		// A public client has no credential, and app-only tokens need one.
		return issued{}, errNoClientCredential()
	}
	if creq.ResourceName, err = appOnlyResource(req); err != nil {
		return issued{}, err
	}
	c.resource = creq.ResourceName
	if creq.ResourceApp, creq.ResourceSP, err = consent.ResolveResource(ctx, s.cfg.Directory.Store(), a.tenant, creq.ResourceName); err != nil {
		return issued{}, err
	}
	dec, err := s.decide(ctx, creq)
	if err != nil {
		return issued{}, err
	}
	t := appToken{
		Version:       dec.TokenVersion,
		TenantID:      a.tenant.ID,
		ClientAppID:   creq.ClientApp.AppID,
		ClientSPID:    creq.ClientSP.ID,
		ResourceAppID: creq.ResourceApp.AppID,
		ResourceName:  creq.ResourceName,
		Roles:         dec.Roles,
		ACR:           acr,
		Idtyp:         appIdtyp(creq.ResourceApp),
		Issued:        c.now,
		Lifetime:      s.cfg.TokenLifetime.Truncate(time.Second),
		ID:            s.cfg.NewID(),
	}
	return s.sign(t)
}

// appOnlyResource returns the resource an app-only request names. On the v2
// endpoint it comes from scope ("{resource}/.default"), and a resource
// parameter is AADSTS901002; on the v1 endpoint resource is required
// (AADSTS900144) and scope is ignored.
func appOnlyResource(req *tokenRequest) (string, error) {
	if req.Endpoint == 1 {
		if req.Resource == "" {
			return "", errMissing("resource")
		}
		return req.Resource, nil
	}
	if req.Resource != "" {
		return "", errorf(CodeResourceParameter, "The 'resource' request parameter isn't supported.")
	}
	if len(req.Scopes) == 0 {
		return "", errMissing("scope")
	}
	return parseDefaultScope(req.Scopes)
}

// sign builds the claims of t's version and signs them with the active key.
func (s *Server) sign(t appToken) (issued, error) {
	var claims any
	if t.Version == 2 {
		claims = t.claimsV2(s.issuer(2, t.TenantID))
	} else {
		claims = t.claimsV1(s.issuer(1, t.TenantID))
	}
	token, err := s.keyring().signer.sign(t.Version, claims)
	if err != nil {
		return issued{}, err
	}
	iat, exp := t.times()
	return issued{
		token: token, lifetime: int64(t.Lifetime / time.Second),
		notBefore: iat, expiresOn: exp, resource: t.ResourceName,
	}, nil
}

// appIdtyp is idtyp of an app-only token: "app" when the resource asks for
// that optional claim in its access tokens.
func appIdtyp(resource *tenant.Application) string {
	if resource != nil && resource.OptionalClaim(tenant.TokenTypeAccess, "idtyp") {
		return "app"
	}
	return ""
}
