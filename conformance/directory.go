package conformance

import (
	"errors"
	"testing"

	"github.com/issuer-dev/issuer/tenant"
)

func testTenants(t *testing.T, f *fixture) {
	a := f.tenant(tenantA, "contoso.onmicrosoft.com", "Contoso.com")
	b := f.tenant(tenantB, "fabrikam.onmicrosoft.com")

	got, err := f.b.GetTenant(f.ctx, tenantA)
	f.must("GetTenant", err)
	wantSame(t, "GetTenant", got, a)
	for _, d := range []string{"contoso.com", "CONTOSO.COM", "Contoso.OnMicrosoft.com"} {
		got, err := f.b.GetTenantByDomain(f.ctx, d)
		if err != nil || got.ID != tenantA {
			t.Errorf("GetTenantByDomain(%q) = %s, %v; want tenant %s", d, got.ID, err, tenantA)
		}
	}
	list, err := f.b.ListTenants(f.ctx)
	f.must("ListTenants", err)
	wantSame(t, "ListTenants", byID(list, tenantID), []tenant.Tenant{a, b})

	runErrCases(t, []errCase{
		{"create with a taken id", func() error { return f.b.CreateTenant(f.ctx, newTenant(tenantA, "other.com")) }, tenant.ErrExists},
		{"create with a taken domain in another case", func() error {
			return f.b.CreateTenant(f.ctx, newTenant(tenantC, "new.example", "CONTOSO.com"))
		}, tenant.ErrExists},
		{"create with an empty id", func() error { return f.b.CreateTenant(f.ctx, tenant.Tenant{Domains: []string{"x.example"}}) }, tenant.ErrInvalid},
		{"create with an empty domain", func() error { return f.b.CreateTenant(f.ctx, newTenant(tenantC, "")) }, tenant.ErrInvalid},
		{"get a missing tenant", func() error { _, err := f.b.GetTenant(f.ctx, tenantC); return err }, tenant.ErrNotFound},
		{"get by a missing domain", func() error { _, err := f.b.GetTenantByDomain(f.ctx, "new.example"); return err }, tenant.ErrNotFound},
		{"update a missing tenant", func() error {
			return f.b.UpdateTenant(f.ctx, tenantC, func(*tenant.Tenant) error { return nil })
		}, tenant.ErrNotFound},
		{"delete a missing tenant", func() error { return f.b.DeleteTenant(f.ctx, tenantC) }, tenant.ErrNotFound},
		{"update changing the id", func() error {
			return f.b.UpdateTenant(f.ctx, tenantA, func(t *tenant.Tenant) error { t.ID = tenantC; return nil })
		}, tenant.ErrInvalid},
		{"update taking another tenant's domain", func() error {
			return f.b.UpdateTenant(f.ctx, tenantA, func(t *tenant.Tenant) error {
				t.Domains = append(t.Domains, "Fabrikam.onmicrosoft.com")
				return nil
			})
		}, tenant.ErrExists},
	})
	// The refused writes left nothing behind.
	if _, err := f.b.GetTenantByDomain(f.ctx, "new.example"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("a refused CreateTenant indexed its other domain: %v", err)
	}
	if _, err := f.b.GetTenant(f.ctx, tenantC); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("a refused CreateTenant stored the tenant: %v", err)
	}
	if got, _ := f.b.GetTenant(f.ctx, tenantA); !same(got, a) {
		t.Errorf("refused updates changed tenant A: %+v", got)
	}

	// An update moves the domain index with the domains: a dropped domain
	// is free for another tenant.
	f.must("UpdateTenant", f.b.UpdateTenant(f.ctx, tenantA, func(t *tenant.Tenant) error {
		t.DisplayName, t.Domains, t.UserConsent = "Contoso Ltd", []string{"contoso.onmicrosoft.com", "contoso.net"}, tenant.UserConsentDisabled
		return nil
	}))
	a.DisplayName, a.Domains, a.UserConsent = "Contoso Ltd", []string{"contoso.onmicrosoft.com", "contoso.net"}, tenant.UserConsentDisabled
	got, err = f.b.GetTenant(f.ctx, tenantA)
	f.must("GetTenant after UpdateTenant", err)
	wantSame(t, "GetTenant after UpdateTenant", got, a)
	if _, err := f.b.GetTenantByDomain(f.ctx, "contoso.com"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetTenantByDomain of a dropped domain: %v; want ErrNotFound", err)
	}
	if got, err := f.b.GetTenantByDomain(f.ctx, "CONTOSO.NET"); err != nil || got.ID != tenantA {
		t.Errorf("GetTenantByDomain of an added domain = %s, %v; want %s", got.ID, err, tenantA)
	}
	f.tenant(tenantC, "contoso.com")

	f.must("DeleteTenant", f.b.DeleteTenant(f.ctx, tenantB))
	if _, err := f.b.GetTenant(f.ctx, tenantB); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetTenant of a deleted tenant: %v; want ErrNotFound", err)
	}
	if _, err := f.b.GetTenantByDomain(f.ctx, "fabrikam.onmicrosoft.com"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetTenantByDomain of a deleted tenant's domain: %v; want ErrNotFound", err)
	}
	list, err = f.b.ListTenants(f.ctx)
	f.must("ListTenants", err)
	if ids := idsOf(list, tenantID); !equalIDs(ids, tenantA, tenantC) {
		t.Errorf("ListTenants after delete: %v; want %s, %s", ids, tenantA, tenantC)
	}
	// The id and domain of a deleted tenant can be used again.
	f.tenant(tenantB, "fabrikam.onmicrosoft.com")
}

