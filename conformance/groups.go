package conformance

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// newGroup is a security group, or with unified a Microsoft 365 group,
// shaped as tenant.Directory.AddGroup makes one.
func newGroup(tenantID, name string, unified bool) tenant.Group {
	g := tenant.Group{ID: objectID("group", tenantID, name), TenantID: tenantID, DisplayName: name,
		MailNickname: strings.ReplaceAll(name, " ", ""), SecurityEnabled: !unified, CreatedDateTime: t0}
	if unified {
		g.MailEnabled, g.GroupTypes, g.Mail = true, []string{tenant.GroupTypeUnified}, g.MailNickname+"@a.example"
	}
	return g
}

func (f *fixture) group(tenantID, name string, unified bool) tenant.Group {
	f.t.Helper()
	g := newGroup(tenantID, name, unified)
	f.must("CreateGroup "+name, f.b.CreateGroup(f.ctx, g))
	return g
}

func (f *fixture) addMember(tenantID, groupID, memberID string) {
	f.t.Helper()
	f.must("AddGroupMember", f.b.AddGroupMember(f.ctx, tenantID, groupID, memberID))
}

// wantMembers checks a group's direct members are exactly want, in id
// order.
func (f *fixture) wantMembers(what, tenantID, groupID string, want ...tenant.GroupMember) {
	f.t.Helper()
	got, err := f.b.ListGroupMembers(f.ctx, tenantID, groupID)
	f.must(what+": ListGroupMembers", err)
	want = slices.Clone(want)
	slices.SortFunc(want, func(a, b tenant.GroupMember) int { return strings.Compare(a.ID, b.ID) })
	wantSame(f.t, what+": members of "+groupID, got, want)
}

// wantMemberOf checks the groups an object is directly in are exactly
// want, sorted.
func (f *fixture) wantMemberOf(what, tenantID, objectID string, want ...string) {
	f.t.Helper()
	got, err := f.b.MemberOf(f.ctx, tenantID, objectID)
	f.must(what+": MemberOf", err)
	want = slices.Clone(want)
	slices.Sort(want)
	if got == nil || !slices.Equal(got, want) {
		f.t.Errorf("%s: MemberOf(%s) = %#v; want %#v (sorted, [] for none)", what, objectID, got, want)
	}
}

func member(id, typ string) tenant.GroupMember { return tenant.GroupMember{ID: id, Type: typ} }

func groupIDOf(g tenant.Group) string { return g.ID }

