package tenant

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Type and usage of a certificate credential (Graph: keyCredential). Entra
// verifies client assertions with AsymmetricX509Cert credentials of usage
// Verify; those are the only ones the directory registers.
const (
	KeyTypeAsymmetricX509Cert = "AsymmetricX509Cert"
	KeyUsageVerify            = "Verify"
)

// minCertificateKeyBits is the smallest RSA key a certificate credential may
// carry. Entra's own rule is not in protocol.md; crypto/rsa refuses to
// verify with keys under 1024 bits, and keys under 2048 bits have been
// deprecated since 2013 (NIST SP 800-131A), so we refuse them at
// registration rather than fail every assertion later.
const minCertificateKeyBits = 2048

// ErrDuplicateCertificate reports a certificate already registered on the
// application (the same SHA-1 thumbprint); Entra refuses duplicate key
// credentials too. It wraps ErrExists.
var ErrDuplicateCertificate = fmt.Errorf("certificate %w on the application", ErrExists)

// NewKeyCredential describes certDER (a DER X.509 certificate) as a key
// credential: SHA-1 thumbprint as customKeyIdentifier (as the Entra portal
// sets it when a certificate is uploaded), SHA-256 thumbprint, validity from
// the certificate. Only RSA certificates are accepted: Entra verifies client
// assertions signed RS256 or PS256. The display name defaults to the
// certificate's subject ("CN=…"), as the portal shows it.
func NewKeyCredential(keyID string, certDER []byte, displayName string) (KeyCredential, error) {
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return KeyCredential{}, fmt.Errorf("%w: not an X.509 certificate: %v", ErrInvalid, err)
	}
	pub, ok := cert.PublicKey.(*rsa.PublicKey)
	if !ok {
		return KeyCredential{}, fmt.Errorf("%w: the certificate holds a %s key; client assertions are verified with RSA certificates only",
			ErrInvalid, cert.PublicKeyAlgorithm)
	}
	if pub.N.BitLen() < minCertificateKeyBits {
		return KeyCredential{}, fmt.Errorf("%w: the certificate's RSA key has %d bits; at least %d are required",
			ErrInvalid, pub.N.BitLen(), minCertificateKeyBits)
	}
	if !cert.NotAfter.After(cert.NotBefore) {
		return KeyCredential{}, fmt.Errorf("%w: the certificate's validity ends before it starts", ErrInvalid)
	}
	name := strings.TrimSpace(displayName)
	if name == "" {
		name = cert.Subject.String()
	}
	if len(name) > 256 {
		return KeyCredential{}, fmt.Errorf("%w: a certificate display name has at most 256 characters", ErrInvalid)
	}
	sha1Sum, sha256Sum := sha1.Sum(cert.Raw), sha256.Sum256(cert.Raw)
	return KeyCredential{
		KeyID: keyID, DisplayName: name, Type: KeyTypeAsymmetricX509Cert, Usage: KeyUsageVerify,
		StartDateTime: cert.NotBefore.UTC(), EndDateTime: cert.NotAfter.UTC(),
		CustomKeyIdentifier: sha1Sum[:], Thumbprint256: sha256Sum[:],
		Key: bytes.Clone(cert.Raw),
	}, nil
}

// Certificate parses the credential's certificate.
func (c KeyCredential) Certificate() (*x509.Certificate, error) {
	cert, err := x509.ParseCertificate(c.Key)
	if err != nil {
		return nil, fmt.Errorf("key credential %s: %w", c.KeyID, err)
	}
	return cert, nil
}

// Thumbprint returns the SHA-1 thumbprint in upper-case hexadecimal, the
// form the Entra portal, az and AADSTS700027 messages show.
func (c KeyCredential) Thumbprint() string {
	return strings.ToUpper(fmt.Sprintf("%x", c.CustomKeyIdentifier))
}

