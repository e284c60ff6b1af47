package graph_test

import (
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// groupsToken is an app-only Graph token for group provisioning: groups
// and memberships, and reading users and service principals.
func (e *env) groupsToken(t *testing.T) string {
	t.Helper()
	return e.appToken(t, "Group Provisioner", "Group.ReadWrite.All", "GroupMember.ReadWrite.All", "User.Read.All", "Application.ReadWrite.All")
}

// groupSnapshot is snapshot with the tenant's groups, their direct
// members and every object's memberships: what a refused group call
// must leave alone.
func (e *env) groupSnapshot(t *testing.T) string {
	t.Helper()
	ctx := t.Context()
	gs, err := e.srv.Directory.ListGroups(ctx, e.tenant.ID)
	if err != nil {
		t.Fatal(err)
	}
	members := map[string][]tenant.GroupMember{}
	for _, g := range gs {
		if members[g.ID], err = e.srv.Directory.ListGroupMembers(ctx, e.tenant.ID, g.ID); err != nil {
			t.Fatal(err)
		}
	}
	b, _ := json.Marshal([]any{gs, members})
	return e.snapshot(t) + string(b)
}

// mustCreate POSTs body to path and returns the new object's id.
func (e *env) mustCreate(t *testing.T, token, path, body string) string {
	t.Helper()
	status, obj, _ := e.call(t, token, "POST", path, body)
	if status != 201 {
		t.Fatalf("POST %s %s = %d %v", path, body, status, obj)
	}
	return obj["id"].(string)
}

// mustNoContent makes a call that must answer 204.
func (e *env) mustNoContent(t *testing.T, token, method, path, body string) {
	t.Helper()
	if status, obj, _ := e.call(t, token, method, path, body); status != 204 {
		t.Fatalf("%s %s %s = %d %v", method, path, body, status, obj)
	}
}

func refTo(id string) string {
	return `{"@odata.id":"https://graph.microsoft.com/v1.0/directoryObjects/` + id + `"}`
}

func securityGroup(name string) string {
	return `{"displayName":"` + name + `","mailEnabled":false,"mailNickname":"` + strings.ReplaceAll(strings.ToLower(name), " ", "-") + `","securityEnabled":true}`
}

func unifiedGroup(name string) string {
	return `{"displayName":"` + name + `","mailEnabled":true,"mailNickname":"` + strings.ReplaceAll(strings.ToLower(name), " ", "-") + `","securityEnabled":false,"groupTypes":["Unified"]}`
}

// ids lists the ids of a collection's value, and their @odata.types.
func ids(t *testing.T, body map[string]any) map[string]string {
	t.Helper()
	v, ok := body["value"].([]any)
	if !ok {
		t.Fatalf("no value in %v", body)
	}
	out := map[string]string{}
	for _, o := range v {
		m := o.(map[string]any)
		out[m["id"].(string)], _ = m["@odata.type"].(string)
	}
	return out
}

var sid = regexp.MustCompile(`^S-1-12-1-\d+-\d+-\d+-\d+$`)

// TestGroupShape: a created group is Graph's group JSON, property for
// property, in the POST's answer and in GET; a Microsoft 365 group has
// the tenant's mail address.
func TestGroupShape(t *testing.T) {
	e := newEnv(t)
	tok := e.groupsToken(t)
	for _, tc := range []struct {
		name, body string
		want       map[string]any // besides the properties every group has
	}{
		{"a security group", `{"displayName":"Payroll Readers","description":"Reads payroll","mailEnabled":false,"mailNickname":"payroll-readers","securityEnabled":true}`,
			map[string]any{"displayName": "Payroll Readers", "description": "Reads payroll", "mailNickname": "payroll-readers",
				"mailEnabled": false, "securityEnabled": true, "groupTypes": []any{}, "mail": nil, "proxyAddresses": []any{}, "visibility": nil}},
		{"a Microsoft 365 group", `{"displayName":"Design","mailEnabled":true,"mailNickname":"design","securityEnabled":false,"groupTypes":["Unified"]}`,
			map[string]any{"displayName": "Design", "description": nil, "mailNickname": "design",
				"mailEnabled": true, "securityEnabled": false, "groupTypes": []any{"Unified"},
				"mail": "design@contoso.onmicrosoft.com", "proxyAddresses": []any{"SMTP:design@contoso.onmicrosoft.com"}, "visibility": "Public"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, created, hdr := e.call(t, tok, "POST", "/groups", tc.body)
			if status != 201 {
				t.Fatalf("POST /groups = %d %v", status, created)
			}
			id, _ := created["id"].(string)
			if !tenant.IsGUID(id) || hdr.Get("Location") != e.srv.GraphURL()+"/groups/"+id {
				t.Errorf("id %q, Location %q", id, hdr.Get("Location"))
			}
			when, err := time.Parse(time.RFC3339Nano, created["createdDateTime"].(string))
			if now := e.srv.Now(); err != nil || when.After(now) || when.Before(now.Add(-time.Minute)) {
				t.Errorf("createdDateTime = %v (%v); want the server's clock, %v", created["createdDateTime"], err, now)
			}
			if s, _ := created["securityIdentifier"].(string); !sid.MatchString(s) {
				t.Errorf("securityIdentifier = %v; want an Entra group SID", created["securityIdentifier"])
			}
			want := map[string]any{
				"@odata.context": e.srv.GraphURL() + "/$metadata#groups/$entity", "id": id,
				"createdDateTime": created["createdDateTime"], "renewedDateTime": created["createdDateTime"],
				"securityIdentifier": created["securityIdentifier"],
				"deletedDateTime":    nil, "classification": nil, "expirationDateTime": nil, "isAssignableToRole": nil,
				"membershipRule": nil, "membershipRuleProcessingState": nil, "onPremisesDomainName": nil,
				"onPremisesLastSyncDateTime": nil, "onPremisesNetBiosName": nil, "onPremisesSamAccountName": nil,
				"onPremisesSecurityIdentifier": nil, "onPremisesSyncEnabled": nil, "preferredDataLocation": nil,
				"preferredLanguage": nil, "theme": nil,
				"creationOptions": []any{}, "resourceBehaviorOptions": []any{}, "resourceProvisioningOptions": []any{},
				"onPremisesProvisioningErrors": []any{}, "serviceProvisioningErrors": []any{},
			}
			maps.Copy(want, tc.want)
			if !reflect.DeepEqual(created, want) {
				t.Errorf("POST /groups answered\n%v\nwant\n%v", created, want)
			}
			_, got, _ := e.call(t, tok, "GET", "/groups/"+id, "")
			if !reflect.DeepEqual(got, want) {
				t.Errorf("GET /groups/%s =\n%v\nwant\n%v", id, got, want)
			}
		})
	}
}

// TestGroupQueries: the list takes the users list's query options: $filter
// on the properties Graph filters groups by, $search with
// ConsistencyLevel: eventual, $orderby, $select, $top and $count.
func TestGroupQueries(t *testing.T) {
	e := newEnv(t)
	tok := e.groupsToken(t)
	first := e.mustCreate(t, tok, "/groups", securityGroup("Payroll Readers"))
	e.mustCreate(t, tok, "/groups", securityGroup("Payroll Writers"))
	e.mustCreate(t, tok, "/groups", unifiedGroup("Design Team"))
	e.mustCreate(t, tok, "/groups", `{"displayName":"Secure Design","mailEnabled":true,"mailNickname":"secure-design","securityEnabled":true,"groupTypes":["Unified"],"description":"Design reviews"}`)
	eventual := http.Header{"Consistencylevel": {"eventual"}}
	for _, tc := range []struct {
		name, query string
		header      http.Header
		want        []string // display names, in order
	}{
		{"all, by displayName", "$orderby=displayName", nil, []string{"Design Team", "Payroll Readers", "Payroll Writers", "Secure Design"}},
		{"descending", "$orderby=displayName desc", nil, []string{"Secure Design", "Payroll Writers", "Payroll Readers", "Design Team"}},
		{"displayName eq", "$filter=displayName eq 'payroll readers'", nil, []string{"Payroll Readers"}},
		{"startswith", "$filter=startswith(displayName,'Payroll')&$orderby=displayName&$count=true", eventual, []string{"Payroll Readers", "Payroll Writers"}},
		{"mailNickname eq", "$filter=mailNickname eq 'design-team'", nil, []string{"Design Team"}},
		{"securityEnabled", "$filter=securityEnabled eq true&$orderby=displayName&$count=true", eventual, []string{"Payroll Readers", "Payroll Writers", "Secure Design"}},
		{"mailEnabled", "$filter=mailEnabled eq false&$orderby=displayName&$count=true", eventual, []string{"Payroll Readers", "Payroll Writers"}},
		{"Microsoft 365 groups", "$filter=groupTypes/any(c:c eq 'Unified')&$orderby=displayName&$count=true", eventual, []string{"Design Team", "Secure Design"}},
		{"security Microsoft 365 groups", "$filter=groupTypes/any(c:c eq 'Unified') and securityEnabled eq true", nil, []string{"Secure Design"}},
		{"$search on displayName", `$search="displayName:design"&$orderby=displayName&$count=true`, eventual, []string{"Design Team", "Secure Design"}},
		{"$search on description", `$search="description:reviews"`, eventual, []string{"Secure Design"}},
		{"$search on mail", `$search="mail:design-team@"`, eventual, []string{"Design Team"}},
		{"$search on mailNickname", `$search="mailNickname:payroll-w"`, eventual, []string{"Payroll Writers"}},
		{"$search OR", `$search="displayName:readers" OR "displayName:team"&$orderby=displayName&$count=true`, eventual, []string{"Design Team", "Payroll Readers"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/groups?" + strings.ReplaceAll(tc.query, " ", "%20")
			status, body, _ := e.callWith(t, tc.header, tok, "GET", path, "")
			if status != 200 {
				t.Fatalf("GET %s = %d %v", path, status, body)
			}
			var got []string
			for _, v := range body["value"].([]any) {
				got = append(got, v.(map[string]any)["displayName"].(string))
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("GET %s = %v; want %v", path, got, tc.want)
			}
		})
	}
	status, body, _ := e.callWith(t, eventual, tok, "GET", "/groups?$select=displayName,mailNickname&$top=1&$count=true&$orderby=displayName", "")
	v, _ := body["value"].([]any)
	if status != 200 || len(v) != 1 || body["@odata.count"] != float64(4) || body["@odata.nextLink"] == nil ||
		!reflect.DeepEqual(v[0], map[string]any{"displayName": "Design Team", "mailNickname": "design-team"}) {
		t.Errorf("$select, $top and $count = %d %v", status, body)
	}
	for _, tc := range []refusalCase{
		{"filter on an unknown property", "/groups?$filter=colour eq 'red'", nil, "Request_BadRequest"},
		{"any on a scalar", "/groups?$filter=displayName/any(c:c eq 'x')", nil, "Request_BadRequest"},
		{"search without ConsistencyLevel", `/groups?$search="displayName:design"`, nil, "Request_UnsupportedQuery"},
		{"search on a boolean", `/groups?$search="securityEnabled:true"`, eventual, "Request_UnsupportedQuery"},
		{"sort by an unsortable property", "/groups?$orderby=mailNickname", nil, "Request_UnsupportedQuery"},
		{"a filtered sort without $count", "/groups?$orderby=displayName&$filter=securityEnabled eq true", nil, "Request_UnsupportedQuery"},
		{"unknown $select", "/groups?$select=colour", nil, "Request_BadRequest"},
		{"search on members", `/groups/` + first + `/members?$search="displayName:a"`, eventual, "Request_UnsupportedQuery"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := strings.ReplaceAll(tc.path, " ", "%20")
			if status, body, _ := e.callWith(t, tc.header, tok, "GET", path, ""); status != 400 || errorCode(body) != tc.wantCode {
				t.Errorf("GET %s = %d %s; want 400 %s (%v)", tc.path, status, errorCode(body), tc.wantCode, body)
			}
		})
	}
}

