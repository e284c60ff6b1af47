package tenant_test

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/tenant"
)

// groupsFixture is what the group tests start from: tenant Contoso (with
// the domain contoso.com) and Fabrikam, the users Ada and Bob of Contoso
// and Fay of Fabrikam, and Contoso's application Daemon with its service
// principal.
type groupsFixture struct {
	contoso, fabrikam tenant.Tenant
	ada, bob, fay     tenant.User
	daemon            tenant.Application
	daemonSP          tenant.ServicePrincipal
}

func newGroupsEnv(t *testing.T) (*env, groupsFixture) {
	t.Helper()
	e := newEnv(t)
	f := groupsFixture{contoso: e.tenant("contoso", "contoso.com"), fabrikam: e.tenant("fabrikam")}
	f.ada = e.user(f.contoso.ID, "ada@contoso.com")
	f.bob = e.user(f.contoso.ID, "bob@contoso.onmicrosoft.com")
	f.fay = e.user(f.fabrikam.ID, "fay@fabrikam.onmicrosoft.com")
	f.daemon = e.app(f.contoso.ID, tenant.ApplicationSpec{DisplayName: "Daemon"})
	var err error
	if f.daemonSP, _, err = e.dir.FindServicePrincipal(e.ctx, f.contoso.ID, f.daemon.AppID); err != nil {
		t.Fatal(err)
	}
	return e, f
}

func (e *env) user(tenantID, upn string) tenant.User {
	e.t.Helper()
	u, err := e.dir.AddUser(e.ctx, tenantID, tenant.UserSpec{UserPrincipalName: upn})
	if err != nil {
		e.t.Fatalf("AddUser(%s): %v", upn, err)
	}
	return u
}

func (e *env) group(tenantID string, spec tenant.GroupSpec) tenant.Group {
	e.t.Helper()
	g, err := e.dir.AddGroup(e.ctx, tenantID, spec)
	if err != nil {
		e.t.Fatalf("AddGroup(%s): %v", spec.DisplayName, err)
	}
	return g
}

func (e *env) member(tenantID, groupRef, memberRef string) {
	e.t.Helper()
	if _, err := e.dir.AddGroupMember(e.ctx, tenantID, groupRef, memberRef); err != nil {
		e.t.Fatalf("AddGroupMember(%s, %s): %v", groupRef, memberRef, err)
	}
}