func testApplications(t *testing.T, f *fixture) {
	f.tenant(tenantA, "a.example")
	f.tenant(tenantB, "b.example")
	v2 := 2
	api := newApp(appAPI, tenantA, "api://orders", "https://orders.a.example")
	api.API = tenant.API{RequestedAccessTokenVersion: &v2, OAuth2PermissionScopes: []tenant.PermissionScope{
		{ID: objectID("scope", "read"), Value: "Orders.Read", Type: "User", AdminConsentDisplayName: "Read orders", IsEnabled: true},
	}}
	api.RequiredResourceAccess = []tenant.RequiredResourceAccess{{ResourceAppID: appOther, ResourceAccess: []tenant.ResourceAccess{{ID: roleRead, Type: tenant.AccessRole}}}}
	api.PasswordCredentials = []tenant.PasswordCredential{{KeyID: objectID("secret"), DisplayName: "ci", Hint: "abc",
		StartDateTime: t0, EndDateTime: t0.AddDate(1, 0, 0), Salt: []byte("salt"), Hash: []byte("hash")}}
	api.KeyCredentials = []tenant.KeyCredential{{KeyID: objectID("cert"), DisplayName: "cert", Type: "AsymmetricX509Cert", Usage: "Verify",
		StartDateTime: t0, EndDateTime: t0.AddDate(1, 0, 0), CustomKeyIdentifier: []byte{1, 2}, Thumbprint256: []byte{3, 4}, Key: []byte{5, 6}}}
	api.FederatedIdentityCredentials = []tenant.FederatedIdentityCredential{{ID: objectID("fic"), Name: "gh", Issuer: "https://token.actions.githubusercontent.com",
		Subject: "repo:o/r:ref:refs/heads/main", Audiences: []string{tenant.DefaultFederationAudience}}}
	api.IsFallbackPublicClient = true
	api.Web = tenant.RedirectURIs{RedirectURIs: []string{"https://orders.a.example/signin"}}
	api.SPA = tenant.RedirectURIs{RedirectURIs: []string{"https://orders.a.example/spa"}}
	api.PublicClient = tenant.RedirectURIs{RedirectURIs: []string{"http://localhost"}}
	home := f.app(api)
	client := newApp(appClient, tenantA)
	f.app(client)
	multi := multiTenant(newApp(appMulti, tenantB, "api://multi"))
	f.app(multi)

	got, err := f.b.GetApplication(f.ctx, appAPI)
	f.must("GetApplication", err)
	wantSame(t, "GetApplication", got, api)
	sp, err := f.b.GetServicePrincipal(f.ctx, tenantA, appAPI)
	f.must("GetServicePrincipal of the home service principal", err)
	wantSame(t, "home service principal", sp, home)
	la, err := f.b.ListApplications(f.ctx, tenantA)
	f.must("ListApplications", err)
	wantSame(t, "ListApplications(A)", byID(la, appIDOf), []tenant.Application{api, client})
	lb, err := f.b.ListApplications(f.ctx, tenantB)
	f.must("ListApplications", err)
	wantSame(t, "ListApplications(B)", lb, []tenant.Application{multi})

	// A single-tenant application of another tenant may share an
	// identifier URI with a single-tenant one (IdentifierURIConflict).
	f.app(newApp(appOther, tenantB, "API://Orders/"))

	mismatched := newApp(objectID("app", "mismatched"), tenantA)
	runErrCases(t, []errCase{
		{"create with a taken appId", func() error { a := newApp(appAPI, tenantB); return f.b.CreateApplication(f.ctx, a, newSP(tenantB, a)) }, tenant.ErrExists},
		{"create with a URI of a single-tenant app of the same tenant", func() error {
			a := newApp(objectID("app", "dup-uri"), tenantA, "API://ORDERS")
			return f.b.CreateApplication(f.ctx, a, newSP(tenantA, a))
		}, tenant.ErrExists},
		{"create a multi-tenant app with a URI used elsewhere", func() error {
			a := multiTenant(newApp(objectID("app", "mt-dup"), tenantB, "https://orders.a.example/"))
			return f.b.CreateApplication(f.ctx, a, newSP(tenantB, a))
		}, tenant.ErrExists},
		{"create with the URI of a multi-tenant app", func() error {
			a := newApp(objectID("app", "st-dup"), tenantA, "api://multi")
			return f.b.CreateApplication(f.ctx, a, newSP(tenantA, a))
		}, tenant.ErrExists},
		{"create with a home service principal of another app", func() error {
			return f.b.CreateApplication(f.ctx, mismatched, newSP(tenantA, client))
		}, tenant.ErrInvalid},
		{"create with a home service principal in another tenant", func() error {
			return f.b.CreateApplication(f.ctx, mismatched, newSP(tenantB, mismatched))
		}, tenant.ErrInvalid},
		{"create with an empty appId", func() error {
			a := newApp(appOther, tenantA)
			a.AppID = ""
			return f.b.CreateApplication(f.ctx, a, newSP(tenantA, a))
		}, tenant.ErrInvalid},
		{"create in a missing tenant", func() error {
			a := newApp(objectID("app", "nowhere"), tenantC)
			return f.b.CreateApplication(f.ctx, a, newSP(tenantC, a))
		}, tenant.ErrNotFound},
		{"get a missing app", func() error { _, err := f.b.GetApplication(f.ctx, objectID("app", "nowhere")); return err }, tenant.ErrNotFound},
		{"list in a missing tenant", func() error { _, err := f.b.ListApplications(f.ctx, tenantC); return err }, tenant.ErrNotFound},
		{"update a missing app", func() error {
			return f.b.UpdateApplication(f.ctx, objectID("app", "nowhere"), func(*tenant.Application) error { return nil })
		}, tenant.ErrNotFound},
		{"delete a missing app", func() error { return f.b.DeleteApplication(f.ctx, objectID("app", "nowhere")) }, tenant.ErrNotFound},
		{"update changing the appId", func() error {
			return f.b.UpdateApplication(f.ctx, appAPI, func(a *tenant.Application) error { a.AppID = appOther; return nil })
		}, tenant.ErrInvalid},
		{"update changing the object id", func() error {
			return f.b.UpdateApplication(f.ctx, appAPI, func(a *tenant.Application) error { a.ID = objectID("x"); return nil })
		}, tenant.ErrInvalid},
		{"update changing the home tenant", func() error {
			return f.b.UpdateApplication(f.ctx, appAPI, func(a *tenant.Application) error { a.HomeTenantID = tenantB; return nil })
		}, tenant.ErrInvalid},
		{"update taking a URI of the same tenant", func() error {
			return f.b.UpdateApplication(f.ctx, appClient, func(a *tenant.Application) error {
				a.IdentifierURIs = []string{"https://ORDERS.a.example"}
				return nil
			})
		}, tenant.ErrExists},
		{"update to multi-tenant with a URI another tenant's app holds", func() error {
			return f.b.UpdateApplication(f.ctx, appAPI, func(a *tenant.Application) error {
				a.SignInAudience = tenant.AudienceMultipleOrgs
				return nil
			})
		}, tenant.ErrExists},
	})
	for _, id := range []string{mismatched.AppID, objectID("app", "dup-uri"), objectID("app", "mt-dup")} {
		if _, err := f.b.GetApplication(f.ctx, id); !errors.Is(err, tenant.ErrNotFound) {
			t.Errorf("a refused CreateApplication stored %s: %v", id, err)
		}
	}
	if got, _ := f.b.GetApplication(f.ctx, appAPI); !same(got, api) {
		t.Errorf("refused updates changed the application: %+v", got)
	}

	// An update moves the URI index: the dropped URI is free in the tenant,
	// the new one resolves.
	f.must("UpdateApplication", f.b.UpdateApplication(f.ctx, appAPI, func(a *tenant.Application) error {
		a.DisplayName, a.IdentifierURIs = "Orders API", []string{"api://orders-v2", "https://orders.a.example"}
		return nil
	}))
	api.DisplayName, api.IdentifierURIs = "Orders API", []string{"api://orders-v2", "https://orders.a.example"}
	got, err = f.b.GetApplication(f.ctx, appAPI)
	f.must("GetApplication after UpdateApplication", err)
	wantSame(t, "GetApplication after UpdateApplication", got, api)
	if _, _, err := f.b.FindServicePrincipal(f.ctx, tenantA, "api://orders"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("FindServicePrincipal of a dropped URI: %v; want ErrNotFound", err)
	}
	if _, app, err := f.b.FindServicePrincipal(f.ctx, tenantA, "API://orders-v2"); err != nil || app.AppID != appAPI {
		t.Errorf("FindServicePrincipal of an added URI = %s, %v; want %s", app.AppID, err, appAPI)
	}
	f.must("UpdateApplication taking a freed URI", f.b.UpdateApplication(f.ctx, appClient, func(a *tenant.Application) error {
		a.IdentifierURIs = []string{"api://orders"}
		return nil
	}))

	f.must("DeleteApplication", f.b.DeleteApplication(f.ctx, appAPI))
	if _, err := f.b.GetApplication(f.ctx, appAPI); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetApplication of a deleted app: %v; want ErrNotFound", err)
	}
	// Its appId and URIs can be used again.
	again := newApp(appAPI, tenantA, "api://orders-v2")
	f.app(again)
}