func testGroups(t *testing.T, f *fixture) {
	s := newScene(f)
	eng := f.group(tenantA, "Engineering", false)
	all := f.group(tenantA, "All Company", true)
	other := f.group(tenantB, "Engineering", false)

	got, err := f.b.GetGroup(f.ctx, tenantA, all.ID)
	f.must("GetGroup", err)
	wantSame(t, "GetGroup", got, all)
	list, err := f.b.ListGroups(f.ctx, tenantA)
	f.must("ListGroups", err)
	if want := byID([]tenant.Group{eng, all}, groupIDOf); !same(list, want) {
		t.Errorf("ListGroups (id order):\n got %+v\nwant %+v", list, want)
	}
	if list, err := f.b.ListGroups(f.ctx, tenantC); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("ListGroups of a missing tenant = %v, %v; want ErrNotFound", list, err)
	}
	empty := f.tenant(objectID("tenant", "empty"))
	if list, err := f.b.ListGroups(f.ctx, empty.ID); err != nil || list == nil || len(list) != 0 {
		t.Errorf("ListGroups of a tenant without groups = %#v, %v; want []", list, err)
	}
	otherApp := multiTenant(newApp(appOther, tenantB))
	f.app(otherApp)
	// A returned value is the caller's own.
	got.GroupTypes[0] = "Dynamic"
	if again, _ := f.b.GetGroup(f.ctx, tenantA, all.ID); !same(again, all) {
		t.Errorf("changing a returned group changed the stored one: %+v", again)
	}

	for _, tc := range []struct {
		name string
		id   string
		typ  string
	}{
		{"a user", s.alice.ID, tenant.ObjectUser},
		{"a service principal", s.api.ID, tenant.ObjectServicePrincipal},
		{"a group", eng.ID, tenant.ObjectGroup},
	} {
		t.Run("GetObject of "+tc.name, func(t *testing.T) {
			got, err := f.b.GetObject(f.ctx, tenantA, tc.id)
			if err != nil || got != member(tc.id, tc.typ) {
				t.Errorf("GetObject = %+v, %v; want %s %s", got, err, tc.typ, tc.id)
			}
		})
	}

	runErrCases(t, []errCase{
		{"create with the id of a group", func() error {
			g := newGroup(tenantA, "Sales", false)
			g.ID = eng.ID
			return f.b.CreateGroup(f.ctx, g)
		}, tenant.ErrExists},
		{"create with the id of a user", func() error {
			g := newGroup(tenantA, "Sales", false)
			g.ID = s.alice.ID
			return f.b.CreateGroup(f.ctx, g)
		}, tenant.ErrExists},
		{"create with the id of a service principal", func() error {
			g := newGroup(tenantA, "Sales", false)
			g.ID = s.client.ID
			return f.b.CreateGroup(f.ctx, g)
		}, tenant.ErrExists},
		{"create a user with the id of a group", func() error {
			u := newUser(tenantA, "dave@a.example")
			u.ID = eng.ID
			return f.b.CreateUser(f.ctx, u)
		}, tenant.ErrExists},
		{"create a service principal with the id of a group", func() error {
			sp := newSP(tenantA, otherApp)
			sp.ID = all.ID
			return f.b.CreateServicePrincipal(f.ctx, sp)
		}, tenant.ErrExists},
		{"create with an empty id", func() error {
			g := newGroup(tenantA, "Sales", false)
			g.ID = ""
			return f.b.CreateGroup(f.ctx, g)
		}, tenant.ErrInvalid},
		{"create with a zero byte in the id", func() error {
			g := newGroup(tenantA, "Sales", false)
			g.ID = "a\x00b"
			return f.b.CreateGroup(f.ctx, g)
		}, tenant.ErrInvalid},
		{"create in a missing tenant", func() error {
			return f.b.CreateGroup(f.ctx, newGroup(tenantC, "Sales", false))
		}, tenant.ErrNotFound},
		{"get a missing group", func() error { _, err := f.b.GetGroup(f.ctx, tenantA, objectID("nogroup")); return err }, tenant.ErrNotFound},
		{"get a group of another tenant", func() error { _, err := f.b.GetGroup(f.ctx, tenantA, other.ID); return err }, tenant.ErrNotFound},
		{"get a user as a group", func() error { _, err := f.b.GetGroup(f.ctx, tenantA, s.alice.ID); return err }, tenant.ErrNotFound},
		{"get in a missing tenant", func() error { _, err := f.b.GetGroup(f.ctx, tenantC, eng.ID); return err }, tenant.ErrNotFound},
		{"get a missing object", func() error { _, err := f.b.GetObject(f.ctx, tenantA, objectID("nobody")); return err }, tenant.ErrNotFound},
		{"get an object of another tenant", func() error { _, err := f.b.GetObject(f.ctx, tenantB, s.alice.ID); return err }, tenant.ErrNotFound},
		{"get an object with an empty id", func() error { _, err := f.b.GetObject(f.ctx, tenantA, ""); return err }, tenant.ErrInvalid},
		{"update a missing group", func() error {
			return f.b.UpdateGroup(f.ctx, tenantA, objectID("nogroup"), func(*tenant.Group) error { return nil })
		}, tenant.ErrNotFound},
		{"update changing the id", func() error {
			return f.b.UpdateGroup(f.ctx, tenantA, eng.ID, func(g *tenant.Group) error { g.ID = objectID("x"); return nil })
		}, tenant.ErrInvalid},
		{"update changing the tenant", func() error {
			return f.b.UpdateGroup(f.ctx, tenantA, eng.ID, func(g *tenant.Group) error { g.TenantID = tenantB; return nil })
		}, tenant.ErrInvalid},
		{"delete a missing group", func() error { return f.b.DeleteGroup(f.ctx, tenantA, objectID("nogroup")) }, tenant.ErrNotFound},
		{"delete a user as a group", func() error { return f.b.DeleteGroup(f.ctx, tenantA, s.alice.ID) }, tenant.ErrNotFound},
	})
	if _, err := f.b.GetObject(f.ctx, tenantA, objectID("group", tenantA, "Sales")); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("a refused CreateGroup stored something: %v", err)
	}
	if got, _ := f.b.GetGroup(f.ctx, tenantA, eng.ID); !same(got, eng) {
		t.Errorf("refused updates changed the group: %+v", got)
	}

	f.must("UpdateGroup", f.b.UpdateGroup(f.ctx, tenantA, eng.ID, func(g *tenant.Group) error {
		g.DisplayName, g.Description = "Engineering and Research", "Builds things"
		return nil
	}))
	eng.DisplayName, eng.Description = "Engineering and Research", "Builds things"
	got, err = f.b.GetGroup(f.ctx, tenantA, eng.ID)
	f.must("GetGroup after update", err)
	wantSame(t, "GetGroup after update", got, eng)

	f.must("DeleteGroup", f.b.DeleteGroup(f.ctx, tenantA, eng.ID))
	if _, err := f.b.GetGroup(f.ctx, tenantA, eng.ID); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetGroup after delete: %v; want ErrNotFound", err)
	}
	if _, err := f.b.GetObject(f.ctx, tenantA, eng.ID); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetObject after delete: %v; want ErrNotFound", err)
	}
	// Its id is free again, for any kind of object.
	u := newUser(tenantA, "eng@a.example")
	u.ID = eng.ID
	f.must("CreateUser with a deleted group's id", f.b.CreateUser(f.ctx, u))
	if got, _ := f.b.GetGroup(f.ctx, tenantB, other.ID); !same(got, other) {
		t.Errorf("deleting a group of A changed B's group of the same name: %+v", got)
	}
}