// TestAddGroup: a security group by default, a Microsoft 365 group with
// Unified, with the properties Graph gives each kind.
func TestAddGroup(t *testing.T) {
	for _, tc := range []struct {
		name string
		spec tenant.GroupSpec
		want tenant.Group // ID, TenantID and CreatedDateTime checked apart
	}{
		{"security group by default", tenant.GroupSpec{DisplayName: "  Order Approvers ", Description: "Approve orders"},
			tenant.Group{DisplayName: "Order Approvers", Description: "Approve orders", MailNickname: "OrderApprovers", SecurityEnabled: true}},
		{"mailNickname given", tenant.GroupSpec{DisplayName: "Approvers", MailNickname: "approvers-eu"},
			tenant.Group{DisplayName: "Approvers", MailNickname: "approvers-eu", SecurityEnabled: true}},
		{"mailNickname from a name with forbidden characters", tenant.GroupSpec{DisplayName: "Sales & Marketing (EU) <all>; ünïcode"},
			tenant.Group{DisplayName: "Sales & Marketing (EU) <all>; ünïcode", MailNickname: "Sales&MarketingEUallncode", SecurityEnabled: true}},
		{"mailNickname of a name without one allowed character", tenant.GroupSpec{DisplayName: "（）"},
			tenant.Group{DisplayName: "（）", MailNickname: "group", SecurityEnabled: true}},
		{"mailNickname cut at 64 characters", tenant.GroupSpec{DisplayName: strings.Repeat("a", 100)},
			tenant.Group{DisplayName: strings.Repeat("a", 100), MailNickname: strings.Repeat("a", 64), SecurityEnabled: true}},
		{"a security group is always security-enabled", tenant.GroupSpec{DisplayName: "S", SecurityEnabled: false},
			tenant.Group{DisplayName: "S", MailNickname: "S", SecurityEnabled: true}},
		{"Microsoft 365 group", tenant.GroupSpec{DisplayName: "Sales", Unified: true},
			tenant.Group{DisplayName: "Sales", MailNickname: "Sales", MailEnabled: true, GroupTypes: []string{"Unified"}, Mail: "Sales@contoso.onmicrosoft.com"}},
		{"security-enabled Microsoft 365 group", tenant.GroupSpec{DisplayName: "Sales", MailNickname: "sales", Unified: true, SecurityEnabled: true},
			tenant.Group{DisplayName: "Sales", MailNickname: "sales", MailEnabled: true, SecurityEnabled: true, GroupTypes: []string{"Unified"}, Mail: "sales@contoso.onmicrosoft.com"}},
		{"256 characters that are not all bytes", tenant.GroupSpec{DisplayName: strings.Repeat("é", 256), MailNickname: "e"},
			tenant.Group{DisplayName: strings.Repeat("é", 256), MailNickname: "e", SecurityEnabled: true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, f := newGroupsEnv(t)
			got, err := e.dir.AddGroup(e.ctx, "CONTOSO.com", tc.spec)
			if err != nil {
				t.Fatalf("AddGroup(%+v): %v", tc.spec, err)
			}
			if !tenant.IsGUID(got.ID) || got.TenantID != f.contoso.ID || !got.CreatedDateTime.Equal(epoch) {
				t.Errorf("AddGroup = %+v; want a new id, tenant %s, created at %v", got, f.contoso.ID, epoch)
			}
			want := tc.want
			want.ID, want.TenantID, want.CreatedDateTime = got.ID, got.TenantID, got.CreatedDateTime
			if !sameGroup(got, want) {
				t.Errorf("AddGroup(%+v)\n got %+v\nwant %+v", tc.spec, got, want)
			}
			stored, err := e.dir.FindGroup(e.ctx, f.contoso.ID, got.ID)
			if err != nil || !sameGroup(stored, got) {
				t.Errorf("FindGroup(%s) = %+v, %v; want the group added", got.ID, stored, err)
			}
		})
	}
}

func sameGroup(a, b tenant.Group) bool {
	return a.ID == b.ID && a.TenantID == b.TenantID && a.DisplayName == b.DisplayName && a.Description == b.Description &&
		a.MailNickname == b.MailNickname && a.MailEnabled == b.MailEnabled && a.SecurityEnabled == b.SecurityEnabled &&
		slices.Equal(a.GroupTypes, b.GroupTypes) && a.Mail == b.Mail && a.CreatedDateTime.Equal(b.CreatedDateTime)
}

// TestAddGroupRefusals: every rule of a new group, and that a refused
// group leaves nothing behind.
func TestAddGroupRefusals(t *testing.T) {
	e, f := newGroupsEnv(t)
	for _, tc := range []struct {
		name      string
		tenantRef string
		spec      tenant.GroupSpec
		want      error
	}{
		{"no display name", "contoso.com", tenant.GroupSpec{}, tenant.ErrInvalid},
		{"a blank display name", "contoso.com", tenant.GroupSpec{DisplayName: " \t "}, tenant.ErrInvalid},
		{"a display name of 257 characters", "contoso.com", tenant.GroupSpec{DisplayName: strings.Repeat("é", 257), MailNickname: "e"}, tenant.ErrInvalid},
		{"a description of 1025 characters", "contoso.com", tenant.GroupSpec{DisplayName: "G", Description: strings.Repeat("d", 1025)}, tenant.ErrInvalid},
		{"a mailNickname with a space", "contoso.com", tenant.GroupSpec{DisplayName: "G", MailNickname: "a b"}, tenant.ErrInvalid},
		{"a mailNickname with an @", "contoso.com", tenant.GroupSpec{DisplayName: "G", MailNickname: "a@b"}, tenant.ErrInvalid},
		{"a mailNickname that is not ASCII", "contoso.com", tenant.GroupSpec{DisplayName: "G", MailNickname: "ventes-é"}, tenant.ErrInvalid},
		{"a mailNickname of 65 characters", "contoso.com", tenant.GroupSpec{DisplayName: "G", MailNickname: strings.Repeat("m", 65)}, tenant.ErrInvalid},
		{"a Microsoft 365 group with a bad mailNickname", "contoso.com", tenant.GroupSpec{DisplayName: "G", MailNickname: "a;b", Unified: true}, tenant.ErrInvalid},
		{"an id that is no GUID", "contoso.com", tenant.GroupSpec{DisplayName: "G", ID: "group-1"}, tenant.ErrInvalid},
		{"the id of a user", "contoso.com", tenant.GroupSpec{DisplayName: "G", ID: f.ada.ID}, tenant.ErrExists},
		{"the id of a service principal", "contoso.com", tenant.GroupSpec{DisplayName: "G", ID: f.daemonSP.ID}, tenant.ErrExists},
		{"an unknown tenant", "nosuch.com", tenant.GroupSpec{DisplayName: "G"}, tenant.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if g, err := e.dir.AddGroup(e.ctx, tc.tenantRef, tc.spec); !errors.Is(err, tc.want) {
				t.Fatalf("AddGroup(%+v) = %+v, %v; want %v", tc.spec, g, err, tc.want)
			}
		})
	}
	if gs, err := e.dir.ListGroups(e.ctx, f.contoso.ID); err != nil || len(gs) != 0 {
		t.Errorf("ListGroups after refusals = %+v, %v; want none", gs, err)
	}
}

