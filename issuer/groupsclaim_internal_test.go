package issuer

import (
	"fmt"
	"testing"
)

// TestNewGroupsClaims: up to maxGroupsInJWT ids are the claim; one more
// gives the overage claims, whose endpoint depends on the token version
// and the kind of subject (a user, or the service principal of an app-only
// token, whose overage no end-to-end test reaches cheaply).
func TestNewGroupsClaims(t *testing.T) {
	const tid, oid = "6c1e0b7a-2d3f-4a5b-8c9d-0e1f2a3b4c5d", "9a7e5c3b-1d2f-4e6a-8b0c-2d4f6a8c0e1a"
	ids := func(n int) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = fmt.Sprintf("g%d", i)
		}
		return out
	}
	tests := []struct {
		name     string
		groups   int
		version  int
		objects  string
		endpoint string // "" for the ids inline
	}{
		{"none", 0, 2, userObjects, ""},
		{"200, inline", 200, 1, userObjects, ""},
		{"201 of a user, v1", 201, 1, userObjects, "https://graph.windows.net/" + tid + "/users/" + oid + "/getMemberObjects"},
		{"201 of a user, v2", 201, 2, userObjects, "https://graph.microsoft.com/v1.0/users/" + oid + "/getMemberObjects"},
		{"201 of a service principal, v1", 201, 1, servicePrincipalObjects, "https://graph.windows.net/" + tid + "/servicePrincipals/" + oid + "/getMemberObjects"},
		{"201 of a service principal, v2", 201, 2, servicePrincipalObjects, "https://graph.microsoft.com/v1.0/servicePrincipals/" + oid + "/getMemberObjects"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newGroupsClaims(ids(tc.groups), tc.version, tid, tc.objects, oid)
			if tc.endpoint == "" {
				if len(g.groups) != tc.groups || g.names != nil || g.sources != nil {
					t.Fatalf("newGroupsClaims = %d groups, %v, %v; want %d groups inline", len(g.groups), g.names, g.sources, tc.groups)
				}
				return
			}
			if g.groups != nil || g.names == nil || g.names.Groups != "src1" || g.sources == nil || g.sources.Src1.Endpoint != tc.endpoint {
				t.Fatalf("newGroupsClaims = %d groups, %+v, %+v; want the overage claims with endpoint %s", len(g.groups), g.names, g.sources, tc.endpoint)
			}
		})
	}
}