func testServicePrincipals(t *testing.T, f *fixture) {
	f.tenant(tenantA, "a.example")
	f.tenant(tenantB, "b.example")
	f.tenant(tenantC, "c.example")
	api := newApp(appAPI, tenantA, "api://orders")
	home := f.app(api)
	multi := multiTenant(newApp(appMulti, tenantB, "api://multi"))
	f.app(multi)
	guest := f.sp(tenantA, multi)
	u := f.user(tenantA, "alice@a.example")
	plain := multiTenant(newApp(appClient, tenantC))
	f.app(plain)

	got, err := f.b.GetServicePrincipal(f.ctx, tenantA, appMulti)
	f.must("GetServicePrincipal", err)
	wantSame(t, "GetServicePrincipal", got, guest)
	list, err := f.b.ListServicePrincipals(f.ctx, tenantA)
	f.must("ListServicePrincipals", err)
	wantSame(t, "ListServicePrincipals(A)", byID(list, spIDOf), byID([]tenant.ServicePrincipal{home, guest}, spIDOf))

	f.must("UpdateServicePrincipal", f.b.UpdateServicePrincipal(f.ctx, tenantA, appMulti, func(sp *tenant.ServicePrincipal) error {
		sp.AppRoleAssignmentRequired, sp.AccountEnabled, sp.DisplayName = true, false, "Multi (disabled)"
		return nil
	}))
	guest.AppRoleAssignmentRequired, guest.AccountEnabled, guest.DisplayName = true, false, "Multi (disabled)"
	got, err = f.b.GetServicePrincipal(f.ctx, tenantA, appMulti)
	f.must("GetServicePrincipal after update", err)
	wantSame(t, "GetServicePrincipal after update", got, guest)
	if other, err := f.b.GetServicePrincipal(f.ctx, tenantB, appMulti); err != nil || other.AppRoleAssignmentRequired {
		t.Errorf("the update reached the home service principal in another tenant: %+v, %v", other, err)
	}

	// Two single-tenant applications of different tenants may share a URI
	// (testApplications), but a tenant resolves a URI to one application:
	// the second cannot have a service principal where the first has one.
	f.app(newApp(appOther, tenantB, "api://orders"))
	runErrCases(t, []errCase{
		{"create a second one in a tenant", func() error { return f.b.CreateServicePrincipal(f.ctx, newSP(tenantA, multi)) }, tenant.ErrExists},
		{"create one with a URI another app's service principal holds in the tenant", func() error {
			other, err := f.b.GetApplication(f.ctx, appOther)
			if err != nil {
				return err
			}
			return f.b.CreateServicePrincipal(f.ctx, newSP(tenantA, other))
		}, tenant.ErrExists},
		{"create with the id of a user of the tenant", func() error {
			sp := newSP(tenantA, plain)
			sp.ID = u.ID
			return f.b.CreateServicePrincipal(f.ctx, sp)
		}, tenant.ErrExists},
		{"create for a missing app", func() error {
			return f.b.CreateServicePrincipal(f.ctx, newSP(tenantC, newApp(objectID("app", "nowhere"), tenantA)))
		}, tenant.ErrNotFound},
		{"create in a missing tenant", func() error {
			return f.b.CreateServicePrincipal(f.ctx, newSP(objectID("tenant", "nowhere"), multi))
		}, tenant.ErrNotFound},
		{"create with an empty id", func() error {
			sp := newSP(tenantC, multi)
			sp.ID = ""
			return f.b.CreateServicePrincipal(f.ctx, sp)
		}, tenant.ErrInvalid},
		{"get a missing one", func() error { _, err := f.b.GetServicePrincipal(f.ctx, tenantC, appMulti); return err }, tenant.ErrNotFound},
		{"get in a missing tenant", func() error {
			_, err := f.b.GetServicePrincipal(f.ctx, objectID("tenant", "nowhere"), appMulti)
			return err
		}, tenant.ErrNotFound},
		{"list in a missing tenant", func() error {
			_, err := f.b.ListServicePrincipals(f.ctx, objectID("tenant", "nowhere"))
			return err
		}, tenant.ErrNotFound},
		{"update a missing one", func() error {
			return f.b.UpdateServicePrincipal(f.ctx, tenantC, appMulti, func(*tenant.ServicePrincipal) error { return nil })
		}, tenant.ErrNotFound},
		{"delete a missing one", func() error { return f.b.DeleteServicePrincipal(f.ctx, tenantC, appMulti) }, tenant.ErrNotFound},
		{"update changing the id", func() error {
			return f.b.UpdateServicePrincipal(f.ctx, tenantA, appMulti, func(sp *tenant.ServicePrincipal) error { sp.ID = objectID("x"); return nil })
		}, tenant.ErrInvalid},
		{"update changing the appId", func() error {
			return f.b.UpdateServicePrincipal(f.ctx, tenantA, appMulti, func(sp *tenant.ServicePrincipal) error { sp.AppID = appAPI; return nil })
		}, tenant.ErrInvalid},
		{"update changing the tenant", func() error {
			return f.b.UpdateServicePrincipal(f.ctx, tenantA, appMulti, func(sp *tenant.ServicePrincipal) error { sp.TenantID = tenantC; return nil })
		}, tenant.ErrInvalid},
	})
	for _, appID := range []string{appOther, appClient} {
		if _, err := f.b.GetServicePrincipal(f.ctx, tenantA, appID); !errors.Is(err, tenant.ErrNotFound) {
			t.Errorf("a refused CreateServicePrincipal stored one for %s: %v", appID, err)
		}
	}

	f.must("DeleteServicePrincipal", f.b.DeleteServicePrincipal(f.ctx, tenantA, appMulti))
	if _, err := f.b.GetServicePrincipal(f.ctx, tenantA, appMulti); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetServicePrincipal after delete: %v; want ErrNotFound", err)
	}
	if _, _, err := f.b.FindServicePrincipal(f.ctx, tenantA, "api://multi"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("FindServicePrincipal of a deleted service principal's URI: %v; want ErrNotFound", err)
	}
	if _, err := f.b.GetApplication(f.ctx, appMulti); err != nil {
		t.Errorf("deleting a service principal deleted its application: %v", err)
	}
	if _, err := f.b.GetServicePrincipal(f.ctx, tenantB, appMulti); err != nil {
		t.Errorf("deleting a service principal deleted the one of another tenant: %v", err)
	}
	// The tenant's name for the URI is free: the other application's
	// service principal may now be created there.
	other, err := f.b.GetApplication(f.ctx, appOther)
	f.must("GetApplication", err)
	f.must("DeleteServicePrincipal", f.b.DeleteServicePrincipal(f.ctx, tenantA, appAPI))
	f.sp(tenantA, other)
	if _, app, err := f.b.FindServicePrincipal(f.ctx, tenantA, "api://orders"); err != nil || app.AppID != appOther {
		t.Errorf("FindServicePrincipal(api://orders) = %s, %v; want %s", app.AppID, err, appOther)
	}
}