func testGroupMembers(t *testing.T, f *fixture) {
	s := newScene(f)
	eng := f.group(tenantA, "Engineering", false)
	backend := f.group(tenantA, "Backend", false)
	oncall := f.group(tenantA, "On call", false)
	all := f.group(tenantA, "All Company", true)
	other := f.group(tenantB, "Elsewhere", false)

	f.wantMembers("a new group", tenantA, eng.ID)
	f.wantMemberOf("a user in no group", tenantA, s.alice.ID)
	f.wantMemberOf("an id of nothing", tenantA, objectID("nobody"))

	f.addMember(tenantA, eng.ID, s.alice.ID)
	f.addMember(tenantA, eng.ID, s.client.ID)
	f.addMember(tenantA, eng.ID, backend.ID)
	f.addMember(tenantA, backend.ID, s.bob.ID)
	f.addMember(tenantA, backend.ID, oncall.ID)
	f.addMember(tenantA, oncall.ID, s.alice.ID)
	f.addMember(tenantA, all.ID, s.alice.ID)
	f.addMember(tenantA, all.ID, s.multiA.ID)
	f.addMember(tenantB, other.ID, s.carol.ID)

	f.wantMembers("engineering", tenantA, eng.ID,
		member(s.alice.ID, tenant.ObjectUser), member(s.client.ID, tenant.ObjectServicePrincipal), member(backend.ID, tenant.ObjectGroup))
	f.wantMembers("backend", tenantA, backend.ID, member(s.bob.ID, tenant.ObjectUser), member(oncall.ID, tenant.ObjectGroup))
	f.wantMembers("all company", tenantA, all.ID,
		member(s.alice.ID, tenant.ObjectUser), member(s.multiA.ID, tenant.ObjectServicePrincipal))
	f.wantMemberOf("alice", tenantA, s.alice.ID, eng.ID, oncall.ID, all.ID)
	f.wantMemberOf("on call", tenantA, oncall.ID, backend.ID)
	f.wantMemberOf("a service principal", tenantA, s.client.ID, eng.ID)
	f.wantMemberOf("carol in her tenant", tenantB, s.carol.ID, other.ID)
	f.wantMemberOf("carol's id in another tenant", tenantA, s.carol.ID)
	if ids, err := tenant.TransitiveMemberOf(f.ctx, f.b, tenantA, s.bob.ID); err != nil || !equalIDs(ids, backend.ID, eng.ID) {
		t.Errorf("TransitiveMemberOf(bob) = %v, %v; want backend and engineering", ids, err)
	}

	runErrCases(t, []errCase{
		{"add to a missing group", func() error { return f.b.AddGroupMember(f.ctx, tenantA, objectID("nogroup"), s.bob.ID) }, tenant.ErrNotFound},
		{"add to a group of another tenant", func() error { return f.b.AddGroupMember(f.ctx, tenantA, other.ID, s.bob.ID) }, tenant.ErrNotFound},
		{"add an unknown member", func() error { return f.b.AddGroupMember(f.ctx, tenantA, eng.ID, objectID("nobody")) }, tenant.ErrNotFound},
		{"add a member of another tenant", func() error { return f.b.AddGroupMember(f.ctx, tenantA, eng.ID, s.carol.ID) }, tenant.ErrNotFound},
		{"add in a missing tenant", func() error { return f.b.AddGroupMember(f.ctx, tenantC, eng.ID, s.bob.ID) }, tenant.ErrNotFound},
		{"add a member twice", func() error { return f.b.AddGroupMember(f.ctx, tenantA, eng.ID, s.alice.ID) }, tenant.ErrExists},
		{"add a group twice", func() error { return f.b.AddGroupMember(f.ctx, tenantA, eng.ID, backend.ID) }, tenant.ErrExists},
		{"add a group to itself", func() error { return f.b.AddGroupMember(f.ctx, tenantA, eng.ID, eng.ID) }, tenant.ErrInvalid},
		{"add a group's container to it", func() error { return f.b.AddGroupMember(f.ctx, tenantA, backend.ID, eng.ID) }, tenant.ErrInvalid},
		{"close a cycle three deep", func() error { return f.b.AddGroupMember(f.ctx, tenantA, oncall.ID, eng.ID) }, tenant.ErrInvalid},
		{"add a group to a Microsoft 365 group", func() error { return f.b.AddGroupMember(f.ctx, tenantA, all.ID, backend.ID) }, tenant.ErrInvalid},
		{"add with an empty member id", func() error { return f.b.AddGroupMember(f.ctx, tenantA, eng.ID, "") }, tenant.ErrInvalid},
		{"add with an empty group id", func() error { return f.b.AddGroupMember(f.ctx, tenantA, "", s.bob.ID) }, tenant.ErrInvalid},
		{"remove from a missing group", func() error { return f.b.RemoveGroupMember(f.ctx, tenantA, objectID("nogroup"), s.bob.ID) }, tenant.ErrNotFound},
		{"remove a non-member", func() error { return f.b.RemoveGroupMember(f.ctx, tenantA, eng.ID, s.bob.ID) }, tenant.ErrNotFound},
		{"remove an indirect member", func() error { return f.b.RemoveGroupMember(f.ctx, tenantA, eng.ID, oncall.ID) }, tenant.ErrNotFound},
		{"remove with a zero byte in the id", func() error { return f.b.RemoveGroupMember(f.ctx, tenantA, eng.ID, "a\x00b") }, tenant.ErrInvalid},
		{"list the members of a missing group", func() error { _, err := f.b.ListGroupMembers(f.ctx, tenantA, objectID("nogroup")); return err }, tenant.ErrNotFound},
		{"list the members of a user", func() error { _, err := f.b.ListGroupMembers(f.ctx, tenantA, s.alice.ID); return err }, tenant.ErrNotFound},
		{"list in a missing tenant", func() error { _, err := f.b.ListGroupMembers(f.ctx, tenantC, eng.ID); return err }, tenant.ErrNotFound},
		{"member of in a missing tenant", func() error { _, err := f.b.MemberOf(f.ctx, tenantC, s.alice.ID); return err }, tenant.ErrNotFound},
		{"member of an empty id", func() error { _, err := f.b.MemberOf(f.ctx, tenantA, ""); return err }, tenant.ErrInvalid},
	})
	f.wantMembers("after refused additions", tenantA, all.ID,
		member(s.alice.ID, tenant.ObjectUser), member(s.multiA.ID, tenant.ObjectServicePrincipal))
	f.wantMemberOf("engineering after refused additions", tenantA, eng.ID)

	// A Microsoft 365 group is no member-less dead end: it may be in a
	// security group.
	f.addMember(tenantA, eng.ID, all.ID)
	f.wantMemberOf("a Microsoft 365 group in a security group", tenantA, all.ID, eng.ID)

	f.must("RemoveGroupMember", f.b.RemoveGroupMember(f.ctx, tenantA, backend.ID, oncall.ID))
	f.wantMembers("backend after removing on call", tenantA, backend.ID, member(s.bob.ID, tenant.ObjectUser))
	f.wantMemberOf("on call after its removal", tenantA, oncall.ID)
	// With the link gone, the reverse nesting no longer closes a cycle.
	f.addMember(tenantA, oncall.ID, eng.ID)
	f.wantMemberOf("engineering inside on call", tenantA, eng.ID, oncall.ID)
	if _, err := f.b.GetObject(f.ctx, tenantA, s.bob.ID); err != nil {
		t.Errorf("removing a membership touched the member: %v", err)
	}
	// A deletion given the id of another kind of object deletes nothing,
	// memberships included.
	wantErr(t, "DeleteUser of a group's id", f.b.DeleteUser(f.ctx, tenantA, backend.ID), tenant.ErrNotFound)
	wantErr(t, "DeleteGroup of a user's id", f.b.DeleteGroup(f.ctx, tenantA, s.alice.ID), tenant.ErrNotFound)
	f.wantMembers("backend after a refused DeleteUser", tenantA, backend.ID, member(s.bob.ID, tenant.ObjectUser))
	f.wantMemberOf("backend after a refused DeleteUser", tenantA, backend.ID, eng.ID)
	f.wantMemberOf("alice after a refused DeleteGroup", tenantA, s.alice.ID, eng.ID, oncall.ID, all.ID)
	// Updating a group keeps its memberships.
	f.must("UpdateGroup", f.b.UpdateGroup(f.ctx, tenantA, backend.ID, func(g *tenant.Group) error { g.DisplayName = "Back end"; return nil }))
	f.wantMembers("backend after its update", tenantA, backend.ID, member(s.bob.ID, tenant.ObjectUser))
	f.wantMemberOf("backend after its update", tenantA, backend.ID, eng.ID)
}

