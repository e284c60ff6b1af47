package conformance

import (
	"errors"
	"slices"
	"testing"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// scene is a directory with something hanging off every object: the
// fixture of the grant and cascade tests.
//
//	tenant A: api (roles Read, Write), client, user alice and bob, and a
//	          service principal of multi (homed in B)
//	tenant B: multi (multi-tenant, api://multi), user carol
//
// In A, client, alice and multi hold roles of api; client has an
// AllPrincipals grant and alice a Principal grant on api; multi has an
// AllPrincipals grant on api. In B, carol holds a role of multi and
// multi's home service principal a grant on itself.
type scene struct {
	api, client, multiA, multiB tenant.ServicePrincipal
	alice, bob, carol           tenant.User

	clientRead, aliceWrite, multiRead, carolWrite consent.AppRoleAssignment
	clientAll, aliceOwn, multiAll, multiSelf      consent.PermissionGrant
	multiApp                                      tenant.Application
}

func newScene(f *fixture) *scene {
	f.t.Helper()
	s := &scene{}
	f.tenant(tenantA, "a.example")
	f.tenant(tenantB, "b.example")
	s.api = f.app(newApp(appAPI, tenantA, "api://orders"))
	s.client = f.app(newApp(appClient, tenantA))
	s.multiApp = multiTenant(newApp(appMulti, tenantB, "api://multi"))
	s.multiB = f.app(s.multiApp)
	s.multiA = f.sp(tenantA, s.multiApp)
	s.alice = f.user(tenantA, "alice@a.example")
	s.bob = f.user(tenantA, "bob@a.example")
	s.carol = f.user(tenantB, "carol@b.example")
	sp, user := consent.PrincipalServicePrincipal, consent.PrincipalUser
	s.clientRead = f.assign(tenantA, s.client.ID, sp, s.api.ID, roleRead)
	s.aliceWrite = f.assign(tenantA, s.alice.ID, user, s.api.ID, roleWrite)
	s.multiRead = f.assign(tenantA, s.multiA.ID, sp, s.api.ID, roleRead)
	s.carolWrite = f.assign(tenantB, s.carol.ID, user, s.multiB.ID, roleWrite)
	s.clientAll = f.grant(tenantA, s.client.ID, s.api.ID, consent.AllPrincipals, "", "Orders.Read")
	s.aliceOwn = f.grant(tenantA, s.client.ID, s.api.ID, consent.Principal, s.alice.ID, "Orders.Read Orders.Write")
	s.multiAll = f.grant(tenantA, s.multiA.ID, s.api.ID, consent.AllPrincipals, "", "Orders.Read")
	s.multiSelf = f.grant(tenantB, s.multiB.ID, s.multiB.ID, consent.AllPrincipals, "", "user_impersonation")
	return s
}

// wantAssignments checks the tenant's assignments are exactly want.
func (f *fixture) wantAssignments(what, tenantID string, want ...consent.AppRoleAssignment) {
	f.t.Helper()
	got, err := f.b.ListAppRoleAssignments(f.ctx, tenantID)
	f.must("ListAppRoleAssignments", err)
	wantSame(f.t, what+": assignments of "+tenantID, byID(got, assignmentIDOf), byID(want, assignmentIDOf))
}

// wantGrants checks the tenant's permission grants are exactly want.
func (f *fixture) wantGrants(what, tenantID string, want ...consent.PermissionGrant) {
	f.t.Helper()
	got, err := f.b.ListPermissionGrants(f.ctx, tenantID)
	f.must("ListPermissionGrants", err)
	wantSame(f.t, what+": grants of "+tenantID, byID(got, grantIDOf), byID(want, grantIDOf))
}

func testAppRoleAssignments(t *testing.T, f *fixture) {
	s := newScene(f)
	f.wantAssignments("after creating", tenantA, s.clientRead, s.aliceWrite, s.multiRead)
	f.wantAssignments("after creating", tenantB, s.carolWrite)

	clientWrite := f.assign(tenantA, s.client.ID, consent.PrincipalServicePrincipal, s.api.ID, roleWrite)
	for _, tc := range []struct {
		name                string
		tenantID, principal string
		resource            string
		want                []consent.AppRoleAssignment
	}{
		{"two roles", tenantA, s.client.ID, s.api.ID, []consent.AppRoleAssignment{s.clientRead, clientWrite}},
		{"a user", tenantA, s.alice.ID, s.api.ID, []consent.AppRoleAssignment{s.aliceWrite}},
		{"nothing held", tenantA, s.bob.ID, s.api.ID, nil},
		{"another resource", tenantA, s.client.ID, s.client.ID, nil},
		{"another tenant", tenantB, s.client.ID, s.api.ID, nil},
	} {
		t.Run("AppRoleAssignmentsOf/"+tc.name, func(t *testing.T) {
			got, err := f.b.AppRoleAssignmentsOf(f.ctx, tc.tenantID, tc.principal, tc.resource)
			f.must("AppRoleAssignmentsOf", err)
			wantSame(t, "AppRoleAssignmentsOf", byID(got, assignmentIDOf), byID(tc.want, assignmentIDOf))
		})
	}

	other := func(a consent.AppRoleAssignment) consent.AppRoleAssignment {
		a.ID = objectID("assignment", "other")
		return a
	}
	runErrCases(t, []errCase{
		{"a role already held", func() error { return f.b.CreateAppRoleAssignment(f.ctx, other(s.clientRead)) }, tenant.ErrExists},
		{"a taken id", func() error {
			a := newAssignment(tenantA, s.bob.ID, consent.PrincipalUser, s.api.ID, roleWrite)
			a.ID = s.clientRead.ID
			return f.b.CreateAppRoleAssignment(f.ctx, a)
		}, tenant.ErrExists},
		{"a missing resource", func() error {
			return f.b.CreateAppRoleAssignment(f.ctx, newAssignment(tenantA, s.bob.ID, consent.PrincipalUser, objectID("nothing"), roleWrite))
		}, tenant.ErrNotFound},
		{"a resource of another tenant", func() error {
			return f.b.CreateAppRoleAssignment(f.ctx, newAssignment(tenantA, s.bob.ID, consent.PrincipalUser, s.multiB.ID, roleWrite))
		}, tenant.ErrNotFound},
		{"a missing principal", func() error {
			return f.b.CreateAppRoleAssignment(f.ctx, newAssignment(tenantA, objectID("nobody"), consent.PrincipalUser, s.api.ID, roleWrite))
		}, tenant.ErrNotFound},
		{"a service principal as a user", func() error {
			return f.b.CreateAppRoleAssignment(f.ctx, newAssignment(tenantA, s.multiA.ID, consent.PrincipalUser, s.api.ID, roleWrite))
		}, tenant.ErrNotFound},
		{"a user as a service principal", func() error {
			return f.b.CreateAppRoleAssignment(f.ctx, newAssignment(tenantA, s.bob.ID, consent.PrincipalServicePrincipal, s.api.ID, roleWrite))
		}, tenant.ErrNotFound},
		{"a missing tenant", func() error {
			return f.b.CreateAppRoleAssignment(f.ctx, newAssignment(tenantC, s.bob.ID, consent.PrincipalUser, s.api.ID, roleWrite))
		}, tenant.ErrNotFound},
		{"an empty id", func() error {
			a := newAssignment(tenantA, s.bob.ID, consent.PrincipalUser, s.api.ID, roleWrite)
			a.ID = ""
			return f.b.CreateAppRoleAssignment(f.ctx, a)
		}, tenant.ErrInvalid},
		{"delete a missing one", func() error { return f.b.DeleteAppRoleAssignment(f.ctx, tenantA, objectID("nothing")) }, tenant.ErrNotFound},
		{"delete in a missing tenant", func() error { return f.b.DeleteAppRoleAssignment(f.ctx, tenantC, s.clientRead.ID) }, tenant.ErrNotFound},
		{"list in a missing tenant", func() error { _, err := f.b.ListAppRoleAssignments(f.ctx, tenantC); return err }, tenant.ErrNotFound},
		{"held in a missing tenant", func() error {
			_, err := f.b.AppRoleAssignmentsOf(f.ctx, tenantC, s.client.ID, s.api.ID)
			return err
		}, tenant.ErrNotFound},
	})
	f.wantAssignments("after refused creates", tenantA, s.clientRead, clientWrite, s.aliceWrite, s.multiRead)

	f.must("DeleteAppRoleAssignment", f.b.DeleteAppRoleAssignment(f.ctx, tenantA, s.clientRead.ID))
	f.wantAssignments("after a delete", tenantA, clientWrite, s.aliceWrite, s.multiRead)
	got, err := f.b.AppRoleAssignmentsOf(f.ctx, tenantA, s.client.ID, s.api.ID)
	f.must("AppRoleAssignmentsOf", err)
	wantSame(t, "AppRoleAssignmentsOf after a delete", got, []consent.AppRoleAssignment{clientWrite})
	// The role can be assigned again.
	f.assign(tenantA, s.client.ID, consent.PrincipalServicePrincipal, s.api.ID, roleRead)
}

func testPermissionGrants(t *testing.T, f *fixture) {
	s := newScene(f)
	f.wantGrants("after creating", tenantA, s.clientAll, s.aliceOwn, s.multiAll)
	f.wantGrants("after creating", tenantB, s.multiSelf)
	got, err := f.b.PermissionGrantsOf(f.ctx, tenantA, s.client.ID, s.api.ID)
	f.must("PermissionGrantsOf", err)
	wantSame(t, "PermissionGrantsOf", byID(got, grantIDOf), byID([]consent.PermissionGrant{s.clientAll, s.aliceOwn}, grantIDOf))
	for _, tc := range []struct{ name, tenantID, client, resource string }{
		{"no grant", tenantA, s.api.ID, s.client.ID},
		{"another tenant", tenantB, s.client.ID, s.api.ID},
	} {
		got, err := f.b.PermissionGrantsOf(f.ctx, tc.tenantID, tc.client, tc.resource)
		if err != nil || len(got) != 0 {
			t.Errorf("PermissionGrantsOf, %s = %+v, %v; want none", tc.name, got, err)
		}
	}

	// A second put for the same (client, resource, consent type,
	// principal) finds the stored grant: a nil merge takes the new scope
	// and keeps the stored id.
	again := newGrant(tenantA, s.client.ID, s.api.ID, consent.AllPrincipals, "", "Orders.Read Orders.Write")
	again.ID = objectID("grant", "again")
	stored, err := f.b.PutPermissionGrant(f.ctx, again, nil)
	f.must("PutPermissionGrant over an existing grant", err)
	s.clientAll.Scope = "Orders.Read Orders.Write"
	wantSame(t, "PutPermissionGrant with a nil merge", stored, s.clientAll)
	// A merge sees the stored grant and its result is stored.
	stored, err = f.b.PutPermissionGrant(f.ctx, again, func(g *consent.PermissionGrant) error {
		if g.ID != s.clientAll.ID || g.Scope != "Orders.Read Orders.Write" {
			t.Errorf("merge was given %+v; want the stored grant", *g)
		}
		g.Scope = "Orders.Write"
		return nil
	})
	f.must("PutPermissionGrant with a merge", err)
	s.clientAll.Scope = "Orders.Write"
	wantSame(t, "PutPermissionGrant with a merge", stored, s.clientAll)

	errMerge := errors.New("merge refused")
	runErrCases(t, []errCase{
		{"a merge changing the client", func() error {
			_, err := f.b.PutPermissionGrant(f.ctx, again, func(g *consent.PermissionGrant) error { g.ClientID = s.multiA.ID; return nil })
			return err
		}, tenant.ErrInvalid},
		{"a merge changing the id", func() error {
			_, err := f.b.PutPermissionGrant(f.ctx, again, func(g *consent.PermissionGrant) error { g.ID = objectID("x"); return nil })
			return err
		}, tenant.ErrInvalid},
		{"a merge's own error", func() error {
			_, err := f.b.PutPermissionGrant(f.ctx, again, func(g *consent.PermissionGrant) error { g.Scope = "x"; return errMerge })
			return err
		}, errMerge},
		{"an unknown consent type", func() error {
			_, err := f.b.PutPermissionGrant(f.ctx, newGrant(tenantA, s.multiA.ID, s.api.ID, "Everyone", "", "x"), nil)
			return err
		}, tenant.ErrInvalid},
		{"an AllPrincipals grant with a principal", func() error {
			_, err := f.b.PutPermissionGrant(f.ctx, newGrant(tenantA, s.multiA.ID, s.api.ID, consent.AllPrincipals, s.bob.ID, "x"), nil)
			return err
		}, tenant.ErrInvalid},
		{"a Principal grant without one", func() error {
			_, err := f.b.PutPermissionGrant(f.ctx, newGrant(tenantA, s.multiA.ID, s.api.ID, consent.Principal, "", "x"), nil)
			return err
		}, tenant.ErrInvalid},
		{"a taken id", func() error {
			g := newGrant(tenantA, s.multiA.ID, s.api.ID, consent.Principal, s.bob.ID, "x")
			g.ID = s.aliceOwn.ID
			_, err := f.b.PutPermissionGrant(f.ctx, g, nil)
			return err
		}, tenant.ErrExists},
		{"a missing client", func() error {
			_, err := f.b.PutPermissionGrant(f.ctx, newGrant(tenantA, objectID("nothing"), s.api.ID, consent.AllPrincipals, "", "x"), nil)
			return err
		}, tenant.ErrNotFound},
		{"a missing resource", func() error {
			_, err := f.b.PutPermissionGrant(f.ctx, newGrant(tenantA, s.client.ID, objectID("nothing"), consent.AllPrincipals, "", "x"), nil)
			return err
		}, tenant.ErrNotFound},
		{"a missing user", func() error {
			_, err := f.b.PutPermissionGrant(f.ctx, newGrant(tenantA, s.client.ID, s.api.ID, consent.Principal, objectID("nobody"), "x"), nil)
			return err
		}, tenant.ErrNotFound},
		{"a user of another tenant", func() error {
			_, err := f.b.PutPermissionGrant(f.ctx, newGrant(tenantA, s.client.ID, s.api.ID, consent.Principal, s.carol.ID, "x"), nil)
			return err
		}, tenant.ErrNotFound},
		{"a missing tenant", func() error {
			_, err := f.b.PutPermissionGrant(f.ctx, newGrant(tenantC, s.client.ID, s.api.ID, consent.AllPrincipals, "", "x"), nil)
			return err
		}, tenant.ErrNotFound},
		{"delete a missing one", func() error { return f.b.DeletePermissionGrant(f.ctx, tenantA, objectID("nothing")) }, tenant.ErrNotFound},
		{"delete in a missing tenant", func() error { return f.b.DeletePermissionGrant(f.ctx, tenantC, s.aliceOwn.ID) }, tenant.ErrNotFound},
		{"list in a missing tenant", func() error { _, err := f.b.ListPermissionGrants(f.ctx, tenantC); return err }, tenant.ErrNotFound},
		{"grants of in a missing tenant", func() error {
			_, err := f.b.PermissionGrantsOf(f.ctx, tenantC, s.client.ID, s.api.ID)
			return err
		}, tenant.ErrNotFound},
	})
	f.wantGrants("after refused puts", tenantA, s.clientAll, s.aliceOwn, s.multiAll)

	f.must("DeletePermissionGrant", f.b.DeletePermissionGrant(f.ctx, tenantA, s.aliceOwn.ID))
	f.wantGrants("after a delete", tenantA, s.clientAll, s.multiAll)
	// Alice's consent can be given again, as a new grant.
	g := f.grant(tenantA, s.client.ID, s.api.ID, consent.Principal, s.alice.ID, "Orders.Read")
	if g.ID != s.aliceOwn.ID || g.Scope != "Orders.Read" {
		t.Errorf("a grant put again after its delete = %+v", g)
	}
}

func testCascadeDeleteUser(t *testing.T, f *fixture) {
	s := newScene(f)
	f.must("DeleteUser", f.b.DeleteUser(f.ctx, tenantA, s.alice.ID))
	f.wantAssignments("after deleting alice", tenantA, s.clientRead, s.multiRead)
	f.wantGrants("after deleting alice", tenantA, s.clientAll, s.multiAll)
	f.wantAssignments("after deleting alice", tenantB, s.carolWrite)
}

func testCascadeDeleteServicePrincipal(t *testing.T, f *fixture) {
	s := newScene(f)
	// multi's service principal in A is a client there (grant, role).
	f.must("DeleteServicePrincipal", f.b.DeleteServicePrincipal(f.ctx, tenantA, appMulti))
	f.wantAssignments("after deleting multi in A", tenantA, s.clientRead, s.aliceWrite)
	f.wantGrants("after deleting multi in A", tenantA, s.clientAll, s.aliceOwn)
	f.wantAssignments("after deleting multi in A", tenantB, s.carolWrite)
	f.wantGrants("after deleting multi in A", tenantB, s.multiSelf)
	// api's home service principal is a resource: everything on it goes.
	f.must("DeleteServicePrincipal", f.b.DeleteServicePrincipal(f.ctx, tenantA, appAPI))
	f.wantAssignments("after deleting api's service principal", tenantA)
	f.wantGrants("after deleting api's service principal", tenantA)
	if _, err := f.b.GetApplication(f.ctx, appAPI); err != nil {
		t.Errorf("deleting the home service principal deleted the application: %v", err)
	}
}

func testCascadeDeleteApplication(t *testing.T, f *fixture) {
	s := newScene(f)
	f.must("DeleteApplication", f.b.DeleteApplication(f.ctx, appMulti))
	for _, tid := range []string{tenantA, tenantB} {
		if _, err := f.b.GetServicePrincipal(f.ctx, tid, appMulti); !errors.Is(err, tenant.ErrNotFound) {
			t.Errorf("service principal of a deleted application in %s: %v; want ErrNotFound", tid, err)
		}
	}
	f.wantAssignments("after deleting multi", tenantA, s.clientRead, s.aliceWrite)
	f.wantGrants("after deleting multi", tenantA, s.clientAll, s.aliceOwn)
	f.wantAssignments("after deleting multi", tenantB)
	f.wantGrants("after deleting multi", tenantB)
	if _, _, err := f.b.FindServicePrincipal(f.ctx, tenantA, "api://multi"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("FindServicePrincipal of a deleted application's URI: %v; want ErrNotFound", err)
	}
	// Its identifier URI is free, for any application.
	f.app(multiTenant(newApp(appOther, tenantA, "api://multi")))
}

func testCascadeDeleteTenant(t *testing.T, f *fixture) {
	s := newScene(f)
	// B homes multi, whose service principal in A is a client there.
	f.must("DeleteTenant", f.b.DeleteTenant(f.ctx, tenantB))
	if _, err := f.b.GetApplication(f.ctx, appMulti); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("an application homed in a deleted tenant: %v; want ErrNotFound", err)
	}
	if _, err := f.b.GetServicePrincipal(f.ctx, tenantA, appMulti); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("the service principal in A of an application homed in a deleted tenant: %v; want ErrNotFound", err)
	}
	f.wantAssignments("after deleting B", tenantA, s.clientRead, s.aliceWrite)
	f.wantGrants("after deleting B", tenantA, s.clientAll, s.aliceOwn)
	sps, err := f.b.ListServicePrincipals(f.ctx, tenantA)
	f.must("ListServicePrincipals", err)
	if ids := idsOf(sps, spIDOf); !equalIDs(ids, s.api.ID, s.client.ID) {
		t.Errorf("service principals of A after deleting B: %v", ids)
	}
	for _, read := range []func() error{
		func() error { _, err := f.b.ListUsers(f.ctx, tenantB); return err },
		func() error { _, err := f.b.ListAppRoleAssignments(f.ctx, tenantB); return err },
		func() error { _, err := f.b.ListPermissionGrants(f.ctx, tenantB); return err },
		func() error { _, err := f.b.GetUserByUPN(f.ctx, tenantB, "carol@b.example"); return err },
	} {
		wantErr(t, "a read in the deleted tenant", read(), tenant.ErrNotFound)
	}
	// Everything the tenant held is free again: its id and domain, its
	// application's appId and URI.
	f.tenant(tenantB, "b.example")
	f.app(multiTenant(newApp(appMulti, tenantB, "api://multi")))
	f.user(tenantB, "carol@b.example")

	// A, home of the resource api, takes everything on it along.
	f.must("DeleteTenant", f.b.DeleteTenant(f.ctx, tenantA))
	apps, err := f.b.ListApplications(f.ctx, tenantB)
	f.must("ListApplications", err)
	if len(apps) != 1 || apps[0].AppID != appMulti {
		t.Errorf("applications of B after deleting A: %+v", apps)
	}
	for _, appID := range []string{appAPI, appClient} {
		if _, err := f.b.GetApplication(f.ctx, appID); !errors.Is(err, tenant.ErrNotFound) {
			t.Errorf("application %s homed in a deleted tenant: %v; want ErrNotFound", appID, err)
		}
	}
	list, err := f.b.ListTenants(f.ctx)
	f.must("ListTenants", err)
	if !slices.EqualFunc(list, []string{tenantB}, func(t tenant.Tenant, id string) bool { return t.ID == id }) {
		t.Errorf("tenants after deleting A and B's first incarnation: %+v", list)
	}
}
