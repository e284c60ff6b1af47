package consent_test

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// groupIDs are the groups addGroups puts in contoso:
//
//	Europe (security) ∋ Sales (security) ∋ alice, Daemon's service principal
//	Team (Microsoft 365) ∋ alice
//	TeamSec (Microsoft 365, security-enabled) ∋ alice
//	Audit (security), empty
//
// bob is in no group.
type groupIDs struct{ europe, sales, team, teamSec, audit string }

func (f *fixture) addGroups(t *testing.T) groupIDs {
	t.Helper()
	add := func(spec tenant.GroupSpec) string {
		t.Helper()
		g, err := f.dir.AddGroup(f.ctx, contosoID, spec)
		if err != nil {
			t.Fatalf("AddGroup(%s): %v", spec.DisplayName, err)
		}
		return g.ID
	}
	g := groupIDs{
		europe:  add(tenant.GroupSpec{DisplayName: "Europe"}),
		sales:   add(tenant.GroupSpec{DisplayName: "Sales"}),
		team:    add(tenant.GroupSpec{DisplayName: "Team", Unified: true}),
		teamSec: add(tenant.GroupSpec{DisplayName: "TeamSec", Unified: true, SecurityEnabled: true}),
		audit:   add(tenant.GroupSpec{DisplayName: "Audit"}),
	}
	for _, m := range []struct{ group, member string }{
		{g.europe, g.sales}, {g.sales, alice}, {g.sales, daemonAppID}, {g.team, alice}, {g.teamSec, alice},
	} {
		if _, err := f.dir.AddGroupMember(f.ctx, contosoID, m.group, m.member); err != nil {
			t.Fatalf("AddGroupMember(%s, %s): %v", m.group, m.member, err)
		}
	}
	return g
}

// assignGroup assigns an app role of a resource to a group through the
// Manager, as `issuer role assign --group` does.
func (f *fixture) assignGroup(t *testing.T, resource, role, group string) {
	t.Helper()
	if _, err := f.mgr.AssignRole(f.ctx, contosoID, resource, role, consent.Assignee{Group: group}); err != nil {
		t.Fatalf("AssignRole(%s, %s, group %s): %v", resource, role, group, err)
	}
}

// setGroupClaims sets an application's groupMembershipClaims.
func (f *fixture) setGroupClaims(t *testing.T, appID, value string) {
	t.Helper()
	if _, err := f.dir.UpdateApplication(f.ctx, appID, tenant.ApplicationUpdate{GroupMembershipClaims: &value}); err != nil {
		t.Fatalf("UpdateApplication(%s, groupMembershipClaims %q): %v", appID, value, err)
	}
}

