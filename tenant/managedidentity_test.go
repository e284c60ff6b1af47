package tenant_test

import (
	"errors"
	"testing"

	"github.com/issuer-dev/issuer/tenant"
)

// TestAddManagedIdentity checks the identities AddManagedIdentity makes and
// refuses: their resource id, kind and names.
func TestAddManagedIdentity(t *testing.T) {
	e := newEnv(t)
	tn := e.tenant("Contoso")
	const sub = "11111111-2222-4333-8444-555555555555"
	tests := []struct {
		name       string
		spec       tenant.ManagedIdentitySpec
		wantErr    error
		wantID     string // resource id
		wantName   string
		wantSystem bool
	}{
		{"user-assigned, id formed", tenant.ManagedIdentitySpec{Name: "orders-worker"}, nil,
			"/subscriptions/" + tn.ID + "/resourcegroups/issuer/providers/Microsoft.ManagedIdentity/userAssignedIdentities/orders-worker", "orders-worker", false},
		{"user-assigned, subscription and group", tenant.ManagedIdentitySpec{Name: "billing", Subscription: sub, ResourceGroup: "rg-prod"}, nil,
			"/subscriptions/" + sub + "/resourcegroups/rg-prod/providers/Microsoft.ManagedIdentity/userAssignedIdentities/billing", "billing", false},
		{"user-assigned, resource id given", tenant.ManagedIdentitySpec{ResourceID: "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/given/"}, nil,
			"/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.ManagedIdentity/userAssignedIdentities/given", "given", false},
		{"system-assigned, site", tenant.ManagedIdentitySpec{Name: "orders-web", SystemAssigned: true}, nil,
			"/subscriptions/" + tn.ID + "/resourcegroups/issuer/providers/Microsoft.Web/sites/orders-web", "orders-web", true},
		{"system-assigned, a VM by resource id", tenant.ManagedIdentitySpec{SystemAssigned: true, ResourceID: "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1"}, nil,
			"/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Compute/virtualMachines/vm1", "vm1", true},
		{"the same identity again", tenant.ManagedIdentitySpec{Name: "orders-worker"}, tenant.ErrExists, "", "", false},
		{"a name with spaces", tenant.ManagedIdentitySpec{Name: "orders worker"}, tenant.ErrInvalid, "", "", false},
		{"a name too short", tenant.ManagedIdentitySpec{Name: "ab"}, tenant.ErrInvalid, "", "", false},
		{"a subscription that is no GUID", tenant.ManagedIdentitySpec{Name: "x-worker", Subscription: "prod"}, tenant.ErrInvalid, "", "", false},
		{"a resource id that is no path", tenant.ManagedIdentitySpec{ResourceID: "orders-worker"}, tenant.ErrInvalid, "", "", false},
		{"a user-assigned id of another type", tenant.ManagedIdentitySpec{ResourceID: "/subscriptions/" + sub + "/resourceGroups/rg/providers/Microsoft.Web/sites/web"}, tenant.ErrInvalid, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp, err := e.dir.AddManagedIdentity(e.ctx, "contoso.onmicrosoft.com", tt.spec)
			if !errIs(err, tt.wantErr) {
				t.Fatalf("AddManagedIdentity = %v, want %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if !sp.IsManagedIdentity() || sp.ManagedIdentityResourceID() != tt.wantID || sp.DisplayName != tt.wantName ||
				sp.SystemAssigned() != tt.wantSystem || sp.TenantID != tn.ID || !sp.AccountEnabled {
				t.Errorf("identity %+v: want resource id %s, name %s, system-assigned %v", sp, tt.wantID, tt.wantName, tt.wantSystem)
			}
			app, err := e.dir.GetApplication(e.ctx, sp.AppID)
			if err != nil || len(app.PasswordCredentials)+len(app.KeyCredentials) != 0 || app.HomeTenantID != tn.ID {
				t.Errorf("the identity's application: %+v, %v; want one of the tenant without credentials", app, err)
			}
		})
	}
}

// TestFindManagedIdentity checks every way an identity is named, and the
// refusals: unknown, ambiguous, an application that is no identity.
func TestFindManagedIdentity(t *testing.T) {
	e := newEnv(t)
	e.tenant("Contoso")
	const c = "contoso.onmicrosoft.com"
	add := func(spec tenant.ManagedIdentitySpec) tenant.ServicePrincipal {
		sp, err := e.dir.AddManagedIdentity(e.ctx, c, spec)
		if err != nil {
			t.Fatal(err)
		}
		return sp
	}
	worker := add(tenant.ManagedIdentitySpec{Name: "worker"})
	add(tenant.ManagedIdentitySpec{Name: "twin", ResourceGroup: "a"})
	add(tenant.ManagedIdentitySpec{Name: "twin", ResourceGroup: "b"})
	app := e.app(c, tenant.ApplicationSpec{DisplayName: "plain-app"})
	tests := []struct {
		name, ref string
		wantErr   error
	}{
		{"client id", worker.AppID, nil},
		{"object id", worker.ID, nil},
		{"resource id, any case", "/SUBSCRIPTIONS/" + worker.TenantID + "/resourcegroups/issuer/providers/microsoft.managedidentity/userassignedidentities/worker", nil},
		{"name, any case", "WORKER", nil},
		{"unknown", "nobody", tenant.ErrNotFound},
		{"an application that is no identity", app.AppID, tenant.ErrNotFound},
		{"a name two identities share", "twin", tenant.ErrInvalid},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp, err := e.dir.FindManagedIdentity(e.ctx, c, tt.ref)
			if !errIs(err, tt.wantErr) {
				t.Fatalf("FindManagedIdentity(%q) = %v, want %v", tt.ref, err, tt.wantErr)
			}
			if err == nil && sp.ID != worker.ID {
				t.Errorf("found %s, want %s", sp.ID, worker.ID)
			}
		})
	}
	apps, err := e.dir.ListApplications(e.ctx, c)
	if err != nil || len(apps) != 1 || apps[0].AppID != app.AppID {
		t.Errorf("ListApplications = %d applications, %v; want the app registration alone, not the identities'", len(apps), err)
	}
	if err := e.dir.RemoveManagedIdentity(e.ctx, c, "worker"); err != nil {
		t.Fatal(err)
	}
	if _, err := e.dir.FindManagedIdentity(e.ctx, c, worker.AppID); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("after RemoveManagedIdentity: %v, want not found", err)
	}
	if _, err := e.dir.GetApplication(e.ctx, worker.AppID); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("the removed identity's application: %v, want not found", err)
	}
}
