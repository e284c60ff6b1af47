package storage

import (
	"errors"
	"fmt"
	"slices"
	"testing"

	"github.com/issuer-dev/issuer/tenant"
)

// TestCreateBulk checks that CreateBulk applies the checks of CreateTenant
// and CreateApplication, and that a failing batch writes nothing (fsck
// checks the indexes of what was written).
func TestCreateBulk(t *testing.T) {
	tid := func(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-000000000001", i) }
	aid := func(i int) string { return fmt.Sprintf("%08x-0001-4000-8000-000000000001", i) }
	batch := func(tenants, apps int) ([]tenant.Tenant, []tenant.Application, []tenant.ServicePrincipal) {
		var ts []tenant.Tenant
		var as []tenant.Application
		var hs []tenant.ServicePrincipal
		for i := range tenants {
			ts = append(ts, newTenant(tid(i), fmt.Sprintf("t%d.onmicrosoft.com", i)))
			for j := range apps {
				a := newApp(aid(i*100+j), tid(i), fmt.Sprintf("api://t%d/app%d", i, j))
				as = append(as, a)
				hs = append(hs, newSP(a.HomeTenantID, a))
			}
		}
		return ts, as, hs
	}
	for _, tc := range []struct {
		name   string
		edit   func(ts []tenant.Tenant, as []tenant.Application, hs []tenant.ServicePrincipal) ([]tenant.Tenant, []tenant.Application, []tenant.ServicePrincipal)
		before func(e env) // objects already in the store
		want   error
	}{
		{name: "tenants and applications"},
		{name: "tenants only", edit: func(ts []tenant.Tenant, _ []tenant.Application, _ []tenant.ServicePrincipal) ([]tenant.Tenant, []tenant.Application, []tenant.ServicePrincipal) {
			return ts, nil, nil
		}},
		{name: "applications of an existing tenant", before: func(e env) { e.tenant(tid(7), "seven.example") },
			edit: func(_ []tenant.Tenant, _ []tenant.Application, _ []tenant.ServicePrincipal) ([]tenant.Tenant, []tenant.Application, []tenant.ServicePrincipal) {
				a := newApp(aid(700), tid(7), "api://seven")
				return nil, []tenant.Application{a}, []tenant.ServicePrincipal{newSP(tid(7), a)}
			}},
		{name: "tenant id taken", before: func(e env) { e.tenant(tid(1), "other.example") }, want: tenant.ErrExists},
		{name: "domain taken", before: func(e env) { e.tenant(tid(99), "t2.onmicrosoft.com") }, want: tenant.ErrExists},
		{name: "domain twice in the batch", want: tenant.ErrExists,
			edit: func(ts []tenant.Tenant, as []tenant.Application, hs []tenant.ServicePrincipal) ([]tenant.Tenant, []tenant.Application, []tenant.ServicePrincipal) {
				ts[2].Domains = ts[1].Domains
				return ts, as, hs
			}},
		{name: "appId twice in the batch", want: tenant.ErrExists,
			edit: func(ts []tenant.Tenant, as []tenant.Application, hs []tenant.ServicePrincipal) ([]tenant.Tenant, []tenant.Application, []tenant.ServicePrincipal) {
				return ts, append(as, as[0]), append(hs, hs[0])
			}},
		{name: "identifier URI conflict", want: tenant.ErrExists, before: func(e env) {
			e.tenant(tid(99), "other.example")
			e.app(multiTenant(newApp(aid(9900), tid(99), "api://t0/app1")))
		}},
		{name: "home tenant missing", want: tenant.ErrNotFound,
			edit: func(ts []tenant.Tenant, as []tenant.Application, hs []tenant.ServicePrincipal) ([]tenant.Tenant, []tenant.Application, []tenant.ServicePrincipal) {
				return ts[1:], as, hs
			}},
		{name: "home service principal of another app", want: tenant.ErrInvalid,
			edit: func(ts []tenant.Tenant, as []tenant.Application, hs []tenant.ServicePrincipal) ([]tenant.Tenant, []tenant.Application, []tenant.ServicePrincipal) {
				hs[0], hs[1] = hs[1], hs[0]
				return ts, as, hs
			}},
		{name: "fewer home service principals than applications", want: tenant.ErrInvalid,
			edit: func(ts []tenant.Tenant, as []tenant.Application, hs []tenant.ServicePrincipal) ([]tenant.Tenant, []tenant.Application, []tenant.ServicePrincipal) {
				return ts, as, hs[1:]
			}},
		{name: "tenant id not a key", want: tenant.ErrInvalid,
			edit: func(ts []tenant.Tenant, as []tenant.Application, hs []tenant.ServicePrincipal) ([]tenant.Tenant, []tenant.Application, []tenant.ServicePrincipal) {
				ts[0].ID = ""
				return ts, as, hs
			}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if tc.before != nil {
				tc.before(e)
			}
			before, err := e.db.ListTenants(t.Context())
			if err != nil {
				t.Fatal(err)
			}
			ts, as, hs := batch(3, 4)
			if tc.edit != nil {
				ts, as, hs = tc.edit(ts, as, hs)
			}
			err = e.db.CreateBulk(t.Context(), ts, as, hs)
			wantErr(t, "CreateBulk", err, tc.want)
			after, lerr := e.db.ListTenants(t.Context())
			if lerr != nil {
				t.Fatal(lerr)
			}
			if tc.want != nil {
				if len(after) != len(before) {
					t.Errorf("a failed batch left %d tenants; want the %d from before", len(after), len(before))
				}
				return
			}
			if len(after) != len(before)+len(ts) {
				t.Errorf("%d tenants; want %d", len(after), len(before)+len(ts))
			}
			for i, a := range as {
				sp, app, err := e.db.FindServicePrincipal(t.Context(), a.HomeTenantID, a.IdentifierURIs[0])
				if err != nil || app.AppID != a.AppID || sp.ID != hs[i].ID {
					t.Errorf("FindServicePrincipal(%s) = %s, %s, %v; want %s, %s", a.IdentifierURIs[0], sp.ID, app.AppID, err, hs[i].ID, a.AppID)
				}
			}
		})
	}
}

