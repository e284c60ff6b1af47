package consent_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// require declares what a client needs from a resource (requiredResourceAccess).
func (f *fixture) require(t *testing.T, clientAppID, resource string, scopes, roles []string) {
	t.Helper()
	if _, err := f.dir.AddRequiredResourceAccess(f.ctx, clientAppID, resource, scopes, roles); err != nil {
		t.Fatalf("AddRequiredResourceAccess(%s, %s): %v", clientAppID, resource, err)
	}
}

// counts returns how many assignments and grants the tenant holds.
func (f *fixture) counts(t *testing.T, tenantID string) (assignments, grants int) {
	t.Helper()
	as, err := f.db.ListAppRoleAssignments(f.ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	gs, err := f.db.ListPermissionGrants(f.ctx, tenantID)
	if err != nil {
		t.Fatal(err)
	}
	return len(as), len(gs)
}

// wantDecision checks a successful decision's roles and scp.
func wantDecision(t *testing.T, f *fixture, r request, roles, scp []string) {
	t.Helper()
	got, err := f.decide(t, r)
	if err != nil {
		t.Fatalf("Decide(%+v) = %v; want roles %q scp %q", r, err, roles, scp)
	}
	if !slices.Equal(got.Roles, roles) || !slices.Equal(got.Scopes, scp) {
		t.Errorf("Decide(%+v) roles %q scp %q; want roles %q scp %q", r, got.Roles, got.Scopes, roles, scp)
	}
}

// wantDenial checks that a request is refused for reason.
func wantDenial(t *testing.T, f *fixture, r request, reason consent.Reason) {
	t.Helper()
	_, err := f.decide(t, r)
	if got := denial(t, err); got != reason {
		t.Errorf("Decide(%+v) denial = %q (%v); want %q", r, got, err, reason)
	}
}

func TestGrantAdminConsent(t *testing.T) {
	f := newFixture(t)
	f.require(t, daemonAppID, "api://orders", nil, []string{"Orders.Read", "Orders.Write"})
	f.require(t, webAppID, "api://orders", []string{"access_as_user"}, nil)
	yes := true
	f.updateSP(t, contosoID, ordersAppID, tenant.ServicePrincipalUpdate{AppRoleAssignmentRequired: &yes})
	wantDenial(t, f, request{client: daemonAppID}, consent.ReasonClientNotAssigned)

	res, err := f.mgr.GrantAdminConsent(f.ctx, "Contoso.onmicrosoft.com", daemonAppID)
	if err != nil {
		t.Fatalf("GrantAdminConsent(daemon): %v", err)
	}
	daemonSP, ordersSP := f.sp(t, contosoID, daemonAppID), f.sp(t, contosoID, ordersAppID)
	if len(res.ProvisionedServicePrincipals) != 0 || len(res.PermissionGrants) != 0 || len(res.AppRoleAssignments) != 2 ||
		res.ClientServicePrincipalID != daemonSP.ID || res.TenantID != contosoID {
		t.Errorf("GrantAdminConsent(daemon) = %+v; want 2 assignments only, client SP %s", res, daemonSP.ID)
	}
	for _, a := range res.AppRoleAssignments {
		if a.PrincipalID != daemonSP.ID || a.PrincipalType != consent.PrincipalServicePrincipal || a.ResourceID != ordersSP.ID ||
			a.PrincipalDisplayName != "Daemon" || a.ResourceDisplayName != "Orders API" || !a.CreatedDateTime.Equal(epoch) {
			t.Errorf("assignment = %+v; want Daemon's SP on Orders API's SP, created %v", a, epoch)
		}
	}
	var values []string
	for _, a := range res.AppRoleAssignments {
		if a.ResourceAppID != ordersAppID || a.PrincipalAppID != daemonAppID {
			t.Errorf("assignment entry = %+v; want resource %s, principal %s", a, ordersAppID, daemonAppID)
		}
		values = append(values, a.AppRoleValue)
	}
	if want := []string{"Orders.Read", "Orders.Write"}; !slices.Equal(values, want) {
		t.Errorf("assigned roles = %q; want %q", values, want)
	}
	wantDecision(t, f, request{client: daemonAppID}, []string{"Orders.Read", "Orders.Write"}, nil)

	// Applying the same consent again changes nothing.
	beforeA, beforeG := f.counts(t, contosoID)
	again, err := f.mgr.GrantAdminConsent(f.ctx, contosoID, daemonAppID)
	if err != nil || again.Changed() {
		t.Errorf("GrantAdminConsent(daemon) again = %+v, %v; want no change", again, err)
	}
	if a, g := f.counts(t, contosoID); a != beforeA || g != beforeG {
		t.Errorf("after a repeated consent: %d assignments, %d grants; want %d, %d", a, g, beforeA, beforeG)
	}

	// Delegated: one AllPrincipals grant, extended when the client declares more.
	res, err = f.mgr.GrantAdminConsent(f.ctx, contosoID, webAppID)
	if err != nil || len(res.PermissionGrants) != 1 || len(res.AppRoleAssignments) != 0 {
		t.Fatalf("GrantAdminConsent(web) = %+v, %v; want one grant", res, err)
	}
	first := res.PermissionGrants[0]
	if first.ConsentType != consent.AllPrincipals || first.Scope != "access_as_user" || first.PrincipalID != "" ||
		first.ClientID != f.sp(t, contosoID, webAppID).ID || first.ResourceID != ordersSP.ID {
		t.Errorf("grant = %+v; want AllPrincipals access_as_user from Web to Orders API", first)
	}
	yes = false
	f.updateSP(t, contosoID, ordersAppID, tenant.ServicePrincipalUpdate{AppRoleAssignmentRequired: &yes})
	wantDecision(t, f, request{flow: consent.FlowPassword, client: webAppID, user: bob}, nil, []string{"access_as_user"})

	f.require(t, webAppID, "api://orders", []string{"Orders.ReadWrite.All"}, nil)
	res, err = f.mgr.GrantAdminConsent(f.ctx, contosoID, webAppID)
	if err != nil || len(res.PermissionGrants) != 1 {
		t.Fatalf("GrantAdminConsent(web, more scopes) = %+v, %v; want one extended grant", res, err)
	}
	if g := res.PermissionGrants[0]; g.ID != first.ID || g.Scope != "access_as_user Orders.ReadWrite.All" {
		t.Errorf("extended grant = %+v; want grant %s with scope %q", g, first.ID, "access_as_user Orders.ReadWrite.All")
	}
	if _, g := f.counts(t, contosoID); g != 1 {
		t.Errorf("grants after extension = %d; want 1", g)
	}
	wantDecision(t, f, request{flow: consent.FlowPassword, client: webAppID, user: alice}, nil, []string{"access_as_user", "Orders.ReadWrite.All"})

	// A declared role disabled since is skipped, not granted.
	f.require(t, daemonAppID, "api://orders", nil, []string{"Orders.All"})
	if _, err := f.dir.SetAppRoleEnabled(f.ctx, ordersAppID, "Orders.All", false); err != nil {
		t.Fatal(err)
	}
	res, err = f.mgr.GrantAdminConsent(f.ctx, contosoID, daemonAppID)
	if err != nil || res.Changed() || len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0], roleAll) {
		t.Errorf("GrantAdminConsent(disabled declared role) = %+v, %v; want nothing granted, %s skipped", res, err, roleAll)
	}

	// A required API removed since: its entry stays in the client's
	// manifest, as in Entra, and consent names it as skipped.
	if err := f.dir.RemoveApplication(f.ctx, ordersAppID); err != nil {
		t.Fatal(err)
	}
	res, err = f.mgr.GrantAdminConsent(f.ctx, contosoID, daemonAppID)
	if err != nil || res.Changed() || len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0], ordersAppID) {
		t.Errorf("GrantAdminConsent(removed required API) = %+v, %v; want nothing granted, %s skipped", res, err, ordersAppID)
	}
}

