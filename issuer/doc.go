// Package issuer is the protocol edge of the emulator: it speaks Entra ID's
// wire protocol so that unmodified Microsoft clients (MSAL, azidentity) and
// JWT validators work against it.
//
// It serves, for every tenant segment (a tenant GUID or any of its domains,
// or common, organizations and consumers):
//
//	POST /{tenant}/oauth2/v2.0/token                   token endpoint, v2
//	POST /{tenant}/oauth2/token                        token endpoint, v1
//	GET  /{tenant}/v2.0/.well-known/openid-configuration
//	GET  /{tenant}/.well-known/openid-configuration
//	GET  /{tenant}/discovery/v2.0/keys                 JWKS (keys carry issuer)
//	GET  /{tenant}/discovery/keys                      JWKS
//	GET  /common/discovery/instance                    MSAL instance discovery
//	GET  /common/UserRealm/{upn}                       MSAL user realm (password grant)
//	GET  /healthz
//
// A token request is parsed once into a typed request, dispatched on
// grant_type to a grant method (client credentials, password, on-behalf-of,
// refresh token). Each names the tenant, resource and user it asks for in a
// consent.Request, and Server.client resolves it (consent.Resolve: one read
// of the store) and checks the client and its credential; the grant then
// checks what is its own (the user's password, the OBO assertion's
// audience), judges the request on the resolved facts (consent.Decide, the
// function `issuer explain` calls), builds v1 or v2 claims (the resource
// picks the version, not the endpoint) and signs them. The user flows share one path (delegated.go),
// which `issuer token user` reaches without HTTP through IssueUserToken. Every refusal is an *Error
// carrying an AADSTS code; one table maps codes to the OAuth `error` and
// HTTP status, and one writer produces Entra's error body.
//
// Every token request's outcome goes to an in-memory sign-in log
// (Server.SignIns) from the one place handleToken answers, with what the
// grant resolved and, for a refusal, the policy reason; never a credential.
//
// New assembles a server from a Backend and a Config: the one interface the
// package needs from a store (backend.go), which *storage.DB implements and
// package conformance tests; the package never imports storage. Time, IDs
// and randomness are injected through Config, so responses are
// deterministic under test; a Clock (real, frozen or offset) lets a test
// move time to expire tokens and secrets. Keys, signatures and the JWKS
// entries come from package signing's key ring.
package issuer
