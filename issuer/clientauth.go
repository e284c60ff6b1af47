package issuer

import (
	"errors"
	"time"

	"github.com/issuer-dev/issuer/tenant"
)

// appIDACRPublic is appidacr/azpacr of a public client, which presents no
// credential.
const appIDACRPublic = "0"

// authenticateClient checks the credential the client presented
// (protocol.md §2.1) and returns the appidacr/azpacr value it earns. The
// client has already been found and checked (AADSTS700016 and 7000112 come
// first in Entra).
//
//   - A public client (isFallbackPublicClient) presents nothing and earns
//     "0"; presenting a secret or an assertion is AADSTS700025. Whether a
//     grant accepts a public client is the grant's decision.
//   - A confidential client presenting nothing is AADSTS7000218.
//   - More than one method (secret and assertion) is malformed: RFC 6749
//     §2.3 says a client MUST NOT use more than one.
//   - A secret that matches no credential is AADSTS7000215; one that
//     matches only expired credentials AADSTS7000222.
//   - client_assertion (certificate or federated credential) is refused
//     explicitly until credential support arrives.
func authenticateClient(app *tenant.Application, req *tokenRequest, now time.Time) (string, error) {
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
		return "", errorf(CodeMissingClientCred,
			"The request body must contain the following parameter: 'client_assertion' or 'client_secret'. "+
				"This issuer does not accept 'client_assertion' yet: certificate and federated credentials arrive with credential support; use a client secret.")
	case !secret:
		return "", errorf(CodeMissingClientCred, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
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
