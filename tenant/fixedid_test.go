package tenant_test

import (
	"errors"
	"testing"

	"github.com/issuer-dev/issuer/tenant"
)

// TestFixedServicePrincipalIDs: seed files reproduce a directory, including
// the service principal object ids that app-only tokens carry as oid.
func TestFixedServicePrincipalIDs(t *testing.T) {
	e := newEnv(t)
	home := e.tenant("contoso")
	other := e.tenant("fabrikam")
	const homeSP = "5e000000-0000-4000-8000-000000000001"
	const otherSP = "5e000000-0000-4000-8000-000000000002"
	app := e.app(home.ID, tenant.ApplicationSpec{DisplayName: "Partner", MultiTenant: true, ServicePrincipalID: "5E000000-0000-4000-8000-000000000001"})
	sp, err := e.db.GetServicePrincipal(e.ctx, home.ID, app.AppID)
	if err != nil || sp.ID != homeSP {
		t.Fatalf("home service principal = %+v, %v; want id %s", sp, err, homeSP)
	}

	tests := []struct {
		name    string
		spec    tenant.ServicePrincipalSpec
		tenant  string
		wantID  string
		wantErr error
	}{
		{"fixed id in another tenant", tenant.ServicePrincipalSpec{AppID: app.AppID, ID: otherSP}, other.ID, otherSP, nil},
		{"again", tenant.ServicePrincipalSpec{AppID: app.AppID, ID: otherSP}, other.ID, "", tenant.ErrExists},
		{"id not a GUID", tenant.ServicePrincipalSpec{AppID: app.AppID, ID: "sp-1"}, "fabrikam.onmicrosoft.com", "", tenant.ErrInvalid},
		{"unknown app", tenant.ServicePrincipalSpec{AppID: "deadbeef-0000-4000-8000-000000000000"}, other.ID, "", tenant.ErrNotFound},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.dir.CreateServicePrincipal(e.ctx, tc.tenant, tc.spec)
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("CreateServicePrincipal = %+v, %v; want %v", got, err, tc.wantErr)
				}
				return
			}
			if err != nil || got.ID != tc.wantID || got.TenantID != other.ID || got.AppOwnerOrganizationID != home.ID {
				t.Fatalf("CreateServicePrincipal = %+v, %v; want id %s in %s owned by %s", got, err, tc.wantID, other.ID, home.ID)
			}
		})
	}
}