func TestAdminConsentMultiTenant(t *testing.T) {
	f := newFixture(t)
	f.require(t, partnerAppID, ordersAppID, nil, []string{"Orders.Read"})
	f.require(t, partnerAppID, "api://partner", []string{"partner.read"}, []string{"Partner.Read"})
	wantDenial(t, f, request{client: partnerAppID}, consent.ReasonClientNotFound)

	res, err := f.mgr.GrantAdminConsent(f.ctx, "contoso.onmicrosoft.com", partnerAppID)
	if err != nil {
		t.Fatalf("GrantAdminConsent(partner in contoso): %v", err)
	}
	var provisioned []string
	for _, sp := range res.ProvisionedServicePrincipals {
		if sp.TenantID != contosoID || sp.AppOwnerOrganizationID != fabrikamID {
			t.Errorf("provisioned %+v; want a service principal in contoso owned by fabrikam", sp)
		}
		provisioned = append(provisioned, sp.AppID)
	}
	if want := []string{partnerAppID, partnerAPIAppID}; !slices.Equal(provisioned, want) {
		t.Errorf("provisioned service principals of %q; want %q", provisioned, want)
	}
	if len(res.AppRoleAssignments) != 2 || len(res.PermissionGrants) != 1 {
		t.Errorf("GrantAdminConsent = %+v; want 2 assignments and 1 grant", res)
	}
	home, foreign := f.sp(t, fabrikamID, partnerAppID), f.sp(t, contosoID, partnerAppID)
	if home.ID == foreign.ID || res.ClientServicePrincipalID != foreign.ID {
		t.Errorf("client SP in contoso = %s (result %s), in fabrikam %s; want a distinct object in contoso", foreign.ID, res.ClientServicePrincipalID, home.ID)
	}
	wantDecision(t, f, request{client: partnerAppID}, []string{"Orders.Read"}, nil)
	wantDecision(t, f, request{client: partnerAppID, resource: "api://partner"}, []string{"Partner.Read"}, nil)
	// Consent in contoso changes nothing in fabrikam.
	wantDecision(t, f, request{tenant: fabrikamID, client: partnerAppID, resource: "api://partner"}, nil, nil)

	again, err := f.mgr.GrantAdminConsent(f.ctx, contosoID, partnerAppID)
	if err != nil || again.Changed() {
		t.Errorf("GrantAdminConsent again = %+v, %v; want no change", again, err)
	}
}