// testGroupAssignments checks app role assignments to groups: a group of
// the tenant may hold one (PrincipalType Group), read back by
// AppRoleAssignmentsOf as any principal's.
func testGroupAssignments(t *testing.T, f *fixture) {
	s := newScene(f)
	eng := f.group(tenantA, "Engineering", false)
	other := f.group(tenantB, "Elsewhere", false)
	engWrite := f.assign(tenantA, eng.ID, consent.PrincipalGroup, s.api.ID, roleWrite)
	got, err := f.b.AppRoleAssignmentsOf(f.ctx, tenantA, eng.ID, s.api.ID)
	f.must("AppRoleAssignmentsOf a group", err)
	wantSame(t, "AppRoleAssignmentsOf a group", got, []consent.AppRoleAssignment{engWrite})
	f.wantAssignments("with a group's", tenantA, s.clientRead, s.aliceWrite, s.multiRead, engWrite)

	runErrCases(t, []errCase{
		{"a group's role twice", func() error {
			a := newAssignment(tenantA, eng.ID, consent.PrincipalGroup, s.api.ID, roleWrite)
			a.ID = objectID("another assignment")
			return f.b.CreateAppRoleAssignment(f.ctx, a)
		}, tenant.ErrExists},
		{"a missing group", func() error {
			return f.b.CreateAppRoleAssignment(f.ctx, newAssignment(tenantA, objectID("nogroup"), consent.PrincipalGroup, s.api.ID, roleRead))
		}, tenant.ErrNotFound},
		{"a group of another tenant", func() error {
			return f.b.CreateAppRoleAssignment(f.ctx, newAssignment(tenantA, other.ID, consent.PrincipalGroup, s.api.ID, roleRead))
		}, tenant.ErrNotFound},
		{"a user said to be a group", func() error {
			return f.b.CreateAppRoleAssignment(f.ctx, newAssignment(tenantA, s.bob.ID, consent.PrincipalGroup, s.api.ID, roleRead))
		}, tenant.ErrNotFound},
		{"a group said to be a user", func() error {
			return f.b.CreateAppRoleAssignment(f.ctx, newAssignment(tenantA, eng.ID, consent.PrincipalUser, s.api.ID, roleRead))
		}, tenant.ErrNotFound},
	})
	f.wantAssignments("after refusals", tenantA, s.clientRead, s.aliceWrite, s.multiRead, engWrite)
	f.must("DeleteAppRoleAssignment", f.b.DeleteAppRoleAssignment(f.ctx, tenantA, engWrite.ID))
	f.wantAssignments("after deleting the group's", tenantA, s.clientRead, s.aliceWrite, s.multiRead)
}

