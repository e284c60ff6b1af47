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

// grantsEnv: tenant A with the orders API, billing API and a client, each
// with its service principal, and a user.
type grantsEnv struct {
	env
	orders, billing, client tenant.ServicePrincipal
	alice                   tenant.User
}

func newGrantsEnv(t *testing.T) grantsEnv {
	e := newEnv(t)
	e.tenant(tenantA, "contoso.onmicrosoft.com")
	e.tenant(tenantB, "fabrikam.onmicrosoft.com")
	return grantsEnv{
		env:     e,
		orders:  e.app(newApp(appOrders, tenantA, "api://orders")),
		billing: e.app(newApp(appBilling, tenantA, "api://billing")),
		client:  e.app(newApp(appClient, tenantA)),
		alice:   e.user(tenantA, "alice@contoso.onmicrosoft.com"),
	}
}

func TestAppRoleAssignments(t *testing.T) {
	e := newGrantsEnv(t)
	ctx := t.Context()
	read, write := objectID("role", "read"), objectID("role", "write")
	a1 := e.assign(tenantA, e.client.ID, consent.PrincipalServicePrincipal, e.orders.ID, read)

	for _, tc := range []struct {
		name string
		a    consent.AppRoleAssignment
		want error
	}{
		{"same role again", func() consent.AppRoleAssignment {
			a := newAssignment(tenantA, e.client.ID, consent.PrincipalServicePrincipal, e.orders.ID, read)
			a.ID = objectID("another id")
			return a
		}(), tenant.ErrExists},
		{"same id", func() consent.AppRoleAssignment {
			a := newAssignment(tenantA, e.client.ID, consent.PrincipalServicePrincipal, e.orders.ID, write)
			a.ID = a1.ID
			return a
		}(), tenant.ErrExists},
		{"another role", newAssignment(tenantA, e.client.ID, consent.PrincipalServicePrincipal, e.orders.ID, write), nil},
		{"same role of another resource", newAssignment(tenantA, e.client.ID, consent.PrincipalServicePrincipal, e.billing.ID, read), nil},
		{"user principal", newAssignment(tenantA, e.alice.ID, consent.PrincipalUser, e.orders.ID, read), nil},
		{"untyped principal", newAssignment(tenantA, e.billing.ID, "", e.orders.ID, read), nil},
		{"missing resource", newAssignment(tenantA, e.client.ID, consent.PrincipalServicePrincipal, objectID("nope"), read), tenant.ErrNotFound},
		{"missing principal", newAssignment(tenantA, objectID("nope"), consent.PrincipalServicePrincipal, e.orders.ID, read), tenant.ErrNotFound},
		{"user typed as service principal", newAssignment(tenantA, e.alice.ID, consent.PrincipalServicePrincipal, e.orders.ID, write), tenant.ErrNotFound},
		{"service principal of another tenant", newAssignment(tenantB, e.client.ID, consent.PrincipalServicePrincipal, e.orders.ID, read), tenant.ErrNotFound},
		{"missing tenant", newAssignment(tenantC, e.client.ID, consent.PrincipalServicePrincipal, e.orders.ID, read), tenant.ErrNotFound},
		{"empty principal", newAssignment(tenantA, "", consent.PrincipalServicePrincipal, e.orders.ID, read), tenant.ErrInvalid},
	} {
		t.Run("create/"+tc.name, func(t *testing.T) {
			wantErr(t, "CreateAppRoleAssignment", e.db.CreateAppRoleAssignment(ctx, tc.a), tc.want)
		})
	}

	for _, tc := range []struct {
		name                string
		principal, resource string
		wantRoles           []string
	}{
		{"client on orders", e.client.ID, e.orders.ID, []string{read, write}},
		{"client on billing", e.client.ID, e.billing.ID, []string{read}},
		{"alice on orders", e.alice.ID, e.orders.ID, []string{read}},
		{"orders on client", e.orders.ID, e.client.ID, nil},
		{"prefix of an id", e.client.ID[:10], e.orders.ID, nil},
	} {
		t.Run("of/"+tc.name, func(t *testing.T) {
			as, err := e.db.AppRoleAssignmentsOf(ctx, tenantA, tc.principal, tc.resource)
			if err != nil {
				t.Fatal(err)
			}
			var got []string
			for _, a := range as {
				if a.PrincipalID != tc.principal || a.ResourceID != tc.resource {
					t.Errorf("AppRoleAssignmentsOf returned %+v for another pair", a)
				}
				got = append(got, a.AppRoleID)
			}
			slices.Sort(got)
			want := slices.Sorted(slices.Values(tc.wantRoles))
			if !slices.Equal(got, want) {
				t.Errorf("AppRoleAssignmentsOf roles = %v; want %v", got, want)
			}
		})
	}
	if _, err := e.db.AppRoleAssignmentsOf(ctx, tenantC, e.client.ID, e.orders.ID); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("AppRoleAssignmentsOf(missing tenant) = %v; want ErrNotFound", err)
	}

	all, err := e.db.ListAppRoleAssignments(ctx, tenantA)
	if err != nil || len(all) != 5 {
		t.Fatalf("ListAppRoleAssignments = %d, %v; want 5", len(all), err)
	}
	if !slices.ContainsFunc(all, func(a consent.AppRoleAssignment) bool { return reflect.DeepEqual(a, a1) }) {
		t.Errorf("ListAppRoleAssignments lacks %+v (round trip)", a1)
	}
	if err := e.db.DeleteAppRoleAssignment(ctx, tenantA, a1.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.db.DeleteAppRoleAssignment(ctx, tenantA, a1.ID); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("second DeleteAppRoleAssignment = %v; want ErrNotFound", err)
	}
	if as, _ := e.db.AppRoleAssignmentsOf(ctx, tenantA, e.client.ID, e.orders.ID); len(as) != 1 || as[0].AppRoleID != write {
		t.Errorf("AppRoleAssignmentsOf after delete = %+v; want the write role only", as)
	}
	// The role can be assigned again.
	e.assign(tenantA, e.client.ID, consent.PrincipalServicePrincipal, e.orders.ID, read)
}

