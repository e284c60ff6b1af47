package seed_test

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/seed"
	"github.com/issuer-dev/issuer/tenant"
)

const (
	contosoID     = "c0000000-0000-4000-8000-00000000c001"
	apiAppID      = "0000a001-0000-4000-8000-000000000001"
	nightlyAppID  = "0000a002-0000-4000-8000-000000000002"
	approversID   = "0000f001-0000-4000-8000-000000000001"
	managersID    = "0000f001-0000-4000-8000-000000000002"
	salesID       = "0000f001-0000-4000-8000-000000000003"
	aliceID       = "0000c001-0000-4000-8000-000000000001"
	seedGroupJSON = `{"tenants": [{"name": "Contoso", "groups": [`
)

// TestApplyGroups: the example's groups exist with their kinds, direct
// members (one of them a group described later in the file) and the app
// role assigned to one; the application keeps its groupMembershipClaims.
func TestApplyGroups(t *testing.T) {
	e := newSeedEnv(t)
	e.apply(t, loadExample(t))
	approvers, err := e.dir.FindGroup(e.ctx, contosoID, approversID)
	if err != nil || approvers.DisplayName != "Order Approvers" || approvers.Description != "May approve orders" || approvers.IsUnified() || !approvers.SecurityEnabled {
		t.Fatalf("Order Approvers = %+v, %v; want the security group of the seed", approvers, err)
	}
	sales, err := e.dir.FindGroup(e.ctx, contosoID, "sales")
	if err != nil || sales.ID != salesID || !sales.IsUnified() || !sales.MailEnabled || sales.SecurityEnabled || sales.Mail != "sales@contoso.onmicrosoft.com" {
		t.Fatalf("Sales = %+v, %v; want a Microsoft 365 group, not security-enabled", sales, err)
	}
	nightly, _, err := e.dir.FindServicePrincipal(e.ctx, contosoID, nightlyAppID)
	if err != nil {
		t.Fatal(err)
	}
	admin, err := e.dir.FindUser(e.ctx, contosoID, "admin@contoso.onmicrosoft.com")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		group string
		want  []tenant.GroupMember
	}{
		{approversID, []tenant.GroupMember{{ID: aliceID, Type: tenant.ObjectUser}, {ID: managersID, Type: tenant.ObjectGroup}}},
		{managersID, []tenant.GroupMember{{ID: admin.ID, Type: tenant.ObjectUser}, {ID: nightly.ID, Type: tenant.ObjectServicePrincipal}}},
	} {
		got, err := e.dir.ListGroupMembers(e.ctx, contosoID, tc.group)
		slices.SortFunc(tc.want, func(a, b tenant.GroupMember) int { return strings.Compare(a.ID, b.ID) })
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("members of %s = %+v, %v; want %+v", tc.group, got, err, tc.want)
		}
	}
	if got, err := tenant.TransitiveMemberOf(e.ctx, e.db, contosoID, admin.ID); err != nil || !slices.Equal(got, []string{approversID, managersID}) {
		t.Errorf("admin's groups = %v, %v; want Order Approvers through Managers", got, err)
	}
	as, err := e.db.ListAppRoleAssignments(e.ctx, contosoID)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.ContainsFunc(as, func(a consent.AppRoleAssignment) bool {
		return a.PrincipalID == approversID && a.PrincipalType == consent.PrincipalGroup && a.PrincipalDisplayName == "Order Approvers"
	}) {
		t.Errorf("assignments %+v; want Orders.Approver assigned to the group Order Approvers", as)
	}
	api, err := e.dir.GetApplication(e.ctx, apiAppID)
	if err != nil || api.GroupMembershipClaims != "SecurityGroup" {
		t.Errorf("Orders API groupMembershipClaims = %q, %v; want SecurityGroup", api.GroupMembershipClaims, err)
	}
}