func TestAdminConsentRefused(t *testing.T) {
	tests := []struct {
		name     string
		setup    func(*testing.T, *fixture)
		client   string
		tenant   string
		want     error
		wantText string // the error names it
	}{
		{name: "single-tenant client of another tenant", client: fabLocalAppID, want: tenant.ErrNotMultiTenant, wantText: fabLocalAppID},
		{name: "requires a single-tenant resource of another tenant", setup: func(t *testing.T, f *fixture) {
			f.require(t, daemonAppID, "api://orders", nil, []string{"Orders.Read"})
			f.require(t, daemonAppID, fabLocalAppID, []string{"fab.read"}, nil)
		}, client: daemonAppID, want: tenant.ErrNotMultiTenant, wantText: fabLocalAppID},
		{name: "multi-tenant client requiring a foreign single-tenant resource", setup: func(t *testing.T, f *fixture) {
			f.require(t, partnerAppID, fabLocalAppID, []string{"fab.read"}, nil)
		}, client: partnerAppID, want: tenant.ErrNotMultiTenant, wantText: "FabLocal"},
		{name: "unknown client", client: unknownAppID, want: tenant.ErrNotFound},
		{name: "unknown tenant", client: daemonAppID, tenant: "nobody.onmicrosoft.com", want: tenant.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.setup != nil {
				tc.setup(t, f)
			}
			if tc.tenant == "" {
				tc.tenant = contosoID
			}
			_, err := f.mgr.GrantAdminConsent(f.ctx, tc.tenant, tc.client)
			if !errors.Is(err, tc.want) || !strings.Contains(fmtErr(err), tc.wantText) {
				t.Fatalf("GrantAdminConsent(%s) error = %v; want %v naming %q", tc.client, err, tc.want, tc.wantText)
			}
			// Nothing changed: no grant, no assignment, no new service principal.
			if a, g := f.counts(t, contosoID); a != 0 || g != 0 {
				t.Errorf("after a refused consent: %d assignments, %d grants; want none", a, g)
			}
			if _, err := f.db.GetServicePrincipal(f.ctx, contosoID, partnerAppID); !errors.Is(err, tenant.ErrNotFound) {
				t.Errorf("Partner's service principal in contoso: %v; want none", err)
			}
		})
	}
}