// testCascadeDeleteMembers checks that deleting an object takes its
// memberships with it, both ways, and that an object created again with
// the same id is in no group.
func testCascadeDeleteMembers(t *testing.T, f *fixture) {
	s := newScene(f)
	eng := f.group(tenantA, "Engineering", false)
	backend := f.group(tenantA, "Backend", false)
	apps := f.group(tenantA, "Apps", false)
	guests := f.group(tenantA, "Guests", false)
	bGroup := f.group(tenantB, "Elsewhere", false)
	f.addMember(tenantA, eng.ID, backend.ID)
	f.addMember(tenantA, backend.ID, s.alice.ID)
	f.addMember(tenantA, backend.ID, s.bob.ID)
	f.addMember(tenantA, eng.ID, s.alice.ID)
	f.addMember(tenantA, apps.ID, s.client.ID)
	f.addMember(tenantA, apps.ID, s.multiA.ID)
	f.addMember(tenantA, guests.ID, s.multiA.ID)
	f.addMember(tenantB, bGroup.ID, s.multiB.ID)
	f.addMember(tenantB, bGroup.ID, s.carol.ID)
	backendWrite := f.assign(tenantA, backend.ID, consent.PrincipalGroup, s.api.ID, roleWrite)
	engRead := f.assign(tenantA, eng.ID, consent.PrincipalGroup, s.api.ID, roleRead)

	// Each deletion in turn, on what the previous ones left.
	f.must("DeleteUser", f.b.DeleteUser(f.ctx, tenantA, s.alice.ID))
	f.wantMembers("backend without alice", tenantA, backend.ID, member(s.bob.ID, tenant.ObjectUser))
	f.wantMembers("engineering without alice", tenantA, eng.ID, member(backend.ID, tenant.ObjectGroup))
	f.wantMemberOf("alice's id", tenantA, s.alice.ID)
	f.user(tenantA, "alice@a.example")
	f.wantMemberOf("alice created again", tenantA, s.alice.ID)

	f.must("DeleteServicePrincipal", f.b.DeleteServicePrincipal(f.ctx, tenantA, appClient))
	f.wantMembers("apps without the client", tenantA, apps.ID, member(s.multiA.ID, tenant.ObjectServicePrincipal))
	f.wantMemberOf("the client's id", tenantA, s.client.ID)

	// multi has service principals in A (in two groups) and B.
	f.must("DeleteApplication", f.b.DeleteApplication(f.ctx, appMulti))
	f.wantMembers("apps without multi", tenantA, apps.ID)
	f.wantMembers("guests without multi", tenantA, guests.ID)
	f.wantMembers("B's group without multi", tenantB, bGroup.ID, member(s.carol.ID, tenant.ObjectUser))
	f.wantMemberOf("multi's id in A", tenantA, s.multiA.ID)

	f.must("DeleteGroup", f.b.DeleteGroup(f.ctx, tenantA, backend.ID))
	f.wantMembers("engineering without backend", tenantA, eng.ID)
	f.wantMemberOf("bob, whose group is gone", tenantA, s.bob.ID)
	f.wantMemberOf("backend's id", tenantA, backend.ID)
	if _, err := f.b.GetUser(f.ctx, tenantA, s.bob.ID); err != nil {
		t.Errorf("deleting a group deleted its member: %v", err)
	}
	// The client's, alice's and multi's assignments went with them.
	f.wantAssignments("after deleting backend", tenantA, engRead)
	if got, err := f.b.AppRoleAssignmentsOf(f.ctx, tenantA, backend.ID, s.api.ID); err != nil || len(got) != 0 {
		t.Errorf("AppRoleAssignmentsOf a deleted group = %+v, %v; want none (had %s)", got, err, backendWrite.ID)
	}
	// Created again with the same id, it has no members and no roles.
	f.group(tenantA, "Backend", false)
	f.wantMembers("backend created again", tenantA, backend.ID)
	f.wantMemberOf("backend created again", tenantA, backend.ID)

	f.must("DeleteTenant", f.b.DeleteTenant(f.ctx, tenantB))
	if _, err := f.b.GetGroup(f.ctx, tenantB, bGroup.ID); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetGroup in a deleted tenant: %v; want ErrNotFound", err)
	}
	f.tenant(tenantB, "b.example")
	f.wantMemberOf("carol's id in the tenant created again", tenantB, s.carol.ID)
	if list, err := f.b.ListGroups(f.ctx, tenantB); err != nil || len(list) != 0 {
		t.Errorf("ListGroups of the tenant created again = %+v, %v; want none", list, err)
	}
}

