package storage

import (
	"errors"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

func TestTenantCRUD(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	a := e.tenant(tenantA, "contoso.onmicrosoft.com", "contoso.com")
	b := e.tenant(tenantB, "fabrikam.onmicrosoft.com")

	got, err := e.db.GetTenant(ctx, tenantA)
	if err != nil || !reflect.DeepEqual(got, a) {
		t.Errorf("GetTenant(A) = %+v, %v; want %+v", got, err, a)
	}
	for _, d := range []string{"contoso.com", "CONTOSO.onmicrosoft.com", " Contoso.Com "} {
		got, err := e.db.GetTenantByDomain(ctx, d)
		if err != nil || got.ID != tenantA {
			t.Errorf("GetTenantByDomain(%q) = %s, %v; want tenant A", d, got.ID, err)
		}
	}
	list, err := e.db.ListTenants(ctx)
	if err != nil || !reflect.DeepEqual(list, []tenant.Tenant{a, b}) {
		t.Errorf("ListTenants = %+v, %v; want [A B]", list, err)
	}

	for _, tc := range []struct {
		name string
		get  func() error
	}{
		{"GetTenant", func() error { _, err := e.db.GetTenant(ctx, tenantC); return err }},
		{"GetTenantByDomain", func() error { _, err := e.db.GetTenantByDomain(ctx, "nope.com"); return err }},
		{"UpdateTenant", func() error { return e.db.UpdateTenant(ctx, tenantC, func(*tenant.Tenant) error { return nil }) }},
		{"DeleteTenant", func() error { return e.db.DeleteTenant(ctx, tenantC) }},
	} {
		t.Run("missing/"+tc.name, func(t *testing.T) { wantErr(t, tc.name, tc.get(), tenant.ErrNotFound) })
	}

	if err := e.db.DeleteTenant(ctx, tenantB); err != nil {
		t.Fatalf("DeleteTenant(B): %v", err)
	}
	if _, err := e.db.GetTenant(ctx, tenantB); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetTenant(B) after delete: got %v; want ErrNotFound", err)
	}
	if _, err := e.db.GetTenantByDomain(ctx, "fabrikam.onmicrosoft.com"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetTenantByDomain(fabrikam) after delete: got %v; want ErrNotFound", err)
	}
	// The freed domain and id may be used again.
	e.tenant(tenantB, "fabrikam.onmicrosoft.com")
}

func TestCreateTenantErrors(t *testing.T) {
	e := newEnv(t)
	e.tenant(tenantA, "contoso.onmicrosoft.com", "contoso.com")
	for _, tc := range []struct {
		name string
		t    tenant.Tenant
		want error
	}{
		{"same id", newTenant(tenantA, "other.onmicrosoft.com"), tenant.ErrExists},
		{"domain taken", newTenant(tenantB, "fabrikam.onmicrosoft.com", "contoso.com"), tenant.ErrExists},
		{"domain taken in another case", newTenant(tenantB, "CONTOSO.COM"), tenant.ErrExists},
		{"empty id", newTenant("", "x.onmicrosoft.com"), tenant.ErrInvalid},
		{"empty domain", newTenant(tenantB, "x.onmicrosoft.com", " "), tenant.ErrInvalid},
		{"zero byte in domain", newTenant(tenantB, "x\x00y.com"), tenant.ErrInvalid},
		{"repeated own domain", newTenant(tenantB, "fabrikam.com", "FABRIKAM.com"), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantErr(t, "CreateTenant", e.db.CreateTenant(t.Context(), tc.t), tc.want)
		})
	}
	// A refused tenant leaves nothing behind.
	if _, err := e.db.GetTenantByDomain(t.Context(), "x.onmicrosoft.com"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("domain of a refused tenant: got %v; want ErrNotFound", err)
	}
	if _, err := e.db.GetTenantByDomain(t.Context(), "fabrikam.onmicrosoft.com"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("domain of a refused tenant: got %v; want ErrNotFound", err)
	}
}

