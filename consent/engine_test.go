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

// The literal directory of the pure tests: the fixture's objects, as
// Resolve would return them, with no database.
var (
	litContoso = tenant.Tenant{ID: contosoID, DisplayName: "Contoso", Domains: []string{"contoso.onmicrosoft.com"}}

	litOrders = tenant.Application{
		AppID: ordersAppID, HomeTenantID: contosoID, DisplayName: "Orders API", SignInAudience: tenant.AudienceMyOrg,
		IdentifierURIs: []string{"api://orders"},
		AppRoles: []tenant.AppRole{
			{ID: roleRead, Value: "Orders.Read", AllowedMemberTypes: []string{"Application"}, IsEnabled: true},
			{ID: roleWrite, Value: "Orders.Write", AllowedMemberTypes: []string{"Application"}, IsEnabled: true},
			{ID: roleAdmin, Value: "Orders.Admin", AllowedMemberTypes: []string{"Application"}},
			{ID: roleApprover, Value: "Orders.Approver", AllowedMemberTypes: []string{"User"}, IsEnabled: true},
			{ID: roleAll, Value: "Orders.All", AllowedMemberTypes: []string{"Application", "User"}, IsEnabled: true},
		},
		API: tenant.API{OAuth2PermissionScopes: []tenant.PermissionScope{
			{ID: "s1", Value: "access_as_user", Type: tenant.ScopeTypeUser, IsEnabled: true},
			{ID: "s2", Value: "Orders.ReadWrite.All", Type: "Admin", IsEnabled: true},
			{ID: "s3", Value: "legacy", Type: tenant.ScopeTypeUser},
		}},
	}
	litDaemon = tenant.Application{AppID: daemonAppID, HomeTenantID: contosoID, DisplayName: "Daemon", SignInAudience: tenant.AudienceMyOrg}
	litWeb    = tenant.Application{AppID: webAppID, HomeTenantID: contosoID, DisplayName: "Web", SignInAudience: tenant.AudienceMyOrg,
		AppRoles: []tenant.AppRole{{ID: roleWebUser, Value: "Web.User", AllowedMemberTypes: []string{"User"}, IsEnabled: true}}}

	litOrdersSP = tenant.ServicePrincipal{ID: "sp-orders", AppID: ordersAppID, TenantID: contosoID, AccountEnabled: true}
	litDaemonSP = tenant.ServicePrincipal{ID: "sp-daemon", AppID: daemonAppID, TenantID: contosoID, AccountEnabled: true}
	litWebSP    = tenant.ServicePrincipal{ID: "sp-web", AppID: webAppID, TenantID: contosoID, AccountEnabled: true}

	litAlice = tenant.User{ID: "u-alice", TenantID: contosoID, UserPrincipalName: alice, AccountEnabled: true}
)

// appOnlyFacts is a client credentials request of Daemon for the Orders API
// with the facts Resolve finds before any change.
func appOnlyFacts() (consent.Request, consent.Facts) {
	daemon, daemonSP, orders, ordersSP := litDaemon, litDaemonSP, litOrders, litOrdersSP
	return consent.Request{Flow: consent.FlowClientCredentials, TenantRef: contosoID, ClientAppID: daemonAppID,
			ResourceName: "api://orders", Default: true},
		consent.Facts{Tenant: litContoso, ClientApp: &daemon, ClientSP: &daemonSP, ResourceApp: &orders, ResourceSP: &ordersSP}
}

// delegatedFacts is a request of Web for alice on the Orders API.
func delegatedFacts(flow consent.Flow, scopes ...string) (consent.Request, consent.Facts) {
	web, webSP, orders, ordersSP, user := litWeb, litWebSP, litOrders, litOrdersSP, litAlice
	return consent.Request{Flow: flow, TenantRef: contosoID, ClientAppID: webAppID, ResourceName: "api://orders",
			UserRef: alice, Scopes: scopes, Default: len(scopes) == 0},
		consent.Facts{Tenant: litContoso, ClientApp: &web, ClientSP: &webSP, ResourceApp: &orders, ResourceSP: &ordersSP, User: &user}
}

