package tenant_test

import (
	"strings"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/tenant"
)

// TestParseLifetime: the lifetimes flags and seed files accept, and what
// they refuse.
func TestParseLifetime(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     time.Duration
		wantErr  string
	}{
		{"days", "90d", 90 * 24 * time.Hour, ""},
		{"days and hours", "1d12h", 36 * time.Hour, ""},
		{"Go duration", "8760h", 8760 * time.Hour, ""},
		{"minutes", "1h30m", 90 * time.Minute, ""},
		{"spaces around", " 2d ", 48 * time.Hour, ""},
		{"a century", "36500d", 36500 * 24 * time.Hour, ""},
		{"more than a century", "36501d", 0, "invalid duration"},
		{"zero", "0d", 0, "must be positive"},
		{"negative", "-1h", 0, "must be positive"},
		{"negative days", "-1d", 0, "invalid duration"},
		{"empty", "", 0, "must be positive"},
		{"no unit", "10", 0, "invalid duration"},
		{"unknown unit", "10x", 0, "invalid duration"},
		{"two day counts", "1d1d", 0, "invalid duration"},
		{"no day count", "d", 0, "invalid duration"},
		{"a word for days", "xd", 0, "invalid duration"},
		{"huge day count", "99999999d", 0, "invalid duration"},
		{"days after hours", "1h1d", 0, "invalid duration"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tenant.ParseLifetime(tc.in)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("ParseLifetime(%q) = %v, %v; want an error with %q", tc.in, got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Errorf("ParseLifetime(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
			}
		})
	}
}