// TestRecordCacheNeverAliases checks that values read through the decoded
// record cache are the caller's own, and that a committed change is read
// at once.
func TestRecordCacheNeverAliases(t *testing.T) {
	e := newEnv(t)
	e.tenant(tenantA, "contoso.example")
	app := newApp(appOrders, tenantA, "api://orders")
	app.AppRoles = []tenant.AppRole{{ID: objectID("role"), Value: "Orders.Read", AllowedMemberTypes: []string{tenant.MemberTypeApplication}, IsEnabled: true}}
	e.app(app)
	ctx := t.Context()

	first, err := e.db.GetApplication(ctx, appOrders)
	if err != nil {
		t.Fatal(err)
	}
	// A caller scribbling over what it read must not change the next read.
	first.IdentifierURIs[0] = "api://scribbled"
	first.AppRoles[0].AllowedMemberTypes[0] = "Scribbled"
	_, second, err := e.db.FindServicePrincipal(ctx, tenantA, "api://orders")
	if err != nil {
		t.Fatal(err)
	}
	if second.IdentifierURIs[0] != "api://orders" || second.AppRoles[0].AllowedMemberTypes[0] != tenant.MemberTypeApplication {
		t.Errorf("second read = %v, %v; a caller's edit leaked into it", second.IdentifierURIs, second.AppRoles[0].AllowedMemberTypes)
	}

	for i, value := range []string{"Orders.Write", "Orders.Read"} { // back to the first bytes
		if err := e.db.UpdateApplication(ctx, appOrders, func(a *tenant.Application) error {
			a.AppRoles[0].Value = value
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		got, err := e.db.GetApplication(ctx, appOrders)
		if err != nil {
			t.Fatal(err)
		}
		if got.AppRoles[0].Value != value {
			t.Errorf("read %d after update: role %q; want %q", i, got.AppRoles[0].Value, value)
		}
	}

	if err := e.db.UpdateTenant(ctx, tenantA, func(tn *tenant.Tenant) error {
		tn.Domains = append(tn.Domains, "fabrikam.example")
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	tn, err := e.db.GetTenant(ctx, tenantA)
	if err != nil || !slices.Contains(tn.Domains, "fabrikam.example") {
		t.Errorf("GetTenant after update = %v, %v; want the new domain", tn.Domains, err)
	}
	if _, err := e.db.GetTenant(ctx, tenantB); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetTenant(missing) = %v; want ErrNotFound", err)
	}
}
