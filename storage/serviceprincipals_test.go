package storage

import (
	"errors"
	"reflect"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

func TestServicePrincipalCRUD(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.tenant(tenantA, "contoso.onmicrosoft.com")
	e.tenant(tenantB, "fabrikam.onmicrosoft.com")
	home := e.app(multiTenant(newApp(appOrders, tenantA, "api://orders")))
	e.app(newApp(appBilling, tenantB))
	alice := e.user(tenantA, "alice@contoso.onmicrosoft.com")

	app, _ := e.db.GetApplication(ctx, appOrders)
	guest := newSP(tenantB, app)
	for _, tc := range []struct {
		name string
		sp   tenant.ServicePrincipal
		want error
	}{
		{"guest", guest, nil},
		{"again", guest, tenant.ErrExists},
		{"again with another object id", func() tenant.ServicePrincipal { s := guest; s.ID = objectID("x"); return s }(), tenant.ErrExists},
		{"object id of a user", func() tenant.ServicePrincipal {
			s := newSP(tenantA, newApp(appBilling, tenantB))
			s.ID = alice.ID
			return s
		}(), tenant.ErrExists},
		{"object id of another SP", func() tenant.ServicePrincipal {
			s := newSP(tenantA, newApp(appBilling, tenantB))
			s.ID = home.ID
			return s
		}(), tenant.ErrExists},
		{"tenant missing", newSP(tenantC, app), tenant.ErrNotFound},
		{"application missing", newSP(tenantB, newApp(appClient, tenantA)), tenant.ErrNotFound},
		{"empty id", func() tenant.ServicePrincipal { s := newSP(tenantC, app); s.ID = ""; return s }(), tenant.ErrInvalid},
	} {
		t.Run("create/"+tc.name, func(t *testing.T) {
			wantErr(t, "CreateServicePrincipal", e.db.CreateServicePrincipal(ctx, tc.sp), tc.want)
		})
	}

	got, err := e.db.GetServicePrincipal(ctx, tenantB, appOrders)
	if err != nil || !reflect.DeepEqual(got, guest) {
		t.Errorf("GetServicePrincipal(B, orders) = %+v, %v; want %+v", got, err, guest)
	}
	list, err := e.db.ListServicePrincipals(ctx, tenantB)
	if err != nil || len(list) != 2 {
		t.Errorf("ListServicePrincipals(B) = %+v, %v; want billing and orders", list, err)
	}
	if _, err := e.db.GetServicePrincipal(ctx, tenantB, appClient); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetServicePrincipal(B, client) = %v; want ErrNotFound", err)
	}
	if _, err := e.db.ListServicePrincipals(ctx, tenantC); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("ListServicePrincipals(C) = %v; want ErrNotFound", err)
	}

	errBoom := errors.New("boom")
	for _, tc := range []struct {
		name   string
		update func(*tenant.ServicePrincipal) error
		want   error
	}{
		{"disable", func(sp *tenant.ServicePrincipal) error { sp.AccountEnabled = false; return nil }, nil},
		{"require assignment", func(sp *tenant.ServicePrincipal) error { sp.AppRoleAssignmentRequired = true; return nil }, nil},
		{"owners", func(sp *tenant.ServicePrincipal) error { sp.Owners = []string{alice.ID, home.ID}; return nil }, nil},
		{"change id", func(sp *tenant.ServicePrincipal) error { sp.ID = objectID("other"); return nil }, tenant.ErrInvalid},
		{"change appId", func(sp *tenant.ServicePrincipal) error { sp.AppID = appBilling; return nil }, tenant.ErrInvalid},
		{"change tenant", func(sp *tenant.ServicePrincipal) error { sp.TenantID = tenantA; return nil }, tenant.ErrInvalid},
		{"updater error aborts", func(sp *tenant.ServicePrincipal) error { sp.DisplayName = "mutated"; return errBoom }, errBoom},
	} {
		t.Run("update/"+tc.name, func(t *testing.T) {
			before, _ := e.db.GetServicePrincipal(ctx, tenantB, appOrders)
			var want tenant.ServicePrincipal
			err := e.db.UpdateServicePrincipal(ctx, tenantB, appOrders, func(sp *tenant.ServicePrincipal) error {
				err := tc.update(sp)
				want = *sp
				return err
			})
			wantErr(t, "UpdateServicePrincipal", err, tc.want)
			if tc.want != nil {
				want = before
			}
			if got, _ := e.db.GetServicePrincipal(ctx, tenantB, appOrders); !reflect.DeepEqual(got, want) {
				t.Errorf("after update = %+v; want %+v", got, want)
			}
		})
	}
	if err := e.db.UpdateServicePrincipal(ctx, tenantB, appClient, func(*tenant.ServicePrincipal) error { return nil }); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("UpdateServicePrincipal(missing) = %v; want ErrNotFound", err)
	}

	if err := e.db.DeleteServicePrincipal(ctx, tenantB, appOrders); err != nil {
		t.Fatalf("DeleteServicePrincipal: %v", err)
	}
	if err := e.db.DeleteServicePrincipal(ctx, tenantB, appOrders); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("second DeleteServicePrincipal = %v; want ErrNotFound", err)
	}
	if _, err := e.db.GetApplication(ctx, appOrders); err != nil {
		t.Errorf("GetApplication after deleting a service principal: %v", err)
	}
	// It can be instantiated again.
	e.sp(tenantB, appOrders)
}