// TestApplyGroupUpdates: a changed seed renames and redescribes groups,
// adds members and keeps those it does not list, and changes the
// application's groupMembershipClaims; applying it again changes nothing.
func TestApplyGroupUpdates(t *testing.T) {
	e := newSeedEnv(t)
	e.apply(t, loadExample(t))
	yes := true
	s := seed.Document{Tenants: []seed.Tenant{{
		Name:         "Contoso",
		Applications: []seed.Application{{AppID: apiAppID, DisplayName: "Orders API", GroupMembershipClaims: "securitygroup,applicationgroup"}},
		Groups: []seed.Group{
			{ID: approversID, DisplayName: "Approvers", Description: "Approve orders", Members: []seed.Member{{User: "bob@contoso.com"}, {User: aliceID}}},
			{DisplayName: "sales", GroupTypes: []string{"unified"}, SecurityEnabled: &yes, MailNickname: "sales-team"},
			{DisplayName: "Auditors", Members: []seed.Member{{Group: "Approvers"}, {Client: "0000a004-0000-4000-8000-000000000004"}}},
		},
		RoleAssignments: []seed.RoleAssignment{{Resource: "api://orders", Role: "Orders.Approver", Group: "auditors"}},
	}}}
	got := e.apply(t, s)
	want := seed.Result{
		Tenants:         seed.Count{Unchanged: 1},
		Applications:    seed.Count{Updated: 1},
		Groups:          seed.Count{Created: 1, Updated: 2},
		GroupMembers:    seed.Count{Created: 3, Unchanged: 1},
		RoleAssignments: seed.Count{Created: 1},
	}
	if got != want {
		t.Errorf("apply = %+v\nwant %+v", got, want)
	}
	approvers, _ := e.dir.FindGroup(e.ctx, contosoID, approversID)
	sales, _ := e.dir.FindGroup(e.ctx, contosoID, salesID)
	members, _ := e.dir.ListGroupMembers(e.ctx, contosoID, approversID)
	if approvers.DisplayName != "Approvers" || approvers.Description != "Approve orders" || len(members) != 3 {
		t.Errorf("Approvers = %+v with %d members; want renamed, redescribed, with Managers kept and Bob added", approvers, len(members))
	}
	if !sales.SecurityEnabled || sales.Mail != "sales-team@contoso.onmicrosoft.com" {
		t.Errorf("Sales = %+v; want security-enabled, mail sales-team@", sales)
	}
	if api, _ := e.dir.GetApplication(e.ctx, apiAppID); api.GroupMembershipClaims != "SecurityGroup, ApplicationGroup" {
		t.Errorf("groupMembershipClaims = %q; want Graph's spelling of the list", api.GroupMembershipClaims)
	}
	if again := e.apply(t, s).Total(); again.Created+again.Updated != 0 {
		t.Errorf("applying the update again = %+v; want nothing to change", again)
	}
}

// TestExportGroups: the export names members so that applying it needs
// no order: users by UPN, service principals by appId, groups by id; role
// assignments to groups by id.
func TestExportGroups(t *testing.T) {
	e := newSeedEnv(t)
	e.apply(t, loadExample(t))
	doc, err := seed.Export(e.ctx, e.dir, e.mgr, "contoso.onmicrosoft.com")
	if err != nil {
		t.Fatal(err)
	}
	ct := doc.Tenants[0]
	want := []seed.Group{
		{ID: approversID, DisplayName: "Order Approvers", Description: "May approve orders", MailNickname: "OrderApprovers",
			Members: []seed.Member{{User: "alice@contoso.onmicrosoft.com"}, {Group: managersID}}},
		{ID: managersID, DisplayName: "Managers", MailNickname: "Managers"},
		{ID: salesID, DisplayName: "Sales", MailNickname: "sales", GroupTypes: []string{"Unified"}, Members: []seed.Member{{User: "bob@contoso.com"}}},
	}
	if len(ct.Groups) != len(want) {
		t.Fatalf("exported groups = %+v; want %d", ct.Groups, len(want))
	}
	for i, g := range ct.Groups {
		w := want[i]
		if g.ID != w.ID || g.DisplayName != w.DisplayName || g.Description != w.Description || g.MailNickname != w.MailNickname ||
			!slices.Equal(g.GroupTypes, w.GroupTypes) || g.SecurityEnabled != nil {
			t.Errorf("exported group %d = %+v; want %+v", i, g, w)
		}
		if w.Members != nil && !slices.Equal(g.Members, w.Members) {
			t.Errorf("exported members of %s = %+v; want %+v", g.DisplayName, g.Members, w.Members)
		}
	}
	// Managers: the admin by UPN and Nightly Job by appId, in id order.
	if m := ct.Groups[1].Members; len(m) != 2 || !slices.Contains(m, seed.Member{User: "admin@contoso.onmicrosoft.com"}) || !slices.Contains(m, seed.Member{Client: nightlyAppID}) {
		t.Errorf("exported members of Managers = %+v", m)
	}
	if !slices.Contains(ct.RoleAssignments, seed.RoleAssignment{Resource: apiAppID, Role: "Orders.Approver", Group: approversID}) {
		t.Errorf("exported role assignments %+v; want Orders.Approver to group %s", ct.RoleAssignments, approversID)
	}
	i := slices.IndexFunc(ct.Applications, func(a seed.Application) bool { return a.AppID == apiAppID })
	if i < 0 || ct.Applications[i].GroupMembershipClaims != "SecurityGroup" {
		t.Errorf("exported applications %+v; want Orders API with groupMembershipClaims SecurityGroup", ct.Applications)
	}
}

