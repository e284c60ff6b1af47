package tenant_test

import (
	"errors"
	"testing"

	"github.com/issuer-dev/issuer/tenant"
)

// TestNameFolding: names fold ASCII letters only. Unicode case mapping
// turns the Kelvin sign (U+212A) into "k" and U+0130 into "i", which made
// "fabri\u212Aam.com" name fabrikam.com.
func TestNameFolding(t *testing.T) {
	for _, tc := range []struct {
		name, in, want string
	}{
		{"ASCII upper case", "Fabrikam.COM", "fabrikam.com"},
		{"ASCII white space", " \tbob@fabrikam.com\r\n", "bob@fabrikam.com"},
		{"Kelvin sign stays", "fabri\u212Aam.com", "fabri\u212Aam.com"},
		{"dotted capital I stays", "F\u0130SH.com", "f\u0130sh.com"},
		{"no-break space is not trimmed", "\u00a0bob@fabrikam.com", "\u00a0bob@fabrikam.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := tenant.NormalizeName(tc.in); got != tc.want {
				t.Errorf("NormalizeName(%q) = %q; want %q", tc.in, got, tc.want)
			}
		})
	}
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"Fabrikam.com", "fabrikam.COM", true},
		{"fabri\u212Aam.com", "fabrikam.com", false},
		{"\u017Fomething", "something", false},
		{"abc", "abcd", false},
	} {
		if got := tenant.EqualFoldASCII(tc.a, tc.b); got != tc.want {
			t.Errorf("EqualFoldASCII(%q, %q) = %v; want %v", tc.a, tc.b, got, tc.want)
		}
	}
	for _, bad := range []string{"fabri\u212Aam.com", "f\u0130sh.com", "caf\u00e9.com"} {
		if _, err := tenant.ValidateDomain(bad); !errors.Is(err, tenant.ErrInvalid) {
			t.Errorf("ValidateDomain(%q) = %v; want tenant.ErrInvalid", bad, err)
		}
	}
	for _, bad := range []string{"bob@fabri\u212Aam.com", "\u212Aate@fabrikam.com", "b\u00f6b@fabrikam.com", "bob\u00a0@fabrikam.com"} {
		if _, err := tenant.ValidateUPN(bad); !errors.Is(err, tenant.ErrInvalid) {
			t.Errorf("ValidateUPN(%q) = %v; want tenant.ErrInvalid", bad, err)
		}
	}
	if got, err := tenant.ValidateUPN("Bob.O'Neil@Fabrikam.com"); err != nil || got != "bob.o'neil@fabrikam.com" {
		t.Errorf("tenant.ValidateUPN of an ASCII name = %q, %v", got, err)
	}
}
