package graph_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/tenant"
)

// TestSearch: $search finds directory objects as Graph's advanced query
// does: by token on displayName (a word of the term begins a word of the
// name; words split at spaces, case changes and digits), by prefix on
// other properties, terms joined by AND and OR, beside $filter, $orderby
// and $count; without ConsistencyLevel: eventual, or malformed, it is
// refused with Graph's code.
func TestSearch(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"Quokka Web Portal", "QuokkaWebApp42", "Wombat Payroll"} {
		e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: n})
	}
	for _, u := range []struct{ upn, name string }{{"adele", "Adele Quokka"}, {"alex", "Alex Wilber"}} {
		e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: u.upn + "@contoso.onmicrosoft.com", DisplayName: u.name})
	}
	eventual := http.Header{"Consistencylevel": {"eventual"}}
	for _, tc := range []struct {
		name, path string
		want       []string // displayNames, in the order listed
	}{
		{"a word's beginning", `/applications?$search="displayName:quok"&$orderby=displayName&$count=true`, []string{"Quokka Web Portal", "QuokkaWebApp42"}},
		{"a word inside a name", `/applications?$search="displayName:web"&$orderby=displayName&$count=true`, []string{"Quokka Web Portal", "QuokkaWebApp42"}},
		{"digits are a word", `/applications?$search="displayName:42"`, []string{"QuokkaWebApp42"}},
		{"symbols alone are a prefix", `/applications?$search="displayName:-"`, nil},
		{"not a word's beginning", `/applications?$search="displayName:okka"`, nil},
		{"every word of the term", `/applications?$search="displayName:quokka app"`, []string{"QuokkaWebApp42"}},
		{"AND", `/applications?$search="displayName:quokka" AND "displayName:portal"`, []string{"Quokka Web Portal"}},
		{"AND between tabs", `/applications?$search="displayName:quokka"%09AND%09"displayName:portal"`, []string{"Quokka Web Portal"}},
		{"OR", `/applications?$search="displayName:payroll" OR "displayName:42"&$orderby=displayName%20desc&$count=true`, []string{"Wombat Payroll", "QuokkaWebApp42"}},
		{"AND before OR", `/applications?$search="displayName:payroll" OR "displayName:quokka" AND "displayName:portal"&$orderby=displayName&$count=true`, []string{"Quokka Web Portal", "Wombat Payroll"}},
		{"beside $filter", `/applications?$search="displayName:quokka"&$filter=startswith(displayName,'QuokkaW')`, []string{"QuokkaWebApp42"}},
		{"users by name", `/users?$search="displayName:quokka"`, []string{"Adele Quokka"}},
		{"other properties by prefix", `/users?$search="userPrincipalName:ale"`, []string{"Alex Wilber"}},
		{"prefix, not token, elsewhere", `/users?$search="userPrincipalName:contoso"`, nil},
		{"service principals", `/servicePrincipals?$search="displayName:wombat"`, []string{"Wombat Payroll"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := e.callWith(t, eventual, e.admin, "GET", strings.ReplaceAll(tc.path, " ", "%20"), "")
			if status != 200 {
				t.Fatalf("GET %s = %d %v", tc.path, status, body)
			}
			var got []string
			for _, v := range body["value"].([]any) {
				n, _ := v.(map[string]any)["displayName"].(string)
				got = append(got, n)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("GET %s: %q; want %q", tc.path, got, tc.want)
			}
		})
	}

	e.wantRefusals(t, []refusalCase{
		{"without ConsistencyLevel", `/applications?$search="displayName:quokka"`, nil, "Request_UnsupportedQuery"},
		{"unquoted", `/applications?$search=displayName:quokka`, eventual, "Request_BadRequest"},
		{"unterminated", `/applications?$search="displayName:quokka`, eventual, "Request_BadRequest"},
		{"no property", `/applications?$search="quokka"`, eventual, "Request_BadRequest"},
		{"an empty value", `/applications?$search="displayName:"`, eventual, "Request_BadRequest"},
		{"a lowercase operator", `/applications?$search="displayName:a" or "displayName:b"`, eventual, "Request_BadRequest"},
		{"a dangling operator", `/applications?$search="displayName:a" AND`, eventual, "Request_BadRequest"},
		{"an unknown property", `/applications?$search="colour:red"`, eventual, "Request_UnsupportedQuery"},
		{"not a string", `/users?$search="accountEnabled:true"`, eventual, "Request_UnsupportedQuery"},
		{"a list Graph does not search", `/oauth2PermissionGrants?$search="scope:User.Read"`, eventual, "Request_UnsupportedQuery"},
		{"sorted without $count", `/applications?$search="displayName:quokka"&$orderby=displayName`, eventual, "Request_UnsupportedQuery"},
	})
}