func fmtErr(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}

func TestGrantUserConsent(t *testing.T) {
	declareWeb := func(t *testing.T, f *fixture) {
		f.require(t, webAppID, "api://orders", []string{"access_as_user", "Orders.ReadWrite.All"}, []string{"Orders.Read"})
	}
	tests := []struct {
		name     string
		setup    func(*testing.T, *fixture)
		client   string
		user     string
		resource string
		scopes   []string

		want        error
		wantText    string
		wantScope   string // the user's grant afterwards
		wantSkipped int
		check       func(*testing.T, *fixture)
	}{
		{name: "User scope of a named resource", client: webAppID, user: alice, resource: "api://orders", scopes: []string{"ACCESS_AS_USER"},
			wantScope: "access_as_user", check: func(t *testing.T, f *fixture) {
				wantDecision(t, f, request{flow: consent.FlowPassword, client: webAppID, user: alice, scopes: []string{"access_as_user"}}, nil, []string{"access_as_user"})
				wantDenial(t, f, request{flow: consent.FlowPassword, client: webAppID, user: bob, scopes: []string{"access_as_user"}}, consent.ReasonConsentRequired)
			}},
		{name: "Admin scope refused", client: webAppID, user: alice, resource: "api://orders", scopes: []string{"access_as_user", "Orders.ReadWrite.All"},
			want: consent.ErrAdminConsentRequired, wantText: "Orders.ReadWrite.All"},
		{name: "declared Admin scope named without a resource is refused", setup: declareWeb, client: webAppID, user: alice,
			scopes: []string{"Orders.ReadWrite.All"}, want: consent.ErrAdminConsentRequired, wantText: "Orders.ReadWrite.All"},
		{name: "tenant disabled user consent", setup: func(t *testing.T, f *fixture) {
			if _, err := f.dir.UpdateTenant(f.ctx, contosoID, func(t *tenant.Tenant) error { t.UserConsent = tenant.UserConsentDisabled; return nil }); err != nil {
				t.Fatal(err)
			}
		}, client: webAppID, user: alice, resource: "api://orders", scopes: []string{"access_as_user"},
			want: consent.ErrUserConsentDisabled, wantText: "Contoso"},
		{name: "no scopes: the declared User scopes, Admin ones skipped", setup: declareWeb, client: webAppID, user: alice,
			wantScope: "access_as_user", wantSkipped: 1},
		{name: "no scopes, named resource: its declared User scopes", setup: declareWeb, client: webAppID, user: alice, resource: ordersAppID,
			wantScope: "access_as_user", wantSkipped: 1},
		{name: "no scopes, only Admin scopes declared", setup: func(t *testing.T, f *fixture) {
			f.require(t, webAppID, "api://orders", []string{"Orders.ReadWrite.All"}, nil)
		}, client: webAppID, user: alice, want: consent.ErrAdminConsentRequired},
		{name: "no scopes, nothing declared", client: webAppID, user: alice, want: tenant.ErrInvalid},
		{name: "undeclared scope without a resource", setup: declareWeb, client: webAppID, user: alice, scopes: []string{"partner.read"},
			want: tenant.ErrInvalid, wantText: "partner.read"},
		{name: "unknown scope of a named resource", client: webAppID, user: alice, resource: "api://orders", scopes: []string{"nope"},
			want: tenant.ErrInvalid, wantText: "nope"},
		{name: "disabled scope", client: webAppID, user: alice, resource: "api://orders", scopes: []string{"legacy"},
			want: tenant.ErrInvalid, wantText: "legacy"},
		{name: "unknown resource", client: webAppID, user: alice, resource: "api://nothing", scopes: []string{"x"}, want: tenant.ErrNotFound},
		{name: "unknown user", client: webAppID, user: "zed@contoso.onmicrosoft.com", resource: "api://orders", scopes: []string{"access_as_user"},
			want: tenant.ErrNotFound},
		{name: "single-tenant client of another tenant", client: fabLocalAppID, user: alice, resource: "api://orders", scopes: []string{"access_as_user"},
			want: tenant.ErrNotMultiTenant},
		{name: "multi-tenant client and resource provisioned by user consent", setup: func(t *testing.T, f *fixture) {
			f.require(t, partnerAppID, "api://partner", []string{"partner.read"}, nil)
		}, client: partnerAppID, user: alice, wantScope: "partner.read", check: func(t *testing.T, f *fixture) {
			f.sp(t, contosoID, partnerAppID)
			f.sp(t, contosoID, partnerAPIAppID)
			wantDecision(t, f, request{flow: consent.FlowPassword, client: partnerAppID, resource: "api://partner", user: alice}, nil, []string{"partner.read"})
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.setup != nil {
				tc.setup(t, f)
			}
			res, err := f.mgr.GrantUserConsent(f.ctx, contosoID, tc.client, tc.user, tc.resource, tc.scopes)
			if !errIs(err, tc.want) || !strings.Contains(fmtErr(err), tc.wantText) {
				t.Fatalf("GrantUserConsent(%s, %s, %q, %q) error = %v; want %v naming %q", tc.client, tc.user, tc.resource, tc.scopes, err, tc.want, tc.wantText)
			}
			if err != nil {
				if _, g := f.counts(t, contosoID); g != 0 {
					t.Errorf("after a refused user consent: %d grants; want none", g)
				}
				return
			}
			if len(res.PermissionGrants) != 1 || len(res.Skipped) != tc.wantSkipped {
				t.Fatalf("GrantUserConsent = %+v; want one grant, %d skipped", res, tc.wantSkipped)
			}
			g := res.PermissionGrants[0]
			if u := f.user(t, tc.user); g.ConsentType != consent.Principal || g.PrincipalID != u.ID || g.Scope != tc.wantScope {
				t.Errorf("grant = %+v; want Principal %s with scope %q", g, u.ID, tc.wantScope)
			}
			if tc.check != nil {
				tc.check(t, f)
			}
			again, err := f.mgr.GrantUserConsent(f.ctx, contosoID, tc.client, tc.user, tc.resource, tc.scopes)
			if err != nil || again.Changed() {
				t.Errorf("GrantUserConsent again = %+v, %v; want no change", again, err)
			}
		})
	}
}

