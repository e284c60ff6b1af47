package tenant

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"time"
)

// PasswordCredential is a client secret (Graph: passwordCredential). The
// secret itself is shown once, when created; only a salted SHA-256 and the
// first three characters (the hint) are kept.
type PasswordCredential struct {
	KeyID         string    `json:"keyId"`
	DisplayName   string    `json:"displayName"`
	Hint          string    `json:"hint"`
	StartDateTime time.Time `json:"startDateTime"`
	// EndDateTime is the expiry; the zero time means the secret never expires.
	EndDateTime time.Time `json:"endDateTime"`
	Salt        []byte    `json:"-"`
	Hash        []byte    `json:"-"`
}

// KeyCredential is a certificate registered on an application
// (Graph: keyCredential, type AsymmetricX509Cert, usage Verify).
type KeyCredential struct {
	KeyID         string    `json:"keyId"`
	DisplayName   string    `json:"displayName"`
	Type          string    `json:"type"`
	Usage         string    `json:"usage"`
	StartDateTime time.Time `json:"startDateTime"`
	EndDateTime   time.Time `json:"endDateTime"`
	// CustomKeyIdentifier is the certificate's SHA-1 thumbprint, as Graph
	// shows it; Thumbprint256 its SHA-256 thumbprint. Both are raw bytes.
	CustomKeyIdentifier []byte `json:"customKeyIdentifier"`
	Thumbprint256       []byte `json:"thumbprintSha256"`
	// Key is the DER certificate.
	Key []byte `json:"key"`
}

// secretEntropyBytes gives 264 bits of entropy: the secret is compared by a
// fast salted hash, which is only safe for secrets nobody can guess.
const secretEntropyBytes = 33

// newSecret makes a client secret shaped like Entra's (three characters, the
// "8Q~" version marker, then random text) from r.
func newSecret(r io.Reader) (string, error) {
	b := make([]byte, 3+secretEntropyBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("generating secret: %w", err)
	}
	const alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	prefix := []byte{alphabet[int(b[0])%len(alphabet)], alphabet[int(b[1])%len(alphabet)], alphabet[int(b[2])%len(alphabet)]}
	return string(prefix) + "8Q~" + base64.RawURLEncoding.EncodeToString(b[3:]), nil
}

// newPasswordCredential hashes secret with a fresh salt.
func newPasswordCredential(r io.Reader, keyID, name, secret string, start, end time.Time) (PasswordCredential, error) {
	salt := make([]byte, 16)
	if _, err := io.ReadFull(r, salt); err != nil {
		return PasswordCredential{}, fmt.Errorf("generating salt: %w", err)
	}
	return PasswordCredential{
		KeyID: keyID, DisplayName: name, Hint: secret[:min(3, len(secret))],
		StartDateTime: start, EndDateTime: end,
		Salt: salt, Hash: secretHash(salt, secret),
	}, nil
}

func secretHash(salt []byte, secret string) []byte {
	sum := secretSum(salt, secret)
	return sum[:]
}

// secretSum is secretHash as an array, which the token endpoint's check
// of every secret computes without allocating: salt and secret are
// joined in a buffer on the stack when they fit (a generated secret and
// its salt do).
func secretSum(salt []byte, secret string) [sha256.Size]byte {
	var buf [128]byte
	b := append(buf[:0], salt...)
	return sha256.Sum256(append(b, secret...))
}

// Matches compares secret with the stored hash in constant time.
func (c PasswordCredential) Matches(secret string) bool {
	sum := secretSum(c.Salt, secret)
	return subtle.ConstantTimeCompare(sum[:], c.Hash) == 1
}

// Expired reports whether the credential is outside its validity window at now.
func (c PasswordCredential) Expired(now time.Time) bool {
	return now.Before(c.StartDateTime) || !c.EndDateTime.IsZero() && !now.Before(c.EndDateTime)
}

// VerifySecret checks a presented client secret against every password
// credential of the application. Entra answers AADSTS7000215 when no
// credential matches and AADSTS7000222 when only expired ones do; these are
// ErrSecretMismatch and ErrCredentialExpired.
func (a Application) VerifySecret(secret string, now time.Time) error {
	expired := false
	for _, c := range a.PasswordCredentials {
		if !c.Matches(secret) {
			continue
		}
		if !c.Expired(now) {
			return nil
		}
		expired = true
	}
	if expired {
		return fmt.Errorf("application %s: %w", a.AppID, ErrCredentialExpired)
	}
	return fmt.Errorf("application %s: %w", a.AppID, ErrSecretMismatch)
}
