package issuer

import (
	"context"
	"slices"
	"strings"

	"github.com/issuer-dev/issuer/consent"
)

// UserTokenRequest asks for a delegated access token as if the user had
// signed in to the client interactively and the client had asked for the
// resource's scopes.
type UserTokenRequest struct {
	Tenant      string // tenant id or domain; organizations finds it from the UPN
	User        string // UPN or object id
	ClientAppID string
	Resource    string // identifier URI or appId, as a v1 request names it
	// Scopes are scope values of the resource, without its prefix; none
	// asks for /.default (everything granted).
	Scopes []string
}

// IssueUserToken signs the access token an interactive sign-in of the user
// to the client would end with, without HTTP: it starts OBO chains in tests
// and scripts (`issuer token user`, issuertest's UserToken). No password is
// checked, but every rule of the token endpoint applies: the tenant, the
// client (AADSTS700016 / 7000112), the user (AADSTS50034), and the engine's
// decision for an interactive flow (consent 65001, scopes 70011, assignment
// 50105, disabled user 50057, …). A refusal is the *Error the token
// endpoint would send.
//
// The token has the claims of a password sign-in (amr pwd); appidacr is "0"
// for a public client and "1" for a confidential one, which redeems the
// authorization code with its secret.
func (s *Server) IssueUserToken(ctx context.Context, r UserTokenRequest) (string, error) {
	a, err := s.resolveAuthority(ctx, r.Tenant)
	if err != nil {
		return "", err
	}
	t := a.tenant
	switch a.kind {
	case commonAuthority, consumersAuthority:
		return "", errNotOnCommon()
	case organizationsAuthority:
		if t, err = s.homeTenantOf(ctx, r.User); err != nil {
			return "", err
		}
	}
	if r.Resource == "" {
		return "", errMissing("resource")
	}
	scope := delegatedScope{Resource: r.Resource, Default: true}
	for _, v := range r.Scopes {
		v = strings.TrimSpace(v)
		if v != "" && !slices.ContainsFunc(scope.Values, func(x string) bool { return strings.EqualFold(x, v) }) {
			scope.Values, scope.Default = append(scope.Values, v), false
		}
	}
	creq := delegatedConsent(consent.FlowInteractive, t.ID, r.User, scope)
	creq.ClientAppID = r.ClientAppID
	f, err := s.resolve(ctx, creq)
	if err != nil {
		return "", err
	}
	if err := checkClient(creq, f); err != nil {
		return "", err
	}
	acr := appIDACRSecret
	if f.ClientApp.IsFallbackPublicClient {
		acr = appIDACRPublic
	}
	if _, err := userOf(f, r.User); err != nil {
		return "", err
	}
	out, _, err := s.decideAndSign(s.cfg.Now().UTC(), creq, f, acr)
	if err != nil {
		return "", err
	}
	return out.token, nil
}
