package consent_test

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

func TestExplainAppOnly(t *testing.T) {
	f := newFixture(t)
	daemonSP := f.sp(t, contosoID, daemonAppID)
	f.assign(t, ordersAppID, roleRead, daemonSP.ID)
	f.assign(t, ordersAppID, roleAdmin, daemonSP.ID)    // disabled
	f.assign(t, ordersAppID, roleApprover, daemonSP.ID) // User only

	ex := f.explain(t, request{client: daemonAppID, resource: "API://orders"})
	if ex.Flow != consent.FlowClientCredentials || !ex.DefaultScope || ex.Denial != nil || ex.Decision == nil {
		t.Fatalf("Explain = %+v; want a client credentials decision for /.default", ex)
	}
	if !slices.Equal(ex.Decision.Roles, []string{"Orders.Read"}) || ex.Decision.TokenVersion != 1 {
		t.Errorf("decision = %+v; want roles [Orders.Read], v1", *ex.Decision)
	}
	if ex.Tenant.ID != contosoID || ex.Tenant.DisplayName != "Contoso" || ex.Tenant.UserConsent != tenant.UserConsentAllowed {
		t.Errorf("tenant facts = %+v; want Contoso, user consent allowed", ex.Tenant)
	}
	if ex.Client.AppID != daemonAppID || ex.Client.ServicePrincipal == nil || ex.Client.ServicePrincipal.ID != daemonSP.ID {
		t.Errorf("client facts = %+v; want Daemon with its service principal", ex.Client)
	}
	if ex.Resource == nil || ex.Resource.Requested != "API://orders" || ex.Resource.AppID != ordersAppID || ex.Resource.TokenVersion != 1 {
		t.Errorf("resource facts = %+v; want Orders API as requested", ex.Resource)
	}
	notes := map[string]string{}
	for _, a := range ex.AppRoleAssignments {
		if a.Issued != (a.AppRoleValue == "Orders.Read") {
			t.Errorf("assignment %s issued = %v; want only Orders.Read issued", a.AppRoleValue, a.Issued)
		}
		notes[a.AppRoleValue] = a.Note
	}
	if len(notes) != 3 || !strings.Contains(notes["Orders.Admin"], "disabled") || !strings.Contains(notes["Orders.Approver"], "User") {
		t.Errorf("assignment notes = %q; want why Orders.Admin and Orders.Approver are not issued", notes)
	}
	if ex.User != nil || ex.PermissionGrants != nil || ex.Scopes != nil {
		t.Errorf("app-only explanation has delegated facts: %+v", ex)
	}
}

func TestExplainDenials(t *testing.T) {
	f := newFixture(t)
	yes := true
	f.updateSP(t, contosoID, ordersAppID, tenant.ServicePrincipalUpdate{AppRoleAssignmentRequired: &yes})

	// The flag behind AADSTS501051 is visible.
	ex := f.explain(t, request{client: daemonAppID})
	if ex.Denial == nil || ex.Denial.Reason != consent.ReasonClientNotAssigned || ex.Decision != nil {
		t.Fatalf("Explain = %+v; want client_not_assigned", ex)
	}
	if sp := ex.Resource.ServicePrincipal; sp == nil || !sp.AppRoleAssignmentRequired || len(ex.AppRoleAssignments) != 0 {
		t.Errorf("facts = resource SP %+v, assignments %+v; want appRoleAssignmentRequired and none", sp, ex.AppRoleAssignments)
	}

	// The client check stops before the resource.
	ex = f.explain(t, request{client: partnerAppID})
	if ex.Denial == nil || ex.Denial.Reason != consent.ReasonClientNotFound || ex.Resource != nil ||
		ex.Client.AppID != partnerAppID || ex.Client.HomeTenantID != fabrikamID || ex.Client.ServicePrincipal != nil {
		t.Errorf("Explain(partner) = %+v; want client_not_found with the client's facts and no service principal", ex)
	}

	ex = f.explain(t, request{client: daemonAppID, resource: "api://nothing"})
	if ex.Denial == nil || ex.Denial.Reason != consent.ReasonResourceNotFound || ex.Resource == nil || ex.Resource.AppID != "" || ex.Resource.ServicePrincipal != nil {
		t.Errorf("Explain(unknown resource) = %+v; want resource_not_found", ex)
	}
}

