package issuer

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/issuer-dev/issuer/tenant"
)

// Refresh tokens are opaque to clients (Entra's are encrypted blobs that
// begin "1.A" or "0.A"). Ours are refreshTokenPrefix followed by the
// unpadded base64url of 32 random bytes: 256 bits, so that knowing the
// stored SHA-256 of a token is useless, and unguessable as a bearer secret.
// The issuer stores only that hash (tenant.RefreshToken) and never logs the
// token.
const (
	refreshTokenPrefix = "1.A"
	refreshTokenBytes  = 32
	refreshTokenLength = len(refreshTokenPrefix) + (refreshTokenBytes*8+5)/6
)

// spaRefreshTokenLifetime is the lifetime of the refresh tokens Entra gives a
// single-page application (a code issued to a spa redirect URI), which no
// token lifetime setting changes.
const spaRefreshTokenLifetime = 24 * time.Hour

// newRefreshTokenText returns a new token read from r.
func newRefreshTokenText(r io.Reader) (string, error) {
	b := make([]byte, refreshTokenBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("issuer: generating a refresh token: %w", err)
	}
	return refreshTokenPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// parseRefreshToken checks that s has the shape of our refresh tokens and
// returns the hash the store knows it by. A token of another shape cannot
// be one we issued: the caller refuses it without a lookup.
func parseRefreshToken(s string) (hash string, ok bool) {
	if len(s) != refreshTokenLength || !strings.HasPrefix(s, refreshTokenPrefix) {
		return "", false
	}
	b, err := base64.RawURLEncoding.Strict().DecodeString(s[len(refreshTokenPrefix):])
	if err != nil || len(b) != refreshTokenBytes {
		return "", false
	}
	return refreshTokenHash(s), true
}

// refreshTokenHash is the hex SHA-256 of the token's text.
func refreshTokenHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// mintRefreshToken completes basis (family, tenant, client, user, resource,
// scopes) into a new token record issued at now, and returns the token text
// with it. The caller stores the record, as a new family or as the
// successor of a redeemed token.
func (s *Server) mintRefreshToken(basis tenant.RefreshToken, now time.Time) (string, tenant.RefreshToken, error) {
	text, err := newRefreshTokenText(s.cfg.Random)
	if err != nil {
		return "", tenant.RefreshToken{}, err
	}
	rt := basis.Clone()
	rt.Hash = refreshTokenHash(text)
	rt.IssuedDateTime = now.UTC()
	rt.ExpiresDateTime = rt.IssuedDateTime.Add(s.cfg.RefreshTokenLifetime)
	if rt.SPA {
		// Entra gives a single-page application's refresh tokens 24 hours
		// from the sign-in, which redeeming them does not extend: the
		// successor keeps the family's expiry (its basis carries it).
		if basis.ExpiresDateTime.IsZero() {
			rt.ExpiresDateTime = rt.IssuedDateTime.Add(spaRefreshTokenLifetime)
		} else {
			rt.ExpiresDateTime = basis.ExpiresDateTime
		}
	}
	rt.LastUsedDateTime, rt.RotatedDateTime, rt.RevokedDateTime = time.Time{}, time.Time{}, time.Time{}
	return text, rt, nil
}