// TestGroupLifecycle: PATCH changes what Graph lets change and DELETE
// removes the group with its memberships and app role assignments.
func TestGroupLifecycle(t *testing.T) {
	e := newEnv(t)
	tok := e.groupsToken(t)
	ada := e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: "ada@contoso.onmicrosoft.com", DisplayName: "Ada"})
	id := e.mustCreate(t, tok, "/groups", securityGroup("Readers"))
	unified := e.mustCreate(t, tok, "/groups", unifiedGroup("Team"))
	parent := e.mustCreate(t, tok, "/groups", securityGroup("Parent"))
	e.mustNoContent(t, tok, "POST", "/groups/"+id+"/members/$ref", refTo(ada.ID))
	e.mustNoContent(t, tok, "POST", "/groups/"+parent+"/members/$ref", refTo(id))

	e.mustNoContent(t, tok, "PATCH", "/groups/"+id, `{"displayName":"Payroll Readers","description":"Reads payroll","mailNickname":"payroll"}`)
	// Up to 20 members at once, as Graph's group-post-members adds them.
	bo := e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: "bo@contoso.onmicrosoft.com", DisplayName: "Bo"})
	cy := e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: "cy@contoso.onmicrosoft.com", DisplayName: "Cy"})
	e.mustNoContent(t, tok, "PATCH", "/groups/"+unified, `{"members@odata.bind":["https://graph.microsoft.com/v1.0/directoryObjects/`+bo.ID+`","https://graph.microsoft.com/v1.0/users/`+cy.ID+`"]}`)
	if _, body, _ := e.call(t, tok, "GET", "/groups/"+unified+"/members", ""); !maps.Equal(ids(t, body), map[string]string{bo.ID: "#microsoft.graph.user", cy.ID: "#microsoft.graph.user"}) {
		t.Errorf("members after PATCH with members@odata.bind = %v; want Bo and Cy", body)
	}
	// Sending the kind back unchanged, as a client that PATCHes a whole
	// object does, is no change.
	e.mustNoContent(t, tok, "PATCH", "/groups/"+id, `{"mailEnabled":false,"groupTypes":[],"securityEnabled":true}`)
	e.mustNoContent(t, tok, "PATCH", "/groups/"+unified, `{"securityEnabled":true,"mailNickname":"team2"}`)
	_, g, _ := e.call(t, tok, "GET", "/groups/"+id+"?$select=displayName,description,mailNickname", "")
	if g["displayName"] != "Payroll Readers" || g["description"] != "Reads payroll" || g["mailNickname"] != "payroll" {
		t.Errorf("after PATCH: %v", g)
	}
	_, u, _ := e.call(t, tok, "GET", "/groups/"+unified+"?$select=securityEnabled,mail", "")
	if u["securityEnabled"] != true || u["mail"] != "team2@contoso.onmicrosoft.com" {
		t.Errorf("Microsoft 365 group after PATCH: %v", u)
	}

	e.mustNoContent(t, tok, "DELETE", "/groups/"+id, "")
	if status, body, _ := e.call(t, tok, "GET", "/groups/"+id, ""); status != 404 || errorCode(body) != "Request_ResourceNotFound" {
		t.Errorf("GET a deleted group = %d %v; want 404", status, body)
	}
	if status, body, _ := e.call(t, tok, "GET", "/groups/"+parent+"/members", ""); status != 200 || len(ids(t, body)) != 0 {
		t.Errorf("members of the deleted group's parent = %d %v; want none", status, body)
	}
	if status, body, _ := e.call(t, tok, "GET", "/users/"+ada.ID+"/memberOf", ""); status != 200 || len(ids(t, body)) != 0 {
		t.Errorf("memberOf of the deleted group's member = %d %v; want none", status, body)
	}
}

