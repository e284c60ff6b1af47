package tenant_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/tenant"
)

// ownersFixture is what the owners tests start from: tenants Contoso and
// Fabrikam, the user Ada of Contoso, and the service principal of
// Contoso's application Provisioner.
type ownersFixture struct {
	contoso, fabrikam tenant.Tenant
	ada               tenant.User
	provisionerSP     tenant.ServicePrincipal
}

func newOwnersEnv(t *testing.T) (*env, ownersFixture) {
	t.Helper()
	e := newEnv(t)
	f := ownersFixture{contoso: e.tenant("contoso"), fabrikam: e.tenant("fabrikam")}
	var err error
	if f.ada, err = e.dir.AddUser(e.ctx, f.contoso.ID, tenant.UserSpec{UserPrincipalName: "ada@contoso.onmicrosoft.com", DisplayName: "Ada", Password: "Correct-Horse-9"}); err != nil {
		t.Fatal(err)
	}
	provisioner := e.app(f.contoso.ID, tenant.ApplicationSpec{DisplayName: "Provisioner"})
	if f.provisionerSP, _, err = e.dir.FindServicePrincipal(e.ctx, f.contoso.ID, provisioner.AppID); err != nil {
		t.Fatal(err)
	}
	return e, f
}

// TestApplicationOwners: owners are users and service principals of the
// home tenant, each once; the list leaves out those deleted since.
func TestApplicationOwners(t *testing.T) {
	e, f := newOwnersEnv(t)
	contoso, ada, provisionerSP := f.contoso, f.ada, f.provisionerSP
	bob, err := e.dir.AddUser(e.ctx, f.fabrikam.ID, tenant.UserSpec{UserPrincipalName: "bob@fabrikam.onmicrosoft.com", DisplayName: "Bob", Password: "Correct-Horse-9"})
	if err != nil {
		t.Fatal(err)
	}
	app := e.app(contoso.ID, tenant.ApplicationSpec{DisplayName: "Orders", Owner: provisionerSP.ID})
	if !app.OwnedBy(provisionerSP.ID) || len(app.Owners) != 1 {
		t.Fatalf("registered with owner %s: owners %v", provisionerSP.ID, app.Owners)
	}
	for _, tc := range []struct {
		name, owner string
		want        error
	}{
		{"a user", ada.ID, nil},
		{"the same user again", ada.ID, tenant.ErrExists},
		{"the same user in capitals", strings.ToUpper(ada.ID), tenant.ErrExists},
		{"a user of another tenant", bob.ID, tenant.ErrNotFound},
		{"an unknown object", "5f7e0a56-0000-4000-8000-000000000009", tenant.ErrNotFound},
		{"not an object id", "ada", tenant.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.dir.AddApplicationOwner(e.ctx, app.AppID, tc.owner); !errors.Is(err, tc.want) {
				t.Fatalf("AddApplicationOwner(%s) = %v; want %v", tc.owner, err, tc.want)
			}
		})
	}
	owners, err := e.dir.ApplicationOwners(e.ctx, app.AppID)
	if err != nil || len(owners) != 2 || owners[0].ServicePrincipal == nil || owners[0].ServicePrincipal.ID != provisionerSP.ID ||
		owners[1].User == nil || owners[1].User.ID != ada.ID {
		t.Fatalf("ApplicationOwners = %+v, %v; want the provisioner's service principal, then Ada", owners, err)
	}
	if err := e.dir.RemoveUser(e.ctx, contoso.ID, ada.ID); err != nil {
		t.Fatal(err)
	}
	if owners, err := e.dir.ApplicationOwners(e.ctx, app.AppID); err != nil || len(owners) != 1 {
		t.Fatalf("ApplicationOwners after Ada's deletion = %+v, %v; want the service principal alone", owners, err)
	}
	if err := e.dir.RemoveApplicationOwner(e.ctx, app.AppID, strings.ToUpper(provisionerSP.ID)); err != nil {
		t.Fatalf("RemoveApplicationOwner: %v", err)
	}
	if err := e.dir.RemoveApplicationOwner(e.ctx, app.AppID, provisionerSP.ID); !errors.Is(err, tenant.ErrNotFound) {
		t.Fatalf("RemoveApplicationOwner of no owner = %v; want ErrNotFound", err)
	}
	if _, err := e.dir.ApplicationOwners(e.ctx, "5f7e0a56-0000-4000-8000-000000000009"); !errors.Is(err, tenant.ErrNotFound) {
		t.Fatalf("ApplicationOwners of an unknown application = %v; want ErrNotFound", err)
	}
	if _, err := e.dir.RegisterApplication(e.ctx, contoso.ID, tenant.ApplicationSpec{DisplayName: "Bad owner", Owner: "nope"}); !errors.Is(err, tenant.ErrInvalid) {
		t.Fatalf("RegisterApplication with a malformed owner = %v; want ErrInvalid", err)
	}
}