// TestValidateMailNickname: Graph's characters, one by one.
func TestValidateMailNickname(t *testing.T) {
	for _, ok := range []string{"a", "sales-eu", "Sales.Team_1", "a!#$%&'*+/=?^`{|}~", strings.Repeat("x", 64)} {
		if err := tenant.ValidateMailNickname(ok); err != nil {
			t.Errorf("ValidateMailNickname(%q) = %v; want nil", ok, err)
		}
	}
	bad := []string{"", strings.Repeat("x", 65), "a b", "a\tb", "é", "a\x7f"}
	for _, c := range `@()\[]";:<>,` {
		bad = append(bad, "a"+string(c)+"b")
	}
	for _, s := range bad {
		if err := tenant.ValidateMailNickname(s); !errors.Is(err, tenant.ErrInvalid) {
			t.Errorf("ValidateMailNickname(%q) = %v; want ErrInvalid", s, err)
		}
	}
}

// TestFindGroup: by id in any case, by display name when one group has
// it, and refusing a name two groups share.
func TestFindGroup(t *testing.T) {
	e, f := newGroupsEnv(t)
	approvers := e.group(f.contoso.ID, tenant.GroupSpec{DisplayName: "Approvers"})
	sales1 := e.group(f.contoso.ID, tenant.GroupSpec{DisplayName: "Sales"})
	sales2 := e.group(f.contoso.ID, tenant.GroupSpec{DisplayName: "SALES", Unified: true})
	e.group(f.fabrikam.ID, tenant.GroupSpec{DisplayName: "Fabrikam Only"})
	for _, tc := range []struct {
		name, ref string
		wantID    string
		want      error
	}{
		{"by id", approvers.ID, approvers.ID, nil},
		{"by id in capitals", strings.ToUpper(approvers.ID), approvers.ID, nil},
		{"by name", "Approvers", approvers.ID, nil},
		{"by name in another case, with spaces", "  aPPROVERS ", approvers.ID, nil},
		{"by a name two groups share", "sales", "", tenant.ErrInvalid},
		{"by an unknown name", "Nobody", "", tenant.ErrNotFound},
		{"by an unknown id", "0000dead-0000-4000-8000-000000000000", "", tenant.ErrNotFound},
		{"by the id of a user", f.ada.ID, "", tenant.ErrNotFound},
		{"a group of another tenant", "Fabrikam Only", "", tenant.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g, err := e.dir.FindGroup(e.ctx, f.contoso.ID, tc.ref)
			if !errIs(err, tc.want) || g.ID != tc.wantID {
				t.Fatalf("FindGroup(%q) = %s, %v; want %q, %v", tc.ref, g.ID, err, tc.wantID, tc.want)
			}
			// The refusal of an ambiguous name lists the groups, so
			// that the caller can name one by id.
			if errors.Is(err, tenant.ErrInvalid) && (!strings.Contains(err.Error(), sales1.ID) || !strings.Contains(err.Error(), sales2.ID)) {
				t.Errorf("FindGroup(%q) = %v; want both groups' ids in the error", tc.ref, err)
			}
		})
	}
}