// TestGroupRefusals: every refusal of the group calls is Graph's status,
// code and (where Graph's wording is known) message, and changes nothing.
func TestGroupRefusals(t *testing.T) {
	e := newEnv(t)
	tok := e.groupsToken(t)
	readOnly := e.appToken(t, "Group Reader", "Group.Read.All")
	memberReader := e.appToken(t, "Member Reader", "GroupMember.Read.All")
	membersOnly := e.appToken(t, "Member Writer", "GroupMember.ReadWrite.All", "User.Read.All")
	groupsOnly := e.appToken(t, "Group Writer", "Group.ReadWrite.All")
	directoryReader := e.appToken(t, "Directory Reader", "Directory.Read.All")
	ada := e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: "ada@contoso.onmicrosoft.com", DisplayName: "Ada"})
	api := e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: "API"})
	role := e.srv.AddAppRole(api.AppID, "Orders.Read", tenant.MemberTypeUser)
	apiSP := mustSP(t, e, api.AppID)
	sec := e.mustCreate(t, tok, "/groups", securityGroup("Readers"))
	parent := e.mustCreate(t, tok, "/groups", securityGroup("Parent"))
	unified := e.mustCreate(t, tok, "/groups", unifiedGroup("Team"))
	e.mustNoContent(t, tok, "POST", "/groups/"+sec+"/members/$ref", refTo(ada.ID))
	e.mustNoContent(t, tok, "POST", "/groups/"+parent+"/members/$ref", refTo(sec))
	e.mustNoContent(t, tok, "POST", "/groups/"+parent+"/members/$ref", refTo(apiSP))
	const unknown = "5f7e0a56-0000-4000-8000-000000000009"
	tooMany := make([]string, 21)
	for i := range tooMany {
		tooMany[i] = `"https://graph.microsoft.com/v1.0/users/` + ada.ID + `"`
	}
	assignment := func(principal string) string {
		return `{"principalId":"` + principal + `","resourceId":"` + apiSP + `","appRoleId":"` + role.ID + `"}`
	}
	for _, tc := range []struct {
		name, token, method, path, body string
		wantStatus                      int
		wantCode, wantMessage           string
	}{
		{"no displayName", tok, "POST", "/groups", `{"mailEnabled":false,"mailNickname":"x","securityEnabled":true}`, 400, "Request_BadRequest", "A value is required for property 'displayName' of resource 'Group'."},
		{"a blank displayName", tok, "POST", "/groups", `{"displayName":" ","mailEnabled":false,"mailNickname":"x","securityEnabled":true}`, 400, "Request_BadRequest", "A value is required for property 'displayName' of resource 'Group'."},
		{"no mailEnabled", tok, "POST", "/groups", `{"displayName":"x","mailNickname":"x","securityEnabled":true}`, 400, "Request_BadRequest", "A value is required for property 'mailEnabled' of resource 'Group'."},
		{"no mailNickname", tok, "POST", "/groups", `{"displayName":"x","mailEnabled":false,"securityEnabled":true}`, 400, "Request_BadRequest", "A value is required for property 'mailNickname' of resource 'Group'."},
		{"no securityEnabled", tok, "POST", "/groups", `{"displayName":"x","mailEnabled":false,"mailNickname":"x"}`, 400, "Request_BadRequest", "A value is required for property 'securityEnabled' of resource 'Group'."},
		{"a mailNickname with a space", tok, "POST", "/groups", `{"displayName":"x","mailEnabled":false,"mailNickname":"a b","securityEnabled":true}`, 400, "Request_BadRequest", "Invalid value specified for property 'mailNickname' of resource 'Group'."},
		{"a mailNickname with @", tok, "POST", "/groups", `{"displayName":"x","mailEnabled":false,"mailNickname":"a@b","securityEnabled":true}`, 400, "Request_BadRequest", "Invalid value specified for property 'mailNickname' of resource 'Group'."},
		{"a mailNickname of 65 characters", tok, "POST", "/groups", `{"displayName":"x","mailEnabled":false,"mailNickname":"` + strings.Repeat("a", 65) + `","securityEnabled":true}`, 400, "Request_BadRequest", "Invalid value specified for property 'mailNickname' of resource 'Group'."},
		{"a mail-enabled security group", tok, "POST", "/groups", `{"displayName":"x","mailEnabled":true,"mailNickname":"x","securityEnabled":true}`, 400, "Request_BadRequest", "Cannot Create a mail-enabled security groups and or distribution list."},
		{"a distribution list", tok, "POST", "/groups", `{"displayName":"x","mailEnabled":true,"mailNickname":"x","securityEnabled":false}`, 400, "Request_BadRequest", "Cannot Create a mail-enabled security groups and or distribution list."},
		{"a Microsoft 365 group without mail", tok, "POST", "/groups", `{"displayName":"x","mailEnabled":false,"mailNickname":"x","securityEnabled":false,"groupTypes":["Unified"]}`, 400, "Request_BadRequest", "Invalid value specified for property 'mailEnabled' of resource 'Group'."},
		{"neither mail nor security", tok, "POST", "/groups", `{"displayName":"x","mailEnabled":false,"mailNickname":"x","securityEnabled":false}`, 400, "Request_BadRequest", "Invalid value specified for property 'securityEnabled' of resource 'Group'."},
		{"a dynamic group", tok, "POST", "/groups", `{"displayName":"x","mailEnabled":false,"mailNickname":"x","securityEnabled":true,"groupTypes":["DynamicMembership"]}`, 400, "Request_BadRequest", "Invalid value specified for property 'groupTypes' of resource 'Group'."},
		{"an id", tok, "POST", "/groups", `{"id":"` + unknown + `","displayName":"x","mailEnabled":false,"mailNickname":"x","securityEnabled":true}`, 400, "Request_BadRequest", ""},
		{"an unknown property", tok, "POST", "/groups", `{"displayName":"x","mailEnabled":false,"mailNickname":"x","securityEnabled":true,"visibility":"Private"}`, 400, "Request_BadRequest", `Property "visibility" does not exist on type 'microsoft.graph.group'.`},
		{"malformed JSON", tok, "POST", "/groups", `{"displayName":`, 400, "Request_BadRequest", ""},
		{"a displayName of the wrong type", tok, "POST", "/groups", `{"displayName":1,"mailEnabled":false,"mailNickname":"x","securityEnabled":true}`, 400, "Request_BadRequest", ""},
		{"21 bound members", tok, "POST", "/groups", `{"displayName":"x","mailEnabled":false,"mailNickname":"x","securityEnabled":true,"members@odata.bind":[` + strings.Join(tooMany, ",") + `]}`, 400, "Request_BadRequest", ""},
		{"an unknown bound member", tok, "POST", "/groups", `{"displayName":"x","mailEnabled":false,"mailNickname":"x","securityEnabled":true,"members@odata.bind":["https://graph.microsoft.com/v1.0/users/` + ada.ID + `","https://graph.microsoft.com/v1.0/directoryObjects/` + unknown + `"]}`, 404, "Request_ResourceNotFound", ""},
		{"a malformed bound member", tok, "POST", "/groups", `{"displayName":"x","mailEnabled":false,"mailNickname":"x","securityEnabled":true,"members@odata.bind":["https://graph.microsoft.com/v1.0/applications/` + ada.ID + `"]}`, 400, "Request_BadRequest", ""},
		{"a read role cannot create", readOnly, "POST", "/groups", securityGroup("x"), 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."},
		{"an application role cannot read groups", e.reader, "GET", "/groups", "", 403, "Authorization_RequestDenied", ""},
		{"a member role cannot change a group", membersOnly, "PATCH", "/groups/" + sec, `{"displayName":"y"}`, 403, "Authorization_RequestDenied", ""},
		{"a read role cannot delete", readOnly, "DELETE", "/groups/" + sec, "", 403, "Authorization_RequestDenied", ""},
		{"a read role cannot add members", memberReader, "POST", "/groups/" + sec + "/members/$ref", refTo(ada.ID), 403, "Authorization_RequestDenied", ""},
		{"a bound service principal needs Application.ReadWrite.All", groupsOnly, "POST", "/groups", `{"displayName":"x","mailEnabled":false,"mailNickname":"x","securityEnabled":true,"members@odata.bind":["https://graph.microsoft.com/v1.0/servicePrincipals/` + apiSP + `"]}`, 403, "Authorization_RequestDenied", ""},
		{"a service principal member needs Application.ReadWrite.All", membersOnly, "POST", "/groups/" + sec + "/members/$ref", refTo(apiSP), 403, "Authorization_RequestDenied", ""},
		{"an unknown group", tok, "GET", "/groups/" + unknown, "", 404, "Request_ResourceNotFound", "Resource '" + unknown + "' does not exist or one of its queried reference-property objects are not present."},
		{"a group by display name", tok, "GET", "/groups/Readers", "", 400, "Request_BadRequest", ""},
		{"PATCH an unknown group", tok, "PATCH", "/groups/" + unknown, `{"displayName":"y"}`, 404, "Request_ResourceNotFound", ""},
		{"DELETE an unknown group", tok, "DELETE", "/groups/" + unknown, "", 404, "Request_ResourceNotFound", ""},
		{"PATCH mailEnabled", tok, "PATCH", "/groups/" + sec, `{"mailEnabled":true}`, 400, "Request_BadRequest", "Invalid value specified for property 'mailEnabled' of resource 'Group'."},
		{"PATCH groupTypes", tok, "PATCH", "/groups/" + sec, `{"groupTypes":["Unified"]}`, 400, "Request_BadRequest", "Invalid value specified for property 'groupTypes' of resource 'Group'."},
		{"PATCH a security group's securityEnabled", tok, "PATCH", "/groups/" + sec, `{"securityEnabled":false}`, 400, "Request_BadRequest", "Invalid value specified for property 'securityEnabled' of resource 'Group'."},
		{"PATCH a bad mailNickname", tok, "PATCH", "/groups/" + sec, `{"mailNickname":"a:b"}`, 400, "Request_BadRequest", "Invalid value specified for property 'mailNickname' of resource 'Group'."},
		{"PATCH an empty displayName", tok, "PATCH", "/groups/" + sec, `{"displayName":""}`, 400, "Request_BadRequest", "A value is required for property 'displayName' of resource 'Group'."},
		{"PATCH the id", tok, "PATCH", "/groups/" + sec, `{"id":"` + unknown + `"}`, 400, "Request_BadRequest", ""},
		{"PATCH a bound member twice", tok, "PATCH", "/groups/" + sec, `{"displayName":"Renamed","members@odata.bind":["https://graph.microsoft.com/v1.0/users/` + ada.ID + `"]}`, 400, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'members'."},
		{"PATCH an unknown bound member", tok, "PATCH", "/groups/" + parent, `{"displayName":"Renamed","members@odata.bind":["https://graph.microsoft.com/v1.0/users/` + ada.ID + `","https://graph.microsoft.com/v1.0/users/` + unknown + `"]}`, 404, "Request_ResourceNotFound", ""},
		{"PATCH 21 bound members", tok, "PATCH", "/groups/" + parent, `{"members@odata.bind":[` + strings.Join(tooMany, ",") + `]}`, 400, "Request_BadRequest", ""},
		{"PATCH a bound service principal without Application.ReadWrite.All", groupsOnly, "PATCH", "/groups/" + parent, `{"members@odata.bind":["https://graph.microsoft.com/v1.0/servicePrincipals/` + apiSP + `"]}`, 403, "Authorization_RequestDenied", ""},
		{"a service principal member by its appId", membersOnly, "POST", "/groups/" + sec + "/members/$ref", refTo(api.AppID), 404, "Request_ResourceNotFound", ""},
		{"a bound service principal by its appId", groupsOnly, "POST", "/groups", `{"displayName":"x","mailEnabled":false,"mailNickname":"x","securityEnabled":true,"members@odata.bind":["https://graph.microsoft.com/v1.0/directoryObjects/` + api.AppID + `"]}`, 404, "Request_ResourceNotFound", ""},
		{"getMemberGroups of an appId", directoryReader, "POST", "/directoryObjects/" + api.AppID + "/getMemberGroups", `{"securityEnabledOnly":false}`, 404, "Request_ResourceNotFound", ""},
		{"getMemberGroups of an unknown object", directoryReader, "POST", "/directoryObjects/" + unknown + "/getMemberGroups", `{"securityEnabledOnly":false}`, 404, "Request_ResourceNotFound", ""},
		{"a member twice", tok, "POST", "/groups/" + sec + "/members/$ref", refTo(ada.ID), 400, "Request_BadRequest", "One or more added object references already exist for the following modified properties: 'members'."},
		{"an unknown member", tok, "POST", "/groups/" + sec + "/members/$ref", refTo(unknown), 404, "Request_ResourceNotFound", ""},
		{"a member of an unknown group", tok, "POST", "/groups/" + unknown + "/members/$ref", refTo(ada.ID), 404, "Request_ResourceNotFound", ""},
		{"a group in itself", tok, "POST", "/groups/" + sec + "/members/$ref", refTo(sec), 400, "Request_BadRequest", ""},
		{"a cycle", tok, "POST", "/groups/" + sec + "/members/$ref", refTo(parent), 400, "Request_BadRequest", ""},
		{"a group in a Microsoft 365 group", tok, "POST", "/groups/" + unified + "/members/$ref", refTo(sec), 400, "Request_BadRequest", ""},
		{"no @odata.id", tok, "POST", "/groups/" + sec + "/members/$ref", `{}`, 400, "Request_BadRequest", "Property '@odata.id' is required."},
		{"an @odata.id of no directory collection", tok, "POST", "/groups/" + sec + "/members/$ref", `{"@odata.id":"https://graph.microsoft.com/v1.0/applications/` + ada.ID + `"}`, 400, "Request_BadRequest", ""},
		{"a member body of the wrong type", tok, "POST", "/groups/" + sec + "/members/$ref", `[]`, 400, "Request_BadRequest", ""},
		{"removing a non-member", tok, "DELETE", "/groups/" + sec + "/members/" + parent + "/$ref", "", 404, "Request_ResourceNotFound", ""},
		{"removing a service principal member by its appId", tok, "DELETE", "/groups/" + parent + "/members/" + api.AppID + "/$ref", "", 404, "Request_ResourceNotFound", ""},
		{"removing a malformed id", tok, "DELETE", "/groups/" + sec + "/members/nope/$ref", "", 400, "Request_BadRequest", ""},
		{"members by POST without $ref", tok, "POST", "/groups/" + sec + "/members", refTo(ada.ID), 405, "Request_BadRequest", ""},
		{"an unknown type cast", tok, "GET", "/groups/" + sec + "/members/microsoft.graph.device", "", 400, "BadRequest", "Resource not found for the segment 'microsoft.graph.device'."},
		{"an unknown type cast by alias", tok, "GET", "/groups/" + sec + "/members/graph.device", "", 400, "BadRequest", "Resource not found for the segment 'graph.device'."},
		{"a type cast of a group", tok, "GET", "/groups/" + sec + "/microsoft.graph.user", "", 400, "BadRequest", ""},
		{"memberOf of an unknown user", tok, "GET", "/users/" + unknown + "/memberOf", "", 404, "Request_ResourceNotFound", ""},
		{"/me/memberOf without a user", tok, "GET", "/me/memberOf", "", 400, "BadRequest", "/me request is only valid with delegated authentication flow."},
		{"getMemberGroups without securityEnabledOnly", tok, "POST", "/users/" + ada.ID + "/getMemberGroups", `{}`, 400, "Request_BadRequest", ""},
		{"getMemberGroups with an unknown parameter", tok, "POST", "/users/" + ada.ID + "/getMemberGroups", `{"securityEnabledOnly":true,"all":true}`, 400, "Request_BadRequest", ""},
		{"getMemberGroups of an unknown group", tok, "POST", "/groups/" + unknown + "/getMemberGroups", `{"securityEnabledOnly":false}`, 404, "Request_ResourceNotFound", ""},
		{"getMemberGroups by GET", tok, "GET", "/users/" + ada.ID + "/getMemberGroups", "", 405, "Request_BadRequest", ""},
		{"checkMemberGroups without groupIds", tok, "POST", "/users/" + ada.ID + "/checkMemberGroups", `{}`, 400, "Request_BadRequest", ""},
		{"checkMemberGroups with a malformed id", tok, "POST", "/users/" + ada.ID + "/checkMemberGroups", `{"groupIds":["` + sec + `","nope"]}`, 400, "Request_BadRequest", "Invalid object identifier 'nope'."},
		{"checkMemberGroups of 21 groups", tok, "POST", "/users/" + ada.ID + "/checkMemberGroups", `{"groupIds":[` + strings.TrimSuffix(strings.Repeat(`"`+sec+`",`, 21), ",") + `]}`, 400, "Request_BadRequest", ""},
		{"getMemberObjects of a user without a group permission", e.admin, "POST", "/users/" + ada.ID + "/getMemberObjects", `{"securityEnabledOnly":false}`, 403, "Authorization_RequestDenied", ""},
		{"directoryObjects without Directory.Read.All", tok, "POST", "/directoryObjects/" + ada.ID + "/getMemberGroups", `{"securityEnabledOnly":false}`, 403, "Authorization_RequestDenied", ""},
		{"an app role to a Microsoft 365 group", e.admin, "POST", "/groups/" + unified + "/appRoleAssignments", assignment(unified), 400, "Request_BadRequest", ""},
		{"an app role to another principal", e.admin, "POST", "/groups/" + sec + "/appRoleAssignments", assignment(ada.ID), 400, "Request_BadRequest", ""},
		{"an app role to an unknown group", e.admin, "POST", "/groups/" + unknown + "/appRoleAssignments", assignment(unknown), 404, "Request_ResourceNotFound", ""},
		{"an unknown app role", e.admin, "POST", "/groups/" + sec + "/appRoleAssignments", `{"principalId":"` + sec + `","resourceId":"` + apiSP + `","appRoleId":"` + unknown + `"}`, 400, "Request_BadRequest", ""},
		{"an app role without AppRoleAssignment.ReadWrite.All", tok, "POST", "/groups/" + sec + "/appRoleAssignments", assignment(sec), 403, "Authorization_RequestDenied", ""},
		{"removing an unknown assignment", e.admin, "DELETE", "/groups/" + sec + "/appRoleAssignments/" + unknown, "", 404, "Request_ResourceNotFound", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.groupSnapshot(t)
			status, body, _ := e.call(t, tc.token, tc.method, tc.path, tc.body)
			errBody, _ := body["error"].(map[string]any)
			msg, _ := errBody["message"].(string)
			if status != tc.wantStatus || errorCode(body) != tc.wantCode || tc.wantMessage != "" && msg != tc.wantMessage {
				t.Errorf("%s %s = %d %s %q; want %d %s %q", tc.method, tc.path, status, errorCode(body), msg, tc.wantStatus, tc.wantCode, tc.wantMessage)
			}
			if after := e.groupSnapshot(t); after != before {
				t.Errorf("a refused call changed the directory")
			}
		})
	}
}