func testFindServicePrincipal(t *testing.T, f *fixture) {
	f.tenant(tenantA, "a.example")
	f.tenant(tenantB, "b.example")
	api := newApp(appAPI, tenantA, "api://orders", "https://orders.a.example/")
	home := f.app(api)
	multi := multiTenant(newApp(appMulti, tenantB, "api://multi"))
	f.app(multi)
	guest := f.sp(tenantA, multi)

	for _, tc := range []struct {
		name, tenant, ref string
		wantSP            tenant.ServicePrincipal
		wantApp           tenant.Application
		want              error
	}{
		{"appId", tenantA, appAPI, home, api, nil},
		{"appId in upper case", tenantA, "0A000000-0000-4000-8000-000000000001", home, api, nil},
		{"identifier URI", tenantA, "api://orders", home, api, nil},
		{"identifier URI in another case", tenantA, "API://Orders", home, api, nil},
		{"identifier URI with a trailing slash", tenantA, "api://orders/", home, api, nil},
		{"identifier URI stored with a trailing slash", tenantA, "https://orders.a.example", home, api, nil},
		{"guest application by URI", tenantA, "api://multi", guest, multi, nil},
		{"guest application by appId", tenantA, appMulti, guest, multi, nil},
		{"application without a service principal in the tenant", tenantB, appAPI, tenant.ServicePrincipal{}, tenant.Application{}, tenant.ErrNotFound},
		{"URI without a service principal in the tenant", tenantB, "api://orders", tenant.ServicePrincipal{}, tenant.Application{}, tenant.ErrNotFound},
		{"unknown appId", tenantA, appOther, tenant.ServicePrincipal{}, tenant.Application{}, tenant.ErrNotFound},
		{"unknown URI", tenantA, "api://nothing", tenant.ServicePrincipal{}, tenant.Application{}, tenant.ErrNotFound},
		{"empty name", tenantA, "", tenant.ServicePrincipal{}, tenant.Application{}, tenant.ErrNotFound},
		{"missing tenant", tenantC, appAPI, tenant.ServicePrincipal{}, tenant.Application{}, tenant.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp, app, err := f.b.FindServicePrincipal(f.ctx, tc.tenant, tc.ref)
			wantErr(t, "FindServicePrincipal("+tc.ref+")", err, tc.want)
			if tc.want == nil {
				wantSame(t, "service principal", sp, tc.wantSP)
				wantSame(t, "application", app, tc.wantApp)
			}
		})
	}
}

