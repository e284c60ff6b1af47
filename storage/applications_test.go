package storage

import (
	"errors"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// fullApplication sets every field of an Application, nested ones included,
// to a non-zero value, so that a round trip shows any field the records
// forget.
func fullApplication(appID, home string) tenant.Application {
	v2 := 2
	return tenant.Application{
		ID: objectID("app", appID), AppID: appID, HomeTenantID: home,
		DisplayName: "Orders API", SignInAudience: tenant.AudienceMultipleOrgs,
		IdentifierURIs: []string{"api://orders", "https://orders.contoso.com/api/"},
		API: tenant.API{
			RequestedAccessTokenVersion: &v2,
			OAuth2PermissionScopes: []tenant.PermissionScope{{
				ID: objectID("scope", "read"), Value: "Orders.Read", Type: tenant.ScopeTypeUser,
				AdminConsentDisplayName: "Read orders", AdminConsentDescription: "Lets the app read all orders",
				UserConsentDisplayName: "Read your orders", UserConsentDescription: "Lets the app read your orders",
				IsEnabled: true,
			}, {
				ID: objectID("scope", "admin"), Value: "Orders.Admin", Type: tenant.ScopeTypeAdmin,
				AdminConsentDisplayName: "Administer orders", AdminConsentDescription: "Everything",
				UserConsentDisplayName: "-", UserConsentDescription: "-",
			}},
		},
		AppRoles: []tenant.AppRole{{
			ID: objectID("role", "write"), Value: "Orders.Write.All", DisplayName: "Write all orders",
			Description: "Daemons that write orders", AllowedMemberTypes: []string{tenant.MemberTypeApplication, tenant.MemberTypeUser},
			IsEnabled: true,
		}},
		RequiredResourceAccess: []tenant.RequiredResourceAccess{{
			ResourceAppID: appBilling,
			ResourceAccess: []tenant.ResourceAccess{
				{ID: objectID("billing", "role"), Type: tenant.AccessRole},
				{ID: objectID("billing", "scope"), Type: tenant.AccessScope},
			},
		}},
		PasswordCredentials: []tenant.PasswordCredential{{
			KeyID: objectID("secret"), DisplayName: "ci", Hint: "abc",
			StartDateTime: t0, EndDateTime: t0.Add(180 * 24 * time.Hour),
			Salt: []byte("0123456789abcdef"), Hash: []byte("0123456789abcdef0123456789abcdef"),
		}, {
			KeyID: objectID("secret2"), DisplayName: "forever", Hint: "xyz",
			StartDateTime: t0.Add(time.Nanosecond), // sub-second precision survives
			Salt:          []byte{0, 1, 2}, Hash: []byte{0xff, 0},
		}},
		KeyCredentials: []tenant.KeyCredential{{
			KeyID: objectID("cert"), DisplayName: "CN=orders", Type: "AsymmetricX509Cert", Usage: "Verify",
			StartDateTime: t0, EndDateTime: t0.Add(365 * 24 * time.Hour),
			CustomKeyIdentifier: []byte{1, 2, 3, 4}, Thumbprint256: []byte{5, 6, 7, 8},
			Key: []byte{0x30, 0x82, 0x01, 0x0a},
		}},
		FederatedIdentityCredentials: []tenant.FederatedIdentityCredential{{
			ID: objectID("fic"), Name: "main-branch", Issuer: "https://token.actions.githubusercontent.com",
			Subject: "repo:contoso/orders:ref:refs/heads/main", Audiences: []string{"api://AzureADTokenExchange"},
			Description: "deployments from main",
		}},
		IsFallbackPublicClient: true,
		Web:                    tenant.RedirectURIs{RedirectURIs: []string{"https://orders.contoso.com/signin-oidc"}},
		SPA:                    tenant.RedirectURIs{RedirectURIs: []string{}},
		PublicClient:           tenant.RedirectURIs{RedirectURIs: []string{"http://localhost", "msalorders://auth"}},
		CreatedDateTime:        t0,
		Owners:                 []string{objectID("user", "alice"), objectID("sp", "provisioner")},
	}
}

func TestApplicationRoundTrip(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.tenant(tenantA, "contoso.onmicrosoft.com", "contoso.com")
	e.tenant(tenantB, "fabrikam.onmicrosoft.com")
	want := fullApplication(appOrders, tenantA)
	sp := newSP(tenantA, want)
	sp.AppRoleAssignmentRequired = true
	if err := e.db.CreateApplication(ctx, want, sp); err != nil {
		t.Fatal(err)
	}
	guest := e.sp(tenantB, appOrders)

	check := func(what string, got tenant.Application) {
		t.Helper()
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%s = %+v;\nwant %+v", what, got, want)
		}
	}
	got, err := e.db.GetApplication(ctx, appOrders)
	if err != nil {
		t.Fatal(err)
	}
	check("GetApplication", got)
	list, err := e.db.ListApplications(ctx, tenantA)
	if err != nil || len(list) != 1 {
		t.Fatalf("ListApplications(A) = %v, %v; want one application", list, err)
	}
	check("ListApplications[0]", list[0])
	gotSP, gotApp, err := e.db.FindServicePrincipal(ctx, tenantB, "https://orders.contoso.com/api")
	if err != nil {
		t.Fatal(err)
	}
	check("FindServicePrincipal app", gotApp)
	if !reflect.DeepEqual(gotSP, guest) {
		t.Errorf("FindServicePrincipal sp = %+v; want %+v", gotSP, guest)
	}
	if homeSP, err := e.db.GetServicePrincipal(ctx, tenantA, appOrders); err != nil || !reflect.DeepEqual(homeSP, sp) {
		t.Errorf("GetServicePrincipal(A) = %+v, %v; want %+v", homeSP, err, sp)
	}

	// Secrets still verify after the round trip, and the token version
	// pointer is a copy.
	*got.API.RequestedAccessTokenVersion = 1
	got.PasswordCredentials[0].Salt[0] = 'X'
	again, _ := e.db.GetApplication(ctx, appOrders)
	check("GetApplication after mutating an earlier result", again)
	if again.TokenVersion() != 2 {
		t.Errorf("TokenVersion() = %d; want 2", again.TokenVersion())
	}
}