func TestUpdateTenant(t *testing.T) {
	errBoom := errors.New("boom")
	for _, tc := range []struct {
		name        string
		update      func(*tenant.Tenant) error
		want        error
		wantDomains []string // of tenant A after the update
	}{
		{"rename", func(t *tenant.Tenant) error { t.DisplayName = "Contoso Ltd"; return nil }, nil,
			[]string{"contoso.onmicrosoft.com", "contoso.com"}},
		{"add domain", func(t *tenant.Tenant) error { t.Domains = append(t.Domains, "Contoso.NET"); return nil }, nil,
			[]string{"contoso.onmicrosoft.com", "contoso.com", "Contoso.NET"}}, // stored as given, indexed lowercase
		{"drop domain", func(t *tenant.Tenant) error { t.Domains = t.Domains[:1]; return nil }, nil,
			[]string{"contoso.onmicrosoft.com"}},
		{"replace domains", func(t *tenant.Tenant) error {
			t.Domains = []string{"contoso.onmicrosoft.com", "contoso.org"}
			return nil
		}, nil,
			[]string{"contoso.onmicrosoft.com", "contoso.org"}},
		{"domain of another tenant", func(t *tenant.Tenant) error { t.Domains = append(t.Domains, "FABRIKAM.com"); return nil },
			tenant.ErrExists, []string{"contoso.onmicrosoft.com", "contoso.com"}},
		{"change id", func(t *tenant.Tenant) error { t.ID = tenantC; return nil }, tenant.ErrInvalid,
			[]string{"contoso.onmicrosoft.com", "contoso.com"}},
		{"empty domain", func(t *tenant.Tenant) error { t.Domains = append(t.Domains, ""); return nil }, tenant.ErrInvalid,
			[]string{"contoso.onmicrosoft.com", "contoso.com"}},
		{"updater error aborts", func(t *tenant.Tenant) error {
			t.Domains[1] = "mutated.com"
			t.DisplayName = "mutated"
			return errBoom
		}, errBoom, []string{"contoso.onmicrosoft.com", "contoso.com"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := t.Context()
			e.tenant(tenantA, "contoso.onmicrosoft.com", "contoso.com")
			e.tenant(tenantB, "fabrikam.onmicrosoft.com", "fabrikam.com")
			wantErr(t, "UpdateTenant", e.db.UpdateTenant(ctx, tenantA, tc.update), tc.want)
			got, err := e.db.GetTenant(ctx, tenantA)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got.Domains, tc.wantDomains) {
				t.Errorf("domains = %q; want %q", got.Domains, tc.wantDomains)
			}
			if tc.want != nil && got.DisplayName != newTenant(tenantA).DisplayName {
				t.Errorf("display name after failed update = %q; want unchanged", got.DisplayName)
			}
			for _, d := range []string{"contoso.com", "contoso.net", "contoso.org", "mutated.com"} {
				owner, err := e.db.GetTenantByDomain(ctx, d)
				has := slices.ContainsFunc(tc.wantDomains, func(w string) bool { return strings.EqualFold(w, d) })
				if has && (err != nil || owner.ID != tenantA) {
					t.Errorf("GetTenantByDomain(%s) = %s, %v; want tenant A", d, owner.ID, err)
				}
				if !has && !errors.Is(err, tenant.ErrNotFound) {
					t.Errorf("GetTenantByDomain(%s) = %s, %v; want ErrNotFound", d, owner.ID, err)
				}
			}
			if owner, err := e.db.GetTenantByDomain(ctx, "fabrikam.com"); err != nil || owner.ID != tenantB {
				t.Errorf("GetTenantByDomain(fabrikam.com) = %s, %v; want tenant B", owner.ID, err)
			}
		})
	}
}

