package issuer

import (
	"context"
	"errors"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// appIDACRPublic is appidacr/azpacr of a public client, which presents no
// credential.
const appIDACRPublic = "0"

// authenticateClient checks the credential the client presented
// (protocol.md §2.1) and returns the appidacr/azpacr value it earns. It is
// the one entry point of client authentication for every grant. The
// client has already been found and checked (AADSTS700016 and 7000112 come
// first in Entra); auth is the authority of the request, which a client
// assertion's audience must name.
//
//   - A public client (isFallbackPublicClient) presents nothing and earns
//     "0"; presenting a secret or an assertion is AADSTS700025. Whether a
//     grant accepts a public client is the grant's decision.
//   - A confidential client presenting nothing is AADSTS7000218.
//   - More than one method (secret and assertion) is malformed: RFC 6749
//     §2.3 says a client MUST NOT use more than one.
//   - A secret that matches no credential is AADSTS7000215; one that
//     matches only expired credentials AADSTS7000222. A secret earns "1".
//   - A client assertion (RFC 7523) is a certificate assertion or a token
//     of an external identity provider matching a federated identity
//     credential (see clientAssertion); either earns "2".
func (s *Server) authenticateClient(ctx context.Context, auth authority, app *tenant.Application, req *tokenRequest, now time.Time) (string, error) {
	secret, assertion := req.ClientSecret != "", req.ClientAssertion != ""
	if app.IsFallbackPublicClient {
		if secret || assertion {
			return "", errorf(CodePublicClientCred, "Client is public so neither 'client_assertion' nor 'client_secret' should be presented.")
		}
		return appIDACRPublic, nil
	}
	switch {
	case secret && assertion:
		return "", errMalformed("The request presents both 'client_secret' and 'client_assertion'; a client must use one authentication method (RFC 6749 section 2.3).")
	case assertion:
		if err := s.clientAssertion(ctx, auth, app, req, now); err != nil {
			return "", err
		}
		return appIDACRCertificate, nil
	case !secret:
		return "", errNoClientCredential()
	}
	err := app.VerifySecret(req.ClientSecret, now)
	switch {
	case err == nil:
		return appIDACRSecret, nil
	case errors.Is(err, tenant.ErrCredentialExpired):
		return "", errorf(CodeClientSecretExpired,
			"The provided client secret keys for app '%s' are expired. Visit the Azure portal to create new keys for your app: https://aka.ms/NewClientSecret, "+
				"or consider using certificate credentials for added security: https://aka.ms/certCreds.", app.AppID).wrap(err)
	case errors.Is(err, tenant.ErrSecretMismatch):
		return "", errorf(CodeInvalidClientSecret,
			"Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, "+
				"for a secret added to app '%s'.", app.AppID).wrap(err)
	}
	return "", err
}

// clientAssertion verifies client_assertion. client_assertion_type must
// be RFC 7523's jwt-bearer: a missing one is AADSTS900144 (the generic
// missing-parameter answer; Entra's own answer is not captured [?]), any
// other value AADSTS90011 "Unexpected client assertion type" [O 2016]. The
// assertion is then parsed (AADSTS50027 / 5002738), must have an iss
// (90014), and is verified as a federated or a certificate assertion
// (assertion.isFederated).
func (s *Server) clientAssertion(ctx context.Context, auth authority, app *tenant.Application, req *tokenRequest, now time.Time) error {
	switch req.ClientAssertionType {
	case "":
		return errMissing("client_assertion_type")
	case clientAssertionTypeJWT:
	default:
		return errorf(CodeAssertionType, "Unexpected client assertion type. The client_assertion_type must be '%s'.", clientAssertionTypeJWT)
	}
	a, err := parseAssertion(req.ClientAssertion)
	if err != nil {
		return err
	}
	if a.claims.Issuer == "" {
		return missingClaim("iss")
	}
	if a.isFederated() {
		return s.verifyFederatedAssertion(ctx, a, app, now)
	}
	return s.verifyCertificateAssertion(a, auth, app, now)
}

// client finds the client of a token request in tenant t and checks its
// credential, in Entra's order for every grant: AADSTS900144 without a
// client_id, 700016 and 7000112 before the credential is looked at
// (protocol.md §4.2 step 2, §4.3 step 2, §2.1). It returns the consent
// request begun for flow and the appidacr/azpacr the credential earns. A
// public client presents nothing and earns "0"; whether the grant accepts
// one is the grant's decision.
//
// AADSTS7000229 (registered in its home tenant, no service principal
// there) comes after the credential. Microsoft does not document the
// order; we chose it because the credentials belong to the application
// object, which exists, and every captured 7000229 came from a client
// whose credential was valid (azure-sdk-for-net#46762,
// Commercial-Marketplace-SaaS-Accelerator#830), while a wrong secret
// answers 7000215. It also tells nobody without the secret that the
// service principal is missing.
func (s *Server) client(ctx context.Context, c *call, a authority, flow consent.Flow, t tenant.Tenant, req *tokenRequest) (consent.Request, string, error) {
	if req.ClientID == "" {
		return consent.Request{}, "", errMissing("client_id")
	}
	creq, d, err := s.resolveClient(ctx, flow, t, req.ClientID)
	if err != nil {
		return consent.Request{}, "", err
	}
	if d != nil && d.Reason != consent.ReasonClientNoServicePrincipal {
		return consent.Request{}, "", DenialError(d)
	}
	acr, err := s.authenticateClient(ctx, a, creq.ClientApp, req, c.now)
	if err != nil {
		return consent.Request{}, "", err
	}
	if d != nil {
		return consent.Request{}, "", DenialError(d)
	}
	return creq, acr, nil
}

// findClient begins the consent request of flow for the client clientID in
// tenant t: AADSTS700016, 7000229 or 7000112 when it has no usable service
// principal there.
func (s *Server) findClient(ctx context.Context, flow consent.Flow, t tenant.Tenant, clientID string) (consent.Request, error) {
	creq, d, err := s.resolveClient(ctx, flow, t, clientID)
	if err != nil {
		return consent.Request{}, err
	}
	if d != nil {
		return consent.Request{}, DenialError(d)
	}
	return creq, nil
}

// resolveClient begins the consent request of flow for clientID in t and
// judges the client alone (consent.CheckClient). A refusal comes back as
// the Denial, with the request as far as it was resolved.
func (s *Server) resolveClient(ctx context.Context, flow consent.Flow, t tenant.Tenant, clientID string) (consent.Request, *consent.Denial, error) {
	creq := consent.Request{Flow: flow, Tenant: t, ClientAppID: clientID}
	var err error
	if creq.ClientApp, creq.ClientSP, err = consent.ResolveClient(ctx, s.cfg.Directory.Store(), t, clientID); err != nil {
		return consent.Request{}, nil, err
	}
	return creq, consent.CheckClient(creq), nil
}

// decide asks the policy engine and turns its refusal into the Entra error
// that answers it.
func (s *Server) decide(ctx context.Context, creq consent.Request) (consent.Decision, error) {
	dec, err := s.engine.Decide(ctx, creq)
	var d *consent.Denial
	if errors.As(err, &d) {
		return consent.Decision{}, DenialError(d)
	}
	return dec, err
}