// TestGroupRoles: a user holds the app roles assigned to the groups it is a
// direct member of, and those assignments satisfy appRoleAssignmentRequired
// of the resource and of the client; a group the user is in only through
// another group gives nothing (Entra: nested groups are not supported for
// group-based assignment). A client's service principal in a group gets
// neither roles nor assignment from it (Microsoft's app roles guide).
// Explain judges the same.
func TestGroupRoles(t *testing.T) {
	requireAssignment := func(t *testing.T, f *fixture, appID string) {
		yes := true
		f.updateSP(t, contosoID, appID, tenant.ServicePrincipalUpdate{AppRoleAssignmentRequired: &yes})
	}
	password := func(user string) request {
		return request{flow: consent.FlowPassword, client: webAppID, user: user, scopes: []string{"access_as_user"}}
	}
	tests := []struct {
		name      string
		arrange   func(t *testing.T, f *fixture, g groupIDs)
		req       request
		wantRoles []string
		want      consent.Reason
	}{
		{"a role assigned to the user's group", func(t *testing.T, f *fixture, g groupIDs) {
			f.assignGroup(t, "api://orders", "Orders.Approver", "Sales")
		}, password(alice), []string{"Orders.Approver"}, ""},
		{"a role assigned to a group the user is in through another group", func(t *testing.T, f *fixture, g groupIDs) {
			f.assignGroup(t, "api://orders", "Orders.Approver", "Europe")
		}, password(alice), nil, ""},
		{"the roles of the user and of its groups, each once", func(t *testing.T, f *fixture, g groupIDs) {
			f.assignUser(t, ordersAppID, roleApprover, alice)
			f.assignGroup(t, "api://orders", "Orders.Approver", "Sales")
			f.assignGroup(t, "api://orders", "Orders.All", g.teamSec)
		}, password(alice), []string{"Orders.Approver", "Orders.All"}, ""},
		{"a group's role is not another user's", func(t *testing.T, f *fixture, g groupIDs) {
			f.assignGroup(t, "api://orders", "Orders.Approver", "Sales")
		}, password(bob), nil, ""},
		{"resource requiring assignment, assigned through the user's group", func(t *testing.T, f *fixture, g groupIDs) {
			requireAssignment(t, f, ordersAppID)
			f.assignGroup(t, "api://orders", "Orders.Approver", "Sales")
		}, request{flow: consent.FlowOnBehalfOf, client: webAppID, user: alice}, []string{"Orders.Approver"}, ""},
		{"resource requiring assignment, assigned to a nested group only", func(t *testing.T, f *fixture, g groupIDs) {
			requireAssignment(t, f, ordersAppID)
			f.assignGroup(t, "api://orders", "Orders.Approver", "Europe")
		}, request{flow: consent.FlowOnBehalfOf, client: webAppID, user: alice}, nil, consent.ReasonUserNotAssigned},
		{"resource requiring assignment, the user in no assigned group", func(t *testing.T, f *fixture, g groupIDs) {
			requireAssignment(t, f, ordersAppID)
			f.assignGroup(t, "api://orders", "Orders.Approver", "Sales")
		}, request{flow: consent.FlowOnBehalfOf, client: webAppID, user: bob}, nil, consent.ReasonUserNotAssigned},
		{"client requiring assignment, assigned through the user's group", func(t *testing.T, f *fixture, g groupIDs) {
			requireAssignment(t, f, webAppID)
			f.assignGroup(t, webAppID, "Web.User", "Sales")
		}, password(alice), nil, ""},
		{"client requiring assignment, assigned to another group", func(t *testing.T, f *fixture, g groupIDs) {
			requireAssignment(t, f, webAppID)
			f.assignGroup(t, webAppID, "Web.User", "Audit")
		}, password(alice), nil, consent.ReasonUserNotAssigned},
		{"app-only: a role assigned to the client's group is not the client's", func(t *testing.T, f *fixture, g groupIDs) {
			f.assignGroup(t, "api://orders", "Orders.All", "Sales")
		}, request{client: daemonAppID}, nil, ""},
		{"app-only: the client's group does not satisfy assignment", func(t *testing.T, f *fixture, g groupIDs) {
			requireAssignment(t, f, ordersAppID)
			f.assignGroup(t, "api://orders", "Orders.All", "Sales")
		}, request{client: daemonAppID}, nil, consent.ReasonClientNotAssigned},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			g := f.addGroups(t)
			f.grant(t, webAppID, consent.AllPrincipals, "", "access_as_user")
			tc.arrange(t, f, g)
			dec, err := f.decide(t, tc.req)
			if got := denial(t, err); got != tc.want {
				t.Fatalf("Decide = %v; want denial %q", err, tc.want)
			}
			if !slices.Equal(dec.Roles, tc.wantRoles) {
				t.Errorf("roles = %v; want %v", dec.Roles, tc.wantRoles)
			}
			ex := f.explain(t, tc.req)
			if (ex.Denial == nil) != (tc.want == "") || ex.Decision != nil && !slices.Equal(ex.Decision.Roles, tc.wantRoles) {
				t.Errorf("Explain = %+v, %+v; want the decision of Decide", ex.Decision, ex.Denial)
			}
		})
	}
}

// TestExplainGroupAssignment: explain names the group through which a user
// holds a role.
func TestExplainGroupAssignment(t *testing.T) {
	f := newFixture(t)
	f.addGroups(t)
	f.grant(t, webAppID, consent.AllPrincipals, "", "access_as_user")
	f.assignGroup(t, "api://orders", "Orders.Approver", "Sales")
	ex := f.explain(t, request{flow: consent.FlowPassword, client: webAppID, user: alice})
	if len(ex.AppRoleAssignments) != 1 {
		t.Fatalf("assignments = %+v; want the one of Sales", ex.AppRoleAssignments)
	}
	a := ex.AppRoleAssignments[0]
	if a.PrincipalType != consent.PrincipalGroup || !a.Issued || !strings.Contains(a.Note, "Sales") {
		t.Errorf("assignment = %+v; want Sales's, issued, with a note naming the group", a)
	}
}