func TestDeleteServicePrincipalCascade(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.tenant(tenantA, "contoso.onmicrosoft.com")
	orders := e.app(newApp(appOrders, tenantA, "api://orders"))
	client := e.app(newApp(appClient, tenantA))
	billing := e.app(newApp(appBilling, tenantA))
	alice := e.user(tenantA, "alice@contoso.onmicrosoft.com")
	role := objectID("role")

	e.assign(tenantA, client.ID, consent.PrincipalServicePrincipal, orders.ID, role) // client is principal
	e.assign(tenantA, alice.ID, consent.PrincipalUser, client.ID, role)              // client is resource
	e.grant(tenantA, client.ID, orders.ID, consent.AllPrincipals, "", "read")        // client is client
	e.grant(tenantA, billing.ID, client.ID, consent.Principal, alice.ID, "read")     // client is resource
	keptA := e.assign(tenantA, billing.ID, consent.PrincipalServicePrincipal, orders.ID, role)
	keptG := e.grant(tenantA, billing.ID, orders.ID, consent.Principal, alice.ID, "read")

	if err := e.db.DeleteServicePrincipal(ctx, tenantA, appClient); err != nil {
		t.Fatal(err)
	}
	if as, _ := e.db.ListAppRoleAssignments(ctx, tenantA); !reflect.DeepEqual(as, []consent.AppRoleAssignment{keptA}) {
		t.Errorf("assignments = %+v; want [%+v]", as, keptA)
	}
	if gs, _ := e.db.ListPermissionGrants(ctx, tenantA); !reflect.DeepEqual(gs, []consent.PermissionGrant{keptG}) {
		t.Errorf("grants = %+v; want [%+v]", gs, keptG)
	}
	if as, _ := e.db.AppRoleAssignmentsOf(ctx, tenantA, client.ID, orders.ID); len(as) != 0 {
		t.Errorf("AppRoleAssignmentsOf(client, orders) = %+v; want none", as)
	}
	if gs, _ := e.db.PermissionGrantsOf(ctx, tenantA, client.ID, orders.ID); len(gs) != 0 {
		t.Errorf("PermissionGrantsOf(client, orders) = %+v; want none", gs)
	}
}

