package tenant

import (
	"errors"
	"slices"
	"time"
)

// Refusals of a refresh token redemption (RefreshTokenStore implementations
// wrap them with the token's family).
var (
	// ErrRefreshTokenReused: the refresh token was already redeemed for a
	// successor. Redeeming it again is the replay RFC 9700 §4.14 tells an
	// authorization server to detect; the store has revoked the whole
	// family when it returns this.
	ErrRefreshTokenReused = errors.New("refresh token already redeemed")
	// ErrRefreshTokenRevoked: the token's family was revoked.
	ErrRefreshTokenRevoked = errors.New("refresh token family revoked")
)

// RefreshToken is what the issuer remembers of a refresh token it handed
// out. The token itself is never stored: Hash is the hex SHA-256 of its text,
// which is enough to find the record when the token comes back and useless
// to anyone who reads the database.
//
// Tokens of one sign-in form a family: each redemption issues a successor
// with the same FamilyID. By default the presented token stays valid, as in
// Entra (RenewRefreshToken); with strict rotation it is marked rotated, so
// that a replayed, already-rotated token can revoke every token descended
// from the same sign-in (RotateRefreshToken).
type RefreshToken struct {
	Hash     string
	FamilyID string
	TenantID string // the tenant of the user and of the tokens
	// ClientAppID is the client the token was issued to; only it may
	// redeem it.
	ClientAppID string
	UserID      string
	// Resource is the resource as the original request named it
	// (identifier URI or appId), and Scopes the scope values asked for;
	// no scopes means /.default. A refresh request that names no resource
	// gets a token for this basis again.
	Resource string
	Scopes   []string

	IssuedDateTime  time.Time
	ExpiresDateTime time.Time
	// LastUsedDateTime is when the token was last redeemed; zero if never.
	LastUsedDateTime time.Time
	// RotatedDateTime is when the token was redeemed for its successor;
	// zero while it is the family's current token.
	RotatedDateTime time.Time
	// RevokedDateTime is when the token was revoked (its family replayed,
	// or its user's password changed); zero if it was not.
	RevokedDateTime time.Time

	// PasswordBased: the sign-in that started the family presented the
	// user's password (the password grant). ConfidentialClient: the client
	// authenticated with a secret or certificate. Entra's revocation table
	// revokes password-based tokens of public clients when the user's
	// password changes or is reset, and keeps confidential clients' ones
	// (https://learn.microsoft.com/entra/identity-platform/refresh-tokens#token-revocation).
	PasswordBased      bool
	ConfidentialClient bool
	// SPA: the family began with an authorization code issued to a
	// single-page application's redirect URI. Entra gives such tokens 24
	// hours from the sign-in, and they may only be redeemed cross-origin.
	SPA bool
}

// RevokedByPasswordChange reports whether a change of the user's password
// revokes the token (Entra's revocation table, see PasswordBased).
func (r RefreshToken) RevokedByPasswordChange() bool { return r.PasswordBased && !r.ConfidentialClient }

// Rotated reports whether the token was already redeemed.
func (r RefreshToken) Rotated() bool { return !r.RotatedDateTime.IsZero() }

// Revoked reports whether the token's family was revoked.
func (r RefreshToken) Revoked() bool { return !r.RevokedDateTime.IsZero() }

// Expired reports whether the token can no longer be redeemed at now.
func (r RefreshToken) Expired(now time.Time) bool { return !now.Before(r.ExpiresDateTime) }

// Clone returns a copy that shares no slice with r.
func (r RefreshToken) Clone() RefreshToken {
	r.Scopes = slices.Clone(r.Scopes)
	return r
}