// TestUpdateGroup: the names and securityEnabled of a Microsoft 365 group
// change; a group's kind and the rules of new groups hold.
func TestUpdateGroup(t *testing.T) {
	str := func(s string) *string { return &s }
	no, yes := false, true
	for _, tc := range []struct {
		name    string
		unified bool
		u       tenant.GroupUpdate
		check   func(tenant.Group) bool
		want    error
	}{
		{"rename", false, tenant.GroupUpdate{DisplayName: str(" Approvers EU ")},
			func(g tenant.Group) bool { return g.DisplayName == "Approvers EU" && g.MailNickname == "approvers" }, nil},
		{"description set and cleared", false, tenant.GroupUpdate{Description: str("")},
			func(g tenant.Group) bool { return g.Description == "" }, nil},
		{"mailNickname of a security group", false, tenant.GroupUpdate{MailNickname: str("approvers-eu")},
			func(g tenant.Group) bool { return g.MailNickname == "approvers-eu" && g.Mail == "" }, nil},
		{"mailNickname of a Microsoft 365 group moves its mail", true, tenant.GroupUpdate{MailNickname: str("approvers-eu")},
			func(g tenant.Group) bool { return g.Mail == "approvers-eu@contoso.onmicrosoft.com" }, nil},
		{"a Microsoft 365 group becomes a security group", true, tenant.GroupUpdate{SecurityEnabled: &yes},
			func(g tenant.Group) bool { return g.SecurityEnabled && g.MailEnabled && g.IsUnified() }, nil},
		{"a security group stays security-enabled", false, tenant.GroupUpdate{SecurityEnabled: &yes},
			func(g tenant.Group) bool { return g.SecurityEnabled }, nil},
		{"a security group cannot stop being one", false, tenant.GroupUpdate{SecurityEnabled: &no}, nil, tenant.ErrInvalid},
		{"a blank name", false, tenant.GroupUpdate{DisplayName: str(" ")}, nil, tenant.ErrInvalid},
		{"a bad mailNickname", true, tenant.GroupUpdate{MailNickname: str("a b")}, nil, tenant.ErrInvalid},
		{"a description too long", false, tenant.GroupUpdate{Description: str(strings.Repeat("d", 1025))}, nil, tenant.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e, f := newGroupsEnv(t)
			g := e.group(f.contoso.ID, tenant.GroupSpec{DisplayName: "Approvers", MailNickname: "approvers", Description: "d", Unified: tc.unified})
			got, err := e.dir.UpdateGroup(e.ctx, "contoso.com", "approvers", tc.u)
			if !errIs(err, tc.want) {
				t.Fatalf("UpdateGroup(%+v) = %+v, %v; want %v", tc.u, got, err, tc.want)
			}
			stored, ferr := e.dir.FindGroup(e.ctx, f.contoso.ID, g.ID)
			if ferr != nil {
				t.Fatal(ferr)
			}
			if tc.want != nil {
				if !sameGroup(stored, g) {
					t.Errorf("a refused update changed the group: %+v; was %+v", stored, g)
				}
				return
			}
			if !tc.check(got) || !sameGroup(stored, got) {
				t.Errorf("UpdateGroup(%+v) = %+v, stored %+v", tc.u, got, stored)
			}
		})
	}
	e, f := newGroupsEnv(t)
	if _, err := e.dir.UpdateGroup(e.ctx, f.contoso.ID, "Nobody", tenant.GroupUpdate{Description: str("x")}); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("UpdateGroup of an unknown group = %v; want ErrNotFound", err)
	}
}