// Valid reports whether the credential is within its validity window at now.
// Entra refuses assertions signed with an expired (or not yet valid)
// certificate credential.
func (c KeyCredential) Valid(now time.Time) bool {
	return !now.Before(c.StartDateTime) && now.Before(c.EndDateTime)
}

// KeyCredentialBySHA1 returns the certificate credential whose SHA-1
// thumbprint is sum.
func (a Application) KeyCredentialBySHA1(sum []byte) (KeyCredential, bool) {
	return a.keyCredential(func(c KeyCredential) bool { return bytes.Equal(c.CustomKeyIdentifier, sum) })
}

// KeyCredentialBySHA256 returns the certificate credential whose SHA-256
// thumbprint is sum.
func (a Application) KeyCredentialBySHA256(sum []byte) (KeyCredential, bool) {
	return a.keyCredential(func(c KeyCredential) bool { return bytes.Equal(c.Thumbprint256, sum) })
}

// KeyCredentialByID returns the certificate credential with the given keyId
// (any case).
func (a Application) KeyCredentialByID(keyID string) (KeyCredential, bool) {
	return a.keyCredential(func(c KeyCredential) bool { return strings.EqualFold(c.KeyID, keyID) })
}

func (a Application) keyCredential(match func(KeyCredential) bool) (KeyCredential, bool) {
	for _, c := range a.KeyCredentials {
		if c.Type == KeyTypeAsymmetricX509Cert && c.Usage == KeyUsageVerify && match(c) {
			return c, true
		}
	}
	return KeyCredential{}, false
}

// AddKeyCredential registers a public certificate (DER) on the application
// as a keyCredential. An expired certificate is accepted, as Graph accepts
// it, and simply never verifies an assertion; a certificate already
// registered on the application is ErrDuplicateCertificate.
func (d *Directory) AddKeyCredential(ctx context.Context, appID string, certDER []byte, displayName string) (KeyCredential, error) {
	app, err := d.GetApplication(ctx, appID)
	if err != nil {
		return KeyCredential{}, err
	}
	cred, err := NewKeyCredential(d.newID(), certDER, displayName)
	if err != nil {
		return KeyCredential{}, err
	}
	_, err = d.updateApplication(ctx, app.AppID, func(a *Application) error {
		if c, ok := a.KeyCredentialBySHA1(cred.CustomKeyIdentifier); ok {
			return fmt.Errorf("%w (keyId %s, thumbprint %s)", ErrDuplicateCertificate, c.KeyID, c.Thumbprint())
		}
		if slices.ContainsFunc(a.KeyCredentials, func(c KeyCredential) bool { return c.KeyID == cred.KeyID }) {
			return fmt.Errorf("%w: key credential %s", ErrExists, cred.KeyID)
		}
		a.KeyCredentials = append(a.KeyCredentials, cred)
		return nil
	})
	if err != nil {
		return KeyCredential{}, err
	}
	return cred, nil
}

// ListKeyCredentials returns the application's certificate credentials.
func (d *Directory) ListKeyCredentials(ctx context.Context, appID string) ([]KeyCredential, error) {
	app, err := d.GetApplication(ctx, appID)
	if err != nil {
		return nil, err
	}
	return app.KeyCredentials, nil
}

// RemoveKeyCredential removes the certificate credential with the given
// keyId.
func (d *Directory) RemoveKeyCredential(ctx context.Context, appID, keyID string) error {
	app, err := d.GetApplication(ctx, appID)
	if err != nil {
		return err
	}
	_, err = d.updateApplication(ctx, app.AppID, func(a *Application) error {
		i := slices.IndexFunc(a.KeyCredentials, func(c KeyCredential) bool { return strings.EqualFold(c.KeyID, keyID) })
		if i < 0 {
			return fmt.Errorf("certificate %s: %w", keyID, ErrNotFound)
		}
		a.KeyCredentials = slices.Delete(a.KeyCredentials, i, i+1)
		return nil
	})
	return err
}