func errIs(err, want error) bool {
	if want == nil {
		return err == nil
	}
	return errors.Is(err, want)
}

func TestAssignRole(t *testing.T) {
	f := newFixture(t)
	daemon := consent.Assignee{ClientAppID: daemonAppID}
	a, err := f.mgr.AssignRole(f.ctx, "contoso.onmicrosoft.com", "api://orders", "Orders.Read", daemon)
	if err != nil {
		t.Fatalf("AssignRole(Orders.Read, daemon): %v", err)
	}
	if a.AppRoleID != roleRead || a.PrincipalID != f.sp(t, contosoID, daemonAppID).ID || a.PrincipalType != consent.PrincipalServicePrincipal ||
		a.ResourceID != f.sp(t, contosoID, ordersAppID).ID || a.TenantID != contosoID {
		t.Errorf("AssignRole = %+v; want Orders.Read for Daemon's service principal", a)
	}
	wantDecision(t, f, request{client: daemonAppID}, []string{"Orders.Read"}, nil)

	u, err := f.mgr.AssignRole(f.ctx, contosoID, ordersAppID, "Orders.Approver", consent.Assignee{User: "ALICE@contoso.onmicrosoft.com"})
	if err != nil || u.PrincipalType != consent.PrincipalUser || u.PrincipalID != f.user(t, alice).ID || u.PrincipalDisplayName != "Alice" {
		t.Errorf("AssignRole(Orders.Approver, alice) = %+v, %v; want a user assignment", u, err)
	}
	f.grant(t, webAppID, consent.AllPrincipals, "", "access_as_user")
	wantDecision(t, f, request{flow: consent.FlowPassword, client: webAppID, user: alice}, []string{"Orders.Approver"}, []string{"access_as_user"})

	refusals := []struct {
		name     string
		resource string
		role     string
		who      consent.Assignee
		want     error
		wantText string
	}{
		{"already assigned", "api://orders", "Orders.Read", daemon, tenant.ErrExists, ""},
		{"User-only role to a client", "api://orders", "Orders.Approver", daemon, tenant.ErrInvalid, "User"},
		{"Application-only role to a user", "api://orders", "Orders.Read", consent.Assignee{User: bob}, tenant.ErrInvalid, "Application"},
		{"disabled role", "api://orders", "Orders.Admin", daemon, tenant.ErrInvalid, "disabled"},
		{"unknown role", "api://orders", "Orders.Nope", daemon, tenant.ErrNotFound, "Orders.Read"},
		{"client without a service principal", "api://orders", "Orders.Read", consent.Assignee{ClientAppID: partnerAppID}, tenant.ErrNotFound, "not provisioned"},
		{"unknown client", "api://orders", "Orders.Read", consent.Assignee{ClientAppID: unknownAppID}, tenant.ErrNotFound, ""},
		{"unknown user", "api://orders", "Orders.Approver", consent.Assignee{User: "zed@contoso.onmicrosoft.com"}, tenant.ErrNotFound, ""},
		{"resource not in the tenant", "api://partner", "Partner.Read", daemon, tenant.ErrNotFound, "api://partner"},
		{"no assignee", "api://orders", "Orders.Read", consent.Assignee{}, tenant.ErrInvalid, ""},
		{"two assignees", "api://orders", "Orders.Read", consent.Assignee{ClientAppID: daemonAppID, User: alice}, tenant.ErrInvalid, ""},
	}
	for _, tc := range refusals {
		if _, err := f.mgr.AssignRole(f.ctx, contosoID, tc.resource, tc.role, tc.who); !errors.Is(err, tc.want) || !strings.Contains(fmtErr(err), tc.wantText) {
			t.Errorf("%s: AssignRole(%s, %s, %+v) error = %v; want %v naming %q", tc.name, tc.resource, tc.role, tc.who, err, tc.want, tc.wantText)
		}
	}

	// A revoked assignment disappears from the next decision.
	yes := true
	f.updateSP(t, contosoID, ordersAppID, tenant.ServicePrincipalUpdate{AppRoleAssignmentRequired: &yes})
	wantDecision(t, f, request{client: daemonAppID}, []string{"Orders.Read"}, nil)
	gone, err := f.mgr.UnassignRole(f.ctx, contosoID, "api://orders", "Orders.Read", daemon)
	if err != nil || gone.ID != a.ID {
		t.Errorf("UnassignRole = %+v, %v; want assignment %s", gone, err, a.ID)
	}
	wantDenial(t, f, request{client: daemonAppID}, consent.ReasonClientNotAssigned)
	if _, err := f.mgr.UnassignRole(f.ctx, contosoID, "api://orders", "Orders.Read", daemon); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("UnassignRole again error = %v; want ErrNotFound", err)
	}
	if _, err := f.mgr.UnassignRole(f.ctx, contosoID, "api://orders", "Orders.Approver", consent.Assignee{User: alice}); err != nil {
		t.Errorf("UnassignRole(alice) error = %v", err)
	}
	wantDenial(t, f, request{flow: consent.FlowPassword, client: webAppID, user: alice}, consent.ReasonUserNotAssigned)
}

