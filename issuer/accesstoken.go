package issuer

import (
	"crypto/rsa"
	"errors"
	"strings"
)

// AccessToken is what an API served beside the token endpoints (the
// Microsoft Graph subset) reads from a bearer token this server issued.
type AccessToken struct {
	TenantID string
	// ObjectID is the oid: the user of a delegated token, the client's
	// service principal of an app-only one.
	ObjectID string
	// AppID is the client application (appid in v1, azp in v2).
	AppID    string
	Audience string
	// Roles are the app roles (app-only tokens); Scopes the delegated
	// scopes (scp), empty in an app-only token.
	Roles  []string
	Scopes []string
}

// AppOnly reports whether the token represents no user.
func (t AccessToken) AppOnly() bool { return len(t.Scopes) == 0 }

// Errors of VerifyAccessToken. An API answers both with 401; they differ
// in the message (Graph: "Lifetime validation failed, the token is
// expired." against "Access token validation failure.").
var (
	ErrAccessTokenInvalid = errors.New("access token validation failure")
	ErrAccessTokenExpired = errors.New("lifetime validation failed, the token is expired")
)

// VerifyAccessToken checks that raw is an access token this server signed
// with a key it publishes, for the issuer of its tenant, within its
// lifetime on the server's clock, and returns its claims. It checks no
// audience: that is the API's to do. An id_token is refused.
func (s *Server) VerifyAccessToken(raw string) (AccessToken, error) {
	now := s.cfg.Now()
	kr := s.keyring()
	c, err := parseUserAssertion(raw, func(kid string) *rsa.PublicKey { return kr.PublicKey(kid, now) }, s.issuer)
	if err != nil {
		return AccessToken{}, errors.Join(ErrAccessTokenInvalid, err)
	}
	if c.isIDToken() {
		return AccessToken{}, errors.Join(ErrAccessTokenInvalid, errors.New("an id_token is not an access token"))
	}
	if err := checkAssertionTime(c, now); err != nil {
		return AccessToken{}, errors.Join(ErrAccessTokenExpired, err)
	}
	return AccessToken{TenantID: c.TID, ObjectID: c.OID, AppID: or(c.AppID, c.AZP), Audience: c.Aud[0],
		Roles: c.Roles, Scopes: strings.Fields(c.Scp)}, nil
}