func TestFindServicePrincipal(t *testing.T) {
	e := newEnv(t)
	e.tenant(tenantA, "contoso.onmicrosoft.com", "contoso.com")
	e.tenant(tenantB, "fabrikam.onmicrosoft.com")
	e.tenant(tenantC, "wingtip.onmicrosoft.com")
	// orders: multi-tenant, homed in A, with a service principal in B but not C.
	e.app(multiTenant(newApp(appOrders, tenantA, "api://orders", "https://contoso.com/orders/")))
	e.sp(tenantB, appOrders)
	// billing (A) and other (B): two single-tenant apps sharing a URI.
	e.app(newApp(appBilling, tenantA, "api://billing"))
	e.app(newApp(appOther, tenantB, "API://Billing/"))
	// client: single-tenant in A whose service principal was removed.
	e.app(newApp(appClient, tenantA, "api://client"))
	if err := e.db.DeleteServicePrincipal(t.Context(), tenantA, appClient); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct {
		name      string
		tenantID  string
		query     string
		wantApp   string // "" when not found
		wantNotFd bool
	}{
		{"appId", tenantA, appOrders, appOrders, false},
		{"appId upper case", tenantA, strings.ToUpper(appOrders), appOrders, false},
		{"appId with spaces", tenantA, "  " + appOrders + "\t", appOrders, false},
		{"URI", tenantA, "api://orders", appOrders, false},
		{"URI upper case", tenantA, "API://ORDERS", appOrders, false},
		{"URI with trailing slash", tenantA, "api://orders/", appOrders, false},
		{"URI stored with slash, asked without", tenantA, "https://contoso.com/orders", appOrders, false},
		{"URI stored with slash, asked with", tenantA, "https://CONTOSO.com/orders/", appOrders, false},
		{"URI with two trailing slashes", tenantA, "api://orders//", "", true},
		{"multi-tenant app from guest tenant by appId", tenantB, appOrders, appOrders, false},
		{"multi-tenant app from guest tenant by URI", tenantB, "api://orders", appOrders, false},
		{"multi-tenant app without SP in tenant", tenantC, "api://orders", "", true},
		{"multi-tenant app without SP in tenant by appId", tenantC, appOrders, "", true},
		{"shared URI from A", tenantA, "api://billing", appBilling, false},
		{"shared URI from B", tenantB, "api://billing", appOther, false},
		{"shared URI from C", tenantC, "api://billing", "", true},
		{"single-tenant app from another tenant by appId", tenantB, appBilling, "", true},
		{"app whose SP was deleted, by appId", tenantA, appClient, "", true},
		{"app whose SP was deleted, by URI", tenantA, "api://client", "", true},
		{"unknown URI", tenantA, "api://nope", "", true},
		{"unknown appId", tenantA, "0f000000-0000-4000-8000-000000000009", "", true},
		{"URI prefix of a real one", tenantA, "api://order", "", true},
		{"empty name", tenantA, "", "", true},
		{"zero byte", tenantA, "api://orders\x00" + appOrders, "", true},
		{"missing tenant", "dddddddd-0000-4000-8000-000000000004", "api://orders", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			sp, app, err := e.db.FindServicePrincipal(t.Context(), tc.tenantID, tc.query)
			if tc.wantNotFd {
				if !errors.Is(err, tenant.ErrNotFound) {
					t.Errorf("FindServicePrincipal(%s, %q) = %s, %v; want ErrNotFound", tc.tenantID[:8], tc.query, app.AppID, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("FindServicePrincipal(%s, %q): %v", tc.tenantID[:8], tc.query, err)
			}
			if app.AppID != tc.wantApp || sp.AppID != tc.wantApp || sp.TenantID != tc.tenantID {
				t.Errorf("FindServicePrincipal(%s, %q) = sp %s in %s, app %s; want app %s in %s",
					tc.tenantID[:8], tc.query, sp.AppID, sp.TenantID, app.AppID, tc.wantApp, tc.tenantID)
			}
			if want := spIDOf(tc.tenantID, tc.wantApp); sp.ID != want {
				t.Errorf("sp.ID = %s; want %s", sp.ID, want)
			}
		})
	}
}

// TestServicePrincipalNamesUniquePerTenant: a URI names one application per
// tenant. The Directory never instantiates a single-tenant app elsewhere,
// but the store refuses it too when the URI is taken there.
func TestServicePrincipalNamesUniquePerTenant(t *testing.T) {
	e := newEnv(t)
	e.tenant(tenantA, "contoso.onmicrosoft.com")
	e.tenant(tenantB, "fabrikam.onmicrosoft.com")
	e.app(newApp(appBilling, tenantA, "api://billing"))
	e.app(newApp(appOther, tenantB, "api://billing"))
	app, _ := e.db.GetApplication(t.Context(), appOther)
	err := e.db.CreateServicePrincipal(t.Context(), newSP(tenantA, app))
	wantErr(t, "CreateServicePrincipal(B's app in A, same URI)", err, tenant.ErrExists)
	if _, got, err := e.db.FindServicePrincipal(t.Context(), tenantA, "api://billing"); err != nil || got.AppID != appBilling {
		t.Errorf("FindServicePrincipal(A, api://billing) = %s, %v; want A's app", got.AppID, err)
	}
}