// TestGroupMembers: members are listed as their full directoryObjects
// with @odata.type, added by @odata.id and removed by $ref; nested
// groups' members are transitiveMembers; a type cast narrows either.
func TestGroupMembers(t *testing.T) {
	e := newEnv(t)
	tok := e.groupsToken(t)
	ada := e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: "ada@contoso.onmicrosoft.com", DisplayName: "Ada"})
	bo := e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: "bo@contoso.onmicrosoft.com", DisplayName: "Bo"})
	daemon := mustSP(t, e, e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: "Nightly Job"}).AppID)
	outer := e.mustCreate(t, tok, "/groups", securityGroup("Outer"))
	inner := e.mustCreate(t, tok, "/groups", `{"displayName":"Inner","mailEnabled":false,"mailNickname":"inner","securityEnabled":true,"members@odata.bind":["https://graph.microsoft.com/v1.0/users/`+bo.ID+`"]}`)
	for _, ref := range []string{
		`{"@odata.id":"https://graph.microsoft.com/v1.0/users/` + ada.ID + `"}`,
		`{"@odata.id":"https://graph.microsoft.com/v1.0/servicePrincipals/` + daemon + `"}`,
		`{"@odata.id":"https://graph.microsoft.com/v1.0/groups/` + inner + `"}`,
	} {
		e.mustNoContent(t, tok, "POST", "/groups/"+outer+"/members/$ref", ref)
	}
	user, sp, group := "#microsoft.graph.user", "#microsoft.graph.servicePrincipal", "#microsoft.graph.group"
	for _, tc := range []struct {
		name, path string
		want       map[string]string
		context    string
	}{
		{"members", "/groups/" + outer + "/members", map[string]string{ada.ID: user, daemon: sp, inner: group}, "directoryObjects"},
		{"transitiveMembers", "/groups/" + outer + "/transitiveMembers", map[string]string{ada.ID: user, bo.ID: user, daemon: sp, inner: group}, "directoryObjects"},
		{"bound on create", "/groups/" + inner + "/members", map[string]string{bo.ID: user}, "directoryObjects"},
		{"users among members", "/groups/" + outer + "/members/microsoft.graph.user", map[string]string{ada.ID: user}, "users"},
		{"users among transitiveMembers", "/groups/" + outer + "/transitiveMembers/microsoft.graph.user", map[string]string{ada.ID: user, bo.ID: user}, "users"},
		{"service principals among members", "/groups/" + outer + "/members/microsoft.graph.servicePrincipal", map[string]string{daemon: sp}, "servicePrincipals"},
		{"by the namespace alias", "/groups/" + outer + "/members/graph.servicePrincipal", map[string]string{daemon: sp}, "servicePrincipals"},
		{"groups among members", "/groups/" + outer + "/members/microsoft.graph.group", map[string]string{inner: group}, "groups"},
		{"filtered", "/groups/" + outer + "/members?$filter=displayName%20eq%20'Ada'", map[string]string{ada.ID: user}, "directoryObjects"},
		{"filtered by a user's property", "/groups/" + outer + "/members?$filter=startswith(userPrincipalName,'ada')", map[string]string{ada.ID: user}, "directoryObjects"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := e.call(t, tok, "GET", tc.path, "")
			if status != 200 {
				t.Fatalf("GET %s = %d %v", tc.path, status, body)
			}
			if got := ids(t, body); !maps.Equal(got, tc.want) {
				t.Errorf("GET %s = %v; want %v", tc.path, got, tc.want)
			}
			if body["@odata.context"] != e.srv.GraphURL()+"/$metadata#"+tc.context {
				t.Errorf("@odata.context = %v; want …#%s", body["@odata.context"], tc.context)
			}
		})
	}
	// Each member is its whole object, as GET of its own path shows it.
	_, members, _ := e.call(t, tok, "GET", "/groups/"+outer+"/members", "")
	for _, m := range members["value"].([]any) {
		obj := m.(map[string]any)
		path := map[string]string{user: "/users/", sp: "/servicePrincipals/", group: "/groups/"}[obj["@odata.type"].(string)]
		_, own, _ := e.call(t, tok, "GET", path+obj["id"].(string), "")
		delete(own, "@odata.context")
		delete(obj, "@odata.type")
		if !reflect.DeepEqual(obj, own) {
			t.Errorf("member %s =\n%v\nwant, as GET %s shows it,\n%v", obj["id"], obj, path, own)
		}
	}
	// $select of one type's property over members of several keeps
	// every member's @odata.type and leaves the property out of the
	// others, as Graph does.
	_, selected, _ := e.call(t, tok, "GET", "/groups/"+outer+"/members?$select=id,userPrincipalName", "")
	want := map[string]map[string]any{
		ada.ID: {"@odata.type": user, "id": ada.ID, "userPrincipalName": "ada@contoso.onmicrosoft.com"},
		daemon: {"@odata.type": sp, "id": daemon},
		inner:  {"@odata.type": group, "id": inner},
	}
	if v, _ := selected["value"].([]any); len(v) != len(want) {
		t.Errorf("members?$select=id,userPrincipalName = %v; want %d members", selected, len(want))
	} else {
		for _, m := range v {
			obj := m.(map[string]any)
			if w := want[fmt.Sprint(obj["id"])]; !reflect.DeepEqual(obj, w) {
				t.Errorf("members?$select=id,userPrincipalName: %v; want %v", obj, w)
			}
		}
	}
	// A caller that may not read a member's type sees its id and type.
	memberReader := e.appToken(t, "Member Reader", "GroupMember.Read.All")
	_, limited, _ := e.call(t, memberReader, "GET", "/groups/"+outer+"/members", "")
	for _, m := range limited["value"].([]any) {
		obj := m.(map[string]any)
		if obj["@odata.type"] != group && len(obj) != 2 {
			t.Errorf("a member GroupMember.Read.All may not read = %v; want its id and @odata.type alone", obj)
		}
		if obj["@odata.type"] == group && obj["displayName"] != "Inner" {
			t.Errorf("a group member = %v; want it whole", obj)
		}
	}

	e.mustNoContent(t, tok, "DELETE", "/groups/"+outer+"/members/"+ada.ID+"/$ref", "")
	e.mustNoContent(t, tok, "DELETE", "/groups/"+outer+"/members/"+inner+"/$ref", "")
	_, body, _ := e.call(t, tok, "GET", "/groups/"+outer+"/transitiveMembers", "")
	if got := ids(t, body); !maps.Equal(got, map[string]string{daemon: sp}) {
		t.Errorf("transitiveMembers after removing Ada and Inner = %v; want the daemon alone", got)
	}
}