// TestGroupClaims: the groups claims Resolve reads follow groupMembershipClaims
// of the resource (access token) and of the client (ID token): security
// groups transitively, every group, the user's direct groups assigned to the
// application, or a union of them; the client's service principal's groups
// in app-only requests.
func TestGroupClaims(t *testing.T) {
	alicePassword := request{flow: consent.FlowPassword, client: webAppID, user: alice}
	tests := []struct {
		name               string
		orders, web        string // groupMembershipClaims
		arrange            func(t *testing.T, f *fixture, g groupIDs)
		req                request
		wantAccess, wantID func(g groupIDs) []string
	}{
		{name: "none", req: alicePassword},
		{name: "SecurityGroup: security groups, nested ones too", orders: "SecurityGroup", req: alicePassword,
			wantAccess: func(g groupIDs) []string { return []string{g.europe, g.sales, g.teamSec} }},
		{name: "All: Microsoft 365 groups too", orders: "All", req: alicePassword,
			wantAccess: func(g groupIDs) []string { return []string{g.europe, g.sales, g.team, g.teamSec} }},
		{name: "ApplicationGroup: direct groups assigned to the resource", orders: "ApplicationGroup", req: alicePassword,
			arrange: func(t *testing.T, f *fixture, g groupIDs) {
				f.assignGroup(t, "api://orders", "Orders.Approver", "Sales")
				f.assignGroup(t, "api://orders", "Orders.Approver", "Europe") // alice is in it through Sales only
				f.assignGroup(t, "api://orders", "Orders.Approver", "Audit")  // alice is not in it
				f.assignGroup(t, webAppID, "Web.User", g.teamSec)             // another application's
			},
			wantAccess: func(g groupIDs) []string { return []string{g.sales} }},
		{name: "SecurityGroup and ApplicationGroup: the union", orders: "SecurityGroup, ApplicationGroup", req: alicePassword,
			arrange: func(t *testing.T, f *fixture, g groupIDs) {
				f.assignAs(t, ordersAppID, roleApprover, g.team, consent.PrincipalGroup)
			},
			wantAccess: func(g groupIDs) []string { return []string{g.europe, g.sales, g.team, g.teamSec} }},
		{name: "DirectoryRole: no groups", orders: "DirectoryRole", req: alicePassword},
		{name: "a user in no group", orders: "All", web: "All", req: request{flow: consent.FlowPassword, client: webAppID, user: bob}},
		{name: "ID token: the client's setting", web: "All", req: alicePassword,
			wantID: func(g groupIDs) []string { return []string{g.europe, g.sales, g.team, g.teamSec} }},
		{name: "ID token: groups assigned to the client", orders: "SecurityGroup", web: "ApplicationGroup", req: alicePassword,
			arrange: func(t *testing.T, f *fixture, g groupIDs) {
				f.assignGroup(t, webAppID, "Web.User", "Sales")
				f.assignGroup(t, "api://orders", "Orders.Approver", g.teamSec)
			},
			wantAccess: func(g groupIDs) []string { return []string{g.europe, g.sales, g.teamSec} },
			wantID:     func(g groupIDs) []string { return []string{g.sales} }},
		{name: "app-only: the client's security groups", orders: "SecurityGroup", web: "All", req: request{client: daemonAppID},
			wantAccess: func(g groupIDs) []string { return []string{g.europe, g.sales} }},
		{name: "app-only: the client's groups assigned to the resource", orders: "ApplicationGroup", req: request{client: daemonAppID},
			arrange: func(t *testing.T, f *fixture, g groupIDs) {
				f.assignGroup(t, "api://orders", "Orders.All", "Sales")
				f.assignGroup(t, "api://orders", "Orders.All", "Europe")
			},
			wantAccess: func(g groupIDs) []string { return []string{g.sales} }},
		{name: "app-only: a resource asking for none", web: "All", req: request{client: daemonAppID}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t)
			g := f.addGroups(t)
			f.setGroupClaims(t, ordersAppID, tc.orders)
			f.setGroupClaims(t, webAppID, tc.web)
			if tc.arrange != nil {
				tc.arrange(t, f, g)
			}
			facts, err := consent.Resolve(f.ctx, f.db, tc.req.request())
			if err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			want := func(w func(groupIDs) []string) []string {
				if w == nil {
					return nil
				}
				out := w(g)
				slices.Sort(out)
				return out
			}
			if got, w := facts.AccessGroups, want(tc.wantAccess); !slices.Equal(got, w) {
				t.Errorf("AccessGroups = %v; want %v", got, w)
			}
			if got, w := facts.IDGroups, want(tc.wantID); !slices.Equal(got, w) {
				t.Errorf("IDGroups = %v; want %v", got, w)
			}
		})
	}
}

// countingViewer counts the group reads of the views it opens over the
// real store.
type countingViewer struct {
	v                                 consent.Viewer
	memberOf, getGroup, assignmentsOf int
}