// testGroupsView checks that the read view answers GetGroup and MemberOf
// as the backend does, from its one snapshot.
func testGroupsView(t *testing.T, f *fixture) {
	s := newScene(f)
	eng := f.group(tenantA, "Engineering", false)
	ops := f.group(tenantA, "Operations", false)
	f.addMember(tenantA, eng.ID, s.alice.ID)
	ctx := f.ctx
	for _, tc := range []struct {
		name string
		read func(r tenant.Reader) (any, error)
		want error
	}{
		{"GetGroup", func(r tenant.Reader) (any, error) { return r.GetGroup(ctx, tenantA, eng.ID) }, nil},
		{"GetGroup missing", func(r tenant.Reader) (any, error) { return r.GetGroup(ctx, tenantB, eng.ID) }, tenant.ErrNotFound},
		{"MemberOf", func(r tenant.Reader) (any, error) { return r.MemberOf(ctx, tenantA, s.alice.ID) }, nil},
		{"MemberOf none", func(r tenant.Reader) (any, error) { return r.MemberOf(ctx, tenantA, s.bob.ID) }, nil},
		{"MemberOf missing tenant", func(r tenant.Reader) (any, error) { return r.MemberOf(ctx, tenantC, s.bob.ID) }, tenant.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var inView any
			var viewErr error
			f.must("View", f.b.View(ctx, func(r consent.Reader) error {
				inView, viewErr = tc.read(r)
				return nil
			}))
			direct, err := tc.read(f.b)
			for _, e := range []error{viewErr, err} {
				if tc.want == nil && e != nil || tc.want != nil && !errors.Is(e, tc.want) {
					t.Errorf("in a view: %v, directly: %v; want %v", viewErr, err, tc.want)
				}
			}
			if !same(inView, direct) {
				t.Errorf("in a view %+v; directly %+v", inView, direct)
			}
		})
	}
	t.Run("one snapshot", func(t *testing.T) {
		written := make(chan error, 1)
		f.must("View", f.b.View(ctx, func(r consent.Reader) error {
			before, err := r.MemberOf(ctx, tenantA, s.alice.ID)
			if err != nil {
				return err
			}
			go func() { written <- f.b.AddGroupMember(ctx, tenantA, ops.ID, s.alice.ID) }()
			// As testView's: the write may wait for the view to end.
			select {
			case err := <-written:
				written <- err
			case <-time.After(500 * time.Millisecond):
			}
			after, err := r.MemberOf(ctx, tenantA, s.alice.ID)
			if err != nil {
				return err
			}
			if !equalIDs(before, eng.ID) || !equalIDs(after, eng.ID) {
				t.Errorf("in the view: MemberOf %v, then %v; want the snapshot's [%s] both times", before, after, eng.ID)
			}
			return nil
		}))
		f.must("AddGroupMember", <-written)
		f.must("View", f.b.View(ctx, func(r consent.Reader) error {
			got, err := r.MemberOf(ctx, tenantA, s.alice.ID)
			if err == nil && !equalIDs(got, eng.ID, ops.ID) {
				t.Errorf("the next view: MemberOf %v; want the write seen", got)
			}
			return err
		}))
	})
}

