package tenant_test

import (
	"errors"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/tenant"
)

// TestMicrosoftGraph: Graph is in every tenant created, a directory made
// before Graph was hosted gets it at the next start, and nothing of
// Microsoft's can be changed or removed.
func TestMicrosoftGraph(t *testing.T) {
	e := newEnv(t)
	// A tenant written straight to the store: a directory of an older
	// binary, without Graph.
	old := tenant.Tenant{ID: "0a1b2c3d-0000-4000-8000-000000000001", DisplayName: "Old", Domains: []string{"old.onmicrosoft.com"},
		UserConsent: tenant.UserConsentAllowed, CreatedDateTime: time.Now().UTC()}
	if err := e.db.CreateTenant(e.ctx, old); err != nil {
		t.Fatal(err)
	}
	if err := e.dir.EnsureMicrosoftGraph(e.ctx, nil); err != nil {
		t.Fatal(err)
	}
	fresh, err := e.dir.CreateTenant(e.ctx, tenant.TenantSpec{Name: "Fresh"})
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []string{old.ID, fresh.ID} {
		sp, app, err := e.dir.FindServicePrincipal(e.ctx, id, "https://graph.microsoft.com/")
		if err != nil || sp.AppID != tenant.MicrosoftGraphAppID || sp.AppOwnerOrganizationID != tenant.MicrosoftServicesTenantID {
			t.Fatalf("Graph in tenant %s: %+v, %v", id, sp, err)
		}
		if _, ok := app.ScopeByValue("User.Read"); !ok || len(app.AppRoles) == 0 {
			t.Errorf("Graph exposes %d roles and no User.Read", len(app.AppRoles))
		}
	}
	ts, err := e.dir.ListTenants(e.ctx)
	if err != nil || len(ts) != 2 {
		t.Errorf("ListTenants = %d tenants, %v; want the two customers' only", len(ts), err)
	}
	for _, tc := range []struct {
		name string
		err  error
	}{
		{"update Graph", func() error {
			_, err := e.dir.UpdateApplication(e.ctx, tenant.MicrosoftGraphAppID, tenant.ApplicationUpdate{})
			return err
		}()},
		{"remove Graph", e.dir.RemoveApplication(e.ctx, tenant.MicrosoftGraphAppID)},
		{"add a secret to Graph", func() error {
			_, _, err := e.dir.AddPassword(e.ctx, tenant.MicrosoftGraphAppID, tenant.PasswordSpec{})
			return err
		}()},
		{"disable Graph in a tenant", func() error {
			no := false
			_, err := e.dir.UpdateServicePrincipal(e.ctx, fresh.ID, tenant.MicrosoftGraphAppID, tenant.ServicePrincipalUpdate{AccountEnabled: &no})
			return err
		}()},
		{"remove Graph from a tenant", e.dir.RemoveServicePrincipal(e.ctx, fresh.ID, tenant.MicrosoftGraphAppID)},
		{"remove Microsoft's tenant", e.dir.RemoveTenant(e.ctx, tenant.MicrosoftServicesTenantID)},
		{"register an app in Microsoft's tenant", func() error {
			_, err := e.dir.CreateApplication(e.ctx, tenant.MicrosoftServicesTenantID, tenant.ApplicationSpec{DisplayName: "x"}, tenant.ApplicationUpdate{})
			return err
		}()},
	} {
		if !errors.Is(tc.err, tenant.ErrFirstParty) {
			t.Errorf("%s: %v; want ErrFirstParty", tc.name, tc.err)
		}
	}
}
