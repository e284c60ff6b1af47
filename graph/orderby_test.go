package graph_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/tenant"
)

// TestOrderBy: $orderby sorts a list by one property, as Graph sorts
// directory objects: users by displayName or userPrincipalName at once;
// applications and service principals, any list also filtered, and users
// by createdDateTime only with the advanced query parameters
// (ConsistencyLevel: eventual and $count=true), which Graph otherwise
// refuses with Request_UnsupportedQuery.
func TestOrderBy(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"beta", "Alpha", "gamma"} {
		e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: "sorted-" + n})
		e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: n + "@contoso.onmicrosoft.com", DisplayName: "sorted-" + n})
	}
	advanced := http.Header{"Consistencylevel": {"eventual"}}
	for _, tc := range []struct {
		name   string
		header http.Header
		path   string
		want   []string // the displayNames starting with sorted-, in order
	}{
		{"users by displayName", nil, "/users?$orderby=displayName", []string{"sorted-Alpha", "sorted-beta", "sorted-gamma"}},
		{"users by displayName desc", nil, "/users?$orderby=displayName%20desc", []string{"sorted-gamma", "sorted-beta", "sorted-Alpha"}},
		{"users by userPrincipalName asc", nil, "/users?$orderby=userPrincipalName%20asc&$select=displayName,userPrincipalName", []string{"sorted-Alpha", "sorted-beta", "sorted-gamma"}},
		{"applications, advanced", advanced, "/applications?$orderby=displayName%20desc&$count=true", []string{"sorted-gamma", "sorted-beta", "sorted-Alpha"}},
		{"filtered and sorted, advanced", advanced, "/applications?$filter=startswith(displayName,'sorted-')&$orderby=displayName%20desc&$count=true&$select=displayName", []string{"sorted-gamma", "sorted-beta", "sorted-Alpha"}},
		{"service principals, advanced", advanced, "/servicePrincipals?$orderby=displayName&$count=true", []string{"sorted-Alpha", "sorted-beta", "sorted-gamma"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := e.callWith(t, tc.header, e.admin, "GET", tc.path, "")
			if status != 200 {
				t.Fatalf("GET %s = %d %v", tc.path, status, body)
			}
			var got []string
			for _, v := range body["value"].([]any) {
				if n, _ := v.(map[string]any)["displayName"].(string); len(n) > 7 && n[:7] == "sorted-" {
					got = append(got, n)
				}
			}
			if n := len(body["value"].([]any)); strings.Contains(tc.path, "$filter") && n != len(got) {
				t.Errorf("GET %s: %d objects; want the %d sorted- applications alone", tc.path, n, len(got))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("GET %s: %v; want %v", tc.path, got, tc.want)
			}
		})
	}

	e.wantRefusals(t, []refusalCase{
		{"applications need the advanced parameters", "/applications?$orderby=displayName", nil, "Request_UnsupportedQuery"},
		{"$count=true alone is not advanced", "/applications?$orderby=displayName&$count=true", nil, "Request_UnsupportedQuery"},
		{"a filtered list needs them", "/users?$filter=startswith(displayName,'sorted-')&$orderby=displayName", nil, "Request_UnsupportedQuery"},
		{"users by createdDateTime need them", "/users?$orderby=createdDateTime", nil, "Request_UnsupportedQuery"},
		{"an unsortable property", "/users?$orderby=mail", advanced, "Request_UnsupportedQuery"},
		{"an unknown property", "/applications?$orderby=colour&$count=true", advanced, "Request_UnsupportedQuery"},
		{"two properties", "/users?$orderby=displayName,userPrincipalName", nil, "Request_UnsupportedQuery"},
		{"a bad direction", "/users?$orderby=displayName%20up", nil, "Request_UnsupportedQuery"},
		{"an empty $orderby", "/users?$orderby=", nil, "Request_UnsupportedQuery"},
		{"a list Graph does not sort", "/oauth2PermissionGrants?$orderby=scope", nil, "Request_UnsupportedQuery"},
	})
}