// TestApplicationEmptySlices: a minimal application comes back with empty,
// not nil, lists (Graph JSON shows [] for them).
func TestApplicationEmptySlices(t *testing.T) {
	e := newEnv(t)
	e.tenant(tenantA, "contoso.onmicrosoft.com")
	app := newApp(appOrders, tenantA)
	app.IdentifierURIs, app.AppRoles, app.PasswordCredentials = nil, nil, nil
	e.app(app)
	got, err := e.db.GetApplication(t.Context(), appOrders)
	if err != nil {
		t.Fatal(err)
	}
	if got.IdentifierURIs == nil || got.AppRoles == nil || got.PasswordCredentials == nil ||
		got.KeyCredentials == nil || got.RequiredResourceAccess == nil || got.API.OAuth2PermissionScopes == nil {
		t.Errorf("GetApplication = %+v; want empty, non-nil lists", got)
	}
	if got.API.RequestedAccessTokenVersion != nil {
		t.Errorf("RequestedAccessTokenVersion = %v; want nil", *got.API.RequestedAccessTokenVersion)
	}
}

func TestCreateApplicationErrors(t *testing.T) {
	e := newEnv(t)
	e.tenant(tenantA, "contoso.onmicrosoft.com", "contoso.com")
	e.tenant(tenantB, "fabrikam.onmicrosoft.com")
	e.app(newApp(appOrders, tenantA, "api://orders", "https://contoso.com/orders/"))
	e.app(multiTenant(newApp(appBilling, tenantB, "api://billing")))

	const other = "0e000000-0000-4000-8000-000000000005"
	for _, tc := range []struct {
		name string
		app  tenant.Application
		sp   func(tenant.Application) tenant.ServicePrincipal // default newSP(home)
		want error
	}{
		{"appId taken", newApp(appOrders, tenantB), nil, tenant.ErrExists},
		{"appId taken, other home", newApp(appOrders, tenantA), nil, tenant.ErrExists},
		{"home tenant missing", newApp(other, tenantC), nil, tenant.ErrNotFound},
		{"same URI, same tenant", newApp(other, tenantA, "api://orders"), nil, tenant.ErrExists},
		{"same URI in another case", newApp(other, tenantA, "API://Orders"), nil, tenant.ErrExists},
		{"same URI with trailing slash", newApp(other, tenantA, "api://orders/"), nil, tenant.ErrExists},
		{"same URI without trailing slash", newApp(other, tenantA, "https://contoso.com/orders"), nil, tenant.ErrExists},
		{"URI of a single-tenant app, from a multi-tenant app", multiTenant(newApp(other, tenantB, "api://orders")), nil, tenant.ErrExists},
		{"URI of a multi-tenant app, from another tenant", newApp(other, tenantA, "api://billing"), nil, tenant.ErrExists},
		{"URI of a single-tenant app in another tenant", newApp(other, tenantB, "api://orders"), nil, nil},
		{"empty appId", newApp("", tenantA), nil, tenant.ErrInvalid},
		{"empty home", newApp(other, ""), nil, tenant.ErrInvalid},
		{"zero byte in URI", newApp(other, tenantA, "api://a\x00b"), nil, tenant.ErrInvalid},
		{"home SP of another app", newApp(other, tenantA), func(a tenant.Application) tenant.ServicePrincipal {
			sp := newSP(tenantA, a)
			sp.AppID = appBilling
			return sp
		}, tenant.ErrInvalid},
		{"home SP in another tenant", newApp(other, tenantA), func(a tenant.Application) tenant.ServicePrincipal {
			return newSP(tenantB, a)
		}, tenant.ErrInvalid},
		{"home SP id taken", newApp(other, tenantA), func(a tenant.Application) tenant.ServicePrincipal {
			sp := newSP(tenantA, a)
			sp.ID = spIDOf(tenantA, appOrders)
			return sp
		}, tenant.ErrExists},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp := newSP(tc.app.HomeTenantID, tc.app)
			if tc.sp != nil {
				sp = tc.sp(tc.app)
			}
			err := e.db.CreateApplication(t.Context(), tc.app, sp)
			wantErr(t, "CreateApplication", err, tc.want)
			if err != nil && tc.app.AppID == other {
				if _, err := e.db.GetApplication(t.Context(), other); !errors.Is(err, tenant.ErrNotFound) {
					t.Errorf("GetApplication after refused create: got %v; want ErrNotFound", err)
				}
			}
			if err == nil {
				if err := e.db.DeleteApplication(t.Context(), tc.app.AppID); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func TestUpdateApplication(t *testing.T) {
	errBoom := errors.New("boom")
	const other = "0e000000-0000-4000-8000-000000000005"
	for _, tc := range []struct {
		name     string
		update   func(*tenant.Application) error
		want     error
		wantURIs []string // URIs that find the orders app from tenant A afterwards
		lostURIs []string // URIs that no longer find it
	}{
		{"rename", func(a *tenant.Application) error { a.DisplayName = "Orders v2"; return nil }, nil,
			[]string{"api://orders", "api://orders-legacy"}, nil},
		{"add URI", func(a *tenant.Application) error {
			a.IdentifierURIs = append(a.IdentifierURIs, "api://orders-next/")
			return nil
		}, nil, []string{"api://orders", "api://orders-legacy", "API://orders-next"}, nil},
		{"drop URI", func(a *tenant.Application) error { a.IdentifierURIs = a.IdentifierURIs[:1]; return nil }, nil,
			[]string{"api://orders"}, []string{"api://orders-legacy"}},
		{"change URI case only", func(a *tenant.Application) error {
			a.IdentifierURIs = []string{"API://ORDERS", "api://orders-legacy"}
			return nil
		}, nil,
			[]string{"api://orders", "api://orders-legacy"}, nil},
		{"clear URIs", func(a *tenant.Application) error { a.IdentifierURIs = nil; return nil }, nil,
			nil, []string{"api://orders", "api://orders-legacy"}},
		{"URI of another app in the tenant", func(a *tenant.Application) error {
			a.IdentifierURIs = append(a.IdentifierURIs, "api://shipping")
			return nil
		}, tenant.ErrExists, []string{"api://orders", "api://orders-legacy"}, []string{"api://shipping"}},
		{"multi-tenant while a single-tenant app of B shares a URI", func(a *tenant.Application) error {
			a.SignInAudience = tenant.AudienceMultipleOrgs
			return nil
		}, tenant.ErrExists, []string{"api://orders", "api://orders-legacy"}, nil},
		{"change appId", func(a *tenant.Application) error { a.AppID = other; return nil }, tenant.ErrInvalid,
			[]string{"api://orders", "api://orders-legacy"}, nil},
		{"change home", func(a *tenant.Application) error { a.HomeTenantID = tenantB; return nil }, tenant.ErrInvalid,
			[]string{"api://orders", "api://orders-legacy"}, nil},
		{"change object id", func(a *tenant.Application) error { a.ID = other; return nil }, tenant.ErrInvalid,
			[]string{"api://orders", "api://orders-legacy"}, nil},
		{"updater error aborts", func(a *tenant.Application) error {
			a.DisplayName = "mutated"
			a.IdentifierURIs[0] = "api://mutated"
			return errBoom
		}, errBoom, []string{"api://orders", "api://orders-legacy"}, []string{"api://mutated"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := t.Context()
			e.tenant(tenantA, "contoso.onmicrosoft.com")
			e.tenant(tenantB, "fabrikam.onmicrosoft.com")
			e.app(newApp(appOrders, tenantA, "api://orders", "api://orders-legacy"))
			e.app(newApp(appBilling, tenantA, "api://shipping"))
			e.app(newApp(appOther, tenantB, "api://orders")) // allowed: both single-tenant, different homes
			before, _ := e.db.GetApplication(ctx, appOrders)

			var seen tenant.Application
			err := e.db.UpdateApplication(ctx, appOrders, func(a *tenant.Application) error {
				err := tc.update(a)
				seen = *a
				return err
			})
			wantErr(t, "UpdateApplication", err, tc.want)
			got, gerr := e.db.GetApplication(ctx, appOrders)
			if gerr != nil {
				t.Fatal(gerr)
			}
			switch {
			case tc.want == nil && !reflect.DeepEqual(got, fromApplication(seen).toApplication()):
				t.Errorf("after update = %+v; want %+v", got, seen)
			case tc.want != nil && !reflect.DeepEqual(got, before):
				t.Errorf("after failed update = %+v; want unchanged %+v", got, before)
			}
			for _, u := range tc.wantURIs {
				if _, app, err := e.db.FindServicePrincipal(ctx, tenantA, u); err != nil || app.AppID != appOrders {
					t.Errorf("FindServicePrincipal(A, %s) = %s, %v; want orders", u, app.AppID, err)
				}
			}
			for _, u := range tc.lostURIs {
				if _, app, err := e.db.FindServicePrincipal(ctx, tenantA, u); err == nil && app.AppID == appOrders {
					t.Errorf("FindServicePrincipal(A, %s) found orders; want it gone", u)
				}
			}
			// B's own api://orders is untouched whatever happens in A.
			if _, app, err := e.db.FindServicePrincipal(ctx, tenantB, "api://orders"); err != nil || app.AppID != appOther {
				t.Errorf("FindServicePrincipal(B, api://orders) = %s, %v; want B's app", app.AppID, err)
			}
		})
	}
}

// TestUpdateApplicationURIsReachGuestTenants: URIs added to a multi-tenant
// application become resolvable in every tenant with a service principal,
// and dropped ones stop resolving there.
func TestUpdateApplicationURIsReachGuestTenants(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.tenant(tenantA, "contoso.onmicrosoft.com")
	e.tenant(tenantB, "fabrikam.onmicrosoft.com")
	e.tenant(tenantC, "wingtip.onmicrosoft.com")
	e.app(multiTenant(newApp(appOrders, tenantA, "api://orders")))
	e.sp(tenantB, appOrders)
	err := e.db.UpdateApplication(ctx, appOrders, func(a *tenant.Application) error {
		a.IdentifierURIs = []string{"api://orders-v2"}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		tenantID, uri string
		want          error
	}{
		{tenantA, "api://orders-v2", nil},
		{tenantB, "api://orders-v2", nil},
		{tenantC, "api://orders-v2", tenant.ErrNotFound},
		{tenantA, "api://orders", tenant.ErrNotFound},
		{tenantB, "api://orders", tenant.ErrNotFound},
	} {
		_, _, err := e.db.FindServicePrincipal(ctx, tc.tenantID, tc.uri)
		wantErr(t, "FindServicePrincipal("+tc.tenantID[:8]+", "+tc.uri+")", err, tc.want)
	}
}

func TestDeleteApplicationCascade(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.tenant(tenantA, "contoso.onmicrosoft.com")
	e.tenant(tenantB, "fabrikam.onmicrosoft.com")
	ordersA := e.app(multiTenant(newApp(appOrders, tenantA, "api://orders")))
	ordersB := e.sp(tenantB, appOrders)
	clientA := e.app(multiTenant(newApp(appClient, tenantA)))
	clientB := e.sp(tenantB, appClient)
	billingB := e.app(newApp(appBilling, tenantB, "api://billing"))
	userB := e.user(tenantB, "bob@fabrikam.onmicrosoft.com")
	role := objectID("role")

	// Grants and assignments naming an orders SP as resource or as client.
	e.assign(tenantA, clientA.ID, consent.PrincipalServicePrincipal, ordersA.ID, role)
	e.assign(tenantB, clientB.ID, consent.PrincipalServicePrincipal, ordersB.ID, role)
	e.assign(tenantB, ordersB.ID, consent.PrincipalServicePrincipal, billingB.ID, role)
	e.assign(tenantB, userB.ID, consent.PrincipalUser, ordersB.ID, role)
	e.grant(tenantB, clientB.ID, ordersB.ID, consent.AllPrincipals, "", "read")
	e.grant(tenantB, ordersB.ID, billingB.ID, consent.Principal, userB.ID, "read")
	// Unrelated ones.
	keptA := e.assign(tenantB, clientB.ID, consent.PrincipalServicePrincipal, billingB.ID, role)
	keptG := e.grant(tenantB, clientB.ID, billingB.ID, consent.AllPrincipals, "", "read")

	if err := e.db.DeleteApplication(ctx, appOrders); err != nil {
		t.Fatalf("DeleteApplication: %v", err)
	}
	if err := e.db.DeleteApplication(ctx, appOrders); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("second DeleteApplication: got %v; want ErrNotFound", err)
	}
	if _, err := e.db.GetApplication(ctx, appOrders); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetApplication after delete: got %v; want ErrNotFound", err)
	}
	for _, tid := range []string{tenantA, tenantB} {
		if _, err := e.db.GetServicePrincipal(ctx, tid, appOrders); !errors.Is(err, tenant.ErrNotFound) {
			t.Errorf("GetServicePrincipal(%s) after delete: got %v; want ErrNotFound", tid[:8], err)
		}
		if _, _, err := e.db.FindServicePrincipal(ctx, tid, "api://orders"); !errors.Is(err, tenant.ErrNotFound) {
			t.Errorf("FindServicePrincipal(%s, api://orders) after delete: got %v; want ErrNotFound", tid[:8], err)
		}
	}
	if as, _ := e.db.ListAppRoleAssignments(ctx, tenantA); len(as) != 0 {
		t.Errorf("assignments in A = %+v; want none", as)
	}
	if as, _ := e.db.ListAppRoleAssignments(ctx, tenantB); !reflect.DeepEqual(as, []consent.AppRoleAssignment{keptA}) {
		t.Errorf("assignments in B = %+v; want [%+v]", as, keptA)
	}
	if gs, _ := e.db.ListPermissionGrants(ctx, tenantB); !reflect.DeepEqual(gs, []consent.PermissionGrant{keptG}) {
		t.Errorf("grants in B = %+v; want [%+v]", gs, keptG)
	}
	// The URI is free again, even for a multi-tenant app.
	e.app(multiTenant(newApp(appOther, tenantB, "api://orders")))
}

func TestListApplications(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.tenant(tenantA, "contoso.onmicrosoft.com")
	e.tenant(tenantB, "fabrikam.onmicrosoft.com")
	e.app(newApp(appBilling, tenantA))
	e.app(newApp(appOrders, tenantA))
	e.app(multiTenant(newApp(appClient, tenantB)))
	e.sp(tenantA, appClient) // a guest SP does not make the app listed in A

	for _, tc := range []struct {
		tenantID string
		want     []string
		wantErr  error
	}{
		{tenantA, []string{appOrders, appBilling}, nil},
		{tenantB, []string{appClient}, nil},
		{tenantC, nil, tenant.ErrNotFound},
	} {
		apps, err := e.db.ListApplications(ctx, tc.tenantID)
		wantErr(t, "ListApplications", err, tc.wantErr)
		var got []string
		for _, a := range apps {
			got = append(got, a.AppID)
		}
		if !slices.Equal(got, tc.want) {
			t.Errorf("ListApplications(%s) = %v; want %v", tc.tenantID[:8], got, tc.want)
		}
	}
}
