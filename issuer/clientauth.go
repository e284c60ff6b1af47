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

// client resolves a token request and checks its client, in Entra's order
// for every grant: AADSTS900144 without a client_id, 700016 and 7000112
// before the credential is looked at (protocol.md §4.2 step 2, §4.3 step
// 2, §2.1), then the credential. creq names what the grant asks for (the
// tenant, the resource, the user); the client is req's client_id. It
// returns the completed request, the facts Resolve read for it in one view
// of the store, and the appidacr/azpacr the credential earns. A public
// client presents nothing and earns "0"; whether the grant accepts one is
// the grant's decision.
//
// AADSTS7000229 (registered in its home tenant, no service principal
// there) comes after the credential. Microsoft does not document the
// order; we chose it because the credentials belong to the application
// object, which exists, and every captured 7000229 came from a client
// whose credential was valid (azure-sdk-for-net#46762,
// Commercial-Marketplace-SaaS-Accelerator#830), while a wrong secret
// answers 7000215. It also tells nobody without the secret that the
// service principal is missing.
//
// spa says the grant redeems what a single-page application got (its
// refresh token): like its code, it needs no credential whatever the
// application's isFallbackPublicClient says (codeClientAuth).
func (s *Server) client(ctx context.Context, c *call, a authority, creq consent.Request, req *tokenRequest, spa bool) (consent.Request, consent.Facts, string, error) {
	if req.ClientID == "" {
		return consent.Request{}, consent.Facts{}, "", errMissing("client_id")
	}
	creq.ClientAppID = req.ClientID
	f, err := s.resolve(ctx, creq)
	if err != nil {
		return consent.Request{}, consent.Facts{}, "", err
	}
	c.judged = &judgement{creq, f}
	d := consent.CheckClient(creq, f)
	if d != nil && d.Reason != consent.ReasonClientNoServicePrincipal {
		return consent.Request{}, consent.Facts{}, "", DenialError(d)
	}
	var acr string
	if spa {
		acr, err = s.codeClientAuth(ctx, a, f.ClientApp, tenant.PlatformSPA, req, c)
	} else {
		acr, err = s.authenticateClient(ctx, a, f.ClientApp, req, c.now)
	}
	if err != nil {
		return consent.Request{}, consent.Facts{}, "", err
	}
	if d != nil {
		return consent.Request{}, consent.Facts{}, "", DenialError(d)
	}
	return creq, f, acr, nil
}

// judgement is what the policy judged for a call: the consent request and
// the facts Resolve read for it. `issuer explain` judges the same pair for
// the same question (explain_judgement_internal_test.go shows it).
type judgement struct {
	req   consent.Request
	facts consent.Facts
}

// resolve reads the facts of creq in one view of the store
// (consent.Resolve), or takes those of the same question read since the
// store's last write (Server.facts, readcache.go). A tenant that vanished
// since the authority was resolved is AADSTS90002, with the store's error
// kept as the cause.
func (s *Server) resolve(ctx context.Context, creq consent.Request) (consent.Facts, error) {
	f, err := s.cachedResolve(ctx, creq)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		return consent.Facts{}, errTenantNotFound(creq.TenantRef).wrap(err)
	case err != nil:
		return consent.Facts{}, err
	}
	return f, nil
}

// checkClient applies the client rules (consent.CheckClient): AADSTS700016,
// 7000229 or 7000112 when the client has no usable service principal in
// the tenant.
func checkClient(creq consent.Request, f consent.Facts) error {
	if d := consent.CheckClient(creq, f); d != nil {
		return DenialError(d)
	}
	return nil
}

// decide judges creq on its facts (consent.Decide, the function `issuer
// explain` calls too) and turns a refusal into the Entra error that
// answers it.
func decide(creq consent.Request, f consent.Facts) (consent.Decision, error) {
	dec, err := consent.Decide(creq, f)
	if err == nil {
		return dec, nil
	}
	var d *consent.Denial
	if errors.As(err, &d) {
		return consent.Decision{}, DenialError(d)
	}
	return dec, err
}