// TestParseGroupErrors: the rules a seed's groups follow on their own,
// each at its path, the nesting cycles named.
func TestParseGroupErrors(t *testing.T) {
	for _, tc := range []struct {
		name, groups, wantPath, wantMsg string
		wantIs                          error
	}{
		{"no display name", `{"id": "` + approversID + `"}`, "tenants[0].groups[0].displayName", "displayName is required", nil},
		{"a display name of 257 characters", `{"displayName": "` + strings.Repeat("g", 257) + `"}`, "tenants[0].groups[0].displayName", "at most 256", nil},
		{"a description of 1025 characters", `{"displayName": "G", "description": "` + strings.Repeat("d", 1025) + `"}`, "tenants[0].groups[0].description", "at most 1024", nil},
		{"an id that is no GUID", `{"displayName": "G", "id": "g1"}`, "tenants[0].groups[0].id", "", tenant.ErrInvalid},
		{"an id twice", `{"displayName": "G", "id": "` + approversID + `"}, {"displayName": "H", "id": "` + strings.ToUpper(approversID) + `"}`, "tenants[0].groups[1].id", "also described", nil},
		{"a name twice, one without id", `{"displayName": "G", "id": "` + approversID + `"}, {"displayName": "g"}`, "tenants[0].groups[1]", "give each of them an id", nil},
		{"a bad mailNickname", `{"displayName": "G", "mailNickname": "g g"}`, "tenants[0].groups[0].mailNickname", "", tenant.ErrInvalid},
		{"dynamic membership", `{"displayName": "G", "groupTypes": ["DynamicMembership"]}`, "tenants[0].groups[0].groupTypes[0]", "not supported", nil},
		{"a security group not security-enabled", `{"displayName": "G", "securityEnabled": false}`, "tenants[0].groups[0].securityEnabled", "distribution list", nil},
		{"a member of two kinds", `{"displayName": "G", "members": [{"user": "a@contoso.onmicrosoft.com", "client": "X"}]}`, "tenants[0].groups[0].members[0]", "give one of", nil},
		{"a member of no kind", `{"displayName": "G", "members": [{}]}`, "tenants[0].groups[0].members[0]", "give one of", nil},
		{"a client in a Microsoft 365 group", `{"displayName": "G", "groupTypes": ["Unified"], "members": [{"client": "X"}]}`, "tenants[0].groups[0].members[0]", "are users", nil},
		{"a group in a Microsoft 365 group", `{"displayName": "G", "groupTypes": ["Unified"], "members": [{"group": "H"}]}, {"displayName": "H"}`, "tenants[0].groups[0].members[0]", "are users", nil},
		{"a Microsoft 365 group as a member", `{"displayName": "G", "members": [{"group": "H"}]}, {"displayName": "H", "groupTypes": ["Unified"]}`, "tenants[0].groups[0].members[0].group", "cannot be a member", nil},
		{"a name two seed groups share", `{"displayName": "G", "members": [{"group": "H"}]}, {"displayName": "H", "id": "` + approversID + `"}, {"displayName": "h", "id": "` + managersID + `"}`, "tenants[0].groups[0].members[0].group", "name the group by its id", tenant.ErrInvalid},
		{"a group in itself", `{"displayName": "G", "members": [{"group": "g"}]}`, "tenants[0].groups[0]", `("G" contains "G")`, tenant.ErrInvalid},
		{"a cycle of three, by name and id", `{"displayName": "A", "members": [{"group": "B"}]}, {"displayName": "B", "members": [{"group": "` + approversID + `"}]}, {"displayName": "C", "id": "` + approversID + `", "members": [{"group": "a"}]}`,
			"tenants[0].groups[0]", `("A" contains "B" contains "C" contains "A")`, tenant.ErrInvalid},
		{"a cycle further down", `{"displayName": "Top", "members": [{"group": "A"}]}, {"displayName": "A", "members": [{"group": "B"}]}, {"displayName": "B", "members": [{"group": "A"}]}`,
			"tenants[0].groups[1]", `("A" contains "B" contains "A")`, tenant.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := seed.Parse("seed.json", []byte(seedGroupJSON+"\n"+tc.groups+"]}]}"))
			var se *seed.Error
			if !errors.As(err, &se) || se.Path != tc.wantPath || !strings.Contains(err.Error(), tc.wantMsg) || tc.wantIs != nil && !errors.Is(err, tc.wantIs) {
				t.Fatalf("Parse = %v; want a *Error at %s saying %q (wrapping %v)", err, tc.wantPath, tc.wantMsg, tc.wantIs)
			}
			if se.Line != 2 {
				t.Errorf("error at line %d; want 2", se.Line)
			}
		})
	}
	for _, tc := range []struct{ name, doc, wantPath string }{
		{"an assignment to a user and a group", `{"tenants": [{"name": "a", "roleAssignments": [{"resource": "api://y", "role": "R", "user": "u@a.onmicrosoft.com", "group": "G"}]}]}`, "tenants[0].roleAssignments[0]"},
		{"an assignment to a group two seed groups name", `{"tenants": [{"name": "a", "groups": [{"displayName": "G", "id": "` + approversID + `"}, {"displayName": "G", "id": "` + managersID + `"}], "roleAssignments": [{"resource": "api://y", "role": "R", "group": "g"}]}]}`, "tenants[0].roleAssignments[0].group"},
		{"groupMembershipClaims unknown", `{"tenants": [{"name": "a", "applications": [{"displayName": "x", "groupMembershipClaims": "SecurityGroup, Everyone"}]}]}`, "tenants[0].applications[0].groupMembershipClaims"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := seed.Parse("seed.json", []byte(tc.doc))
			if se := (*seed.Error)(nil); !errors.As(err, &se) || se.Path != tc.wantPath {
				t.Fatalf("Parse = %v; want a *Error at %s", err, tc.wantPath)
			}
		})
	}
}