func testUsers(t *testing.T, f *fixture) {
	f.tenant(tenantA, "a.example")
	f.tenant(tenantB, "b.example")
	home := f.app(newApp(appAPI, tenantA))
	adminUser := newUser(tenantA, "Alice@a.example")
	adminUser.DirectoryRoles = []string{tenant.RoleGlobalAdministrator}
	f.must("CreateUser Alice@a.example", f.b.CreateUser(f.ctx, adminUser))
	alice := adminUser
	bob := f.user(tenantA, "bob@a.example")
	// The same UPN in another tenant is another user.
	f.user(tenantB, "alice@a.example")

	got, err := f.b.GetUser(f.ctx, tenantA, alice.ID)
	f.must("GetUser", err)
	wantSame(t, "GetUser", got, alice)
	for _, upn := range []string{"alice@a.example", "ALICE@A.EXAMPLE"} {
		got, err := f.b.GetUserByUPN(f.ctx, tenantA, upn)
		if err != nil || !same(got, alice) {
			t.Errorf("GetUserByUPN(%q) = %+v, %v; want %+v", upn, got, err, alice)
		}
	}
	list, err := f.b.ListUsers(f.ctx, tenantA)
	f.must("ListUsers", err)
	wantSame(t, "ListUsers", byID(list, userIDOf), byID([]tenant.User{alice, bob}, userIDOf))

	runErrCases(t, []errCase{
		{"create with a taken UPN in another case", func() error {
			u := newUser(tenantA, "ALICE@a.example")
			u.ID = objectID("user", "other")
			return f.b.CreateUser(f.ctx, u)
		}, tenant.ErrExists},
		{"create with a taken id", func() error {
			u := newUser(tenantA, "carol@a.example")
			u.ID = alice.ID
			return f.b.CreateUser(f.ctx, u)
		}, tenant.ErrExists},
		{"create with the id of a service principal of the tenant", func() error {
			u := newUser(tenantA, "carol@a.example")
			u.ID = home.ID
			return f.b.CreateUser(f.ctx, u)
		}, tenant.ErrExists},
		{"create with an empty UPN", func() error { return f.b.CreateUser(f.ctx, newUser(tenantA, "")) }, tenant.ErrInvalid},
		{"create with an empty id", func() error {
			u := newUser(tenantA, "carol@a.example")
			u.ID = ""
			return f.b.CreateUser(f.ctx, u)
		}, tenant.ErrInvalid},
		{"create in a missing tenant", func() error { return f.b.CreateUser(f.ctx, newUser(tenantC, "carol@c.example")) }, tenant.ErrNotFound},
		{"get a missing user", func() error { _, err := f.b.GetUser(f.ctx, tenantA, objectID("nobody")); return err }, tenant.ErrNotFound},
		{"get by a missing UPN", func() error { _, err := f.b.GetUserByUPN(f.ctx, tenantA, "carol@a.example"); return err }, tenant.ErrNotFound},
		{"get in a missing tenant", func() error { _, err := f.b.GetUser(f.ctx, tenantC, alice.ID); return err }, tenant.ErrNotFound},
		{"list in a missing tenant", func() error { _, err := f.b.ListUsers(f.ctx, tenantC); return err }, tenant.ErrNotFound},
		{"update a missing user", func() error {
			return f.b.UpdateUser(f.ctx, tenantA, objectID("nobody"), func(*tenant.User) error { return nil })
		}, tenant.ErrNotFound},
		{"delete a missing user", func() error { return f.b.DeleteUser(f.ctx, tenantA, objectID("nobody")) }, tenant.ErrNotFound},
		{"update changing the id", func() error {
			return f.b.UpdateUser(f.ctx, tenantA, alice.ID, func(u *tenant.User) error { u.ID = objectID("x"); return nil })
		}, tenant.ErrInvalid},
		{"update changing the tenant", func() error {
			return f.b.UpdateUser(f.ctx, tenantA, alice.ID, func(u *tenant.User) error { u.TenantID = tenantB; return nil })
		}, tenant.ErrInvalid},
		{"update emptying the UPN", func() error {
			return f.b.UpdateUser(f.ctx, tenantA, alice.ID, func(u *tenant.User) error { u.UserPrincipalName = ""; return nil })
		}, tenant.ErrInvalid},
		{"update taking another user's UPN", func() error {
			return f.b.UpdateUser(f.ctx, tenantA, alice.ID, func(u *tenant.User) error { u.UserPrincipalName = "BOB@a.example"; return nil })
		}, tenant.ErrExists},
	})
	if _, err := f.b.GetUserByUPN(f.ctx, tenantA, "carol@a.example"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("a refused CreateUser indexed its UPN: %v", err)
	}
	if got, _ := f.b.GetUser(f.ctx, tenantA, alice.ID); !same(got, alice) {
		t.Errorf("refused updates changed the user: %+v", got)
	}

	// Renaming moves the UPN index; the old UPN is free.
	f.must("UpdateUser", f.b.UpdateUser(f.ctx, tenantA, alice.ID, func(u *tenant.User) error {
		u.UserPrincipalName, u.DisplayName, u.AccountEnabled, u.PasswordHash = "alice.smith@a.example", "Alice Smith", false, ""
		return nil
	}))
	alice.UserPrincipalName, alice.DisplayName, alice.AccountEnabled, alice.PasswordHash = "alice.smith@a.example", "Alice Smith", false, ""
	got, err = f.b.GetUserByUPN(f.ctx, tenantA, "Alice.Smith@a.example")
	f.must("GetUserByUPN after rename", err)
	wantSame(t, "GetUserByUPN after rename", got, alice)
	if _, err := f.b.GetUserByUPN(f.ctx, tenantA, "alice@a.example"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetUserByUPN of the old UPN: %v; want ErrNotFound", err)
	}
	newAlice := newUser(tenantA, "alice@a.example")
	newAlice.ID = objectID("user", "another alice")
	f.must("CreateUser with a freed UPN", f.b.CreateUser(f.ctx, newAlice))
	// A change of case only keeps the user findable.
	f.must("UpdateUser changing case", f.b.UpdateUser(f.ctx, tenantA, bob.ID, func(u *tenant.User) error {
		u.UserPrincipalName = "Bob@A.example"
		return nil
	}))
	if got, err := f.b.GetUserByUPN(f.ctx, tenantA, "bob@a.example"); err != nil || got.UserPrincipalName != "Bob@A.example" {
		t.Errorf("GetUserByUPN after a change of case = %+v, %v", got, err)
	}

	f.must("DeleteUser", f.b.DeleteUser(f.ctx, tenantA, bob.ID))
	if _, err := f.b.GetUser(f.ctx, tenantA, bob.ID); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetUser after delete: %v; want ErrNotFound", err)
	}
	if _, err := f.b.GetUserByUPN(f.ctx, tenantA, "bob@a.example"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetUserByUPN after delete: %v; want ErrNotFound", err)
	}
	newBob := newUser(tenantA, "bob@a.example")
	newBob.ID = objectID("user", "another bob")
	f.must("CreateUser with a deleted user's UPN", f.b.CreateUser(f.ctx, newBob))
}