func roles(principalID string, ids ...string) []consent.AppRoleAssignment {
	var out []consent.AppRoleAssignment
	for _, id := range ids {
		out = append(out, consent.AppRoleAssignment{ID: "a-" + id, AppRoleID: id, PrincipalID: principalID})
	}
	return out
}

func allGrant(scope string) consent.PermissionGrant {
	return consent.PermissionGrant{ID: "g-all", ClientID: "sp-web", ConsentType: consent.AllPrincipals, ResourceID: "sp-orders", Scope: scope}
}

func userGrant(userID, scope string) consent.PermissionGrant {
	return consent.PermissionGrant{ID: "g-" + userID, ClientID: "sp-web", ConsentType: consent.Principal, PrincipalID: userID, ResourceID: "sp-orders", Scope: scope}
}

// TestDecide covers every rule of Decide over literal facts: no store, no
// I/O. Each case starts from the facts of an app-only or a delegated
// request and changes what the case is about.
func TestDecide(t *testing.T) {
	pw := consent.FlowPassword
	appOnly := func(change func(*consent.Facts)) func() (consent.Request, consent.Facts) {
		return func() (consent.Request, consent.Facts) {
			req, f := appOnlyFacts()
			if change != nil {
				change(&f)
			}
			return req, f
		}
	}
	delegated := func(flow consent.Flow, change func(*consent.Facts), scopes ...string) func() (consent.Request, consent.Facts) {
		return func() (consent.Request, consent.Facts) {
			req, f := delegatedFacts(flow, scopes...)
			if change != nil {
				change(&f)
			}
			return req, f
		}
	}
	grants := func(gs ...consent.PermissionGrant) func(*consent.Facts) {
		return func(f *consent.Facts) { f.Grants = gs }
	}
	tests := []struct {
		name  string
		facts func() (consent.Request, consent.Facts)

		wantReason  consent.Reason
		wantRoles   []string
		wantScp     []string
		wantVersion int      // default 1
		wantScopes  []string // Denial.Scopes
	}{
		// The client.
		{name: "client not found", facts: appOnly(func(f *consent.Facts) { f.ClientApp, f.ClientSP = nil, nil }), wantReason: consent.ReasonClientNotFound},
		{name: "home-tenant client without its service principal", facts: appOnly(func(f *consent.Facts) { f.ClientSP = nil }), wantReason: consent.ReasonClientNoServicePrincipal},
		{name: "multi-tenant client of another tenant without service principal", facts: appOnly(func(f *consent.Facts) {
			f.ClientSP = nil
			f.ClientApp.HomeTenantID, f.ClientApp.SignInAudience = fabrikamID, tenant.AudienceMultipleOrgs
		}), wantReason: consent.ReasonClientNotFound},
		{name: "client disabled", facts: appOnly(func(f *consent.Facts) { f.ClientSP.AccountEnabled = false }), wantReason: consent.ReasonClientDisabled},
		{name: "client disabled, delegated flow", facts: delegated(pw, func(f *consent.Facts) {
			f.ClientSP.AccountEnabled = false
			f.Grants = []consent.PermissionGrant{allGrant("access_as_user")}
		}, "access_as_user"), wantReason: consent.ReasonClientDisabled},

		// The resource.
		{name: "resource not found", facts: appOnly(func(f *consent.Facts) { f.ResourceApp, f.ResourceSP = nil, nil }), wantReason: consent.ReasonResourceNotFound},
		{name: "resource disabled", facts: appOnly(func(f *consent.Facts) { f.ResourceSP.AccountEnabled = false }), wantReason: consent.ReasonResourceDisabled},
		{name: "token version from the resource", facts: appOnly(func(f *consent.Facts) {
			two := 2
			f.ResourceApp.API.RequestedAccessTokenVersion = &two
		}), wantVersion: 2},

		// App-only roles.
		{name: "no assignment: token without roles", facts: appOnly(nil)},
		{name: "assigned Application roles, in the resource's order", facts: appOnly(func(f *consent.Facts) { f.ClientAssignments = roles("sp-daemon", roleWrite, roleRead) }),
			wantRoles: []string{"Orders.Read", "Orders.Write"}},
		{name: "disabled role dropped", facts: appOnly(func(f *consent.Facts) { f.ClientAssignments = roles("sp-daemon", roleRead, roleAdmin) }),
			wantRoles: []string{"Orders.Read"}},
		{name: "User-only role dropped for an application", facts: appOnly(func(f *consent.Facts) { f.ClientAssignments = roles("sp-daemon", roleApprover) })},
		{name: "role for both member types kept", facts: appOnly(func(f *consent.Facts) { f.ClientAssignments = roles("sp-daemon", roleAll) }),
			wantRoles: []string{"Orders.All"}},
		{name: "role the resource no longer defines dropped", facts: appOnly(func(f *consent.Facts) { f.ClientAssignments = roles("sp-daemon", "gone") })},
		{name: "assignment required, none held", facts: appOnly(func(f *consent.Facts) { f.ResourceSP.AppRoleAssignmentRequired = true }),
			wantReason: consent.ReasonClientNotAssigned},
		{name: "assignment required, one held", facts: appOnly(func(f *consent.Facts) {
			f.ResourceSP.AppRoleAssignmentRequired = true
			f.ClientAssignments = roles("sp-daemon", roleRead)
		}), wantRoles: []string{"Orders.Read"}},
		{name: "delegated grants ignored by client credentials", facts: appOnly(func(f *consent.Facts) { f.Grants = []consent.PermissionGrant{allGrant("access_as_user")} })},

		// Delegated flows: the user and the scopes.
		{name: "user disabled", facts: delegated(pw, func(f *consent.Facts) {
			f.User.AccountEnabled = false
			f.Grants = []consent.PermissionGrant{allGrant("access_as_user")}
		}, "access_as_user"), wantReason: consent.ReasonUserDisabled},
		{name: "unknown scope", facts: delegated(pw, grants(allGrant("access_as_user")), "access_as_user", "nope", "nada"),
			wantReason: consent.ReasonScopeNotFound, wantScopes: []string{"nope", "nada"}},
		{name: "disabled scope", facts: delegated(pw, grants(allGrant("access_as_user legacy")), "legacy"),
			wantReason: consent.ReasonScopeNotFound, wantScopes: []string{"legacy"}},
		{name: "AllPrincipals grant", facts: delegated(pw, grants(allGrant("access_as_user")), "access_as_user"), wantScp: []string{"access_as_user"}},
		{name: "scope values compare case-insensitively", facts: delegated(pw, grants(allGrant("ACCESS_AS_USER")), "Access_As_User"), wantScp: []string{"access_as_user"}},
		{name: "Principal grant for this user", facts: delegated(pw, grants(userGrant("u-alice", "access_as_user")), "access_as_user"), wantScp: []string{"access_as_user"}},
		{name: "Principal grant of another user ignored", facts: delegated(pw, grants(userGrant("u-bob", "access_as_user")), "access_as_user"),
			wantReason: consent.ReasonConsentRequired, wantScopes: []string{"access_as_user"}},
		{name: "Admin scope through a Principal grant ignored", facts: delegated(pw, grants(userGrant("u-alice", "Orders.ReadWrite.All")), "Orders.ReadWrite.All"),
			wantReason: consent.ReasonConsentRequired, wantScopes: []string{"Orders.ReadWrite.All"}},
		{name: "Admin scope through an AllPrincipals grant", facts: delegated(pw, grants(allGrant("Orders.ReadWrite.All")), "Orders.ReadWrite.All"),
			wantScp: []string{"Orders.ReadWrite.All"}},
		{name: "/.default is the union of AllPrincipals and the user's grants",
			facts:   delegated(pw, grants(allGrant("Orders.ReadWrite.All"), userGrant("u-alice", "access_as_user"), userGrant("u-bob", "other"))),
			wantScp: []string{"access_as_user", "Orders.ReadWrite.All"}},
		{name: "/.default drops disabled scopes", facts: delegated(pw, grants(allGrant("legacy access_as_user"))), wantScp: []string{"access_as_user"}},
		{name: "/.default with nothing granted", facts: delegated(pw, nil), wantReason: consent.ReasonConsentRequired},
		{name: "/.default with only another user's grant", facts: delegated(pw, grants(userGrant("u-bob", "access_as_user"))), wantReason: consent.ReasonConsentRequired},
		{name: "partial consent lists the missing scopes", facts: delegated(pw, grants(allGrant("access_as_user")), "access_as_user", "Orders.ReadWrite.All"),
			wantReason: consent.ReasonConsentRequired, wantScopes: []string{"Orders.ReadWrite.All"}},
		{name: "OBO uses the same consent rules", facts: delegated(consent.FlowOnBehalfOf, grants(allGrant("access_as_user")), "access_as_user"), wantScp: []string{"access_as_user"}},

		// Delegated flows: the user's roles and assignment.
		{name: "user roles of member type User only", facts: delegated(pw, func(f *consent.Facts) {
			f.Grants = []consent.PermissionGrant{allGrant("access_as_user")}
			f.UserAssignments = roles("u-alice", roleRead, roleAll, roleApprover)
		}, "access_as_user"), wantRoles: []string{"Orders.Approver", "Orders.All"}, wantScp: []string{"access_as_user"}},
		{name: "resource requires assignment, user unassigned", facts: delegated(consent.FlowOnBehalfOf, func(f *consent.Facts) {
			f.Grants = []consent.PermissionGrant{allGrant("access_as_user")}
			f.ResourceSP.AppRoleAssignmentRequired = true
		}, "access_as_user"), wantReason: consent.ReasonUserNotAssigned},
		{name: "resource requires assignment, user assigned", facts: delegated(consent.FlowOnBehalfOf, func(f *consent.Facts) {
			f.Grants = []consent.PermissionGrant{allGrant("access_as_user")}
			f.ResourceSP.AppRoleAssignmentRequired = true
			f.UserAssignments = roles("u-alice", roleApprover)
		}, "access_as_user"), wantRoles: []string{"Orders.Approver"}, wantScp: []string{"access_as_user"}},
	}
	// The client's own assignment requirement applies where the user signs
	// in to the client (password, interactive), not in OBO or refresh.
	for _, c := range []struct {
		flow     consent.Flow
		assigned bool
		want     consent.Reason
	}{
		{consent.FlowPassword, false, consent.ReasonUserNotAssigned},
		{consent.FlowInteractive, false, consent.ReasonUserNotAssigned},
		{consent.FlowInteractive, true, ""},
		{consent.FlowOnBehalfOf, false, ""},
		{consent.FlowRefreshToken, false, ""},
	} {
		tc := tests[0]
		tc.name = "client requires assignment, " + string(c.flow) + map[bool]string{true: ", user assigned", false: ", user unassigned"}[c.assigned]
		tc.facts = delegated(c.flow, func(f *consent.Facts) {
			f.Grants = []consent.PermissionGrant{allGrant("access_as_user")}
			f.ClientSP.AppRoleAssignmentRequired = true
			if c.assigned {
				f.UserClientAssignments = roles("u-alice", roleWebUser)
			}
		}, "access_as_user")
		tc.wantReason, tc.wantScp = c.want, nil
		if c.want == "" {
			tc.wantScp = []string{"access_as_user"}
		}
		tests = append(tests, tc)
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, f := tc.facts()
			got, err := consent.Decide(req, f)
			var d *consent.Denial
			if err != nil && !errors.As(err, &d) {
				t.Fatalf("Decide error = %v; want a *consent.Denial or nil", err)
			}
			var reason consent.Reason
			if d != nil {
				reason = d.Reason
			}
			if reason != tc.wantReason {
				t.Fatalf("Decide denial = %q (%v); want %q", reason, err, tc.wantReason)
			}
			if d != nil {
				if !slices.Equal(d.Scopes, tc.wantScopes) {
					t.Errorf("Denial.Scopes = %q; want %q", d.Scopes, tc.wantScopes)
				}
				if d.TenantID != contosoID || d.ClientAppID != req.ClientAppID || d.Detail == "" {
					t.Errorf("Denial = %+v; want tenant %s, client %s and a detail", d, contosoID, req.ClientAppID)
				}
				return
			}
			if !slices.Equal(got.Roles, tc.wantRoles) {
				t.Errorf("roles = %q; want %q", got.Roles, tc.wantRoles)
			}
			if !slices.Equal(got.Scopes, tc.wantScp) {
				t.Errorf("scp = %q; want %q", got.Scopes, tc.wantScp)
			}
			if want := max(tc.wantVersion, 1); got.TokenVersion != want {
				t.Errorf("token version = %d; want %d", got.TokenVersion, want)
			}
			if !req.Flow.Delegated() && got.Scopes != nil {
				t.Errorf("app-only scp = %q; want none", got.Scopes)
			}
		})
	}
}