// TestServicePrincipalOwners: a service principal's owners are users and
// service principals of its own tenant, itself included, each once; the
// application's owners are not its service principals'.
func TestServicePrincipalOwners(t *testing.T) {
	e, f := newOwnersEnv(t)
	contoso, fabrikam, ada, provisionerSP := f.contoso, f.fabrikam, f.ada, f.provisionerSP
	app := e.app(contoso.ID, tenant.ApplicationSpec{DisplayName: "Orders", Owner: provisionerSP.ID, MultiTenant: true})
	sp, _, err := e.dir.FindServicePrincipal(e.ctx, contoso.ID, app.AppID)
	if err != nil {
		t.Fatal(err)
	}
	if sp.OwnedBy(provisionerSP.ID) {
		t.Fatalf("the application's owner owns its service principal: %v", sp.Owners)
	}
	guest, err := e.dir.AddServicePrincipal(e.ctx, fabrikam.ID, app.AppID)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, tenant, owner string
		want                error
	}{
		{"a user", contoso.ID, ada.ID, nil},
		{"another service principal", contoso.ID, provisionerSP.ID, nil},
		{"itself", contoso.ID, sp.ID, nil},
		{"the same user again", contoso.ID, strings.ToUpper(ada.ID), tenant.ErrExists},
		{"a user of another tenant", fabrikam.ID, ada.ID, tenant.ErrNotFound},
		{"an unknown object", contoso.ID, "5f7e0a56-0000-4000-8000-000000000009", tenant.ErrNotFound},
		{"not an object id", contoso.ID, "ada", tenant.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := e.dir.AddServicePrincipalOwner(e.ctx, tc.tenant, app.AppID, tc.owner); !errors.Is(err, tc.want) {
				t.Fatalf("AddServicePrincipalOwner(%s) = %v; want %v", tc.owner, err, tc.want)
			}
		})
	}
	owners, err := e.dir.ServicePrincipalOwners(e.ctx, contoso.ID, app.AppID)
	if err != nil || len(owners) != 3 || owners[0].User == nil || owners[0].User.ID != ada.ID ||
		owners[1].ServicePrincipal == nil || owners[1].ServicePrincipal.ID != provisionerSP.ID ||
		owners[2].ServicePrincipal == nil || owners[2].ServicePrincipal.ID != sp.ID {
		t.Fatalf("ServicePrincipalOwners = %+v, %v; want Ada, the provisioner and itself", owners, err)
	}
	apps, sps, err := e.dir.OwnedObjects(e.ctx, contoso.Domains[0], strings.ToUpper(provisionerSP.ID))
	if err != nil || len(apps) != 1 || apps[0].AppID != app.AppID || len(sps) != 1 || sps[0].ID != sp.ID {
		t.Fatalf("OwnedObjects(provisioner) = %v, %v, %v; want the application and its service principal", apps, sps, err)
	}
	if _, _, err := e.dir.OwnedObjects(e.ctx, "nowhere.example", provisionerSP.ID); !errors.Is(err, tenant.ErrNotFound) {
		t.Fatalf("OwnedObjects in an unknown tenant = %v; want ErrNotFound", err)
	}
	// A tenant is named by id or by domain.
	if owners, err := e.dir.ServicePrincipalOwners(e.ctx, fabrikam.Domains[0], app.AppID); err != nil || len(owners) != 0 {
		t.Fatalf("owners of the guest service principal %s = %+v, %v; want none", guest.ID, owners, err)
	}
	if a, err := e.dir.GetApplication(e.ctx, app.AppID); err != nil || len(a.Owners) != 1 {
		t.Fatalf("the application's owners = %v, %v; want the provisioner alone", a.Owners, err)
	}
	if err := e.dir.RemoveUser(e.ctx, contoso.ID, ada.ID); err != nil {
		t.Fatal(err)
	}
	if owners, err := e.dir.ServicePrincipalOwners(e.ctx, contoso.ID, app.AppID); err != nil || len(owners) != 2 {
		t.Fatalf("ServicePrincipalOwners after Ada's deletion = %+v, %v; want two", owners, err)
	}
	if err := e.dir.RemoveServicePrincipalOwner(e.ctx, contoso.ID, app.AppID, strings.ToUpper(provisionerSP.ID)); err != nil {
		t.Fatalf("RemoveServicePrincipalOwner: %v", err)
	}
	for _, tc := range []struct {
		name string
		err  error
		want error
	}{
		{"remove no owner", e.dir.RemoveServicePrincipalOwner(e.ctx, contoso.ID, app.AppID, provisionerSP.ID), tenant.ErrNotFound},
		{"owners of no service principal", func() error {
			_, err := e.dir.ServicePrincipalOwners(e.ctx, fabrikam.ID, provisionerSP.AppID)
			return err
		}(), tenant.ErrNotFound},
		{"add to no service principal", e.dir.AddServicePrincipalOwner(e.ctx, fabrikam.ID, provisionerSP.AppID, ada.ID), tenant.ErrNotFound},
		{"add to Microsoft Graph's", e.dir.AddServicePrincipalOwner(e.ctx, contoso.ID, tenant.MicrosoftGraphAppID, sp.ID), tenant.ErrFirstParty},
	} {
		if !errors.Is(tc.err, tc.want) {
			t.Errorf("%s = %v; want %v", tc.name, tc.err, tc.want)
		}
	}
}