// TestGroupMembers: a member is named by UPN, object id or appId; the
// store's rules (no duplicate, no cycle, no group in a Microsoft 365
// group, objects of the group's tenant only) hold through the directory.
func TestGroupMembers(t *testing.T) {
	e, f := newGroupsEnv(t)
	c := f.contoso.ID
	approvers := e.group(c, tenant.GroupSpec{DisplayName: "Approvers"})
	staff := e.group(c, tenant.GroupSpec{DisplayName: "Staff"})
	all := e.group(c, tenant.GroupSpec{DisplayName: "All"})
	sales := e.group(c, tenant.GroupSpec{DisplayName: "Sales", Unified: true})
	other := e.app(f.fabrikam.ID, tenant.ApplicationSpec{DisplayName: "Fabrikam App"})
	e.member(c, "Staff", approvers.ID)
	e.member(c, "All", staff.ID)
	for _, tc := range []struct {
		name, group, member string
		want                tenant.GroupMember
		wantErr             error
	}{
		{"a user by UPN in any case", "Approvers", "ADA@Contoso.com", tenant.GroupMember{ID: f.ada.ID, Type: tenant.ObjectUser}, nil},
		{"a user by object id in capitals", "Approvers", strings.ToUpper(f.bob.ID), tenant.GroupMember{ID: f.bob.ID, Type: tenant.ObjectUser}, nil},
		{"a service principal by appId", "Approvers", f.daemon.AppID, tenant.GroupMember{ID: f.daemonSP.ID, Type: tenant.ObjectServicePrincipal}, nil},
		{"a user in a Microsoft 365 group", "Sales", "ada@contoso.com", tenant.GroupMember{ID: f.ada.ID, Type: tenant.ObjectUser}, nil},
		{"a service principal in a Microsoft 365 group", "Sales", f.daemonSP.ID, tenant.GroupMember{}, tenant.ErrInvalid},
		{"a Microsoft 365 group in a security group", "Approvers", sales.ID, tenant.GroupMember{}, tenant.ErrInvalid},
		{"a member twice", "Approvers", "ada@contoso.com", tenant.GroupMember{}, tenant.ErrExists},
		{"the service principal twice, once by appId", "Approvers", f.daemonSP.ID, tenant.GroupMember{}, tenant.ErrExists},
		{"a group in itself", "Approvers", approvers.ID, tenant.GroupMember{}, tenant.ErrInvalid},
		{"a cycle through two groups", "Approvers", staff.ID, tenant.GroupMember{}, tenant.ErrInvalid},
		{"a cycle through three groups", "Approvers", all.ID, tenant.GroupMember{}, tenant.ErrInvalid},
		{"a group in a Microsoft 365 group", "Sales", approvers.ID, tenant.GroupMember{}, tenant.ErrInvalid},
		{"an unknown UPN", "Approvers", "zed@contoso.com", tenant.GroupMember{}, tenant.ErrNotFound},
		{"an unknown object id", "Approvers", "0000dead-0000-4000-8000-000000000000", tenant.GroupMember{}, tenant.ErrNotFound},
		{"a user of another tenant", "Approvers", f.fay.ID, tenant.GroupMember{}, tenant.ErrNotFound},
		{"the UPN of a user of another tenant", "Approvers", "fay@fabrikam.onmicrosoft.com", tenant.GroupMember{}, tenant.ErrNotFound},
		{"the appId of an application without a service principal here", "Approvers", other.AppID, tenant.GroupMember{}, tenant.ErrNotFound},
		{"an unknown group", "Nobody", "ada@contoso.com", tenant.GroupMember{}, tenant.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.dir.AddGroupMember(e.ctx, "contoso.com", tc.group, tc.member)
			if !errIs(err, tc.wantErr) || got != tc.want {
				t.Fatalf("AddGroupMember(%s, %s) = %+v, %v; want %+v, %v", tc.group, tc.member, got, err, tc.want, tc.wantErr)
			}
		})
	}
	members, err := e.dir.ListGroupMembers(e.ctx, c, "approvers")
	want := []tenant.GroupMember{{ID: f.ada.ID, Type: tenant.ObjectUser}, {ID: f.bob.ID, Type: tenant.ObjectUser}, {ID: f.daemonSP.ID, Type: tenant.ObjectServicePrincipal}}
	slices.SortFunc(want, func(a, b tenant.GroupMember) int { return strings.Compare(a.ID, b.ID) })
	if err != nil || !slices.Equal(members, want) {
		t.Fatalf("ListGroupMembers(Approvers) = %+v, %v; want %+v", members, err, want)
	}
	if err := e.dir.RemoveGroupMember(e.ctx, c, "Approvers", "BOB@contoso.onmicrosoft.com"); err != nil {
		t.Fatalf("RemoveGroupMember(bob): %v", err)
	}
	if err := e.dir.RemoveGroupMember(e.ctx, c, "Approvers", f.bob.ID); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("RemoveGroupMember of no member = %v; want ErrNotFound", err)
	}
	if err := e.dir.RemoveGroupMember(e.ctx, c, "Approvers", "zed@contoso.com"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("RemoveGroupMember of an unknown user = %v; want ErrNotFound", err)
	}
	if err := e.dir.RemoveUser(e.ctx, c, f.ada.ID); err != nil {
		t.Fatal(err)
	}
	members, err = e.dir.ListGroupMembers(e.ctx, c, approvers.ID)
	if err != nil || !slices.Equal(members, []tenant.GroupMember{{ID: f.daemonSP.ID, Type: tenant.ObjectServicePrincipal}}) {
		t.Errorf("ListGroupMembers after Bob's removal and Ada's deletion = %+v, %v; want the daemon's service principal", members, err)
	}
	if _, err := e.dir.ListGroupMembers(e.ctx, c, "Nobody"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("ListGroupMembers of an unknown group = %v; want ErrNotFound", err)
	}
}

