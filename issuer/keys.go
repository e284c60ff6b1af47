package issuer

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"errors"
	"fmt"
	"math/big"
	"time"

	"github.com/issuer-dev/issuer/tenant"
)

// signingCertLifetime is the validity of a new signing certificate. Entra's
// published certificates are valid for several years and rotated well before
// they expire; the JWKS, not the certificate dates, says what is trusted.
const signingCertLifetime = 5 * 365 * 24 * time.Hour

// signingCertSubject is the subject Entra's signing certificates carry.
const signingCertSubject = "accounts.accesscontrol.windows.net"

// NewSigningKey returns a new active signing key: an RSA-2048 key and a
// self-signed certificate for it, with KeyID = x5t = the unpadded base64url
// SHA-1 thumbprint of the certificate, as Entra publishes its keys
// (protocol.md §1.4).
func NewSigningKey(now time.Time) (tenant.SigningKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return tenant.SigningKey{}, fmt.Errorf("issuer: generating signing key: %w", err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tenant.SigningKey{}, fmt.Errorf("issuer: generating certificate serial: %w", err)
	}
	now = now.UTC().Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: signingCertSubject},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(signingCertLifetime),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tenant.SigningKey{}, fmt.Errorf("issuer: self-signing certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return tenant.SigningKey{}, fmt.Errorf("issuer: parsing new certificate: %w", err)
	}
	return tenant.SigningKey{
		KeyID:           Thumbprint(cert),
		PrivateKey:      key,
		Certificate:     cert,
		CreatedDateTime: now,
	}, nil
}

// Thumbprint returns the unpadded base64url SHA-1 of the certificate's DER:
// Entra's kid and x5t.
func Thumbprint(cert *x509.Certificate) string {
	sum := sha1.Sum(cert.Raw)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// loadKeys reads the signing keys and, when none is active, creates one and
// stores it, so that a fresh database serves tokens at once.
func loadKeys(ctx context.Context, ks KeyStore, now time.Time) ([]tenant.SigningKey, error) {
	keys, err := ks.SigningKeys(ctx)
	if err != nil {
		return nil, fmt.Errorf("issuer: reading signing keys: %w", err)
	}
	for _, k := range keys {
		if k.Active() {
			return keys, nil
		}
	}
	k, err := NewSigningKey(now)
	if err != nil {
		return nil, err
	}
	if err := ks.AddSigningKey(ctx, k); err != nil {
		return nil, fmt.Errorf("issuer: storing the first signing key: %w", err)
	}
	return append([]tenant.SigningKey{k}, keys...), nil
}

// keyring is the parsed key set: the signer of the active key and the JWKS
// entries of every key. It is built once per load and never mutated, so
// requests share it without locks.
type keyring struct {
	signer *signer
	keys   []publishedKey
}

// publishedKey is one JWKS entry with the window in which it is published.
type publishedKey struct {
	key tenant.SigningKey
	jwk jwk
}

// newKeyring parses keys (newest first). The first active key signs, with
// a Signer of backend b.
func newKeyring(keys []tenant.SigningKey, b SignerBackend) (*keyring, error) {
	kr := &keyring{}
	for _, k := range keys {
		if k.PrivateKey == nil || k.Certificate == nil {
			return nil, fmt.Errorf("issuer: signing key %s has no private key or certificate", k.KeyID)
		}
		pub, ok := k.Certificate.PublicKey.(*rsa.PublicKey)
		if !ok || !pub.Equal(&k.PrivateKey.PublicKey) {
			return nil, fmt.Errorf("issuer: signing key %s: certificate does not hold the key's RSA public key", k.KeyID)
		}
		if kid := Thumbprint(k.Certificate); kid != k.KeyID {
			return nil, fmt.Errorf("issuer: signing key %s: kid is not the certificate thumbprint %s", k.KeyID, kid)
		}
		kr.keys = append(kr.keys, publishedKey{key: k, jwk: newJWK(k)})
		if kr.signer == nil && k.Active() {
			var err error
			if kr.signer, err = newSigner(k, b); err != nil {
				return nil, err
			}
		}
	}
	if kr.signer == nil {
		return nil, errors.New("issuer: no active signing key")
	}
	return kr, nil
}
