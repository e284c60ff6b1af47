package graph

import (
	"slices"
	"testing"
)

// TestSearchTokens: the words $search matches a displayName's by.
func TestSearchTokens(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want []string
	}{
		{"Contoso Web App", []string{"contoso", "web", "app"}},
		{"HelloWorld42", []string{"hello", "world", "42"}},
		{"API-gateway_v2 (prod)", []string{"api", "gateway", "v", "2", "prod"}},
		{"IDPConfig", []string{"idpconfig"}},
		{"  ", nil},
		{"Ünïcode Straße", []string{"ünïcode", "straße"}},
	} {
		if got := searchTokens(tc.in); !slices.Equal(got, tc.want) {
			t.Errorf("searchTokens(%q) = %q; want %q", tc.in, got, tc.want)
		}
	}
}