func TestPutPermissionGrant(t *testing.T) {
	errBoom := errors.New("boom")
	appendScopes := func(extra string) func(*consent.PermissionGrant) error {
		return func(g *consent.PermissionGrant) error {
			g.Scope = strings.TrimSpace(g.Scope + " " + extra)
			return nil
		}
	}
	for _, tc := range []struct {
		name      string
		second    func(e grantsEnv) consent.PermissionGrant // put after the first AllPrincipals grant "read"
		merge     func(*consent.PermissionGrant) error
		want      error
		wantScope []string // scopes of every grant of client on orders, sorted by consent type then principal
	}{
		{"merge into existing", func(e grantsEnv) consent.PermissionGrant {
			g := newGrant(tenantA, e.client.ID, e.orders.ID, consent.AllPrincipals, "", "write")
			g.ID = objectID("new id, ignored")
			return g
		}, appendScopes("write"), nil, []string{"read write"}},
		{"nil merge replaces scope", func(e grantsEnv) consent.PermissionGrant {
			return newGrant(tenantA, e.client.ID, e.orders.ID, consent.AllPrincipals, "", "write")
		}, nil, nil, []string{"write"}},
		{"merge error aborts", func(e grantsEnv) consent.PermissionGrant {
			return newGrant(tenantA, e.client.ID, e.orders.ID, consent.AllPrincipals, "", "write")
		}, func(g *consent.PermissionGrant) error { g.Scope = "mutated"; return errBoom }, errBoom, []string{"read"}},
		{"merge may not change the key", func(e grantsEnv) consent.PermissionGrant {
			return newGrant(tenantA, e.client.ID, e.orders.ID, consent.AllPrincipals, "", "write")
		}, func(g *consent.PermissionGrant) error { g.ResourceID += "-changed"; return nil }, tenant.ErrInvalid, []string{"read"}},
		{"user grant is another grant", func(e grantsEnv) consent.PermissionGrant {
			return newGrant(tenantA, e.client.ID, e.orders.ID, consent.Principal, e.alice.ID, "profile")
		}, appendScopes("never called"), nil, []string{"read", "profile"}},
		{"id taken by another grant", func(e grantsEnv) consent.PermissionGrant {
			g := newGrant(tenantA, e.client.ID, e.orders.ID, consent.Principal, e.alice.ID, "profile")
			g.ID = newGrant(tenantA, e.client.ID, e.orders.ID, consent.AllPrincipals, "", "").ID
			return g
		}, nil, tenant.ErrExists, []string{"read"}},
		{"user missing", func(e grantsEnv) consent.PermissionGrant {
			return newGrant(tenantA, e.client.ID, e.orders.ID, consent.Principal, objectID("nobody"), "profile")
		}, nil, tenant.ErrNotFound, []string{"read"}},
		{"client missing", func(e grantsEnv) consent.PermissionGrant {
			return newGrant(tenantA, objectID("nobody"), e.orders.ID, consent.AllPrincipals, "", "read")
		}, nil, tenant.ErrNotFound, []string{"read"}},
		{"resource missing", func(e grantsEnv) consent.PermissionGrant {
			return newGrant(tenantA, e.client.ID, objectID("nobody"), consent.AllPrincipals, "", "read")
		}, nil, tenant.ErrNotFound, []string{"read"}},
		{"tenant missing", func(e grantsEnv) consent.PermissionGrant {
			return newGrant(tenantC, e.client.ID, e.orders.ID, consent.AllPrincipals, "", "read")
		}, nil, tenant.ErrNotFound, []string{"read"}},
		{"AllPrincipals with a principal", func(e grantsEnv) consent.PermissionGrant {
			return newGrant(tenantA, e.client.ID, e.orders.ID, consent.AllPrincipals, e.alice.ID, "read")
		}, nil, tenant.ErrInvalid, []string{"read"}},
		{"Principal without a principal", func(e grantsEnv) consent.PermissionGrant {
			return newGrant(tenantA, e.client.ID, e.orders.ID, consent.Principal, "", "read")
		}, nil, tenant.ErrInvalid, []string{"read"}},
		{"unknown consent type", func(e grantsEnv) consent.PermissionGrant {
			return newGrant(tenantA, e.client.ID, e.orders.ID, "Everyone", "", "read")
		}, nil, tenant.ErrInvalid, []string{"read"}},
		{"empty id", func(e grantsEnv) consent.PermissionGrant {
			g := newGrant(tenantA, e.client.ID, e.orders.ID, consent.Principal, e.alice.ID, "read")
			g.ID = ""
			return g
		}, nil, tenant.ErrInvalid, []string{"read"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newGrantsEnv(t)
			ctx := t.Context()
			first := e.grant(tenantA, e.client.ID, e.orders.ID, consent.AllPrincipals, "", "read")
			// An unrelated grant the scans must not pick up.
			e.grant(tenantA, e.client.ID, e.billing.ID, consent.AllPrincipals, "", "other")

			in := tc.second(e)
			got, putErr := e.db.PutPermissionGrant(ctx, in, tc.merge)
			wantErr(t, "PutPermissionGrant", putErr, tc.want)
			if putErr == nil {
				sameKey := string(grantKey(got)) == string(grantKey(first))
				if sameKey && got.ID != first.ID {
					t.Errorf("merged grant id = %s; want the existing %s", got.ID, first.ID)
				}
				if !sameKey && got != in {
					t.Errorf("new grant = %+v; want %+v", got, in)
				}
			} else if got != (consent.PermissionGrant{}) {
				t.Errorf("PutPermissionGrant returned %+v with an error; want the zero grant", got)
			}

			gs, err := e.db.PermissionGrantsOf(ctx, tenantA, e.client.ID, e.orders.ID)
			if err != nil {
				t.Fatal(err)
			}
			slices.SortFunc(gs, func(a, b consent.PermissionGrant) int {
				return strings.Compare(a.ConsentType+a.PrincipalID, b.ConsentType+b.PrincipalID)
			})
			var scopes []string
			for _, g := range gs {
				scopes = append(scopes, g.Scope)
			}
			if !slices.Equal(scopes, tc.wantScope) {
				t.Errorf("scopes of client on orders = %q; want %q", scopes, tc.wantScope)
			}
			if putErr == nil {
				stored := slices.IndexFunc(gs, func(g consent.PermissionGrant) bool { return g == got })
				if stored < 0 {
					t.Errorf("PutPermissionGrant returned %+v, which is not what is stored (%+v)", got, gs)
				}
			}
		})
	}
}