func testBulk(t *testing.T, f *fixture) {
	f.tenant(tenantA, "a.example")
	b, c := newTenant(tenantB, "b.example"), newTenant(tenantC, "c.example")
	api := newApp(appAPI, tenantB, "api://bulk")
	multi := multiTenant(newApp(appMulti, tenantC, "api://bulk-multi"))
	inA := newApp(appClient, tenantA)
	apps := []tenant.Application{api, multi, inA}
	homes := []tenant.ServicePrincipal{newSP(tenantB, api), newSP(tenantC, multi), newSP(tenantA, inA)}
	f.must("CreateBulk", f.b.CreateBulk(f.ctx, []tenant.Tenant{b, c}, apps, homes))
	for _, tn := range []tenant.Tenant{b, c} {
		got, err := f.b.GetTenantByDomain(f.ctx, tn.Domains[0])
		if err != nil || !same(got, tn) {
			t.Errorf("GetTenantByDomain(%s) after CreateBulk = %+v, %v", tn.Domains[0], got, err)
		}
	}
	for i, app := range apps {
		got, err := f.b.GetApplication(f.ctx, app.AppID)
		if err != nil || !same(got, app) {
			t.Errorf("GetApplication(%s) after CreateBulk = %+v, %v", app.AppID, got, err)
		}
		sp, err := f.b.GetServicePrincipal(f.ctx, app.HomeTenantID, app.AppID)
		if err != nil || !same(sp, homes[i]) {
			t.Errorf("home service principal of %s after CreateBulk = %+v, %v", app.AppID, sp, err)
		}
	}
	if _, got, err := f.b.FindServicePrincipal(f.ctx, tenantB, "api://bulk"); err != nil || got.AppID != appAPI {
		t.Errorf("FindServicePrincipal after CreateBulk = %s, %v", got.AppID, err)
	}

	// A batch is all or nothing.
	d := newTenant(objectID("tenant", "d"), "d.example")
	dApp := newApp(objectID("app", "d"), d.ID)
	runErrCases(t, []errCase{
		{"a taken domain", func() error {
			return f.b.CreateBulk(f.ctx, []tenant.Tenant{d, newTenant(objectID("tenant", "e"), "A.example")}, nil, nil)
		}, tenant.ErrExists},
		{"a taken appId", func() error {
			return f.b.CreateBulk(f.ctx, []tenant.Tenant{d}, []tenant.Application{dApp, newApp(appAPI, d.ID)},
				[]tenant.ServicePrincipal{newSP(d.ID, dApp), newSP(d.ID, newApp(appAPI, d.ID))})
		}, tenant.ErrExists},
		{"a URI conflict within the batch", func() error {
			one, two := newApp(objectID("app", "one"), d.ID, "api://same"), newApp(objectID("app", "two"), d.ID, "api://SAME")
			return f.b.CreateBulk(f.ctx, []tenant.Tenant{d}, []tenant.Application{one, two},
				[]tenant.ServicePrincipal{newSP(d.ID, one), newSP(d.ID, two)})
		}, tenant.ErrExists},
		{"an app in a missing tenant", func() error {
			return f.b.CreateBulk(f.ctx, nil, []tenant.Application{dApp}, []tenant.ServicePrincipal{newSP(d.ID, dApp)})
		}, tenant.ErrNotFound},
		{"fewer home service principals than apps", func() error {
			return f.b.CreateBulk(f.ctx, []tenant.Tenant{d}, []tenant.Application{dApp}, nil)
		}, tenant.ErrInvalid},
	})
	if _, err := f.b.GetTenant(f.ctx, d.ID); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("a refused CreateBulk stored a tenant of the batch: %v", err)
	}
	if _, err := f.b.GetApplication(f.ctx, dApp.AppID); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("a refused CreateBulk stored an application of the batch: %v", err)
	}
}

// idsOf lists the ids of items, sorted.
func idsOf[T any](items []T, id func(T) string) []string {
	var out []string
	for _, it := range byID(items, id) {
		out = append(out, id(it))
	}
	return out
}

// equalIDs reports whether sorted ids are want (in any order).
func equalIDs(ids []string, want ...string) bool {
	w := byID(want, func(s string) string { return s })
	if len(ids) != len(w) {
		return false
	}
	for i := range ids {
		if ids[i] != w[i] {
			return false
		}
	}
	return true
}