// TestMemberOf: memberOf and transitiveMemberOf of users, /me, service
// principals and groups, whole or (for a caller that may not read
// groups) by id and type.
func TestMemberOf(t *testing.T) {
	e := newEnv(t)
	tok := e.groupsToken(t)
	native := e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: "Native", PublicClient: true})
	ada := e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: "ada@contoso.onmicrosoft.com", DisplayName: "Ada", Password: "Correct-Horse-9"})
	daemon := mustSP(t, e, e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: "Nightly Job"}).AppID)
	inner := e.mustCreate(t, tok, "/groups", securityGroup("Inner"))
	outer := e.mustCreate(t, tok, "/groups", securityGroup("Outer"))
	team := e.mustCreate(t, tok, "/groups", unifiedGroup("Team"))
	e.mustNoContent(t, tok, "POST", "/groups/"+inner+"/members/$ref", refTo(ada.ID))
	e.mustNoContent(t, tok, "POST", "/groups/"+inner+"/members/$ref", refTo(daemon))
	e.mustNoContent(t, tok, "POST", "/groups/"+outer+"/members/$ref", refTo(inner))
	e.mustNoContent(t, tok, "POST", "/groups/"+team+"/members/$ref", refTo(ada.ID))
	if _, _, err := e.srv.Consent.PutGrant(t.Context(), e.tenant, native.AppID, tenant.MicrosoftGraphURI, "", []string{"User.Read", "GroupMember.Read.All"}); err != nil {
		t.Fatal(err)
	}
	userRead := e.srv.UserToken(t, e.tenant.ID, ada.UserPrincipalName, native.AppID, tenant.MicrosoftGraphURI, "User.Read")
	groupRead := e.srv.UserToken(t, e.tenant.ID, ada.UserPrincipalName, native.AppID, tenant.MicrosoftGraphURI, "User.Read", "GroupMember.Read.All")
	g := "#microsoft.graph.group"
	for _, tc := range []struct {
		name, token, path string
		want              map[string]string
		whole             bool
	}{
		{"a user's", tok, "/users/" + ada.ID + "/memberOf", map[string]string{inner: g, team: g}, true},
		{"a user's by userPrincipalName", tok, "/users/" + ada.UserPrincipalName + "/memberOf", map[string]string{inner: g, team: g}, true},
		{"a user's transitive", tok, "/users/" + ada.ID + "/transitiveMemberOf", map[string]string{inner: g, outer: g, team: g}, true},
		{"a user's groups by cast", tok, "/users/" + ada.ID + "/transitiveMemberOf/microsoft.graph.group?$filter=securityEnabled%20eq%20true", map[string]string{inner: g, outer: g}, true},
		{"/me with User.Read", userRead, "/me/memberOf", map[string]string{inner: g, team: g}, false},
		{"/me transitive with GroupMember.Read.All", groupRead, "/me/transitiveMemberOf", map[string]string{inner: g, outer: g, team: g}, true},
		{"/me by cast", groupRead, "/me/memberOf/microsoft.graph.group", map[string]string{inner: g, team: g}, true},
		{"a service principal's", tok, "/servicePrincipals/" + daemon + "/memberOf", map[string]string{inner: g}, true},
		{"a service principal's transitive", tok, "/servicePrincipals/" + daemon + "/transitiveMemberOf", map[string]string{inner: g, outer: g}, true},
		{"a group's", tok, "/groups/" + inner + "/memberOf", map[string]string{outer: g}, true},
		{"a group's transitive", tok, "/groups/" + outer + "/transitiveMemberOf", map[string]string{}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := e.call(t, tc.token, "GET", tc.path, "")
			if status != 200 {
				t.Fatalf("GET %s = %d %v", tc.path, status, body)
			}
			if got := ids(t, body); !maps.Equal(got, tc.want) {
				t.Errorf("GET %s = %v; want %v", tc.path, got, tc.want)
			}
			for _, v := range body["value"].([]any) {
				if obj := v.(map[string]any); (obj["displayName"] != nil) != tc.whole || !tc.whole && len(obj) != 2 {
					t.Errorf("GET %s listed %v; want whole groups: %v", tc.path, obj, tc.whole)
				}
			}
		})
	}
}