// TestDeleteTenantCascade: deleting tenant A removes what lives in A, the
// applications homed in A with their service principals (and the grants and
// assignments naming those) in B, and A's service principals of B's
// applications; B's own objects stay.
func TestDeleteTenantCascade(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.tenant(tenantA, "contoso.onmicrosoft.com", "contoso.com")
	e.tenant(tenantB, "fabrikam.onmicrosoft.com")

	// A homes a multi-tenant API with a service principal in B.
	ordersA := e.app(multiTenant(newApp(appOrders, tenantA, "api://orders")))
	ordersB := e.sp(tenantB, appOrders)
	// B homes a multi-tenant client with a service principal in A, and a
	// single-tenant API of its own.
	clientB := e.app(multiTenant(newApp(appClient, tenantB)))
	clientA := e.sp(tenantA, appClient)
	billingB := e.app(newApp(appBilling, tenantB, "api://billing"))
	userA := e.user(tenantA, "alice@contoso.com")
	userB := e.user(tenantB, "bob@fabrikam.onmicrosoft.com")

	role := objectID("role")
	e.assign(tenantA, clientA.ID, consent.PrincipalServicePrincipal, ordersA.ID, role)
	e.grant(tenantA, clientA.ID, ordersA.ID, consent.Principal, userA.ID, "read")
	gone := []consent.AppRoleAssignment{e.assign(tenantB, clientB.ID, consent.PrincipalServicePrincipal, ordersB.ID, role)}
	goneGrant := e.grant(tenantB, clientB.ID, ordersB.ID, consent.AllPrincipals, "", "read")
	kept := e.assign(tenantB, clientB.ID, consent.PrincipalServicePrincipal, billingB.ID, role)
	keptGrant := e.grant(tenantB, clientB.ID, billingB.ID, consent.Principal, userB.ID, "write")

	if err := e.db.DeleteTenant(ctx, tenantA); err != nil {
		t.Fatalf("DeleteTenant(A): %v", err)
	}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"tenant A", func() error { _, err := e.db.GetTenant(ctx, tenantA); return err }()},
		{"domain of A", func() error { _, err := e.db.GetTenantByDomain(ctx, "contoso.com"); return err }()},
		{"application homed in A", func() error { _, err := e.db.GetApplication(ctx, appOrders); return err }()},
		{"its service principal in B", func() error { _, err := e.db.GetServicePrincipal(ctx, tenantB, appOrders); return err }()},
		{"its URI from B", func() error { _, _, err := e.db.FindServicePrincipal(ctx, tenantB, "api://orders"); return err }()},
		{"users of A", func() error { _, err := e.db.ListUsers(ctx, tenantA); return err }()},
	} {
		t.Run(tc.name, func(t *testing.T) { wantErr(t, tc.name, tc.err, tenant.ErrNotFound) })
	}
	if _, err := e.db.GetApplication(ctx, appClient); err != nil {
		t.Errorf("GetApplication(client homed in B): %v", err)
	}
	if _, _, err := e.db.FindServicePrincipal(ctx, tenantB, "api://billing"); err != nil {
		t.Errorf("FindServicePrincipal(B, api://billing): %v", err)
	}
	as, _ := e.db.ListAppRoleAssignments(ctx, tenantB)
	if !reflect.DeepEqual(as, []consent.AppRoleAssignment{kept}) {
		t.Errorf("assignments in B = %+v; want only %+v (not %+v)", as, kept, gone)
	}
	gs, _ := e.db.ListPermissionGrants(ctx, tenantB)
	if !reflect.DeepEqual(gs, []consent.PermissionGrant{keptGrant}) {
		t.Errorf("grants in B = %+v; want only %+v (not %+v)", gs, keptGrant, goneGrant)
	}
	if n := countKeys(t, e.db, "", bucketAppSPs); n != 2 {
		t.Errorf("app_sps has %d entries; want 2 (client and billing in B)", n)
	}
	if n := countKeys(t, e.db, "", bucketAppByURI); n != 1 {
		t.Errorf("app_by_uri has %d entries; want 1 (api://billing)", n)
	}
	// The client can be instantiated in a new tenant A again.
	e.tenant(tenantA, "contoso.onmicrosoft.com")
	e.sp(tenantA, appClient)
}
