package tenant

import (
	"fmt"
	"strings"
	"time"
)

// Tenant is a directory (Graph: organization). ID is a lowercase GUID;
// Domains[0] is the initial <name>.onmicrosoft.com domain. A tenant is
// addressed by its ID or by any of its domains, case-insensitively.
type Tenant struct {
	ID          string   `json:"id"`
	DisplayName string   `json:"displayName"`
	Domains     []string `json:"domains"`
	// UserConsent says whether users may consent to delegated permissions of
	// type User for themselves (Entra: the tenant's user consent setting).
	UserConsent     UserConsent `json:"userConsent"`
	CreatedDateTime time.Time   `json:"createdDateTime"`
}

// UserConsent is a tenant's user consent setting.
type UserConsent string

const (
	UserConsentAllowed  UserConsent = "allowed"
	UserConsentDisabled UserConsent = "disabled"
)

// ParseUserConsent accepts "allowed" or "disabled".
func ParseUserConsent(s string) (UserConsent, error) {
	switch UserConsent(strings.ToLower(s)) {
	case UserConsentAllowed:
		return UserConsentAllowed, nil
	case UserConsentDisabled:
		return UserConsentDisabled, nil
	}
	return "", fmt.Errorf("%w: user consent must be allowed or disabled, not %q", ErrInvalid, s)
}

// AllowsUserConsent reports whether users may consent for themselves. An unset
// value means allowed, Entra's setting for new tenants in this tool.
func (t Tenant) AllowsUserConsent() bool { return t.UserConsent != UserConsentDisabled }

// Reserved tenant segments Entra gives a meaning of their own; no tenant may
// take them as a domain.
var reservedSegments = map[string]bool{"common": true, "organizations": true, "consumers": true}

// InitialDomain turns a tenant name into its initial domain, as Entra does
// when a tenant is created: the letters and digits of the name, lowercased,
// followed by .onmicrosoft.com.
func InitialDomain(name string) (string, error) {
	var b strings.Builder
	for _, r := range strings.ToLower(name) {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 || b.Len() > 27 {
		return "", fmt.Errorf("%w: tenant name %q must contain 1 to 27 letters or digits to form <name>.onmicrosoft.com", ErrInvalid, name)
	}
	return b.String() + ".onmicrosoft.com", nil
}

// ValidateDomain checks that d is a DNS name with at least two labels and
// returns it lowercased.
func ValidateDomain(d string) (string, error) {
	d = NormalizeName(d)
	if len(d) == 0 || len(d) > 253 || !strings.Contains(d, ".") || reservedSegments[d] {
		return "", fmt.Errorf("%w: %q is not a valid domain name", ErrInvalid, d)
	}
	for _, label := range strings.Split(d, ".") {
		if !validLabel(label) {
			return "", fmt.Errorf("%w: %q is not a valid domain name", ErrInvalid, d)
		}
	}
	return d, nil
}

func validLabel(l string) bool {
	if len(l) == 0 || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
		return false
	}
	for i := 0; i < len(l); i++ {
		c := l[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ValidTenantSegment reports whether s could name a tenant at all: a GUID or
// a DNS name. Entra answers AADSTS900023 for anything else, before looking the
// tenant up.
func ValidTenantSegment(s string) bool {
	if IsGUID(s) {
		return true
	}
	_, err := ValidateDomain(s)
	return err == nil
}