// TestDecideDelegatedWithoutUser: a delegated request without a user is a
// programming error of the caller, not a denial.
func TestDecideDelegatedWithoutUser(t *testing.T) {
	req, f := delegatedFacts(consent.FlowPassword, "access_as_user")
	f.User = nil
	_, err := consent.Decide(req, f)
	var d *consent.Denial
	if err == nil || errors.As(err, &d) {
		t.Errorf("Decide(password, no user) error = %v; want a non-denial error", err)
	}
}

// TestDenialNames: a denial carries the names Entra's messages quote, from
// the request (as asked) and from the facts.
func TestDenialNames(t *testing.T) {
	req, f := appOnlyFacts()
	req.ResourceName = "API://orders"
	f.ResourceSP.AppRoleAssignmentRequired = true
	_, err := consent.Decide(req, f)
	var d *consent.Denial
	if !errors.As(err, &d) {
		t.Fatalf("Decide error = %v; want a denial", err)
	}
	want := consent.Denial{
		Reason: consent.ReasonClientNotAssigned, Detail: d.Detail,
		TenantID: contosoID, TenantName: "Contoso", ClientAppID: daemonAppID, ClientName: "Daemon",
		ResourceName: "API://orders", ResourceAppID: ordersAppID, ResourceDisplay: "Orders API",
	}
	if !reflect.DeepEqual(*d, want) {
		t.Errorf("Denial = %+v; want %+v", *d, want)
	}
	if !strings.HasPrefix(d.Error(), string(consent.ReasonClientNotAssigned)+": ") {
		t.Errorf("Denial.Error() = %q; want it to begin with the reason", d.Error())
	}
}