// TestApplyGroupRefusals: what only the directory can tell is refused at
// the object's path, and nothing of the seed is written.
func TestApplyGroupRefusals(t *testing.T) {
	e := newSeedEnv(t)
	e.apply(t, loadExample(t))
	// Entra lets two groups share a name; a seed's group without an id
	// cannot then say which it describes.
	for range 2 {
		if _, err := e.dir.AddGroup(e.ctx, contosoID, tenant.GroupSpec{DisplayName: "Twins"}); err != nil {
			t.Fatal(err)
		}
	}
	before := e.snapshot(t)
	for _, tc := range []struct {
		name     string
		seed     seed.Tenant
		wantPath string
		wantIs   error
	}{
		{"a name two groups of the directory share", seed.Tenant{Name: "Contoso", Groups: []seed.Group{{DisplayName: "twins"}}},
			"tenants[0].groups[0]", tenant.ErrInvalid},
		{"a member named by a name two groups of the directory share", seed.Tenant{Name: "Contoso", Groups: []seed.Group{{DisplayName: "G", Members: []seed.Member{{Group: "Twins"}}}}},
			"tenants[0].groups[0].members[0]", tenant.ErrInvalid},
		{"a security group described as a Microsoft 365 group", seed.Tenant{Name: "Contoso", Groups: []seed.Group{{ID: approversID, DisplayName: "Order Approvers", GroupTypes: []string{"Unified"}}}},
			"tenants[0].groups[0]", seed.ErrConflict},
		{"a Microsoft 365 group described as a security group", seed.Tenant{Name: "Contoso", Groups: []seed.Group{{DisplayName: "Sales"}}},
			"tenants[0].groups[0]", seed.ErrConflict},
		{"the id of a user", seed.Tenant{Name: "Contoso", Groups: []seed.Group{{ID: aliceID, DisplayName: "G"}}},
			"tenants[0].groups[0]", tenant.ErrExists},
		{"an unknown user as a member", seed.Tenant{Name: "Contoso", Groups: []seed.Group{{DisplayName: "G", Members: []seed.Member{{User: "zed@contoso.com"}}}}},
			"tenants[0].groups[0].members[0]", tenant.ErrNotFound},
		{"a client without a service principal in the tenant", seed.Tenant{Name: "Fabrikam", Groups: []seed.Group{{DisplayName: "G", Members: []seed.Member{{Client: nightlyAppID}}}}},
			"tenants[0].groups[0].members[0]", tenant.ErrNotFound},
		{"a client by unknown name", seed.Tenant{Name: "Contoso", Groups: []seed.Group{{DisplayName: "G", Members: []seed.Member{{Client: "Nobody"}}}}},
			"tenants[0].groups[0].members[0]", tenant.ErrInvalid},
		{"an unknown group as a member", seed.Tenant{Name: "Contoso", Groups: []seed.Group{{DisplayName: "G", Members: []seed.Member{{Group: "Nobody"}}}}},
			"tenants[0].groups[0].members[0]", tenant.ErrNotFound},
		{"a cycle through a group of the directory", seed.Tenant{Name: "Contoso", Groups: []seed.Group{{DisplayName: "Managers", ID: managersID, Members: []seed.Member{{Group: approversID}}}}},
			"tenants[0].groups[0].members[0]", tenant.ErrInvalid},
		{"the directory's Microsoft 365 group as a member", seed.Tenant{Name: "Contoso", Groups: []seed.Group{{DisplayName: "G", Members: []seed.Member{{Group: "Sales"}}}}},
			"tenants[0].groups[0].members[0]", tenant.ErrInvalid},
		{"an application permission to a group", seed.Tenant{Name: "Contoso", RoleAssignments: []seed.RoleAssignment{{Resource: "api://orders", Role: "Orders.Read", Group: "Managers"}}},
			"tenants[0].roleAssignments[0]", tenant.ErrInvalid},
		{"a role to an unknown group", seed.Tenant{Name: "Contoso", RoleAssignments: []seed.RoleAssignment{{Resource: "api://orders", Role: "Orders.Approver", Group: "Nobody"}}},
			"tenants[0].roleAssignments[0]", tenant.ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := seed.Apply(e.ctx, e.dir, e.mgr, seed.Document{Tenants: []seed.Tenant{tc.seed}})
			var se *seed.Error
			if !errors.As(err, &se) || se.Path != tc.wantPath || !errors.Is(err, tc.wantIs) {
				t.Fatalf("Apply = %v; want a *Error at %s wrapping %v", err, tc.wantPath, tc.wantIs)
			}
		})
	}
	if after := e.snapshot(t); after != before {
		t.Errorf("refused seeds changed the directory:\n--- before\n%s\n--- after\n%s", before, after)
	}
}