// testConcurrentNesting races two additions that would, together, make a
// cycle (A in B, B in A): the check runs inside each write, so exactly one
// succeeds and the other is ErrInvalid.
func testConcurrentNesting(t *testing.T, f *fixture) {
	f.tenant(tenantA, "a.example")
	for i := range 4 {
		a, b := f.group(tenantA, fmt.Sprint("A", i), false), f.group(tenantA, fmt.Sprint("B", i), false)
		errs := make([]error, 2)
		var wg sync.WaitGroup
		start := make(chan struct{})
		for j, pair := range [][2]string{{a.ID, b.ID}, {b.ID, a.ID}} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				errs[j] = f.b.AddGroupMember(f.ctx, tenantA, pair[0], pair[1])
			}()
		}
		close(start)
		wg.Wait()
		ok := 0
		for _, err := range errs {
			switch {
			case err == nil:
				ok++
			case !errors.Is(err, tenant.ErrInvalid):
				t.Errorf("round %d: a refused nesting: %v; want ErrInvalid", i, err)
			}
		}
		if ok != 1 {
			t.Errorf("round %d: %d of two opposite nestings succeeded (%v); want exactly one", i, ok, errs)
		}
	}
}

// testDeleteManyMemberships deletes a user in many groups and a group of
// many members: more index entries than a shared store takes in one
// transaction (etcd's default is 128 operations), which a store must
// delete all the same.
func testDeleteManyMemberships(t *testing.T, f *fixture) {
	const n = 70
	f.tenant(tenantA, "a.example")
	alice := f.user(tenantA, "alice@a.example")
	big := f.group(tenantA, "Everyone", false)
	var groups []string
	for i := range n {
		g := f.group(tenantA, fmt.Sprint("Team ", i), false)
		groups = append(groups, g.ID)
		f.addMember(tenantA, g.ID, alice.ID)
		u := f.user(tenantA, fmt.Sprintf("user%d@a.example", i))
		f.addMember(tenantA, big.ID, u.ID)
	}
	f.wantMemberOf("alice in many groups", tenantA, alice.ID, groups...)
	f.must("DeleteUser", f.b.DeleteUser(f.ctx, tenantA, alice.ID))
	f.wantMemberOf("alice deleted", tenantA, alice.ID)
	for _, id := range groups[:3] {
		f.wantMembers("a team after deleting alice", tenantA, id)
	}
	f.must("DeleteGroup", f.b.DeleteGroup(f.ctx, tenantA, big.ID))
	u, err := f.b.GetUserByUPN(f.ctx, tenantA, "user0@a.example")
	f.must("GetUserByUPN", err)
	f.wantMemberOf("a member of a deleted group", tenantA, u.ID)
	if _, err := f.b.GetGroup(f.ctx, tenantA, big.ID); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetGroup after deleting a big group: %v; want ErrNotFound", err)
	}
}

// testDeletePrincipalOfManyAssignments deletes a group and a user that
// hold more app role assignments than a shared store takes in one
// transaction: a group such as "All employees" is commonly assigned to
// dozens of applications, and the store deletes it all the same.
func testDeletePrincipalOfManyAssignments(t *testing.T, f *fixture) {
	const n = 70
	s := newScene(f)
	everyone := f.group(tenantA, "Everyone", false)
	for i := range n {
		f.assign(tenantA, everyone.ID, consent.PrincipalGroup, s.api.ID, objectID("role", fmt.Sprint(i)))
		f.assign(tenantA, s.bob.ID, consent.PrincipalUser, s.api.ID, objectID("role", fmt.Sprint(i)))
	}
	f.must("DeleteUser", f.b.DeleteUser(f.ctx, tenantA, s.bob.ID))
	f.must("DeleteGroup", f.b.DeleteGroup(f.ctx, tenantA, everyone.ID))
	f.wantAssignments("after deleting the group and bob", tenantA, s.clientRead, s.aliceWrite, s.multiRead)
}