func TestRevoke(t *testing.T) {
	f := newFixture(t)
	f.require(t, daemonAppID, "api://orders", nil, []string{"Orders.Read"})
	f.require(t, webAppID, "api://orders", []string{"access_as_user", "Orders.ReadWrite.All"}, nil)
	for _, client := range []string{daemonAppID, webAppID} {
		if _, err := f.mgr.GrantAdminConsent(f.ctx, contosoID, client); err != nil {
			t.Fatalf("GrantAdminConsent(%s): %v", client, err)
		}
	}
	for _, u := range []string{alice, bob} {
		if _, err := f.mgr.GrantUserConsent(f.ctx, contosoID, webAppID, u, "", nil); err != nil {
			t.Fatalf("GrantUserConsent(%s): %v", u, err)
		}
	}
	dotDefault := func(upn string) request { return request{flow: consent.FlowPassword, client: webAppID, user: upn} }
	wantDecision(t, f, request{client: daemonAppID}, []string{"Orders.Read"}, nil)
	wantDecision(t, f, dotDefault(alice), nil, []string{"access_as_user", "Orders.ReadWrite.All"})

	// Revoking the admin consent of Web leaves the users' own grants.
	res, err := f.mgr.Revoke(f.ctx, contosoID, webAppID, "")
	if err != nil || len(res.PermissionGrants) != 1 || res.PermissionGrants[0].ConsentType != consent.AllPrincipals ||
		res.PermissionGrants[0].ResourceDisplayName != "Orders API" || len(res.AppRoleAssignments) != 0 {
		t.Fatalf("Revoke(web) = %+v, %v; want the AllPrincipals grant deleted", res, err)
	}
	wantDecision(t, f, dotDefault(alice), nil, []string{"access_as_user"})

	// Revoking alice's consent leaves bob's.
	res, err = f.mgr.Revoke(f.ctx, contosoID, webAppID, "Alice@contoso.onmicrosoft.com")
	if err != nil || len(res.PermissionGrants) != 1 || res.PermissionGrants[0].PrincipalID != f.user(t, alice).ID || res.UserPrincipalName != alice {
		t.Fatalf("Revoke(web, alice) = %+v, %v; want alice's grant deleted", res, err)
	}
	wantDenial(t, f, dotDefault(alice), consent.ReasonConsentRequired)
	wantDecision(t, f, dotDefault(bob), nil, []string{"access_as_user"})

	// Consent given again after a revoke counts again.
	res2, err := f.mgr.GrantAdminConsent(f.ctx, contosoID, webAppID)
	if err != nil || len(res2.PermissionGrants) != 1 {
		t.Fatalf("GrantAdminConsent(web) after revoke = %+v, %v; want a new grant", res2, err)
	}
	wantDecision(t, f, dotDefault(alice), nil, []string{"access_as_user", "Orders.ReadWrite.All"})
	if res2, err := f.mgr.GrantUserConsent(f.ctx, contosoID, webAppID, alice, "", nil); err != nil || len(res2.PermissionGrants) != 1 {
		t.Errorf("GrantUserConsent(alice) after revoke = %+v, %v; want a new grant", res2, err)
	}

	// Revoking the daemon's consent removes its roles from the next decision.
	res, err = f.mgr.Revoke(f.ctx, contosoID, daemonAppID, "")
	if err != nil || len(res.AppRoleAssignments) != 1 || len(res.PermissionGrants) != 0 || res.AppRoleAssignments[0].AppRoleValue != "Orders.Read" {
		t.Fatalf("Revoke(daemon) = %+v, %v; want Orders.Read deleted", res, err)
	}
	wantDecision(t, f, request{client: daemonAppID}, nil, nil)
	yes := true
	f.updateSP(t, contosoID, ordersAppID, tenant.ServicePrincipalUpdate{AppRoleAssignmentRequired: &yes})
	wantDenial(t, f, request{client: daemonAppID}, consent.ReasonClientNotAssigned)

	// Nothing left to revoke is not an error; an unprovisioned client is.
	if res, err := f.mgr.Revoke(f.ctx, contosoID, daemonAppID, ""); err != nil || len(res.AppRoleAssignments)+len(res.PermissionGrants) != 0 {
		t.Errorf("Revoke(daemon) again = %+v, %v; want nothing deleted", res, err)
	}
	if _, err := f.mgr.Revoke(f.ctx, contosoID, partnerAppID, ""); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("Revoke(unprovisioned client) error = %v; want ErrNotFound", err)
	}
	if _, err := f.mgr.Revoke(f.ctx, contosoID, webAppID, "zed@contoso.onmicrosoft.com"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("Revoke(unknown user) error = %v; want ErrNotFound", err)
	}
}

