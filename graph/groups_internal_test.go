package graph

import "testing"

// TestSecurityIdentifier: a group's SID is Entra's, S-1-12-1- and the
// object id as four numbers (Microsoft's example of a cloud object id and
// its SID), and nothing for a malformed id.
func TestSecurityIdentifier(t *testing.T) {
	for _, tc := range []struct {
		name, id string
		want     any
	}{
		{"Microsoft's example", "73d664e4-0886-4a73-b745-c694da45ddb4", "S-1-12-1-1943430372-1249052806-2496021943-3034400218"},
		{"upper case", "73D664E4-0886-4A73-B745-C694DA45DDB4", "S-1-12-1-1943430372-1249052806-2496021943-3034400218"},
		{"all zeros", "00000000-0000-0000-0000-000000000000", "S-1-12-1-0-0-0-0"},
		{"not a GUID", "nope", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := securityIdentifier(tc.id); got != tc.want {
				t.Errorf("securityIdentifier(%s) = %v; want %v", tc.id, got, tc.want)
			}
		})
	}
}