// TestMemberOf: memberOf lists direct memberships, transitiveMemberOf
// those through nested groups too, each group once; removing a group
// cuts the paths through it.
func TestMemberOf(t *testing.T) {
	e, f := newGroupsEnv(t)
	c := f.contoso.ID
	// Ada → Approvers → {Staff, Finance} → All, Ada → Sales; the
	// daemon → Staff.
	approvers := e.group(c, tenant.GroupSpec{DisplayName: "Approvers"})
	staff := e.group(c, tenant.GroupSpec{DisplayName: "Staff"})
	finance := e.group(c, tenant.GroupSpec{DisplayName: "Finance"})
	all := e.group(c, tenant.GroupSpec{DisplayName: "All"})
	sales := e.group(c, tenant.GroupSpec{DisplayName: "Sales", Unified: true})
	for _, m := range [][2]string{{"Approvers", f.ada.ID}, {"Sales", f.ada.ID}, {"Staff", approvers.ID}, {"Finance", approvers.ID},
		{"All", staff.ID}, {"All", finance.ID}, {"Staff", f.daemon.AppID}} {
		e.member(c, m[0], m[1])
	}
	ids := func(gs []tenant.Group) []string {
		out := []string{}
		for _, g := range gs {
			out = append(out, g.ID)
		}
		return out
	}
	sorted := func(s ...string) []string { s = slices.Clone(s); slices.Sort(s); return s }
	for _, tc := range []struct {
		name, ref  string
		transitive bool
		want       []string
	}{
		{"a user, directly", "ada@contoso.com", false, sorted(approvers.ID, sales.ID)},
		{"a user, transitively", "ada@contoso.com", true, sorted(approvers.ID, sales.ID, staff.ID, finance.ID, all.ID)},
		{"a service principal by appId, directly", f.daemon.AppID, false, []string{staff.ID}},
		{"a service principal by object id, transitively", f.daemonSP.ID, true, sorted(staff.ID, all.ID)},
		{"a group, transitively", approvers.ID, true, sorted(staff.ID, finance.ID, all.ID)},
		{"a group in no group", all.ID, true, []string{}},
		{"a user in no group", "bob@contoso.onmicrosoft.com", true, []string{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := e.dir.MemberOf(e.ctx, "contoso.com", tc.ref, tc.transitive)
			if err != nil || !slices.Equal(sorted(ids(got)...), tc.want) {
				t.Fatalf("MemberOf(%s, %v) = %v, %v; want %v", tc.ref, tc.transitive, ids(got), err, tc.want)
			}
		})
	}
	for _, tc := range []struct{ name, ref string }{
		{"an unknown UPN", "zed@contoso.com"},
		{"an unknown id", "0000dead-0000-4000-8000-000000000000"},
		{"a user of another tenant", f.fay.ID},
	} {
		if _, err := e.dir.MemberOf(e.ctx, c, tc.ref, true); !errors.Is(err, tenant.ErrNotFound) {
			t.Errorf("MemberOf(%s) = %v; want ErrNotFound", tc.name, err)
		}
	}
	if _, err := e.dir.MemberOf(e.ctx, "nosuch.com", "ada@contoso.com", false); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("MemberOf in an unknown tenant = %v; want ErrNotFound", err)
	}

	// TransitiveMemberOf, the groups claim's source, reads a Reader: ids,
	// sorted, each once although All is reached on two paths.
	got, err := tenant.TransitiveMemberOf(e.ctx, e.db, c, f.ada.ID)
	if want := sorted(approvers.ID, sales.ID, staff.ID, finance.ID, all.ID); err != nil || !slices.Equal(got, want) {
		t.Errorf("TransitiveMemberOf(ada) = %v, %v; want %v", got, err, want)
	}
	for _, id := range []string{f.bob.ID, "0000dead-0000-4000-8000-000000000000"} {
		if got, err := tenant.TransitiveMemberOf(e.ctx, e.db, c, id); err != nil || len(got) != 0 {
			t.Errorf("TransitiveMemberOf(%s) = %v, %v; want none and no error", id, got, err)
		}
	}

	// Deleting Staff cuts the daemon off from All; Ada keeps it through
	// Finance.
	if err := e.dir.RemoveGroup(e.ctx, c, "staff"); err != nil {
		t.Fatal(err)
	}
	if got, err := tenant.TransitiveMemberOf(e.ctx, e.db, c, f.daemonSP.ID); err != nil || len(got) != 0 {
		t.Errorf("TransitiveMemberOf(daemon) after Staff's deletion = %v, %v; want none", got, err)
	}
	if got, err := tenant.TransitiveMemberOf(e.ctx, e.db, c, f.ada.ID); err != nil || !slices.Equal(got, sorted(approvers.ID, sales.ID, finance.ID, all.ID)) {
		t.Errorf("TransitiveMemberOf(ada) after Staff's deletion = %v, %v", got, err)
	}
	if err := e.dir.RemoveGroup(e.ctx, c, "staff"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("RemoveGroup of a removed group = %v; want ErrNotFound", err)
	}
}