func TestList(t *testing.T) {
	f := newFixture(t)
	f.require(t, daemonAppID, "api://orders", nil, []string{"Orders.Read"})
	f.require(t, webAppID, "api://orders", []string{"access_as_user"}, nil)
	for _, client := range []string{daemonAppID, webAppID} {
		if _, err := f.mgr.GrantAdminConsent(f.ctx, contosoID, client); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.mgr.GrantUserConsent(f.ctx, contosoID, webAppID, alice, "", nil); err != nil {
		t.Fatal(err)
	}
	if _, err := f.mgr.AssignRole(f.ctx, contosoID, webAppID, "Web.User", consent.Assignee{User: bob}); err != nil {
		t.Fatal(err)
	}

	all, err := f.mgr.List(f.ctx, "contoso.onmicrosoft.com", "")
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	if all.TenantID != contosoID || len(all.AppRoleAssignments) != 2 || len(all.PermissionGrants) != 2 {
		t.Fatalf("List = %+v; want 2 assignments and 2 grants", all)
	}
	// Sorted by resource, then principal: Orders API before Web.
	a := all.AppRoleAssignments[0]
	if a.AppRoleValue != "Orders.Read" || a.ResourceAppID != ordersAppID || a.PrincipalAppID != daemonAppID ||
		a.PrincipalDisplayName != "Daemon" || a.ResourceDisplayName != "Orders API" {
		t.Errorf("first assignment = %+v; want Daemon's Orders.Read with names", a)
	}
	if b := all.AppRoleAssignments[1]; b.AppRoleValue != "Web.User" || b.PrincipalAppID != "" || b.PrincipalType != consent.PrincipalUser {
		t.Errorf("second assignment = %+v; want bob's Web.User", b)
	}
	g := all.PermissionGrants
	if g[0].ConsentType != consent.AllPrincipals || g[1].ConsentType != consent.Principal || g[1].PrincipalName != alice ||
		g[0].ClientAppID != webAppID || g[0].ClientDisplayName != "Web" || g[0].ResourceAppID != ordersAppID || g[0].ResourceDisplayName != "Orders API" {
		t.Errorf("grants = %+v; want Web's AllPrincipals then alice's Principal grant, with names", g)
	}

	daemonOnly, err := f.mgr.List(f.ctx, contosoID, daemonAppID)
	if err != nil || len(daemonOnly.AppRoleAssignments) != 1 || len(daemonOnly.PermissionGrants) != 0 {
		t.Errorf("List(daemon) = %+v, %v; want its one assignment", daemonOnly, err)
	}
	// A client's listing includes assignments of its own roles.
	webOnly, err := f.mgr.List(f.ctx, contosoID, webAppID)
	if err != nil || len(webOnly.AppRoleAssignments) != 1 || webOnly.AppRoleAssignments[0].AppRoleValue != "Web.User" || len(webOnly.PermissionGrants) != 2 {
		t.Errorf("List(web) = %+v, %v; want bob's Web.User and 2 grants", webOnly, err)
	}
	if _, err := f.mgr.List(f.ctx, contosoID, partnerAppID); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("List(unprovisioned client) error = %v; want ErrNotFound", err)
	}
	empty, err := f.mgr.List(f.ctx, fabrikamID, "")
	if err != nil || empty.AppRoleAssignments == nil || empty.PermissionGrants == nil || len(empty.AppRoleAssignments)+len(empty.PermissionGrants) != 0 {
		t.Errorf("List(fabrikam) = %+v, %v; want empty, non-nil lists", empty, err)
	}
}