// TestMemberGroupsActions: getMemberGroups, getMemberObjects and
// checkMemberGroups, what a client calls on a groups-claim overage,
// answer Graph's collection of ids, transitively, on every object Graph
// serves them for.
func TestMemberGroupsActions(t *testing.T) {
	e := newEnv(t)
	tok := e.groupsToken(t)
	directory := e.appToken(t, "Directory Reader", "Directory.Read.All")
	native := e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: "Native", PublicClient: true})
	ada := e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: "ada@contoso.onmicrosoft.com", DisplayName: "Ada", Password: "Correct-Horse-9"})
	daemon := mustSP(t, e, e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: "Nightly Job"}).AppID)
	inner := e.mustCreate(t, tok, "/groups", securityGroup("Inner"))
	outer := e.mustCreate(t, tok, "/groups", securityGroup("Outer"))
	team := e.mustCreate(t, tok, "/groups", unifiedGroup("Team"))
	other := e.mustCreate(t, tok, "/groups", securityGroup("Other"))
	e.mustNoContent(t, tok, "POST", "/groups/"+inner+"/members/$ref", refTo(ada.ID))
	e.mustNoContent(t, tok, "POST", "/groups/"+inner+"/members/$ref", refTo(daemon))
	e.mustNoContent(t, tok, "POST", "/groups/"+outer+"/members/$ref", refTo(inner))
	e.mustNoContent(t, tok, "POST", "/groups/"+team+"/members/$ref", refTo(ada.ID))
	if _, _, err := e.srv.Consent.PutGrant(t.Context(), e.tenant, native.AppID, tenant.MicrosoftGraphURI, "", []string{"User.Read"}); err != nil {
		t.Fatal(err)
	}
	me := e.srv.UserToken(t, e.tenant.ID, ada.UserPrincipalName, native.AppID, tenant.MicrosoftGraphURI, "User.Read")
	sorted := func(ss ...string) []any {
		slices.Sort(ss)
		out := make([]any, len(ss))
		for i, s := range ss {
			out[i] = s
		}
		return out
	}
	all, security := sorted(inner, outer, team), sorted(inner, outer)
	for _, tc := range []struct {
		name, token, path, body string
		want                    []any
	}{
		{"a user's groups", tok, "/users/" + ada.ID + "/getMemberGroups", `{"securityEnabledOnly":false}`, all},
		{"a user's security groups", tok, "/users/" + ada.ID + "/getMemberGroups", `{"securityEnabledOnly":true}`, security},
		{"a user's objects", tok, "/users/" + ada.ID + "/getMemberObjects", `{"securityEnabledOnly":false}`, all},
		{"the signed-in user's", me, "/me/getMemberGroups", `{"securityEnabledOnly":false}`, all},
		{"the signed-in user's objects", me, "/me/getMemberObjects", `{"securityEnabledOnly":true}`, security},
		{"a service principal's", tok, "/servicePrincipals/" + daemon + "/getMemberGroups", `{"securityEnabledOnly":true}`, sorted(inner, outer)},
		{"a group's", tok, "/groups/" + inner + "/getMemberGroups", `{"securityEnabledOnly":false}`, sorted(outer)},
		{"a directory object's", directory, "/directoryObjects/" + ada.ID + "/getMemberGroups", `{"securityEnabledOnly":false}`, all},
		{"an object in no group", directory, "/directoryObjects/" + other + "/getMemberObjects", `{"securityEnabledOnly":false}`, []any{}},
		{"checked, in the order asked", tok, "/users/" + ada.ID + "/checkMemberGroups", `{"groupIds":["` + other + `","` + strings.ToUpper(outer) + `","` + team + `"]}`, []any{outer, team}},
		{"checked by the signed-in user", me, "/me/checkMemberGroups", `{"groupIds":["` + inner + `"]}`, []any{inner}},
		{"checked for a group", tok, "/groups/" + inner + "/checkMemberGroups", `{"groupIds":["` + outer + `","` + team + `"]}`, []any{outer}},
		{"checked, none", tok, "/servicePrincipals/" + daemon + "/checkMemberGroups", `{"groupIds":[]}`, []any{}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := e.call(t, tc.token, "POST", tc.path, tc.body)
			want := map[string]any{"@odata.context": e.srv.GraphURL() + "/$metadata#Collection(Edm.String)", "value": tc.want}
			if status != 200 || !reflect.DeepEqual(body, want) {
				t.Errorf("POST %s %s = %d %v; want %v", tc.path, tc.body, status, body, want)
			}
		})
	}
}