// TestParseGroupClaims: every value Graph takes, in any case, lists of
// them as the portal writes them, and the spelling kept.
func TestParseGroupClaims(t *testing.T) {
	for _, tc := range []struct {
		in, canonical string
		want          tenant.GroupClaims
	}{
		{"", "", tenant.GroupClaims{}},
		{"None", "", tenant.GroupClaims{}},
		{"NONE", "", tenant.GroupClaims{}},
		{"SecurityGroup", "SecurityGroup", tenant.GroupClaims{SecurityGroups: true}},
		{"securitygroup", "SecurityGroup", tenant.GroupClaims{SecurityGroups: true}},
		{"DirectoryRole", "DirectoryRole", tenant.GroupClaims{DirectoryRoles: true}},
		{"ApplicationGroup", "ApplicationGroup", tenant.GroupClaims{ApplicationGroups: true}},
		{"All", "All", tenant.GroupClaims{SecurityGroups: true, AllGroups: true, DirectoryRoles: true}},
		{"all", "All", tenant.GroupClaims{SecurityGroups: true, AllGroups: true, DirectoryRoles: true}},
		{"SecurityGroup, DirectoryRole", "SecurityGroup, DirectoryRole", tenant.GroupClaims{SecurityGroups: true, DirectoryRoles: true}},
		{" directoryrole ,securitygroup,", "DirectoryRole, SecurityGroup", tenant.GroupClaims{SecurityGroups: true, DirectoryRoles: true}},
		{"SecurityGroup,SecurityGroup", "SecurityGroup", tenant.GroupClaims{SecurityGroups: true}},
		{"None, ApplicationGroup", "ApplicationGroup", tenant.GroupClaims{ApplicationGroups: true}},
		{"ApplicationGroup,SecurityGroup,DirectoryRole", "ApplicationGroup, SecurityGroup, DirectoryRole", tenant.GroupClaims{SecurityGroups: true, DirectoryRoles: true, ApplicationGroups: true}},
	} {
		t.Run(tc.in, func(t *testing.T) {
			got, canonical, err := tenant.ParseGroupClaims(tc.in)
			if err != nil || got != tc.want || canonical != tc.canonical {
				t.Fatalf("ParseGroupClaims(%q) = %+v, %q, %v; want %+v, %q", tc.in, got, canonical, err, tc.want, tc.canonical)
			}
			if got.Any() != (tc.want != tenant.GroupClaims{}) {
				t.Errorf("ParseGroupClaims(%q).Any() = %v", tc.in, got.Any())
			}
			if again := (tenant.Application{GroupMembershipClaims: canonical}).GroupClaims(); again != tc.want {
				t.Errorf("GroupClaims() of %q = %+v; want %+v", canonical, again, tc.want)
			}
		})
	}
	for _, bad := range []string{"Groups", "SecurityGroups", "Security Group", "SecurityGroup;All", "SecurityGroup, Everything", "0"} {
		if c, v, err := tenant.ParseGroupClaims(bad); !errors.Is(err, tenant.ErrInvalid) || c != (tenant.GroupClaims{}) || v != "" {
			t.Errorf("ParseGroupClaims(%q) = %+v, %q, %v; want ErrInvalid and nothing", bad, c, v, err)
		}
	}
}