func TestExplainDelegated(t *testing.T) {
	f := newFixture(t)
	f.grant(t, webAppID, consent.AllPrincipals, "", "access_as_user")
	f.grant(t, webAppID, consent.Principal, f.user(t, alice).ID, "Orders.ReadWrite.All")
	f.grant(t, webAppID, consent.Principal, f.user(t, bob).ID, "access_as_user")
	yes := true
	f.updateSP(t, contosoID, webAppID, tenant.ServicePrincipalUpdate{AppRoleAssignmentRequired: &yes})
	f.assignUser(t, webAppID, roleWebUser, alice)
	f.assignUser(t, ordersAppID, roleApprover, alice)

	ex := f.explain(t, request{client: webAppID, user: "ALICE@contoso.onmicrosoft.com", scopes: []string{"access_as_user", "Orders.ReadWrite.All", "legacy"}})
	if ex.Flow != consent.FlowInteractive {
		t.Errorf("flow = %s; want interactive when a user is named", ex.Flow)
	}
	if ex.Denial == nil || ex.Denial.Reason != consent.ReasonScopeNotFound || !slices.Equal(ex.Denial.Scopes, []string{"legacy"}) {
		t.Fatalf("denial = %+v; want scope_not_found [legacy]", ex.Denial)
	}
	if ex.User == nil || ex.User.UserPrincipalName != alice || !ex.User.AccountEnabled {
		t.Errorf("user facts = %+v; want alice, enabled", ex.User)
	}
	want := []consent.ScopeFact{
		{Value: "access_as_user", Exposed: true, Type: "User", IsEnabled: true, GrantedBy: consent.AllPrincipals},
		{Value: "Orders.ReadWrite.All", Exposed: true, Type: "Admin", IsEnabled: true},
		{Value: "legacy", Exposed: true, Type: "User"},
	}
	if !slices.Equal(ex.Scopes, want) {
		t.Errorf("scope facts = %+v; want %+v", ex.Scopes, want)
	}
	if len(ex.PermissionGrants) != 3 {
		t.Fatalf("grant facts = %+v; want the 3 grants of Web on Orders API", ex.PermissionGrants)
	}
	for _, g := range ex.PermissionGrants {
		switch {
		case g.ConsentType == consent.AllPrincipals:
			if !g.AppliesToUser || g.Note != "" {
				t.Errorf("AllPrincipals grant fact = %+v; want it to apply", g)
			}
		case g.PrincipalID == f.user(t, alice).ID:
			if !g.AppliesToUser || !strings.Contains(g.Note, "Orders.ReadWrite.All") {
				t.Errorf("alice's grant fact = %+v; want it to apply with a note on the ignored Admin scope", g)
			}
		default:
			if g.AppliesToUser || !strings.Contains(g.Note, "another user") {
				t.Errorf("bob's grant fact = %+v; want it not to apply", g)
			}
		}
	}
	var onClient, onResource int
	for _, a := range ex.AppRoleAssignments {
		switch a.AppRoleValue {
		case "Web.User":
			onClient++
		case "Orders.Approver":
			onResource++
			if !a.Issued {
				t.Errorf("Orders.Approver fact = %+v; want issued", a)
			}
		}
	}
	if onClient != 1 || onResource != 1 {
		t.Errorf("assignment facts = %+v; want alice's on the client and on the resource", ex.AppRoleAssignments)
	}

	// Partial consent names the missing scope; /.default gives the union.
	ex = f.explain(t, request{flow: consent.FlowOnBehalfOf, client: webAppID, user: alice, scopes: []string{"access_as_user", "Orders.ReadWrite.All"}})
	if ex.Denial == nil || ex.Denial.Reason != consent.ReasonConsentRequired || !slices.Equal(ex.Denial.Scopes, []string{"Orders.ReadWrite.All"}) {
		t.Errorf("denial = %+v; want consent_required [Orders.ReadWrite.All]", ex.Denial)
	}
	ex = f.explain(t, request{flow: consent.FlowPassword, client: webAppID, user: bob})
	if ex.Denial == nil || ex.Denial.Reason != consent.ReasonUserNotAssigned {
		t.Errorf("Explain(bob, client requires assignment) denial = %+v; want user_not_assigned", ex.Denial)
	}
	ex = f.explain(t, request{flow: consent.FlowOnBehalfOf, client: webAppID, user: bob})
	if ex.Decision == nil || !slices.Equal(ex.Decision.Scopes, []string{"access_as_user"}) || len(ex.Scopes) != 3 {
		t.Errorf("Explain(bob, /.default) = %+v; want scp [access_as_user] and a fact per exposed scope", ex)
	}
}

