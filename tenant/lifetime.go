package tenant

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxLifetimeDays bounds the day count of a lifetime: a century, beyond any
// credential Entra issues (client secrets: at most two years in the portal,
// longer through Graph).
const maxLifetimeDays = 100 * 365

// ParseLifetime reads a lifetime as the CLI flags (`--expires 90d`) and seed
// files (`"expires": "90d"`) write one: a Go duration ("8760h", "90m"), a
// day count ("90d"), or both ("1d12h"). Go has no day unit, and secrets'
// lifetimes are counted in days in the portal. The result is positive.
func ParseLifetime(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	var total time.Duration
	rest := s
	if days, after, ok := strings.Cut(s, "d"); ok {
		n, err := strconv.Atoi(days)
		if err != nil || n < 0 || n > maxLifetimeDays {
			return 0, fmt.Errorf("invalid duration %q (want e.g. 90d, 8760h or 1d12h)", s)
		}
		total, rest = time.Duration(n)*24*time.Hour, after
	}
	if rest != "" {
		d, err := time.ParseDuration(rest)
		if err != nil {
			return 0, fmt.Errorf("invalid duration %q (want e.g. 90d, 8760h or 1d12h)", s)
		}
		total += d
	}
	if total <= 0 {
		return 0, fmt.Errorf("invalid duration %q: must be positive", s)
	}
	return total, nil
}

// Bounds of a token lifetime policy's AccessTokenLifetime, as Entra
// documents them (configurable token lifetimes): 10 minutes to 1 day.
const (
	MinAccessTokenLifetime = 10 * time.Minute
	MaxAccessTokenLifetime = 24 * time.Hour
)

// TokenLifetimePolicy is the setting of Entra's tokenLifetimePolicy that
// this issuer honours: AccessTokenLifetime, the lifetime of the access
// tokens issued for the application as a resource (Entra applies the
// resource's policy to access tokens) and of the ID tokens issued to it.
// Entra assigns policy objects to applications and service principals; an
// application here holds its policy's setting, and a zero value means none
// (Entra's defaults).
type TokenLifetimePolicy struct {
	AccessTokenLifetime time.Duration
}

// Validate checks the policy's bounds.
func (p TokenLifetimePolicy) Validate() error {
	if d := p.AccessTokenLifetime; d != 0 && (d < MinAccessTokenLifetime || d > MaxAccessTokenLifetime) {
		return fmt.Errorf("%w: an access token lifetime is 10 minutes to 1 day, not %v", ErrInvalid, d)
	}
	if p.AccessTokenLifetime%time.Second != 0 {
		return fmt.Errorf("%w: an access token lifetime is whole seconds, not %v", ErrInvalid, p.AccessTokenLifetime)
	}
	return nil
}

// MarshalJSON writes the policy as Entra's definition does:
// {"accessTokenLifetime":"02:00:00"} ("1.00:00:00" for a day).
func (p TokenLifetimePolicy) MarshalJSON() ([]byte, error) {
	d := p.AccessTokenLifetime
	days, rest := d/(24*time.Hour), d%(24*time.Hour)
	s := fmt.Sprintf("%02d:%02d:%02d", int(rest/time.Hour), int(rest%time.Hour/time.Minute), int(rest%time.Minute/time.Second))
	if days > 0 {
		s = fmt.Sprintf("%d.%s", days, s)
	}
	return []byte(`{"accessTokenLifetime":"` + s + `"}`), nil
}
