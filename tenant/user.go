package tenant

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"fmt"
	"io"
	"strings"
	"time"

	"golang.org/x/crypto/argon2"
)

// User is a member of a tenant: the subject of delegated tokens.
type User struct {
	ID                string    `json:"id"`
	TenantID          string    `json:"tenantId"`
	UserPrincipalName string    `json:"userPrincipalName"`
	DisplayName       string    `json:"displayName"`
	AccountEnabled    bool      `json:"accountEnabled"`
	CreatedDateTime   time.Time `json:"createdDateTime"`
	// DirectoryRoles are the names of the directory roles the user holds
	// (Graph: the user's memberOf directoryRole objects); they decide who
	// may grant admin consent (CanGrantAdminConsent).
	DirectoryRoles []string `json:"directoryRoles,omitempty"`
	// Mail, GivenName, Surname and Country are the Graph user properties
	// the optional claims email, given_name, family_name and ctry carry;
	// empty when not set. Country is a two-letter code (ctry is issued
	// only for such codes).
	Mail      string `json:"mail,omitempty"`
	GivenName string `json:"givenName,omitempty"`
	Surname   string `json:"surname,omitempty"`
	Country   string `json:"country,omitempty"`
	// PasswordHash is an argon2id hash in PHC string form, or empty when the
	// user has no password (Entra: AADSTS50056 on a password sign-in).
	PasswordHash string `json:"-"`
	// LastPasswordChangeDateTime is when the password was last set
	// (Graph's lastPasswordChangeDateTime); zero if it never was. A store
	// revokes the user's password-based refresh tokens at this time when
	// an update changes PasswordHash (see RefreshToken).
	LastPasswordChangeDateTime time.Time `json:"lastPasswordChangeDateTime,omitzero"`
}

// ValidateUPN checks the user@domain form and lowercases it.
func ValidateUPN(upn string) (string, error) {
	upn = NormalizeName(upn)
	local, domain, ok := strings.Cut(upn, "@")
	if !ok || local == "" || strings.ContainsAny(local, " \t\"") {
		return "", fmt.Errorf("%w: %q is not a user principal name (want user@domain)", ErrInvalid, upn)
	}
	// Graph allows only ASCII in userPrincipalName (letters, digits and
	// a few marks); a name with other characters could only alias an
	// ASCII one under Unicode folding, which NormalizeName does not do.
	for i := 0; i < len(local); i++ {
		if local[i] < 0x21 || local[i] > 0x7e {
			return "", fmt.Errorf("%w: %q is not a user principal name: only printable ASCII characters are allowed before the @", ErrInvalid, upn)
		}
	}
	if _, err := ValidateDomain(domain); err != nil {
		return "", fmt.Errorf("%w: %q is not a user principal name: %v", ErrInvalid, upn, err)
	}
	return upn, nil
}

// argon2id parameters: the RFC 9106 second recommended option scaled down to
// 19 MiB, which is OWASP's minimum, so a test suite that signs users in many
// times stays fast.
const (
	argonTime    = 2
	argonMemory  = 19 * 1024
	argonThreads = 1
	argonKeyLen  = 32
)

// hashPassword returns an argon2id PHC string for password with a salt from r.
func hashPassword(r io.Reader, password string) (string, error) {
	salt := make([]byte, 16)
	if _, err := io.ReadFull(r, salt); err != nil {
		return "", fmt.Errorf("generating salt: %w", err)
	}
	key := argon2.IDKey([]byte(password), salt, argonTime, argonMemory, argonThreads, argonKeyLen)
	enc := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, argonMemory, argonTime, argonThreads,
		enc.EncodeToString(salt), enc.EncodeToString(key)), nil
}

// HashPassword returns the argon2id PHC string issuer stores for password,
// with a new random salt: what `issuer user hash-password` prints, for seed
// files that carry passwordHash (hashing takes tens of milliseconds, which
// a seed of thousands of users would otherwise pay at every apply).
func HashPassword(password string) (string, error) {
	if password == "" {
		return "", fmt.Errorf("%w: an empty password", ErrInvalid)
	}
	return hashPassword(rand.Reader, password)
}

