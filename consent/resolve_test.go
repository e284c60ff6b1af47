package consent_test

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// TestResolveAndDecide runs every rule of Decide and CheckClient end to end
// over a real store: each case arranges directory state, resolves a request
// as the token endpoint does (consent.Resolve), judges it (consent.Decide),
// and checks the roles/scp issued or the denial's reason, and that Explain
// gives the same answer. TestDecide holds the same rules over literal facts.
func TestResolveAndDecide(t *testing.T) {
	// Shorthands for arranging state.
	daemonSP := func(t *testing.T, f *fixture) string { return f.sp(t, contosoID, daemonAppID).ID }
	userID := func(t *testing.T, f *fixture, upn string) string { return f.user(t, upn).ID }
	requireAssignment := func(appID string) func(*testing.T, *fixture) {
		return func(t *testing.T, f *fixture) {
			yes := true
			f.updateSP(t, contosoID, appID, tenant.ServicePrincipalUpdate{AppRoleAssignmentRequired: &yes})
		}
	}
	disable := func(tenantID, appID string) func(*testing.T, *fixture) {
		return func(t *testing.T, f *fixture) {
			no := false
			f.updateSP(t, tenantID, appID, tenant.ServicePrincipalUpdate{AccountEnabled: &no})
		}
	}
	assignDaemon := func(roles ...string) func(*testing.T, *fixture) {
		return func(t *testing.T, f *fixture) {
			for _, r := range roles {
				f.assign(t, ordersAppID, r, daemonSP(t, f))
			}
		}
	}
	grantAll := func(scope string) func(*testing.T, *fixture) {
		return func(t *testing.T, f *fixture) { f.grant(t, webAppID, consent.AllPrincipals, "", scope) }
	}
	grantUser := func(upn, scope string) func(*testing.T, *fixture) {
		return func(t *testing.T, f *fixture) { f.grant(t, webAppID, consent.Principal, userID(t, f, upn), scope) }
	}
	steps := func(fs ...func(*testing.T, *fixture)) func(*testing.T, *fixture) {
		return func(t *testing.T, f *fixture) {
			for _, fn := range fs {
				fn(t, f)
			}
		}
	}
	v2 := func(t *testing.T, f *fixture) {
		two := 2
		if _, err := f.dir.UpdateApplication(f.ctx, ordersAppID, tenant.ApplicationUpdate{TokenVersion: &two}); err != nil {
			t.Fatalf("UpdateApplication: %v", err)
		}
	}
	provisionPartner := func(t *testing.T, f *fixture) {
		if _, err := f.dir.AddServicePrincipal(f.ctx, contosoID, partnerAppID); err != nil {
			t.Fatalf("AddServicePrincipal: %v", err)
		}
	}
	removeDaemonSP := func(t *testing.T, f *fixture) {
		if err := f.dir.RemoveServicePrincipal(f.ctx, contosoID, daemonAppID); err != nil {
			t.Fatalf("RemoveServicePrincipal: %v", err)
		}
	}
	assignUser := func(upn, resourceAppID, roleID string) func(*testing.T, *fixture) {
		return func(t *testing.T, f *fixture) { f.assignUser(t, resourceAppID, roleID, upn) }
	}

	delegated := func(flow consent.Flow, upn string, scopes ...string) request {
		return request{flow: flow, client: webAppID, user: upn, scopes: scopes}
	}
	pw := consent.FlowPassword

	tests := []struct {
		name  string
		setup func(*testing.T, *fixture)
		req   request

		wantReason  consent.Reason
		wantRoles   []string
		wantScp     []string
		wantVersion int      // default 1
		wantScopes  []string // Denial.Scopes
	}{
		// The client (CheckClient).
		{name: "client not found", req: request{client: unknownAppID}, wantReason: consent.ReasonClientNotFound},
		{name: "client id not a GUID", req: request{client: "daemon"}, wantReason: consent.ReasonClientNotFound},
		{name: "single-tenant client of another tenant", req: request{client: fabLocalAppID}, wantReason: consent.ReasonClientNotFound},
		{name: "multi-tenant client without service principal", req: request{client: partnerAppID}, wantReason: consent.ReasonClientNotFound},
		{name: "home client whose service principal was removed", setup: removeDaemonSP,
			req: request{client: daemonAppID}, wantReason: consent.ReasonClientNoServicePrincipal},
		{name: "client disabled", setup: disable(contosoID, daemonAppID),
			req: request{client: daemonAppID}, wantReason: consent.ReasonClientDisabled},
		{name: "client disabled, delegated flow", setup: steps(disable(contosoID, webAppID), grantAll("access_as_user")),
			req: delegated(pw, alice, "access_as_user"), wantReason: consent.ReasonClientDisabled},
		{name: "multi-tenant client provisioned in the tenant", setup: steps(provisionPartner, func(t *testing.T, f *fixture) {
			f.assign(t, ordersAppID, roleRead, f.sp(t, contosoID, partnerAppID).ID)
		}), req: request{client: partnerAppID}, wantRoles: []string{"Orders.Read"}},

		// The resource.
		{name: "resource not found", req: request{client: daemonAppID, resource: "api://nothing"}, wantReason: consent.ReasonResourceNotFound},
		{name: "resource of another tenant, not provisioned here", req: request{client: daemonAppID, resource: "api://partner"},
			wantReason: consent.ReasonResourceNotFound},
		{name: "resource named by appId", req: request{client: daemonAppID, resource: ordersAppID}},
		{name: "resource named by identifier URI in another case", req: request{client: daemonAppID, resource: "API://Orders"}},
		{name: "resource disabled", setup: disable(contosoID, ordersAppID),
			req: request{client: daemonAppID}, wantReason: consent.ReasonResourceDisabled},
		{name: "token version from the resource", setup: v2, req: request{client: daemonAppID}, wantVersion: 2},

		// App-only roles.
		{name: "no assignment: token without roles", req: request{client: daemonAppID}},
		{name: "assigned Application roles, in the resource's order", setup: assignDaemon(roleWrite, roleRead),
			req: request{client: daemonAppID}, wantRoles: []string{"Orders.Read", "Orders.Write"}},
		{name: "disabled role dropped", setup: assignDaemon(roleRead, roleAdmin),
			req: request{client: daemonAppID}, wantRoles: []string{"Orders.Read"}},
		{name: "User-only role dropped for an application", setup: assignDaemon(roleApprover),
			req: request{client: daemonAppID}},
		{name: "role for both member types kept", setup: assignDaemon(roleAll),
			req: request{client: daemonAppID}, wantRoles: []string{"Orders.All"}},
		{name: "assignment required, none held", setup: requireAssignment(ordersAppID),
			req: request{client: daemonAppID}, wantReason: consent.ReasonClientNotAssigned},
		{name: "assignment required, one held", setup: steps(requireAssignment(ordersAppID), assignDaemon(roleRead)),
			req: request{client: daemonAppID}, wantRoles: []string{"Orders.Read"}},
		{name: "assignment of another client does not count", setup: steps(requireAssignment(ordersAppID), func(t *testing.T, f *fixture) {
			f.assign(t, ordersAppID, roleRead, f.sp(t, contosoID, webAppID).ID)
		}), req: request{client: daemonAppID}, wantReason: consent.ReasonClientNotAssigned},
		{name: "delegated grants ignored by client credentials", setup: func(t *testing.T, f *fixture) {
			f.grant(t, daemonAppID, consent.AllPrincipals, "", "access_as_user")
		}, req: request{client: daemonAppID}},

		// Delegated flows: the user and the scopes.
		{name: "user disabled", setup: grantAll("access_as_user"),
			req: delegated(pw, carol, "access_as_user"), wantReason: consent.ReasonUserDisabled},
		{name: "unknown scope", setup: grantAll("access_as_user"),
			req: delegated(pw, alice, "access_as_user", "nope", "nada"), wantReason: consent.ReasonScopeNotFound, wantScopes: []string{"nope", "nada"}},
		{name: "disabled scope", setup: grantAll("access_as_user legacy"),
			req: delegated(pw, alice, "legacy"), wantReason: consent.ReasonScopeNotFound, wantScopes: []string{"legacy"}},
		{name: "AllPrincipals grant", setup: grantAll("access_as_user"),
			req: delegated(pw, alice, "access_as_user"), wantScp: []string{"access_as_user"}},
		{name: "scope values compare case-insensitively", setup: grantAll("ACCESS_AS_USER"),
			req: delegated(pw, alice, "Access_As_User"), wantScp: []string{"access_as_user"}},
		{name: "Principal grant for this user", setup: grantUser(alice, "access_as_user"),
			req: delegated(pw, alice, "access_as_user"), wantScp: []string{"access_as_user"}},
		{name: "Principal grant of another user ignored", setup: grantUser(bob, "access_as_user"),
			req: delegated(pw, alice, "access_as_user"), wantReason: consent.ReasonConsentRequired, wantScopes: []string{"access_as_user"}},
		{name: "Admin scope through a Principal grant ignored", setup: grantUser(alice, "Orders.ReadWrite.All"),
			req: delegated(pw, alice, "Orders.ReadWrite.All"), wantReason: consent.ReasonConsentRequired, wantScopes: []string{"Orders.ReadWrite.All"}},
		{name: "Admin scope through an AllPrincipals grant", setup: grantAll("Orders.ReadWrite.All"),
			req: delegated(pw, alice, "Orders.ReadWrite.All"), wantScp: []string{"Orders.ReadWrite.All"}},
		{name: "/.default is the union of AllPrincipals and the user's grants",
			setup: steps(grantAll("Orders.ReadWrite.All"), grantUser(alice, "access_as_user"), grantUser(bob, "other")),
			req:   delegated(pw, alice), wantScp: []string{"access_as_user", "Orders.ReadWrite.All"}},
		{name: "/.default drops disabled scopes", setup: grantAll("legacy access_as_user"),
			req: delegated(pw, alice), wantScp: []string{"access_as_user"}},
		{name: "/.default with nothing granted", req: delegated(pw, alice), wantReason: consent.ReasonConsentRequired},
		{name: "/.default with only another user's grant", setup: grantUser(bob, "access_as_user"),
			req: delegated(pw, alice), wantReason: consent.ReasonConsentRequired},
		{name: "partial consent lists the missing scopes", setup: grantAll("access_as_user"),
			req:        delegated(pw, alice, "access_as_user", "Orders.ReadWrite.All"),
			wantReason: consent.ReasonConsentRequired, wantScopes: []string{"Orders.ReadWrite.All"}},
		{name: "OBO uses the same consent rules", setup: grantAll("access_as_user"),
			req: delegated(consent.FlowOnBehalfOf, alice, "access_as_user"), wantScp: []string{"access_as_user"}},

		// Delegated flows: the user's roles and assignment.
		{name: "user roles of member type User only",
			setup: steps(grantAll("access_as_user"), assignUser(alice, ordersAppID, roleRead), assignUser(alice, ordersAppID, roleAll),
				assignUser(alice, ordersAppID, roleApprover)),
			req: delegated(pw, alice, "access_as_user"), wantRoles: []string{"Orders.Approver", "Orders.All"}, wantScp: []string{"access_as_user"}},
		{name: "resource requires assignment, user unassigned", setup: steps(grantAll("access_as_user"), requireAssignment(ordersAppID)),
			req: delegated(consent.FlowOnBehalfOf, alice, "access_as_user"), wantReason: consent.ReasonUserNotAssigned},
		{name: "resource requires assignment, user assigned",
			setup: steps(grantAll("access_as_user"), requireAssignment(ordersAppID), assignUser(alice, ordersAppID, roleApprover)),
			req:   delegated(consent.FlowOnBehalfOf, alice, "access_as_user"), wantRoles: []string{"Orders.Approver"}, wantScp: []string{"access_as_user"}},
		{name: "client requires assignment, password flow, user unassigned", setup: steps(grantAll("access_as_user"), requireAssignment(webAppID)),
			req: delegated(pw, alice, "access_as_user"), wantReason: consent.ReasonUserNotAssigned},
		{name: "client requires assignment, interactive flow, user unassigned", setup: steps(grantAll("access_as_user"), requireAssignment(webAppID)),
			req: delegated(consent.FlowInteractive, alice, "access_as_user"), wantReason: consent.ReasonUserNotAssigned},
		{name: "client requires assignment, interactive flow, user assigned",
			setup: steps(grantAll("access_as_user"), requireAssignment(webAppID), assignUser(alice, webAppID, roleWebUser)),
			req:   delegated(consent.FlowInteractive, alice, "access_as_user"), wantScp: []string{"access_as_user"}},
		{name: "client requires assignment, not enforced for OBO", setup: steps(grantAll("access_as_user"), requireAssignment(webAppID)),
			req: delegated(consent.FlowOnBehalfOf, alice, "access_as_user"), wantScp: []string{"access_as_user"}},
		{name: "client requires assignment, not enforced for refresh", setup: steps(grantAll("access_as_user"), requireAssignment(webAppID)),
			req: delegated(consent.FlowRefreshToken, alice, "access_as_user"), wantScp: []string{"access_as_user"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			if tc.setup != nil {
				tc.setup(t, f)
			}
			got, err := f.decide(t, tc.req)
			if reason := denial(t, err); reason != tc.wantReason {
				t.Fatalf("Decide(%+v) denial = %q (%v); want %q", tc.req, reason, err, tc.wantReason)
			}
			// `issuer explain` must give the token endpoint's answer.
			ex := f.explain(t, tc.req)
			if tc.wantReason != "" && (ex.Denial == nil || ex.Denial.Reason != tc.wantReason || ex.Decision != nil) {
				t.Errorf("Explain denial = %+v, decision %+v; want reason %q", ex.Denial, ex.Decision, tc.wantReason)
			}
			if tc.wantReason == "" && (ex.Denial != nil || ex.Decision == nil || !reflect.DeepEqual(*ex.Decision, got)) {
				t.Errorf("Explain decision = %+v, denial %+v; want %+v", ex.Decision, ex.Denial, got)
			}
			if tc.wantReason != "" {
				var d *consent.Denial
				errors.As(err, &d)
				if !slices.Equal(d.Scopes, tc.wantScopes) {
					t.Errorf("Denial.Scopes = %q; want %q", d.Scopes, tc.wantScopes)
				}
				if d.TenantID != contosoID || d.ClientAppID != tc.req.client || d.Detail == "" {
					t.Errorf("Denial = %+v; want tenant %s, client %s and a detail", d, contosoID, tc.req.client)
				}
				return
			}
			if !slices.Equal(got.Roles, tc.wantRoles) {
				t.Errorf("Decide roles = %q; want %q", got.Roles, tc.wantRoles)
			}
			if !slices.Equal(got.Scopes, tc.wantScp) {
				t.Errorf("Decide scp = %q; want %q", got.Scopes, tc.wantScp)
			}
			wantVersion := tc.wantVersion
			if wantVersion == 0 {
				wantVersion = 1
			}
			if got.TokenVersion != wantVersion {
				t.Errorf("Decide token version = %d; want %d", got.TokenVersion, wantVersion)
			}
			if !tc.req.flow.Delegated() && got.Scopes != nil {
				t.Errorf("app-only Decide scp = %q; want none", got.Scopes)
			}
		})
	}
}