func TestPermissionGrantsListAndDelete(t *testing.T) {
	e := newGrantsEnv(t)
	ctx := t.Context()
	g1 := e.grant(tenantA, e.client.ID, e.orders.ID, consent.AllPrincipals, "", "read")
	g2 := e.grant(tenantA, e.client.ID, e.orders.ID, consent.Principal, e.alice.ID, "profile")
	g3 := e.grant(tenantA, e.orders.ID, e.billing.ID, consent.AllPrincipals, "", "pay")

	all, err := e.db.ListPermissionGrants(ctx, tenantA)
	if err != nil || len(all) != 3 {
		t.Fatalf("ListPermissionGrants = %+v, %v; want 3 grants", all, err)
	}
	for _, g := range []consent.PermissionGrant{g1, g2, g3} {
		if !containsGrant(all, g) {
			t.Errorf("ListPermissionGrants lacks %+v", g)
		}
	}
	if gs, err := e.db.ListPermissionGrants(ctx, tenantB); err != nil || len(gs) != 0 {
		t.Errorf("ListPermissionGrants(B) = %+v, %v; want none", gs, err)
	}
	if _, err := e.db.ListPermissionGrants(ctx, tenantC); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("ListPermissionGrants(C) = %v; want ErrNotFound", err)
	}
	if gs, err := e.db.PermissionGrantsOf(ctx, tenantA, e.orders.ID, e.client.ID); err != nil || len(gs) != 0 {
		t.Errorf("PermissionGrantsOf(orders, client) = %+v, %v; want none", gs, err)
	}
	if err := e.db.DeletePermissionGrant(ctx, tenantA, g1.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.db.DeletePermissionGrant(ctx, tenantA, g1.ID); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("second DeletePermissionGrant = %v; want ErrNotFound", err)
	}
	gs, _ := e.db.PermissionGrantsOf(ctx, tenantA, e.client.ID, e.orders.ID)
	if !reflect.DeepEqual(gs, []consent.PermissionGrant{g2}) {
		t.Errorf("PermissionGrantsOf after delete = %+v; want [%+v]", gs, g2)
	}
	// A new AllPrincipals grant for the same pair is a fresh insert.
	fresh := newGrant(tenantA, e.client.ID, e.orders.ID, consent.AllPrincipals, "", "write")
	fresh.ID = objectID("fresh")
	got, err := e.db.PutPermissionGrant(ctx, fresh, func(*consent.PermissionGrant) error {
		t.Error("merge called for a deleted grant")
		return nil
	})
	if err != nil || got != fresh {
		t.Errorf("PutPermissionGrant after delete = %+v, %v; want %+v", got, err, fresh)
	}
}
