package signing

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
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

// NewKey returns a new active signing key: an RSA-2048 key and a
// self-signed certificate for it, with KeyID = x5t = the unpadded base64url
// SHA-1 thumbprint of the certificate, as Entra publishes its keys
// (protocol.md §1.4).
func NewKey(now time.Time) (tenant.SigningKey, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return tenant.SigningKey{}, fmt.Errorf("signing: generating signing key: %w", err)
	}
	return KeyFor(key, now)
}

// KeyFor is NewKey for an RSA key the caller already has (issuertest hands
// out keys it made ahead, because generating one is most of what a new test
// server costs): it self-signs a new certificate for key, whose thumbprint
// is the KeyID.
func KeyFor(key *rsa.PrivateKey, now time.Time) (tenant.SigningKey, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return tenant.SigningKey{}, fmt.Errorf("signing: generating certificate serial: %w", err)
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
		return tenant.SigningKey{}, fmt.Errorf("signing: self-signing certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return tenant.SigningKey{}, fmt.Errorf("signing: parsing new certificate: %w", err)
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
