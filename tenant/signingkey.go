package tenant

import (
	"crypto/rsa"
	"crypto/x509"
	"time"
)

// SigningKey is one of the issuer's token-signing keys. Entra publishes its
// signing keys in every tenant's JWKS with kid = x5t = the base64url SHA-1
// thumbprint of a self-signed certificate; we do the same.
type SigningKey struct {
	KeyID           string
	PrivateKey      *rsa.PrivateKey
	Certificate     *x509.Certificate
	CreatedDateTime time.Time
	// RetiredDateTime is when a newer key replaced this one; zero while the
	// key is active. A retired key stays in the JWKS until ExpiresDateTime so
	// tokens it signed keep verifying.
	RetiredDateTime time.Time
	ExpiresDateTime time.Time
}

// Active reports whether the key signs new tokens.
func (k SigningKey) Active() bool { return k.RetiredDateTime.IsZero() }

// Published reports whether the key belongs in the JWKS at now.
func (k SigningKey) Published(now time.Time) bool {
	return k.Active() || k.ExpiresDateTime.IsZero() || now.Before(k.ExpiresDateTime)
}
