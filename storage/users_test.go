package storage

import (
	"errors"
	"reflect"
	"testing"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

func TestUserCRUD(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.tenant(tenantA, "contoso.onmicrosoft.com")
	e.tenant(tenantB, "fabrikam.onmicrosoft.com")
	alice := e.user(tenantA, "alice@contoso.onmicrosoft.com")
	bob := e.user(tenantA, "bob@contoso.onmicrosoft.com")

	for _, tc := range []struct {
		name string
		u    tenant.User
		want error
	}{
		{"same UPN", func() tenant.User {
			u := newUser(tenantA, "x@y.com")
			u.UserPrincipalName = alice.UserPrincipalName
			return u
		}(), tenant.ErrExists},
		{"same UPN in another case", func() tenant.User {
			u := newUser(tenantA, "x@y.com")
			u.UserPrincipalName = "ALICE@Contoso.onmicrosoft.com"
			return u
		}(), tenant.ErrExists},
		{"same id", func() tenant.User { u := newUser(tenantA, "carol@contoso.onmicrosoft.com"); u.ID = alice.ID; return u }(), tenant.ErrExists},
		{"same UPN in another tenant", newUser(tenantB, "alice@contoso.onmicrosoft.com"), nil},
		{"tenant missing", newUser(tenantC, "carol@contoso.onmicrosoft.com"), tenant.ErrNotFound},
		{"empty UPN", newUser(tenantA, " "), tenant.ErrInvalid},
		{"empty id", func() tenant.User { u := newUser(tenantA, "dave@contoso.onmicrosoft.com"); u.ID = ""; return u }(), tenant.ErrInvalid},
	} {
		t.Run("create/"+tc.name, func(t *testing.T) {
			wantErr(t, "CreateUser", e.db.CreateUser(ctx, tc.u), tc.want)
		})
	}

	got, err := e.db.GetUser(ctx, tenantA, alice.ID)
	if err != nil || !reflect.DeepEqual(got, alice) {
		t.Errorf("GetUser = %+v, %v; want %+v (password hash included)", got, err, alice)
	}
	got, err = e.db.GetUserByUPN(ctx, tenantA, "  BOB@contoso.ONMICROSOFT.com")
	if err != nil || got.ID != bob.ID {
		t.Errorf("GetUserByUPN(BOB@…) = %s, %v; want bob", got.ID, err)
	}
	if _, err := e.db.GetUserByUPN(ctx, tenantB, "bob@contoso.onmicrosoft.com"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetUserByUPN in another tenant = %v; want ErrNotFound", err)
	}
	if _, err := e.db.GetUser(ctx, tenantB, alice.ID); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetUser in another tenant = %v; want ErrNotFound", err)
	}
	list, err := e.db.ListUsers(ctx, tenantA)
	if err != nil || len(list) != 2 {
		t.Errorf("ListUsers(A) = %+v, %v; want alice and bob", list, err)
	}
	if _, err := e.db.ListUsers(ctx, tenantC); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("ListUsers(C) = %v; want ErrNotFound", err)
	}
}