// TestUpdateGroupMembershipClaims: the application keeps Graph's
// spelling; None removes the claim; an unknown value changes nothing.
func TestUpdateGroupMembershipClaims(t *testing.T) {
	e, f := newGroupsEnv(t)
	str := func(s string) *string { return &s }
	for _, tc := range []struct {
		in, want string
		wantErr  error
	}{
		{"securitygroup, directoryrole", "SecurityGroup, DirectoryRole", nil},
		{"Everything", "SecurityGroup, DirectoryRole", tenant.ErrInvalid},
		{"All", "All", nil},
		{"None", "", nil},
	} {
		app, err := e.dir.UpdateApplication(e.ctx, f.daemon.AppID, tenant.ApplicationUpdate{GroupMembershipClaims: str(tc.in)})
		if !errIs(err, tc.wantErr) {
			t.Fatalf("UpdateApplication(groupMembershipClaims %q) = %v; want %v", tc.in, err, tc.wantErr)
		}
		stored, gerr := e.dir.GetApplication(e.ctx, f.daemon.AppID)
		if gerr != nil || stored.GroupMembershipClaims != tc.want || err == nil && app.GroupMembershipClaims != tc.want {
			t.Errorf("after groupMembershipClaims %q: stored %q, %v; want %q", tc.in, stored.GroupMembershipClaims, gerr, tc.want)
		}
	}
}

// TestTransitiveMemberOfDeepNesting: Entra sets no depth limit on nested
// groups and the store lets a chain of any length be built, so the walk
// lists every group of a long chain rather than failing (which the token
// path turned into a server_error for the chain's members).
func TestTransitiveMemberOfDeepNesting(t *testing.T) {
	e, f := newGroupsEnv(t)
	c := f.contoso.ID
	const depth = 80
	var want []string
	inner := f.ada.ID
	for i := range depth {
		g := e.group(c, tenant.GroupSpec{DisplayName: fmt.Sprintf("Level %d", i)})
		e.member(c, g.ID, inner)
		want = append(want, g.ID)
		inner = g.ID
	}
	slices.Sort(want)
	got, err := tenant.TransitiveMemberOf(e.ctx, e.db, c, f.ada.ID)
	if err != nil || !slices.Equal(got, want) {
		t.Fatalf("TransitiveMemberOf(ada) in a chain of %d groups = %d groups, %v; want %d", depth, len(got), err, depth)
	}
	groups, err := e.dir.MemberOf(e.ctx, c, f.ada.ID, true)
	if err != nil || len(groups) != depth {
		t.Fatalf("MemberOf(ada, transitive) = %d groups, %v; want %d", len(groups), err, depth)
	}
}