// TestGroupAppRoleAssignments: an app role is assigned to a security
// group through the group's appRoleAssignments or the resource's
// appRoleAssignedTo, listed with principalType Group, and removed.
func TestGroupAppRoleAssignments(t *testing.T) {
	e := newEnv(t)
	tok := e.groupsToken(t)
	api := e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: "Orders API"})
	read := e.srv.AddAppRole(api.AppID, "Orders.Read", tenant.MemberTypeUser)
	write := e.srv.AddAppRole(api.AppID, "Orders.Write", tenant.MemberTypeUser)
	apiSP := mustSP(t, e, api.AppID)
	g := e.mustCreate(t, tok, "/groups", securityGroup("Order Clerks"))
	body := func(role tenant.AppRole) string {
		return `{"principalId":"` + g + `","resourceId":"` + apiSP + `","appRoleId":"` + role.ID + `"}`
	}
	status, created, hdr := e.call(t, e.admin, "POST", "/groups/"+g+"/appRoleAssignments", body(read))
	if status != 201 || created["principalType"] != consent.PrincipalGroup || created["principalId"] != g ||
		created["principalDisplayName"] != "Order Clerks" || created["resourceId"] != apiSP || created["appRoleId"] != read.ID ||
		created["@odata.context"] != e.srv.GraphURL()+"/$metadata#groups('"+g+"')/appRoleAssignments/$entity" ||
		hdr.Get("Location") != e.srv.GraphURL()+"/groups/"+g+"/appRoleAssignments/"+created["id"].(string) {
		t.Fatalf("POST /groups/{id}/appRoleAssignments = %d %v %v", status, created, hdr)
	}
	status, viaResource, _ := e.call(t, e.admin, "POST", "/servicePrincipals/"+apiSP+"/appRoleAssignedTo", body(write))
	if status != 201 || viaResource["principalType"] != consent.PrincipalGroup {
		t.Fatalf("POST appRoleAssignedTo with a group = %d %v", status, viaResource)
	}
	if status, again, _ := e.call(t, e.admin, "POST", "/groups/"+g+"/appRoleAssignments", body(read)); status != 400 || errorCode(again) != "Request_BadRequest" {
		t.Errorf("the same role again = %d %v; want 400", status, again)
	}
	both := []string{created["id"].(string), viaResource["id"].(string)}
	slices.Sort(both)
	for _, path := range []string{"/groups/" + g + "/appRoleAssignments", "/servicePrincipals/" + apiSP + "/appRoleAssignedTo"} {
		status, list, _ := e.call(t, tok, "GET", path, "")
		if got := slices.Sorted(maps.Keys(ids(t, list))); status != 200 || !slices.Equal(got, both) {
			t.Errorf("GET %s = %d %v; want both assignments", path, status, list)
		}
	}
	e.mustNoContent(t, e.admin, "DELETE", "/groups/"+g+"/appRoleAssignments/"+created["id"].(string), "")
	_, list, _ := e.call(t, tok, "GET", "/groups/"+g+"/appRoleAssignments", "")
	if got := slices.Collect(maps.Keys(ids(t, list))); !slices.Equal(got, []string{viaResource["id"].(string)}) {
		t.Errorf("after DELETE = %v; want the appRoleAssignedTo one alone", got)
	}
}

