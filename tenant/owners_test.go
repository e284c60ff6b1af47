package tenant_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/tenant"
)

// TestApplicationOwners: owners are users and service principals of the
// home tenant, each once; the list leaves out those deleted since.
func TestApplicationOwners(t *testing.T) {
	e := newEnv(t)
	contoso := e.tenant("contoso")
	fabrikam := e.tenant("fabrikam")
	ada, err := e.dir.AddUser(e.ctx, contoso.ID, tenant.UserSpec{UserPrincipalName: "ada@contoso.onmicrosoft.com", DisplayName: "Ada", Password: "Correct-Horse-9"})
	if err != nil {
		t.Fatal(err)
	}
	bob, err := e.dir.AddUser(e.ctx, fabrikam.ID, tenant.UserSpec{UserPrincipalName: "bob@fabrikam.onmicrosoft.com", DisplayName: "Bob", Password: "Correct-Horse-9"})
	if err != nil {
		t.Fatal(err)
	}
	provisioner := e.app(contoso.ID, tenant.ApplicationSpec{DisplayName: "Provisioner"})
	provisionerSP, _, err := e.dir.FindServicePrincipal(e.ctx, contoso.ID, provisioner.AppID)
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