// TestCheckClient: the client rules hold on the client's facts alone.
func TestCheckClient(t *testing.T) {
	home := tenant.Tenant{ID: contosoID, DisplayName: "Contoso"}
	single := &tenant.Application{AppID: daemonAppID, HomeTenantID: fabrikamID, SignInAudience: tenant.AudienceMyOrg}
	multi := &tenant.Application{AppID: partnerAppID, HomeTenantID: fabrikamID, SignInAudience: tenant.AudienceMultipleOrgs}
	local := &tenant.Application{AppID: webAppID, HomeTenantID: contosoID, SignInAudience: tenant.AudienceMyOrg}
	enabled := &tenant.ServicePrincipal{ID: "sp", AccountEnabled: true}
	disabled := &tenant.ServicePrincipal{ID: "sp"}
	tests := []struct {
		name string
		app  *tenant.Application
		sp   *tenant.ServicePrincipal
		want consent.Reason
	}{
		{"no application", nil, nil, consent.ReasonClientNotFound},
		{"single-tenant, other tenant", single, nil, consent.ReasonClientNotFound},
		{"multi-tenant, no service principal", multi, nil, consent.ReasonClientNotFound},
		{"home tenant, no service principal", local, nil, consent.ReasonClientNoServicePrincipal},
		{"disabled service principal", local, disabled, consent.ReasonClientDisabled},
		{"multi-tenant, enabled service principal", multi, enabled, ""},
		{"home tenant, enabled service principal", local, enabled, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := consent.CheckClient(consent.Request{ClientAppID: "x"}, consent.Facts{Tenant: home, ClientApp: tc.app, ClientSP: tc.sp})
			var got consent.Reason
			if d != nil {
				got = d.Reason
			}
			if got != tc.want {
				t.Errorf("CheckClient = %q; want %q", got, tc.want)
			}
		})
	}
}