// TestGroupsDelegated: with a delegated token the scope bounds the app
// and the user's directory role bounds the user: any member may create a
// group (Entra's default), only an administrator may change one or its
// members.
func TestGroupsDelegated(t *testing.T) {
	e := newEnv(t)
	client := e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: "Portal", PublicClient: true})
	if _, _, err := e.srv.Consent.PutGrant(t.Context(), e.tenant, client.AppID, tenant.MicrosoftGraphURI, "",
		[]string{"Group.ReadWrite.All", "GroupMember.ReadWrite.All", "User.Read"}); err != nil {
		t.Fatal(err)
	}
	admin := e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: "ada@contoso.onmicrosoft.com", Password: "Correct-Horse-9",
		DirectoryRoles: []string{tenant.RoleGlobalAdministrator}})
	member := e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: "bo@contoso.onmicrosoft.com", Password: "Correct-Horse-9"})
	tokenOf := func(u tenant.User, scope string) string {
		return e.srv.UserToken(t, e.tenant.ID, u.UserPrincipalName, client.AppID, tenant.MicrosoftGraphURI, scope)
	}
	target := "/groups/" + e.mustCreate(t, e.groupsToken(t), "/groups", securityGroup("Target"))
	for _, tc := range []struct {
		name, token, method, path, body string
		want                            int
	}{
		{"a member creates a group", tokenOf(member, "Group.ReadWrite.All"), "POST", "/groups", securityGroup("Mine"), 201},
		{"a member lists groups", tokenOf(member, "GroupMember.ReadWrite.All"), "GET", "/groups", "", 200},
		{"User.Read lists no groups", tokenOf(member, "User.Read"), "GET", "/groups", "", 403},
		{"a member may not change one", tokenOf(member, "Group.ReadWrite.All"), "PATCH", target, `{"displayName":"Renamed"}`, 403},
		{"a member may not add members", tokenOf(member, "GroupMember.ReadWrite.All"), "POST", target + "/members/$ref", refTo(member.ID), 403},
		{"an administrator may", tokenOf(admin, "Group.ReadWrite.All"), "PATCH", target, `{"displayName":"Renamed"}`, 204},
		{"an administrator adds members", tokenOf(admin, "GroupMember.ReadWrite.All"), "POST", target + "/members/$ref", refTo(member.ID), 204},
		{"GroupMember.ReadWrite.All does not delete groups", tokenOf(admin, "GroupMember.ReadWrite.All"), "DELETE", target, "", 403},
		{"the member reads her memberships", tokenOf(member, "User.Read"), "POST", "/me/getMemberGroups", `{"securityEnabledOnly":true}`, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, body, _ := e.call(t, tc.token, tc.method, tc.path, tc.body); status != tc.want {
				t.Errorf("%s %s = %d %v; want %d", tc.method, tc.path, status, body, tc.want)
			}
		})
	}
}

// TestApplicationGroupMembershipClaims: an application's
// groupMembershipClaims, which drives the groups claim, is set by POST and
// PATCH as Terraform's group_membership_claims sets it, read back in
// Graph's spelling (null when none), and a value Graph does not know is
// refused.
func TestApplicationGroupMembershipClaims(t *testing.T) {
	e := newEnv(t)
	id := e.mustCreate(t, e.admin, "/applications", `{"displayName":"Grouped","groupMembershipClaims":"securitygroup"}`)
	read := func() any {
		t.Helper()
		_, a, _ := e.call(t, e.admin, "GET", "/applications/"+id+"?$select=groupMembershipClaims", "")
		v, ok := a["groupMembershipClaims"]
		if !ok {
			t.Fatalf("no groupMembershipClaims in %v", a)
		}
		return v
	}
	if got := read(); got != "SecurityGroup" {
		t.Errorf("after POST: %v; want SecurityGroup", got)
	}
	for _, tc := range []struct {
		name, value string
		want        any
	}{
		{"All", `"All"`, "All"},
		{"a list", `"SecurityGroup, ApplicationGroup"`, "SecurityGroup, ApplicationGroup"},
		{"None", `"None"`, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e.mustNoContent(t, e.admin, "PATCH", "/applications/"+id, `{"groupMembershipClaims":`+tc.value+`}`)
			if got := read(); got != tc.want {
				t.Errorf("groupMembershipClaims = %v; want %v", got, tc.want)
			}
		})
	}
	before := e.snapshot(t)
	if status, body, _ := e.call(t, e.admin, "PATCH", "/applications/"+id, `{"groupMembershipClaims":"Everything"}`); status != 400 || errorCode(body) != "Request_BadRequest" {
		t.Errorf("PATCH an unknown value = %d %v; want 400", status, body)
	}
	if e.snapshot(t) != before {
		t.Error("a refused PATCH changed the directory")
	}
}

// TestCountSegment: /$count answers a collection's size as text, after
// $filter and type casts, with ConsistencyLevel: eventual only (it is an
// advanced query), and not on an object.
func TestCountSegment(t *testing.T) {
	e := newEnv(t)
	tok := e.groupsToken(t)
	ada := e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: "ada@contoso.onmicrosoft.com", DisplayName: "Ada"})
	outer := e.mustCreate(t, tok, "/groups", securityGroup("Outer"))
	inner := e.mustCreate(t, tok, "/groups", securityGroup("Inner"))
	e.mustCreate(t, tok, "/groups", unifiedGroup("Team"))
	e.mustNoContent(t, tok, "POST", "/groups/"+outer+"/members/$ref", refTo(ada.ID))
	e.mustNoContent(t, tok, "POST", "/groups/"+outer+"/members/$ref", refTo(inner))
	// bo is in inner only: one group directly, two transitively.
	bo := e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: "bo@contoso.onmicrosoft.com", DisplayName: "Bo"})
	e.mustNoContent(t, tok, "POST", "/groups/"+inner+"/members/$ref", refTo(bo.ID))
	count := func(method, path string, eventual bool) (int, string) {
		t.Helper()
		req, err := http.NewRequestWithContext(t.Context(), method, e.srv.GraphURL()+strings.ReplaceAll(path, " ", "%20"), nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
		if eventual {
			req.Header.Set("ConsistencyLevel", "eventual")
		}
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode == 200 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
			t.Errorf("Content-Type %q; want text/plain", resp.Header.Get("Content-Type"))
		}
		return resp.StatusCode, string(b)
	}
	for _, tc := range []struct {
		name, method, path string
		eventual           bool
		wantStatus         int
		want               string // the body of a 200, or a code in the error
	}{
		{"groups", "GET", "/groups/$count", true, 200, "3"},
		{"filtered", "GET", "/groups/$count?$filter=securityEnabled eq true", true, 200, "2"},
		{"members", "GET", "/groups/" + outer + "/members/$count", true, 200, "2"},
		{"members by cast", "GET", "/groups/" + outer + "/members/graph.user/$count", true, 200, "1"},
		{"memberOf", "GET", "/users/" + ada.ID + "/transitiveMemberOf/$count", true, 200, "1"},
		{"direct memberOf", "GET", "/users/" + bo.ID + "/memberOf/$count", true, 200, "1"},
		{"transitive memberOf", "GET", "/users/" + bo.ID + "/transitiveMemberOf/$count", true, 200, "2"},
		{"transitive memberOf by cast", "GET", "/users/" + bo.ID + "/transitiveMemberOf/microsoft.graph.group/$count", true, 200, "2"},
		{"users", "GET", "/users/$count", true, 200, "2"},
		{"without ConsistencyLevel", "GET", "/groups/$count", false, 400, "Request_UnsupportedQuery"},
		{"of an object", "GET", "/groups/" + outer + "/$count", true, 400, "Request_UnsupportedQuery"},
		{"by POST", "POST", "/groups/$count", true, 400, "Request_UnsupportedQuery"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := count(tc.method, tc.path, tc.eventual)
			if status != tc.wantStatus || tc.wantStatus == 200 && body != tc.want || tc.wantStatus != 200 && !strings.Contains(body, `"code":"`+tc.want+`"`) {
				t.Errorf("%s %s = %d %s; want %d %s", tc.method, tc.path, status, body, tc.wantStatus, tc.want)
			}
		})
	}
}
