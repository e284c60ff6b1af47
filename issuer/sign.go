package issuer

import (
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// accessClaims is an access token before it is signed (appToken,
// userToken): its content and the claims of each version.
type accessClaims interface {
	base() access
	claimsV1(iss string) any
	claimsV2(iss string) any
}

// newAccess is the content of the access token that answers creq, judged
// dec on the facts f: the one place app-only and delegated tokens take it
// from the request, the facts and the decision.
func (s *Server) newAccess(creq consent.Request, f consent.Facts, dec consent.Decision, acr string, now time.Time) access {
	roles, groups := dec.Roles, f.AccessGroups
	if groupsAsRoles(f.ResourceApp, tenant.TokenTypeAccess) {
		roles, groups = asRoles(groups)
	}
	return access{
		Version:       dec.TokenVersion,
		TenantID:      f.Tenant.ID,
		ClientAppID:   f.ClientApp.AppID,
		ResourceAppID: f.ResourceApp.AppID,
		ResourceName:  creq.ResourceName,
		Roles:         roles,
		Groups:        groups,
		ACR:           acr,
		Issued:        now,
		Lifetime:      policyLifetime(f.ResourceApp, s.cfg.TokenLifetime),
		ID:            s.cfg.NewID(),
	}
}

// policyLifetime is the lifetime of a token for (access tokens) or to (ID
// tokens) app: its token lifetime policy's, else def. Entra's one-hour
// default gives expires_in 3599 and exp-iat 3900 (DefaultTokenLifetime), so
// a policy of L gives expires_in L-1 and exp-iat L+300 alike.
func policyLifetime(app *tenant.Application, def time.Duration) time.Duration {
	if app != nil && app.TokenLifetimePolicy != nil && app.TokenLifetimePolicy.AccessTokenLifetime > 0 {
		return app.TokenLifetimePolicy.AccessTokenLifetime - time.Second
	}
	return def.Truncate(time.Second)
}

// signAccess signs an access token with the active key in the version the
// resource accepts (its requestedAccessTokenVersion, not the endpoint): the
// one place that picks a version's claims and header. It returns the
// token members of the answer.
func (s *Server) signAccess(t accessClaims) (issued, error) {
	a := t.base()
	claims := t.claimsV1
	if a.Version == 2 {
		claims = t.claimsV2
	}
	token, err := s.keyring().Sign(a.Version, claims(s.issuer(a.Version, a.TenantID)))
	if err != nil {
		return issued{}, err
	}
	iat, exp := tokenTimes(a.Issued, a.Lifetime)
	return issued{
		token: token, lifetime: int64(a.Lifetime / time.Second),
		notBefore: iat, expiresOn: exp, resource: a.ResourceName,
	}, nil
}