func TestUpdateUser(t *testing.T) {
	errBoom := errors.New("boom")
	for _, tc := range []struct {
		name    string
		update  func(*tenant.User) error
		want    error
		wantUPN string // alice's UPN afterwards
	}{
		{"disable", func(u *tenant.User) error { u.AccountEnabled = false; return nil }, nil, "alice@contoso.onmicrosoft.com"},
		{"clear password", func(u *tenant.User) error { u.PasswordHash = ""; return nil }, nil, "alice@contoso.onmicrosoft.com"},
		{"rename UPN", func(u *tenant.User) error { u.UserPrincipalName = "alice.smith@contoso.onmicrosoft.com"; return nil }, nil,
			"alice.smith@contoso.onmicrosoft.com"},
		{"UPN case only", func(u *tenant.User) error { u.UserPrincipalName = "Alice@Contoso.onmicrosoft.com"; return nil }, nil,
			"Alice@Contoso.onmicrosoft.com"},
		{"UPN of another user", func(u *tenant.User) error { u.UserPrincipalName = "BOB@contoso.onmicrosoft.com"; return nil },
			tenant.ErrExists, "alice@contoso.onmicrosoft.com"},
		{"empty UPN", func(u *tenant.User) error { u.UserPrincipalName = ""; return nil }, tenant.ErrInvalid, "alice@contoso.onmicrosoft.com"},
		{"change id", func(u *tenant.User) error { u.ID = objectID("x"); return nil }, tenant.ErrInvalid, "alice@contoso.onmicrosoft.com"},
		{"change tenant", func(u *tenant.User) error { u.TenantID = tenantB; return nil }, tenant.ErrInvalid, "alice@contoso.onmicrosoft.com"},
		{"updater error aborts", func(u *tenant.User) error { u.UserPrincipalName = "x@contoso.onmicrosoft.com"; return errBoom },
			errBoom, "alice@contoso.onmicrosoft.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			ctx := t.Context()
			e.tenant(tenantA, "contoso.onmicrosoft.com")
			e.tenant(tenantB, "fabrikam.onmicrosoft.com")
			alice := e.user(tenantA, "alice@contoso.onmicrosoft.com")
			bob := e.user(tenantA, "bob@contoso.onmicrosoft.com")
			var want tenant.User
			err := e.db.UpdateUser(ctx, tenantA, alice.ID, func(u *tenant.User) error {
				err := tc.update(u)
				want = *u
				return err
			})
			wantErr(t, "UpdateUser", err, tc.want)
			if tc.want != nil {
				want = alice
			}
			got, err := e.db.GetUser(ctx, tenantA, alice.ID)
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Errorf("GetUser after update = %+v, %v; want %+v", got, err, want)
			}
			if got.UserPrincipalName != tc.wantUPN {
				t.Errorf("UPN = %q; want %q", got.UserPrincipalName, tc.wantUPN)
			}
			if u, err := e.db.GetUserByUPN(ctx, tenantA, tc.wantUPN); err != nil || u.ID != alice.ID {
				t.Errorf("GetUserByUPN(%s) = %s, %v; want alice", tc.wantUPN, u.ID, err)
			}
			if u, err := e.db.GetUserByUPN(ctx, tenantA, "bob@contoso.onmicrosoft.com"); err != nil || u.ID != bob.ID {
				t.Errorf("GetUserByUPN(bob) = %s, %v; want bob", u.ID, err)
			}
		})
	}
}

func TestDeleteUserCascade(t *testing.T) {
	e := newEnv(t)
	ctx := t.Context()
	e.tenant(tenantA, "contoso.onmicrosoft.com")
	orders := e.app(newApp(appOrders, tenantA, "api://orders"))
	client := e.app(newApp(appClient, tenantA))
	alice := e.user(tenantA, "alice@contoso.onmicrosoft.com")
	bob := e.user(tenantA, "bob@contoso.onmicrosoft.com")
	role := objectID("role")

	e.assign(tenantA, alice.ID, consent.PrincipalUser, orders.ID, role)
	e.grant(tenantA, client.ID, orders.ID, consent.Principal, alice.ID, "read")
	keptA := e.assign(tenantA, bob.ID, consent.PrincipalUser, orders.ID, role)
	keptG := []consent.PermissionGrant{
		e.grant(tenantA, client.ID, orders.ID, consent.AllPrincipals, "", "read"),
		e.grant(tenantA, client.ID, orders.ID, consent.Principal, bob.ID, "read"),
	}

	if err := e.db.DeleteUser(ctx, tenantA, alice.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.db.DeleteUser(ctx, tenantA, alice.ID); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("second DeleteUser = %v; want ErrNotFound", err)
	}
	if _, err := e.db.GetUserByUPN(ctx, tenantA, "alice@contoso.onmicrosoft.com"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetUserByUPN after delete = %v; want ErrNotFound", err)
	}
	if as, _ := e.db.ListAppRoleAssignments(ctx, tenantA); !reflect.DeepEqual(as, []consent.AppRoleAssignment{keptA}) {
		t.Errorf("assignments = %+v; want [%+v]", as, keptA)
	}
	gs, _ := e.db.PermissionGrantsOf(ctx, tenantA, client.ID, orders.ID)
	if len(gs) != 2 || !containsGrant(gs, keptG[0]) || !containsGrant(gs, keptG[1]) {
		t.Errorf("grants = %+v; want %+v", gs, keptG)
	}
	// The UPN is free again.
	e.user(tenantA, "alice@contoso.onmicrosoft.com")
}

func containsGrant(gs []consent.PermissionGrant, g consent.PermissionGrant) bool {
	for _, x := range gs {
		if x == g {
			return true
		}
	}
	return false
}