func TestExplainJSON(t *testing.T) {
	f := newFixture(t)
	f.assign(t, ordersAppID, roleRead, f.sp(t, contosoID, daemonAppID).ID)
	ex := f.explain(t, request{client: daemonAppID})
	b, err := json.Marshal(ex)
	if err != nil {
		t.Fatalf("json.Marshal: %v", err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	for _, path := range [][]string{
		{"flow"}, {"defaultScope"}, {"tenant", "displayName"}, {"client", "appId"},
		{"client", "servicePrincipal", "accountEnabled"}, {"resource", "servicePrincipal", "appRoleAssignmentRequired"},
		{"resource", "tokenVersion"}, {"decision", "roles"}, {"decision", "tokenVersion"},
	} {
		var v any = m
		for _, k := range path {
			obj, ok := v.(map[string]any)
			if !ok {
				v = nil
				break
			}
			v = obj[k]
		}
		if v == nil {
			t.Errorf("explanation JSON lacks %s: %s", strings.Join(path, "."), b)
		}
	}
	if as := m["appRoleAssignments"].([]any); len(as) != 1 || as[0].(map[string]any)["appRoleValue"] != "Orders.Read" || as[0].(map[string]any)["principalId"] == nil {
		t.Errorf("appRoleAssignments JSON = %v; want one Graph-shaped assignment with appRoleValue", as)
	}
	if _, ok := m["denial"]; ok {
		t.Errorf("explanation JSON of a success has a denial: %s", b)
	}
}

func TestExplainErrors(t *testing.T) {
	f := newFixture(t)
	tests := []struct {
		name string
		q    consent.Query
		want error
	}{
		{"unknown tenant", consent.Query{TenantRef: "nobody.onmicrosoft.com", ClientAppID: daemonAppID, ResourceName: "api://orders"}, tenant.ErrNotFound},
		{"malformed tenant", consent.Query{TenantRef: "not a tenant", ClientAppID: daemonAppID, ResourceName: "api://orders"}, tenant.ErrInvalid},
		{"unknown user", consent.Query{TenantRef: contosoID, ClientAppID: webAppID, ResourceName: "api://orders", UserRef: "zed@contoso.onmicrosoft.com"}, tenant.ErrNotFound},
		{"user in client credentials", consent.Query{Flow: consent.FlowClientCredentials, TenantRef: contosoID, ClientAppID: daemonAppID, ResourceName: "api://orders", UserRef: alice}, tenant.ErrInvalid},
		{"scopes in client credentials", consent.Query{TenantRef: contosoID, ClientAppID: daemonAppID, ResourceName: "api://orders", Scopes: []string{"access_as_user"}}, tenant.ErrInvalid},
		{"delegated flow without a user", consent.Query{Flow: consent.FlowPassword, TenantRef: contosoID, ClientAppID: webAppID, ResourceName: "api://orders"}, tenant.ErrInvalid},
		{"unknown flow", consent.Query{Flow: "device_code", TenantRef: contosoID, ClientAppID: webAppID, ResourceName: "api://orders", UserRef: alice}, tenant.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ex, err := consent.Explain(f.ctx, f.db, tc.q)
			var d *consent.Denial
			if !errors.Is(err, tc.want) || errors.As(err, &d) {
				t.Errorf("Explain(%+v) = %+v, %v; want error %v", tc.q, ex, err, tc.want)
			}
		})
	}
}
