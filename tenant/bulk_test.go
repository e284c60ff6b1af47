package tenant_test

import (
	"errors"
	"testing"

	"github.com/issuer-dev/issuer/tenant"
)

// plainStore hides the database's CreateBulk, so that BulkCreate takes its
// one-object-at-a-time path.
type plainStore struct{ tenant.Store }

// TestBulkCreate checks that BulkCreate applies the rules of CreateTenant
// and RegisterApplication, over a BulkStore (one transaction) and over any
// other Store, and that a batch with an invalid object writes nothing.
func TestBulkCreate(t *testing.T) {
	valid := []tenant.BulkTenant{
		{Tenant: tenant.TenantSpec{Name: "Contoso", Domains: []string{"Contoso.COM"}}, Applications: []tenant.ApplicationSpec{
			{DisplayName: " Orders API ", IdentifierURIs: []string{"api://orders", "https://api.contoso.com/orders"}, TokenVersion: 2},
			{DisplayName: "Daemon"},
		}},
		{Tenant: tenant.TenantSpec{Name: "Fabrikam"}, Applications: []tenant.ApplicationSpec{
			{DisplayName: "Shared API", IdentifierURIs: []string{"api://shared"}, MultiTenant: true},
		}},
		{Tenant: tenant.TenantSpec{Name: "Empty"}},
	}
	for _, tc := range []struct {
		name  string
		plain bool
		edit  func([]tenant.BulkTenant) []tenant.BulkTenant
		want  error
	}{
		{name: "bulk store"},
		{name: "plain store", plain: true},
		{name: "invalid tenant name", want: tenant.ErrInvalid, edit: func(b []tenant.BulkTenant) []tenant.BulkTenant {
			b[2].Tenant.Name = "!!!"
			return b
		}},
		{name: "https URI outside the tenant's domains", want: tenant.ErrInvalid, edit: func(b []tenant.BulkTenant) []tenant.BulkTenant {
			b[1].Applications[0].IdentifierURIs = []string{"https://api.contoso.com/shared"}
			return b
		}},
		{name: "empty application name", want: tenant.ErrInvalid, edit: func(b []tenant.BulkTenant) []tenant.BulkTenant {
			b[0].Applications[1].DisplayName = " "
			return b
		}},
		{name: "identifier URI conflict inside the batch", want: tenant.ErrExists, edit: func(b []tenant.BulkTenant) []tenant.BulkTenant {
			b[1].Applications[0].IdentifierURIs = []string{"api://orders"}
			return b
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			dir := e.dir
			if tc.plain {
				dir = tenant.NewDirectory(plainStore{e.db})
			}
			batch := append([]tenant.BulkTenant(nil), valid...)
			for i := range batch {
				batch[i].Applications = append([]tenant.ApplicationSpec(nil), batch[i].Applications...)
			}
			if tc.edit != nil {
				batch = tc.edit(batch)
			}
			tenants, apps, err := dir.BulkCreate(e.ctx, batch)
			if tc.want != nil {
				if !errors.Is(err, tc.want) {
					t.Fatalf("BulkCreate = %v; want %v", err, tc.want)
				}
				if ts, _ := e.dir.ListTenants(e.ctx); len(ts) != 0 {
					t.Errorf("a refused batch left %d tenants", len(ts))
				}
				return
			}
			if err != nil {
				t.Fatalf("BulkCreate: %v", err)
			}
			if len(tenants) != 3 || len(apps) != 3 {
				t.Fatalf("BulkCreate made %d tenants, %d applications; want 3, 3", len(tenants), len(apps))
			}
			contoso, err := e.dir.ResolveTenant(e.ctx, "contoso.com")
			if err != nil || contoso.ID != tenants[0].ID || contoso.Domains[0] != "contoso.onmicrosoft.com" {
				t.Errorf("contoso.com resolves to %+v, %v; want the first tenant with its initial domain first", contoso, err)
			}
			orders := apps[0]
			if orders.DisplayName != "Orders API" || orders.TokenVersion() != 2 || orders.HomeTenantID != contoso.ID {
				t.Errorf("Orders API = %+v; want the trimmed name, v2 tokens, homed in Contoso", orders)
			}
			for _, name := range []string{"api://orders", "https://api.contoso.com/orders", orders.AppID} {
				sp, app, err := e.dir.FindServicePrincipal(e.ctx, contoso.ID, name)
				if err != nil || app.AppID != orders.AppID || sp.TenantID != contoso.ID || !sp.AccountEnabled {
					t.Errorf("FindServicePrincipal(%s) = %+v, %s, %v; want the home service principal of Orders API", name, sp, app.AppID, err)
				}
			}
			if !apps[2].IsMultiTenant() {
				t.Errorf("Shared API is not multi-tenant")
			}
		})
	}
}