// TestExportAssignmentToFormerSecurityGroup: an app role assigned to a
// Microsoft 365 group while it was security-enabled stays when the group
// stops being one, and export then apply reproduces it, although a new
// assignment to that group is refused.
func TestExportAssignmentToFormerSecurityGroup(t *testing.T) {
	e := newSeedEnv(t)
	e.apply(t, loadExample(t))
	on, off := true, false
	if _, err := e.dir.UpdateGroup(e.ctx, contosoID, salesID, tenant.GroupUpdate{SecurityEnabled: &on}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mgr.AssignRole(e.ctx, contosoID, "api://orders", "Orders.Approver", consent.Assignee{Group: salesID}); err != nil {
		t.Fatalf("AssignRole(security-enabled Sales) = %v", err)
	}
	if _, err := e.dir.UpdateGroup(e.ctx, contosoID, salesID, tenant.GroupUpdate{SecurityEnabled: &off}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.mgr.AssignRole(e.ctx, contosoID, "api://orders", "Orders.Approver", consent.Assignee{Group: salesID}); !errors.Is(err, tenant.ErrInvalid) {
		t.Errorf("AssignRole(Sales, no longer security-enabled) = %v; want ErrInvalid", err)
	}
	doc, err := seed.Export(e.ctx, e.dir, e.mgr, "")
	if err != nil {
		t.Fatal(err)
	}
	fresh := newSeedEnv(t)
	fresh.apply(t, doc)
	again, err := seed.Export(fresh.ctx, fresh.dir, fresh.mgr, "")
	if err != nil {
		t.Fatal(err)
	}
	want := seed.RoleAssignment{Resource: apiAppID, Role: "Orders.Approver", Group: salesID}
	if !slices.Contains(again.Tenants[0].RoleAssignments, want) {
		t.Errorf("role assignments after export and apply = %+v; want %+v among them", again.Tenants[0].RoleAssignments, want)
	}
}
