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