// passwordHash is a parsed argon2id PHC string:
// $argon2id$v=19$m=MEMORY,t=PASSES,p=THREADS$SALT$KEY (unpadded base64).
type passwordHash struct {
	memory, passes, threads int
	salt, key               []byte
}

// parsePasswordHash parses an argon2id PHC string, with bounds that keep a
// hash given in a seed file from costing more than a gigabyte or 16 passes
// at every sign-in.
func parsePasswordHash(s string) (passwordHash, error) {
	var h passwordHash
	var version int
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return h, fmt.Errorf("%w: a password hash is an argon2id PHC string, $argon2id$v=19$m=…,t=…,p=…$salt$key", ErrInvalid)
	}
	if _, err := fmt.Sscanf(parts[2], "v=%d", &version); err != nil || version != argon2.Version {
		return h, fmt.Errorf("%w: password hash: argon2 version %q, want v=%d", ErrInvalid, parts[2], argon2.Version)
	}
	if _, err := fmt.Sscanf(parts[3], "m=%d,t=%d,p=%d", &h.memory, &h.passes, &h.threads); err != nil ||
		h.memory < 8*h.threads || h.memory > 1<<20 || h.passes <= 0 || h.passes > 16 || h.threads <= 0 || h.threads > 16 ||
		parts[3] != fmt.Sprintf("m=%d,t=%d,p=%d", h.memory, h.passes, h.threads) {
		return h, fmt.Errorf("%w: password hash: parameters %q, want m=KiB (8·p to 1048576),t=passes (1 to 16),p=threads (1 to 16)", ErrInvalid, parts[3])
	}
	var err1, err2 error
	h.salt, err1 = base64.RawStdEncoding.DecodeString(parts[4])
	h.key, err2 = base64.RawStdEncoding.DecodeString(parts[5])
	if err1 != nil || err2 != nil || len(h.salt) < 8 || len(h.key) < 16 || len(h.key) > 64 {
		return h, fmt.Errorf("%w: password hash: salt (8 bytes or more) and key (16 to 64 bytes) must be unpadded base64", ErrInvalid)
	}
	return h, nil
}

// ValidatePasswordHash checks that s is an argon2id PHC string issuer can
// verify passwords against.
func ValidatePasswordHash(s string) error {
	_, err := parsePasswordHash(s)
	return err
}

// CheckPassword reports whether password matches the user's stored hash. A
// user without a password matches nothing.
func (u User) CheckPassword(password string) bool {
	h, err := parsePasswordHash(u.PasswordHash)
	if err != nil {
		return false
	}
	got := argon2.IDKey([]byte(password), h.salt, uint32(h.passes), uint32(h.memory), uint8(h.threads), uint32(len(h.key)))
	return subtle.ConstantTimeCompare(got, h.key) == 1
}

// UserAttributes are the optional user properties UserSpec and UserUpdate
// set: nil leaves one as it is, "" clears it.
type UserAttributes struct {
	Mail, GivenName, Surname, Country *string
}

// Validate checks the values a sets.
func (a UserAttributes) Validate() error {
	var u User
	return a.apply(&u)
}

// apply validates a and sets its values on u.
func (a UserAttributes) apply(u *User) error {
	if a.Mail != nil {
		m := strings.TrimSpace(*a.Mail)
		if m != "" {
			local, domain, ok := strings.Cut(m, "@")
			if _, err := ValidateDomain(domain); !ok || local == "" || err != nil {
				return fmt.Errorf("%w: mail %q is not an email address", ErrInvalid, m)
			}
		}
		u.Mail = m
	}
	if a.GivenName != nil {
		u.GivenName = strings.TrimSpace(*a.GivenName)
	}
	if a.Surname != nil {
		u.Surname = strings.TrimSpace(*a.Surname)
	}
	if a.Country != nil {
		c := strings.ToUpper(strings.TrimSpace(*a.Country))
		if c != "" && (len(c) != 2 || c[0] < 'A' || c[0] > 'Z' || c[1] < 'A' || c[1] > 'Z') {
			return fmt.Errorf("%w: country %q: want a two-letter code such as US or FR", ErrInvalid, *a.Country)
		}
		u.Country = c
	}
	return nil
}
