package signing

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/issuer-dev/issuer/tenant"
)

// KeyStore holds the token-signing keys, which are global as in Entra (one
// key set for every tenant). Each method is one transaction; issuer.Backend
// embeds it, and package conformance checks the errors below.
type KeyStore interface {
	// SigningKeys returns every key, newest CreatedDateTime first (equal
	// times by KeyID), with its private key and certificate.
	SigningKeys(ctx context.Context) ([]tenant.SigningKey, error)
	// AddSigningKey stores k: tenant.ErrExists if its KeyID is taken,
	// tenant.ErrInvalid if it has no KeyID, private key or certificate.
	AddSigningKey(ctx context.Context, k tenant.SigningKey) error
	// AddFirstSigningKey stores k unless the store holds an active key, in
	// one transaction, and reports whether it did: of several servers
	// starting on one empty store, one key wins.
	AddFirstSigningKey(ctx context.Context, k tenant.SigningKey) (bool, error)
	// UpdateSigningKey changes the key (retires it): tenant.ErrNotFound for
	// an unknown kid, tenant.ErrInvalid if the updater changes KeyID.
	UpdateSigningKey(ctx context.Context, kid string, update func(*tenant.SigningKey) error) error
	// DeleteSigningKey removes the key: tenant.ErrNotFound for an unknown kid.
	DeleteSigningKey(ctx context.Context, kid string) error
}

// Ring is a parsed key set: the signer of the active key and the JWKS
// entries of every key. It is built once per load and never changed, so
// requests share it without locks; a server swaps in a new Ring after a
// rotation.
type Ring struct {
	signer *jwsSigner
	keys   []publishedKey
}

// publishedKey is one JWKS entry with the window in which it is published.
type publishedKey struct {
	key tenant.SigningKey
	jwk JWK
}

// Load reads the signing keys of ks and parses them into a Ring whose
// active key signs with backend b. When no key is active it creates one
// and stores it first, so that a fresh store serves tokens at once.
func Load(ctx context.Context, ks KeyStore, now time.Time, b Backend) (*Ring, error) {
	keys, err := ks.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("signing: reading signing keys: %w", err)
	}
	if !hasActive(keys) {
		k, err := NewKey(now)
		if err != nil {
			return nil, err
		}
		added, err := ks.AddFirstSigningKey(ctx, k)
		switch {
		case err != nil:
			return nil, fmt.Errorf("signing: storing the first signing key: %w", err)
		case added:
			keys = append([]tenant.SigningKey{k}, keys...)
		default: // another server stored one meanwhile: use it
			if keys, err = ks.SigningKeys(ctx); err != nil {
				return nil, fmt.Errorf("signing: reading signing keys: %w", err)
			}
		}
	}
	return NewRing(keys, b)
}

func hasActive(keys []tenant.SigningKey) bool {
	for _, k := range keys {
		if k.Active() {
			return true
		}
	}
	return false
}

// NewRing parses keys (newest first). The first active key signs, with a
// Signer of backend b. Every key must hold its private key and a
// certificate for it whose thumbprint is its KeyID.
func NewRing(keys []tenant.SigningKey, b Backend) (*Ring, error) {
	r := &Ring{}
	for _, k := range keys {
		if k.PrivateKey == nil || k.Certificate == nil {
			return nil, fmt.Errorf("signing: signing key %s has no private key or certificate", k.KeyID)
		}
		pub, ok := k.Certificate.PublicKey.(*rsa.PublicKey)
		if !ok || !pub.Equal(&k.PrivateKey.PublicKey) {
			return nil, fmt.Errorf("signing: signing key %s: certificate does not hold the key's RSA public key", k.KeyID)
		}
		if kid := Thumbprint(k.Certificate); kid != k.KeyID {
			return nil, fmt.Errorf("signing: signing key %s: kid is not the certificate thumbprint %s", k.KeyID, kid)
		}
		r.keys = append(r.keys, publishedKey{key: k, jwk: newJWK(k)})
		if r.signer == nil && k.Active() {
			var err error
			if r.signer, err = newJWSSigner(k, b); err != nil {
				return nil, err
			}
		}
	}
	if r.signer == nil {
		return nil, errors.New("signing: no active signing key")
	}
	return r, nil
}

// Sign returns the compact JWS of claims, signed RS256 by the active key
// with the protected header of token version 1 or 2 (jws.go).
func (r *Ring) Sign(version int, claims any) (string, error) {
	return r.signer.sign(version, claims)
}

// KeyID is the kid of the active key.
func (r *Ring) KeyID() string { return r.signer.kid }

// PublicKey returns the public key of the key kid when it is published at
// now, or nil: what a token of ours presented back to us (an on-behalf-of
// assertion) is verified with.
func (r *Ring) PublicKey(kid string, now time.Time) *rsa.PublicKey {
	for _, pk := range r.keys {
		if pk.key.KeyID == kid && pk.key.Published(now) {
			return &pk.key.PrivateKey.PublicKey
		}
	}
	return nil
}

// JWKS returns the JWKS entries of every key published at now, retired
// ones included so that tokens they signed keep verifying through the
// grace period, each restricted to issuer when it is not empty (the v2
// key set's {tenantid} template).
func (r *Ring) JWKS(now time.Time, issuer string) []JWK {
	out := []JWK{}
	for _, pk := range r.keys {
		if pk.key.Published(now) {
			k := pk.jwk
			k.Issuer = issuer
			out = append(out, k)
		}
	}
	return out
}

// JWK is one key of Entra's JWKS, members in Entra's order (protocol.md
// §1.4). There is no alg member: Entra publishes none, and jose skips a key
// whose alg differs from the token's.
type JWK struct {
	Kty string   `json:"kty"`
	Use string   `json:"use"`
	Kid string   `json:"kid"`
	X5t string   `json:"x5t"`
	N   string   `json:"n"`
	E   string   `json:"e"`
	X5c []string `json:"x5c"`
	// Issuer is set on the v2 key set only: the {tenantid} template issuer
	// validators restrict the key to.
	Issuer string `json:"issuer,omitempty"`
}

// newJWK builds the published form of k: x5c is the certificate in standard
// base64 with padding, n and e unpadded base64url.
func newJWK(k tenant.SigningKey) JWK {
	pub := k.PrivateKey.PublicKey
	return JWK{
		Kty: "RSA",
		Use: "sig",
		Kid: k.KeyID,
		X5t: k.KeyID,
		N:   base64.RawURLEncoding.EncodeToString(pub.N.Bytes()),
		E:   base64.RawURLEncoding.EncodeToString(big.NewInt(int64(pub.E)).Bytes()),
		X5c: []string{base64.StdEncoding.EncodeToString(k.Certificate.Raw)},
	}
}