// TestResolve: what Resolve reads for each kind of request, in one view.
func TestResolve(t *testing.T) {
	f := newFixture(t)
	daemonSP := f.sp(t, contosoID, daemonAppID)
	f.assign(t, ordersAppID, roleRead, daemonSP.ID)
	f.grant(t, webAppID, consent.AllPrincipals, "", "access_as_user")
	f.assignUser(t, ordersAppID, roleApprover, alice)
	f.assignUser(t, webAppID, roleWebUser, alice)
	yes := true
	f.updateSP(t, contosoID, webAppID, tenant.ServicePrincipalUpdate{AppRoleAssignmentRequired: &yes})

	type counts struct{ clientRoles, grants, userRoles, userClientRoles int }
	tests := []struct {
		name       string
		req        request
		client     string // appId of ClientApp, "" for none
		clientSP   bool
		resource   string // appId of ResourceApp, "" for none
		user       string // UPN of User, "" for none
		wantCounts counts
	}{
		{name: "app-only: the client's roles", req: request{client: daemonAppID},
			client: daemonAppID, clientSP: true, resource: ordersAppID, wantCounts: counts{clientRoles: 1}},
		{name: "delegated: grants, the user's roles on the resource and on the client", req: request{flow: consent.FlowPassword, client: webAppID, user: "ALICE@contoso.onmicrosoft.com"},
			client: webAppID, clientSP: true, resource: ordersAppID, user: alice, wantCounts: counts{grants: 1, userRoles: 1, userClientRoles: 1}},
		{name: "delegated, user by object id", req: request{flow: consent.FlowOnBehalfOf, client: webAppID, user: f.user(t, bob).ID},
			client: webAppID, clientSP: true, resource: ordersAppID, user: bob, wantCounts: counts{grants: 1}},
		{name: "unknown user", req: request{flow: consent.FlowPassword, client: webAppID, user: "zed@contoso.onmicrosoft.com"},
			client: webAppID, clientSP: true, resource: ordersAppID, wantCounts: counts{grants: 1}},
		{name: "client id not a GUID", req: request{client: "daemon"}, resource: ordersAppID},
		{name: "client of another tenant", req: request{client: fabLocalAppID}, client: fabLocalAppID, resource: ordersAppID},
		{name: "resource by appId", req: request{client: daemonAppID, resource: strings.ToUpper(ordersAppID)},
			client: daemonAppID, clientSP: true, resource: ordersAppID, wantCounts: counts{clientRoles: 1}},
		{name: "resource not in the tenant", req: request{client: daemonAppID, resource: "api://partner"}, client: daemonAppID, clientSP: true},
		{name: "tenant by domain", req: request{tenant: "CONTOSO.onmicrosoft.com", client: daemonAppID},
			client: daemonAppID, clientSP: true, resource: ordersAppID, wantCounts: counts{clientRoles: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := consent.Resolve(f.ctx, f.db, tc.req.request())
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			if got.Tenant.ID != contosoID {
				t.Errorf("tenant = %+v; want contoso", got.Tenant)
			}
			if appID(got.ClientApp) != tc.client || (got.ClientSP != nil) != tc.clientSP {
				t.Errorf("client = %+v, %+v; want %q, service principal %v", got.ClientApp, got.ClientSP, tc.client, tc.clientSP)
			}
			if appID(got.ResourceApp) != tc.resource || (got.ResourceSP != nil) != (tc.resource != "") {
				t.Errorf("resource = %+v, %+v; want %q", got.ResourceApp, got.ResourceSP, tc.resource)
			}
			gotUser := ""
			if got.User != nil {
				gotUser = got.User.UserPrincipalName
			}
			if gotUser != tc.user {
				t.Errorf("user = %+v; want %q", got.User, tc.user)
			}
			c := counts{len(got.ClientAssignments), len(got.Grants), len(got.UserAssignments), len(got.UserClientAssignments)}
			if c != tc.wantCounts {
				t.Errorf("assignments and grants read = %+v; want %+v", c, tc.wantCounts)
			}
		})
	}

	for _, tc := range []struct {
		name string
		ref  string
		want error
	}{
		{"unknown tenant", "nobody.onmicrosoft.com", tenant.ErrNotFound},
		{"malformed tenant", "not a tenant", tenant.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := consent.Resolve(f.ctx, f.db, consent.Request{TenantRef: tc.ref, ClientAppID: daemonAppID})
			if !errors.Is(err, tc.want) {
				t.Errorf("Resolve(%s) = %v; want %v", tc.ref, err, tc.want)
			}
		})
	}
}

func appID(app *tenant.Application) string {
	if app == nil {
		return ""
	}
	return app.AppID
}
