package issuer

import (
	"context"

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
	// The resource is read with the client, in one view of the store, but
	// a malformed scope or resource is answered after the client's
	// refusals, as Entra orders them.
	resource, resourceErr := appOnlyResource(req)
	creq, f, acr, err := s.client(ctx, c, a, consent.Request{
		Flow: consent.FlowClientCredentials, TenantRef: a.tenant.ID, ResourceName: resource, Default: true,
	}, req, false)
	if err != nil {
		return issued{}, err
	}
	if acr == appIDACRPublic {
		// A public client has no credential, and app-only tokens need one.
		return issued{}, errNoClientCredential()
	}
	if resourceErr != nil {
		return issued{}, resourceErr
	}
	c.resource = creq.ResourceName
	dec, err := decide(creq, f)
	if err != nil {
		return issued{}, err
	}
	return s.signAccess(appToken{access: s.newAccess(creq, f, dec, acr, c.now), ClientSPID: f.ClientSP.ID, Idtyp: appIdtyp(f.ResourceApp)})
}

// appOnlyResource returns the resource an app-only request names: on the
// v1 endpoint the resource parameter, on v2 the resource of scope's
// "{resource}/.default" (scope is ignored on v1), after the checks of
// resourceParameters.
func appOnlyResource(req *tokenRequest) (string, error) {
	if err := resourceParameters(req, true); err != nil {
		return "", err
	}
	if req.Endpoint == 1 {
		return req.Resource, nil
	}
	return parseDefaultScope(req.Scopes)
}

// resourceParameters applies the rules every grant keeps on the parameters
// that name a resource (protocol.md §2.2, §2.6): the v1 endpoint names it
// with resource=, the v2 endpoint with scope=, where a resource parameter
// is AADSTS901002. When the grant needs one (required), a v1 request
// without resource or a v2 request without scope is AADSTS900144.
func resourceParameters(req *tokenRequest, required bool) error {
	switch {
	case req.Endpoint == 1:
		if required && req.Resource == "" {
			return errMissing("resource")
		}
	case req.Resource != "":
		return errorf(CodeResourceParameter, "The 'resource' request parameter isn't supported.")
	case required && len(req.Scopes) == 0:
		return errMissing("scope")
	}
	return nil
}

// appIdtyp is idtyp of an app-only token: "app" when the resource asks for
// that optional claim in its access tokens.
func appIdtyp(resource *tenant.Application) string {
	if resource != nil && resource.OptionalClaim(tenant.TokenTypeAccess, "idtyp") {
		return "app"
	}
	return ""
}
