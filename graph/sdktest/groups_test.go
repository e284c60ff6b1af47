package sdktest

import (
	"context"
	"slices"
	"testing"
	"time"

	abstractions "github.com/microsoft/kiota-abstractions-go"
	"github.com/microsoftgraph/msgraph-sdk-go/groups"
	"github.com/microsoftgraph/msgraph-sdk-go/models"
	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer/issuertest"
	"github.com/issuer-dev/issuer/tenant"
)

// TestGroupsWithGraphSDK manages groups with msgraph-sdk-go as a
// provisioner does: it creates a security group, nests it in another,
// adds a user by the SDK's members/$ref, finds the group by $filter, reads
// the user's memberOf, transitiveMemberOf (cast to groups, as the SDK
// sends it) and the overage actions, and removes the member again.
func TestGroupsWithGraphSDK(t *testing.T) {
	ctx := context.Background()
	srv := issuertest.NewServer(t, issuertest.Clock(time.Now()))
	contoso := srv.AddTenant("contoso")
	app := srv.AddApp(contoso.ID, tenant.ApplicationSpec{DisplayName: "Group Provisioner"})
	for _, r := range []string{"Group.ReadWrite.All", "GroupMember.ReadWrite.All", "User.Read.All"} {
		srv.AssignRole(contoso.ID, tenant.MicrosoftGraphAppID, r, consent.Assignee{ClientAppID: app.AppID})
	}
	gc := graphClient(t, srv, contoso.ID, app.AppID, srv.AddSecret(app.AppID))
	ada := srv.AddUser(contoso.ID, tenant.UserSpec{UserPrincipalName: "ada@contoso.onmicrosoft.com", DisplayName: "Ada"})

	newGroup := func(name, nickname string) models.Groupable {
		g := models.NewGroup()
		g.SetDisplayName(ptr(name))
		g.SetMailEnabled(ptr(false))
		g.SetMailNickname(ptr(nickname))
		g.SetSecurityEnabled(ptr(true))
		created, err := gc.Groups().Post(ctx, g, nil)
		check(t, "create "+name, err)
		if created.GetSecurityEnabled() == nil || !*created.GetSecurityEnabled() || deref(created.GetMailNickname()) != nickname {
			t.Fatalf("created %s: securityEnabled %v, mailNickname %q", name, created.GetSecurityEnabled(), deref(created.GetMailNickname()))
		}
		return created
	}
	readers := newGroup("Payroll Readers", "payroll-readers")
	staff := newGroup("Staff", "staff")
	readersID, staffID := deref(readers.GetId()), deref(staff.GetId())

	ref := models.NewReferenceCreate()
	ref.SetOdataId(ptr("https://graph.microsoft.com/v1.0/directoryObjects/" + ada.ID))
	check(t, "add Ada by members/$ref", gc.Groups().ByGroupId(readersID).Members().Ref().Post(ctx, ref, nil))
	nested := models.NewReferenceCreate()
	nested.SetOdataId(ptr("https://graph.microsoft.com/v1.0/groups/" + readersID))
	check(t, "nest the readers in staff", gc.Groups().ByGroupId(staffID).Members().Ref().Post(ctx, nested, nil))

	found, err := gc.Groups().Get(ctx, &groups.GroupsRequestBuilderGetRequestConfiguration{
		QueryParameters: &groups.GroupsRequestBuilderGetQueryParameters{Filter: ptr("mailNickname eq 'payroll-readers'"), Select: []string{"id", "displayName"}}})
	check(t, "find the group by $filter", err)
	if v := found.GetValue(); len(v) != 1 || deref(v[0].GetId()) != readersID {
		t.Fatalf("$filter=mailNickname eq 'payroll-readers' found %d groups; want the readers", len(v))
	}
	members, err := gc.Groups().ByGroupId(readersID).Members().Get(ctx, nil)
	check(t, "list members", err)
	if v := members.GetValue(); len(v) != 1 || deref(v[0].GetId()) != ada.ID {
		t.Fatalf("members = %d objects; want Ada", len(v))
	} else if u, ok := v[0].(models.Userable); !ok || deref(u.GetUserPrincipalName()) != ada.UserPrincipalName {
		t.Fatalf("member is a %T; want Ada as a user", v[0])
	}

	memberOf, err := gc.Users().ByUserId(ada.ID).MemberOf().Get(ctx, nil)
	check(t, "read memberOf", err)
	if v := memberOf.GetValue(); len(v) != 1 || deref(v[0].GetId()) != readersID {
		t.Fatalf("memberOf = %d objects; want the readers", len(v))
	} else if g, ok := v[0].(models.Groupable); !ok || deref(g.GetDisplayName()) != "Payroll Readers" {
		t.Fatalf("memberOf lists a %T; want the readers as a group", v[0])
	}
	eventual := abstractions.NewRequestHeaders()
	eventual.Add("ConsistencyLevel", "eventual")
	transitive, err := gc.Users().ByUserId(ada.ID).TransitiveMemberOf().GraphGroup().Get(ctx, &users.ItemTransitiveMemberOfGraphGroupRequestBuilderGetRequestConfiguration{
		Headers: eventual, QueryParameters: &users.ItemTransitiveMemberOfGraphGroupRequestBuilderGetQueryParameters{Count: ptr(true)}})
	check(t, "read transitiveMemberOf/graph.group", err)
	var names []string
	for _, g := range transitive.GetValue() {
		names = append(names, deref(g.GetDisplayName()))
	}
	if slices.Sort(names); !slices.Equal(names, []string{"Payroll Readers", "Staff"}) || transitive.GetOdataCount() == nil || *transitive.GetOdataCount() != 2 {
		t.Fatalf("transitiveMemberOf = %v (count %v); want the readers and staff", names, transitive.GetOdataCount())
	}

	body := users.NewItemGetMemberGroupsPostRequestBody()
	body.SetSecurityEnabledOnly(ptr(true))
	ids, err := gc.Users().ByUserId(ada.ID).GetMemberGroups().PostAsGetMemberGroupsPostResponse(ctx, body, nil)
	check(t, "getMemberGroups", err)
	want := []string{readersID, staffID}
	slices.Sort(want)
	if got := ids.GetValue(); !slices.Equal(got, want) {
		t.Fatalf("getMemberGroups = %v; want %v", got, want)
	}
	checkBody := users.NewItemCheckMemberGroupsPostRequestBody()
	checkBody.SetGroupIds([]string{staffID})
	checked, err := gc.Users().ByUserId(ada.ID).CheckMemberGroups().PostAsCheckMemberGroupsPostResponse(ctx, checkBody, nil)
	check(t, "checkMemberGroups", err)
	if got := checked.GetValue(); !slices.Equal(got, []string{staffID}) {
		t.Fatalf("checkMemberGroups = %v; want staff", got)
	}

	check(t, "remove Ada by $ref", gc.Groups().ByGroupId(readersID).Members().ByDirectoryObjectId(ada.ID).Ref().Delete(ctx, nil))
	after, err := gc.Users().ByUserId(ada.ID).MemberOf().Get(ctx, nil)
	check(t, "memberOf after removal", err)
	if v := after.GetValue(); len(v) != 0 {
		t.Fatalf("memberOf after removal = %d objects; want none", len(v))
	}
	check(t, "delete a group", gc.Groups().ByGroupId(staffID).Delete(ctx, nil))
	if _, err := gc.Groups().ByGroupId(staffID).Get(ctx, nil); err == nil {
		t.Error("a deleted group is still there")
	}
}
