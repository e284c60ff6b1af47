package issuer

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"strings"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// authorizationCode redeems an authorization code (RFC 6749 §4.1.3, the
// v2 and v1 authorization code articles), in Entra's order:
//
//   - code (AADSTS900144 when absent): one we issued (70000), not expired
//     (70008, after 10 minutes), not redeemed before (54005), issued to
//     this client (70000) in this tenant;
//   - the client (700016, 7000112) and its credential: a code sent to a
//     web redirect URI is a confidential client's, which must authenticate
//     (7000218); spa and publicClient codes need none. An SPA code must be
//     redeemed cross-origin (Origin header, 9002327), any other must not
//     (9002326);
//   - redirect_uri, the one of the authorization request (500112);
//   - code_verifier against the code_challenge, S256 or plain (501481);
//   - then the policy engine again (consent may have been revoked since)
//     and the tokens: access token, id_token with the request's nonce for
//     openid, client_info, and a refresh token (v1 always, v2 with
//     offline_access).
//
// A code is spent only by a redemption that passed every check, so that
// a request with a wrong verifier cannot burn the real client's code.
func (s *Server) authorizationCode(ctx context.Context, c *call, a authority, req *tokenRequest) (issued, error) {
	switch {
	case req.Code == "":
		return issued{}, errMissing("code")
	case req.ClientID == "":
		return issued{}, errMissing("client_id")
	case req.Endpoint == 2 && req.Resource != "":
		return issued{}, errorf(CodeResourceParameter, "The 'resource' request parameter isn't supported.")
	}
	invalid := errorf(CodeInvalidGrant, "The provided value for the 'code' parameter is not valid.")
	if !validSecret(req.Code) {
		return issued{}, invalid
	}
	key := secretHash(req.Code)
	code, ok, expired := s.interactive.codes.get(key, c.now)
	switch {
	case expired:
		return issued{}, errorf(CodeGrantExpired, "The provided authorization code or refresh token has expired due to inactivity. "+
			"Send a new interactive authorization request for this user and resource.")
	case !ok:
		return issued{}, invalid
	case code.redeemed:
		return issued{}, errCodeRedeemed()
	case !strings.EqualFold(code.clientID, req.ClientID):
		return issued{}, errorf(CodeInvalidGrant, "The provided value for the 'code' parameter is not valid: it was issued to another client.")
	case a.kind == tenantAuthority && a.tenant.ID != code.tenantID:
		return issued{}, errorf(CodeInvalidGrant, "The provided value for the 'code' parameter is not valid: it was issued in another tenant.")
	}
	switch {
	case code.platform == tenant.PlatformSPA && req.Origin == "":
		return issued{}, errSPANeedsOrigin()
	case code.platform != tenant.PlatformSPA && req.Origin != "":
		return issued{}, errCrossOriginNotSPA(req.Origin)
	}
	scope, err := grantScope(req, code.scopes, code.resource)
	if err != nil {
		return issued{}, err
	}
	creq := delegatedConsent(consent.FlowInteractive, code.tenantID, code.userID, scope)
	creq.ClientAppID = req.ClientID
	f, err := s.resolve(ctx, creq)
	if err != nil {
		return issued{}, err
	}
	c.judged = &judgement{creq, f}
	if err := checkClient(creq, f); err != nil {
		return issued{}, err
	}
	acr, err := s.codeClientAuth(ctx, a, f.ClientApp, code.platform, req, c)
	if err != nil {
		return issued{}, err
	}
	switch {
	case req.RedirectURI == "":
		return issued{}, errMissing("redirect_uri")
	case req.RedirectURI != code.redirect:
		return issued{}, errorf(CodeRedirectNotSame, "The reply address '%s' does not match the reply address '%s' provided when requesting Authorization code.",
			clip(req.RedirectURI, maxSignInField), code.redirect)
	}
	if err := checkVerifier(code, req.CodeVerifier); err != nil {
		return issued{}, err
	}
	spent := false
	s.interactive.codes.update(key, c.now, func(ac *authCode) { spent, ac.redeemed = ac.redeemed, true })
	if spent {
		return issued{}, errCodeRedeemed()
	}
	if _, err := userOf(f, code.userID); err != nil {
		return issued{}, err
	}
	return s.issueDelegated(ctx, c, delegatedRequest{
		creq: creq, facts: f, endpoint: req.Endpoint, scope: scope, acr: acr, clientInfo: req.ClientInfo, nonce: code.nonce,
		wantsRenew: req.Endpoint == 1 || scope.has("offline_access"), spa: code.platform == tenant.PlatformSPA,
	})
}

// errSPANeedsOrigin is AADSTS9002327: a single-page application's code or
// refresh token redeemed without an Origin header.
func errSPANeedsOrigin() *Error {
	return errorf(CodeSPANeedsOrigin, "Tokens issued for the 'Single-Page Application' client-type may only be redeemed via cross-origin requests.")
}

// errCrossOriginNotSPA is AADSTS9002326: another client's code or refresh
// token redeemed cross-origin.
func errCrossOriginNotSPA(origin string) *Error {
	return errorf(CodeCrossOriginNotSPA, "Cross-origin token redemption is permitted only for the 'Single-Page Application' client-type. "+
		"Request origin: '%s'.", clip(origin, maxSignInField))
}

func errCodeRedeemed() *Error {
	return errorf(CodeCodeRedeemed, "OAuth2 Authorization code was already redeemed, please retry with a new valid code or use an existing refresh token.")
}

// codeClientAuth authenticates the client redeeming a code: a web
// redirect URI belongs to a confidential client, which must present its
// secret or assertion whatever isFallbackPublicClient says; spa and
// publicClient codes are redeemed by public clients, with nothing (a
// credential, when one is sent, is checked).
func (s *Server) codeClientAuth(ctx context.Context, a authority, app *tenant.Application, platform tenant.Platform, req *tokenRequest, c *call) (string, error) {
	if platform != tenant.PlatformWeb && req.ClientSecret == "" && req.ClientAssertion == "" {
		return appIDACRPublic, nil
	}
	confidential := *app
	confidential.IsFallbackPublicClient = false
	return s.authenticateClient(ctx, a, &confidential, req, c.now)
}

// checkVerifier checks code_verifier against the authorization request's
// code_challenge (RFC 7636 §4.6): S256 (base64url SHA-256) or plain.
func checkVerifier(code authCode, verifier string) error {
	if code.challenge == "" {
		return nil
	}
	mismatch := errorf(CodeCodeVerifier, "The Code_Verifier does not match the code_challenge supplied in the authorization request.")
	if verifier == "" || !validVerifier(verifier) {
		return mismatch
	}
	want := verifier
	if code.method == "S256" {
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if !equalSecret(want, code.challenge) {
		return mismatch
	}
	return nil
}

// grantScope is what a code or device code redemption asks for: the
// request's own scope (v2) or resource (v1) when it names one, else the
// authorization request's.
func grantScope(req *tokenRequest, scopes []string, resource string) (delegatedScope, error) {
	if req.Endpoint == 1 {
		r := cmp.Or(req.Resource, resource)
		if r == "" {
			return delegatedScope{}, errMissing("resource")
		}
		return v1DelegatedScope(r, append(append([]string{}, req.Scopes...), scopes...)), nil
	}
	if len(req.Scopes) > 0 {
		return parseDelegatedScopes(req.Scopes)
	}
	if len(scopes) == 0 {
		return delegatedScope{}, errMissing("scope")
	}
	return parseDelegatedScopes(scopes)
}