func (c *countingViewer) View(ctx context.Context, fn func(consent.Reader) error) error {
	return c.v.View(ctx, func(r consent.Reader) error { return fn(countingReader{r, c}) })
}

type countingReader struct {
	consent.Reader
	c *countingViewer
}

func (r countingReader) MemberOf(ctx context.Context, tenantID, objectID string) ([]string, error) {
	r.c.memberOf++
	return r.Reader.MemberOf(ctx, tenantID, objectID)
}

func (r countingReader) GetGroup(ctx context.Context, tenantID, id string) (tenant.Group, error) {
	r.c.getGroup++
	return r.Reader.GetGroup(ctx, tenantID, id)
}

func (r countingReader) AppRoleAssignmentsOf(ctx context.Context, tenantID, principalID, resourceID string) ([]consent.AppRoleAssignment, error) {
	r.c.assignmentsOf++
	return r.Reader.AppRoleAssignmentsOf(ctx, tenantID, principalID, resourceID)
}

// TestGroupReads: groups cost the token path nothing where nothing asks for
// them. An app-only request reads no group when the resource asks for no
// groups claim, whatever the client's groups; a delegated one reads the
// user's direct groups once (roles through groups need them) and the
// assignments of the user and those groups on the resource, and on the
// client too only when the client has roles a user may hold (its
// id_token's roles), and nothing more of groups.
func TestGroupReads(t *testing.T) {
	f := newFixture(t)
	f.addGroups(t)
	f.setGroupClaims(t, webAppID, "DirectoryRole")
	tests := []struct {
		name                              string
		req                               request
		before                            func()
		memberOf, getGroup, assignmentsOf int
	}{
		{"app-only, the client in groups", request{client: daemonAppID}, nil, 0, 0, 1},
		{"delegated, the user in three groups", request{flow: consent.FlowPassword, client: webAppID, user: alice}, nil, 1, 0, 8},
		{"delegated, the user in none", request{flow: consent.FlowPassword, client: webAppID, user: bob}, nil, 1, 0, 2},
		{"delegated, a client whose user role is disabled", request{flow: consent.FlowPassword, client: webAppID, user: alice},
			func() { f.must(f.dir.SetAppRoleEnabled(f.ctx, webAppID, "Web.User", false)) }, 1, 0, 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.before != nil {
				tc.before()
			}
			c := &countingViewer{v: f.db}
			if _, err := consent.Resolve(f.ctx, c, tc.req.request()); err != nil {
				t.Fatalf("Resolve: %v", err)
			}
			got := [3]int{c.memberOf, c.getGroup, c.assignmentsOf}
			if want := [3]int{tc.memberOf, tc.getGroup, tc.assignmentsOf}; got != want {
				t.Errorf("reads (MemberOf, GetGroup, AppRoleAssignmentsOf) = %v; want %v", got, want)
			}
		})
	}
}

// TestAssignRoleToGroup: the Manager assigns user roles to groups and
// refuses what Entra refuses.
func TestAssignRoleToGroup(t *testing.T) {
	f := newFixture(t)
	g := f.addGroups(t)
	tests := []struct {
		name string
		role string
		who  consent.Assignee
		want error
	}{
		{"a security group by name", "Orders.Approver", consent.Assignee{Group: "sales"}, nil},
		{"a security-enabled Microsoft 365 group by id", "Orders.Approver", consent.Assignee{Group: g.teamSec}, nil},
		{"a Microsoft 365 group that is not security-enabled", "Orders.Approver", consent.Assignee{Group: g.team}, tenant.ErrInvalid},
		{"a role for applications only", "Orders.Read", consent.Assignee{Group: "Sales"}, tenant.ErrInvalid},
		{"an unknown group", "Orders.Approver", consent.Assignee{Group: "Nobody"}, tenant.ErrNotFound},
		{"a group and a user", "Orders.Approver", consent.Assignee{Group: "Audit", User: alice}, tenant.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a, err := f.mgr.AssignRole(f.ctx, contosoID, "api://orders", tc.role, tc.who)
			if !errors.Is(err, tc.want) {
				t.Fatalf("AssignRole(%+v) = %v; want %v", tc.who, err, tc.want)
			}
			if err == nil && (a.PrincipalType != consent.PrincipalGroup || a.PrincipalDisplayName == "") {
				t.Errorf("assignment = %+v; want a group principal with its name", a)
			}
		})
	}
	// Unassigning a group's role removes it.
	if _, err := f.mgr.UnassignRole(f.ctx, contosoID, "api://orders", "Orders.Approver", consent.Assignee{Group: "Sales"}); err != nil {
		t.Errorf("UnassignRole(group Sales) = %v", err)
	}
}
