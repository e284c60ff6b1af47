package issuer_test

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// The groups of the groups world, in Contoso.
const (
	salesID  = "6a000000-0000-4000-8000-000000000001" // security: Ada, Daemon's service principal
	europeID = "6a000000-0000-4000-8000-000000000002" // security: Sales
	teamID   = "6a000000-0000-4000-8000-000000000003" // Microsoft 365: Ada
	// globalAdminTemplate and userTemplate are the roleTemplateIds of
	// Global Administrator and User (Microsoft's built-in roles).
	globalAdminTemplate = "62e90394-69f5-4237-9190-012177145e10"
	userTemplate        = "b79fbf4d-3ef9-4689-8143-76b194e85509"
)

// seedGroups adds to the delegated world the groups above, makes Ada a
// Global Administrator, and sets groupMembershipClaims: Middle Tier (the v2
// API of pwForm) "SecurityGroup, DirectoryRole", Orders API (v1) All,
// Native (the client of pwForm, for its id_tokens) SecurityGroup, and
// Inventory API (v2, app-only) SecurityGroup.
func (w *world) seedGroups() {
	w.t.Helper()
	ctx := context.Background()
	d := w.Directory
	for _, g := range []tenant.GroupSpec{
		{ID: salesID, DisplayName: "Sales"},
		{ID: europeID, DisplayName: "Europe"},
		{ID: teamID, DisplayName: "Team", Unified: true},
	} {
		_, err := d.AddGroup(ctx, tenantA, g)
		w.must(err)
	}
	for _, m := range []struct{ group, member string }{{europeID, salesID}, {salesID, adaUPN}, {salesID, clientID}, {teamID, adaUPN}} {
		_, err := d.AddGroupMember(ctx, tenantA, m.group, m.member)
		w.must(err)
	}
	roles := []string{tenant.RoleGlobalAdministrator}
	_, err := d.UpdateUser(ctx, tenantA, adaUPN, tenant.UserUpdate{DirectoryRoles: &roles})
	w.must(err)
	for appID, claims := range map[string]string{
		middleID: "SecurityGroup, DirectoryRole", ordersID: "All", nativeID: "SecurityGroup", inventoryID: "SecurityGroup",
	} {
		w.setGroupClaims(appID, claims)
	}
}

// setGroupClaims sets an application's groupMembershipClaims.
func (w *world) setGroupClaims(appID, claims string) {
	w.t.Helper()
	_, err := w.Directory.UpdateApplication(context.Background(), appID, tenant.ApplicationUpdate{GroupMembershipClaims: &claims})
	w.must(err)
}

// addSecurityGroups adds n security groups with Ada as their member.
func (w *world) addSecurityGroups(n int) {
	w.t.Helper()
	ctx := context.Background()
	for i := range n {
		g, err := w.Directory.AddGroup(ctx, tenantA, tenant.GroupSpec{
			ID: fmt.Sprintf("6b000000-0000-4000-8000-%012d", i), DisplayName: fmt.Sprintf("Extra %d", i)})
		w.must(err)
		_, err = w.Directory.AddGroupMember(ctx, tenantA, g.ID, adaID)
		w.must(err)
	}
}

func newGroupsWorld(t *testing.T) *world {
	t.Helper()
	w := newDelegatedWorld(t)
	w.seedGroups()
	return w
}

// v1OrdersForm is a v1 password request of the Middle Tier for the Orders
// API (v1 tokens) with openid.
func v1OrdersForm() (string, map[string][]string) {
	return "/" + tenantA + "/oauth2/token",
		pwForm("client_id", middleID, "client_secret", middleSecret, "resource", "api://orders", "scope", "openid", "client_info", "")
}

// TestGroupsGolden keeps in testdata/golden the tokens that carry groups:
// a v2 password grant (the Middle Tier's v2 access token with groups and
// wids, Native's v2 id_token with groups), a v1 one (the Orders API's v1
// access token with every group and wids; the v1 id_token, which carries
// none), an app-only v2 token with the client's groups, and then, with Ada
// in 201 security groups and more, the overage claims of v2 and v1 tokens.
func TestGroupsGolden(t *testing.T) {
	w := newGroupsWorld(t)
	withCorrelation := func(r *http.Request) { r.Header.Set("client-request-id", goldenCorrelation) }
	v2 := "/" + tenantA + "/oauth2/v2.0/token"
	v1, v1Form := v1OrdersForm()
	run := func(file, path string, form map[string][]string, appOnly bool) {
		t.Run(file, func(t *testing.T) {
			r := w.post(t, path, form, withCorrelation)
			var doc []byte
			if appOnly {
				doc = goldenDocument(t, r, true)
			} else {
				doc = goldenUserDocument(t, r)
			}
			doc = bytes.ReplaceAll(doc, []byte(w.URL), []byte("https://"+goldenHost))
			compareGolden(t, file, doc)
		})
	}
	run("groups-password-v2.json", v2, pwForm(), false)
	run("groups-password-v1.json", v1, v1Form, false)
	run("groups-client-credentials-v2.json", v2, ccForm("scope", "api://inventory/.default"), true)
	w.addSecurityGroups(199) // Sales, Europe and 199 more: 201 security groups, 202 groups
	run("groups-overage-password-v2.json", v2, pwForm(), false)
	run("groups-overage-password-v1.json", v1, v1Form, false)
}

// answerClaims decodes the claims of a token in a token answer.
func answerClaims(t *testing.T, answer map[string]any, name string) map[string]any {
	t.Helper()
	tok, ok := answer[name].(string)
	if !ok {
		t.Fatalf("answer has no %s: %v", name, answer)
	}
	return decodeSegment(t, tok, 1)
}

// stringsClaim returns a claim that is an array of strings, nil when absent.
func stringsClaim(t *testing.T, c map[string]any, name string) []string {
	t.Helper()
	v, ok := c[name]
	if !ok {
		return nil
	}
	arr, ok := v.([]any)
	if !ok {
		t.Fatalf("claim %s = %#v; want an array", name, v)
	}
	out := make([]string, len(arr))
	for i, x := range arr {
		out[i] = x.(string)
	}
	return out
}

// TestGroupsClaims: the groups and wids claims of access tokens follow the
// resource's groupMembershipClaims, v1 and v2 alike, and those of the v2
// id_token the client's; the v1 id_token carries neither.
func TestGroupsClaims(t *testing.T) {
	w := newGroupsWorld(t)
	v2 := "/" + tenantA + "/oauth2/v2.0/token"
	v1, v1Form := v1OrdersForm()
	allGroups := []string{salesID, europeID, teamID}
	security := []string{salesID, europeID}
	wids := []string{globalAdminTemplate, userTemplate}
	slices.Sort(allGroups)
	slices.Sort(security)
	tests := []struct {
		name       string
		resource   string // groupMembershipClaims of Middle Tier (v2) and Orders API (v1)
		client     string // of Native and of Middle Tier as a client (their id_tokens)
		wantGroups []string
		wantWIDs   []string
		wantIDGrp  []string // the v2 id_token's groups
		wantIDWIDs []string
	}{
		{name: "None"},
		{name: "SecurityGroup", resource: "SecurityGroup", wantGroups: security},
		{name: "All", resource: "All", wantGroups: allGroups, wantWIDs: wids},
		{name: "DirectoryRole", resource: "DirectoryRole", wantWIDs: wids},
		{name: "SecurityGroup and DirectoryRole", resource: "SecurityGroup, DirectoryRole", wantGroups: security, wantWIDs: wids},
		{name: "ApplicationGroup, no group assigned", resource: "ApplicationGroup"},
		{name: "the client's for the id_token", client: "All", wantIDGrp: allGroups, wantIDWIDs: wids},
		{name: "the client's SecurityGroup", resource: "All", client: "SecurityGroup", wantGroups: allGroups, wantWIDs: wids, wantIDGrp: security},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w.setGroupClaims(middleID, tc.resource)
			w.setGroupClaims(ordersID, tc.resource)
			w.setGroupClaims(nativeID, tc.client)
			answerV2 := w.tokenOK(t, v2, pwForm())
			answerV1 := w.tokenOK(t, v1, v1Form)
			for _, tok := range []struct {
				name   string
				claims map[string]any
				groups []string
				wids   []string
			}{
				{"v2 access token", answerClaims(t, answerV2, "access_token"), tc.wantGroups, tc.wantWIDs},
				{"v1 access token", answerClaims(t, answerV1, "access_token"), tc.wantGroups, tc.wantWIDs},
				{"v2 id_token", answerClaims(t, answerV2, "id_token"), tc.wantIDGrp, tc.wantIDWIDs},
				{"v1 id_token", answerClaims(t, answerV1, "id_token"), nil, nil},
			} {
				got := stringsClaim(t, tok.claims, "groups")
				slices.Sort(got)
				if !slices.Equal(got, tok.groups) {
					t.Errorf("%s groups = %v; want %v", tok.name, got, tok.groups)
				}
				if got := stringsClaim(t, tok.claims, "wids"); !slices.Equal(got, tok.wids) {
					t.Errorf("%s wids = %v; want %v", tok.name, got, tok.wids)
				}
				if _, ok := tok.claims["_claim_names"]; ok {
					t.Errorf("%s has _claim_names with %d groups", tok.name, len(tok.groups))
				}
			}
		})
	}
}

// TestGroupsApplicationGroup: ApplicationGroup lists the user's direct
// groups assigned to the application, in access tokens (the resource's
// assignments) and id_tokens (the client's).
func TestGroupsApplicationGroup(t *testing.T) {
	w := newGroupsWorld(t)
	ctx := context.Background()
	_, err := w.Directory.AddAppRole(ctx, middleID, tenant.AppRoleSpec{Value: "Middle.User", AllowedMemberTypes: []string{"User"}})
	w.must(err)
	_, err = w.Directory.AddAppRole(ctx, nativeID, tenant.AppRoleSpec{Value: "Native.User", AllowedMemberTypes: []string{"User"}})
	w.must(err)
	// An app role goes to a security-enabled group only.
	securityEnabled := true
	_, err = w.Directory.UpdateGroup(ctx, tenantA, teamID, tenant.GroupUpdate{SecurityEnabled: &securityEnabled})
	w.must(err)
	m := w.manager()
	for _, a := range []struct{ resource, role, group string }{
		{"api://middle", "Middle.User", salesID},  // Ada's direct group
		{"api://middle", "Middle.User", europeID}, // Ada's through Sales only
		{nativeID, "Native.User", teamID},         // Ada's direct group, on the client
	} {
		_, err := m.AssignRole(ctx, tenantA, a.resource, a.role, consent.Assignee{Group: a.group})
		w.must(err)
	}
	w.setGroupClaims(middleID, "ApplicationGroup")
	w.setGroupClaims(nativeID, "ApplicationGroup")
	answer := w.tokenOK(t, "/"+tenantA+"/oauth2/v2.0/token", pwForm())
	if got := stringsClaim(t, answerClaims(t, answer, "access_token"), "groups"); !slices.Equal(got, []string{salesID}) {
		t.Errorf("access token groups = %v; want [Sales]", got)
	}
	if got := stringsClaim(t, answerClaims(t, answer, "access_token"), "roles"); !slices.Equal(got, []string{"Middle.User"}) {
		t.Errorf("access token roles = %v; want [Middle.User] through Sales", got)
	}
	if got := stringsClaim(t, answerClaims(t, answer, "id_token"), "groups"); !slices.Equal(got, []string{teamID}) {
		t.Errorf("id_token groups = %v; want [Team]", got)
	}
}

// TestGroupsAssignment: roles through the user's direct groups reach its
// tokens, and a resource that requires assignment accepts a user assigned
// through a direct group and refuses one assigned through a nested group
// only (AADSTS50105); the client's service principal gets no roles from
// its groups.
func TestGroupsAssignment(t *testing.T) {
	v2 := "/" + tenantA + "/oauth2/v2.0/token"
	tests := []struct {
		name      string
		group     string // the group assigned Middle.User
		require   bool   // Middle Tier's appRoleAssignmentRequired
		wantCode  int    // AADSTS code; 0 for a token
		wantRoles []string
	}{
		{"role through a direct group", salesID, false, 0, []string{"Middle.User"}},
		{"no role through a nested group", europeID, false, 0, nil},
		{"assignment required, assigned through a direct group", salesID, true, 0, []string{"Middle.User"}},
		{"assignment required, assigned to a nested group only", europeID, true, 50105, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w := newGroupsWorld(t)
			ctx := context.Background()
			_, err := w.Directory.AddAppRole(ctx, middleID, tenant.AppRoleSpec{Value: "Middle.User", AllowedMemberTypes: []string{"User"}})
			w.must(err)
			_, err = w.manager().AssignRole(ctx, tenantA, "api://middle", "Middle.User", consent.Assignee{Group: tc.group})
			w.must(err)
			if tc.require {
				yes := true
				_, err := w.Directory.UpdateServicePrincipal(ctx, tenantA, middleID, tenant.ServicePrincipalUpdate{AppRoleAssignmentRequired: &yes})
				w.must(err)
			}
			r := w.post(t, v2, pwForm())
			var answer map[string]any
			r.decode(t, &answer)
			if tc.wantCode != 0 {
				codes, _ := answer["error_codes"].([]any)
				if r.status != http.StatusBadRequest || len(codes) != 1 || codes[0] != float64(tc.wantCode) {
					t.Fatalf("answer %d %v; want AADSTS%d", r.status, answer, tc.wantCode)
				}
				return
			}
			if r.status != http.StatusOK {
				t.Fatalf("answer %d %v; want a token", r.status, answer)
			}
			if got := stringsClaim(t, answerClaims(t, answer, "access_token"), "roles"); !slices.Equal(got, tc.wantRoles) {
				t.Errorf("roles = %v; want %v", got, tc.wantRoles)
			}
		})
	}
}

// TestGroupsAppOnly: an app-only token lists the groups of the client's
// service principal when the resource asks, v1 and v2, and never wids; a
// role assigned to the client's group is not the client's.
func TestGroupsAppOnly(t *testing.T) {
	w := newGroupsWorld(t)
	ctx := context.Background()
	// Orders.Write.All allows applications only; an assignment to Sales
	// is stored directly, as the Manager would refuse it.
	res, err := w.DB.GetServicePrincipal(ctx, tenantA, ordersID)
	w.must(err)
	w.must(w.DB.CreateAppRoleAssignment(ctx, consent.AppRoleAssignment{
		ID: "22222222-0000-4000-8000-0000000000ff", TenantID: tenantA, AppRoleID: "11111111-0000-4000-8000-000000000002",
		PrincipalID: salesID, PrincipalType: consent.PrincipalGroup, ResourceID: res.ID, CreatedDateTime: fixedNow,
	}))
	security := []string{salesID, europeID}
	slices.Sort(security)
	for _, tc := range []struct {
		name       string
		endpoint   string
		form       map[string][]string
		wantGroups []string
		wantRoles  []string
	}{
		{"v2, a resource asking for security groups", "/oauth2/v2.0/token", ccForm("scope", "api://inventory/.default"), security, []string{"Inventory.Read.All"}},
		{"v1, a resource asking for all groups", "/oauth2/token", ccForm("resource", "api://orders"), security, []string{"Orders.Read.All"}},
		{"v2, a resource asking for none", "/oauth2/v2.0/token", ccForm("scope", "api://reports/.default"), nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := answerClaims(t, w.tokenOK(t, "/"+tenantA+tc.endpoint, tc.form), "access_token")
			got := stringsClaim(t, c, "groups")
			slices.Sort(got)
			if !slices.Equal(got, tc.wantGroups) {
				t.Errorf("groups = %v; want %v", got, tc.wantGroups)
			}
			if got := stringsClaim(t, c, "roles"); !slices.Equal(got, tc.wantRoles) {
				t.Errorf("roles = %v; want %v (none through the client's group)", got, tc.wantRoles)
			}
			if v, ok := c["wids"]; ok {
				t.Errorf("wids = %v in an app-only token", v)
			}
		})
	}
}

// TestGroupsOverage: up to 200 groups are listed; at 201 the token carries
// _claim_names and _claim_sources instead, pointing to Azure AD Graph in
// v1 tokens and to Microsoft Graph in v2 tokens, with claims in Entra's
// order (aud, iss, iat, nbf, exp, then alphabetical).
func TestGroupsOverage(t *testing.T) {
	w := newGroupsWorld(t)
	w.setGroupClaims(ordersID, "SecurityGroup")
	w.setGroupClaims(middleID, "SecurityGroup")
	v2 := "/" + tenantA + "/oauth2/v2.0/token"
	v1, v1Form := v1OrdersForm()
	v1Endpoint := "https://graph.windows.net/" + tenantA + "/users/" + adaID + "/getMemberObjects"
	v2Endpoint := "https://graph.microsoft.com/v1.0/users/" + adaID + "/getMemberObjects"
	w.addSecurityGroups(198) // Sales, Europe and 198 more
	for _, tc := range []struct {
		name     string
		add      int // security groups added to Ada first
		groups   int // the security groups she is in then
		overage  bool
		endpoint [3]string // of the v2 access token, the v1 access token, the v2 id_token
	}{
		{name: "200 groups", groups: 200},
		{name: "201 groups", add: 1, groups: 201, overage: true, endpoint: [3]string{v2Endpoint, v1Endpoint, v2Endpoint}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.add > 0 {
				g, err := w.Directory.AddGroup(context.Background(), tenantA, tenant.GroupSpec{DisplayName: "One more"})
				w.must(err)
				_, err = w.Directory.AddGroupMember(context.Background(), tenantA, g.ID, adaID)
				w.must(err)
			}
			answerV2, answerV1 := w.tokenOK(t, v2, pwForm()), w.tokenOK(t, v1, v1Form)
			for i, tok := range []struct {
				name   string
				answer map[string]any
				field  string
			}{{"v2 access token", answerV2, "access_token"}, {"v1 access token", answerV1, "access_token"}, {"v2 id_token", answerV2, "id_token"}} {
				c := answerClaims(t, tok.answer, tok.field)
				groups := stringsClaim(t, c, "groups")
				if !tc.overage {
					if len(groups) != tc.groups || c["_claim_names"] != nil || c["_claim_sources"] != nil {
						t.Errorf("%s: %d groups, _claim_names %v; want %d groups inline", tok.name, len(groups), c["_claim_names"], tc.groups)
					}
					continue
				}
				wantNames := map[string]any{"groups": "src1"}
				wantSources := map[string]any{"src1": map[string]any{"endpoint": tc.endpoint[i]}}
				if groups != nil || fmt.Sprint(c["_claim_names"]) != fmt.Sprint(wantNames) || fmt.Sprint(c["_claim_sources"]) != fmt.Sprint(wantSources) {
					t.Errorf("%s: groups %d, _claim_names %v, _claim_sources %v; want no groups, %v and %v",
						tok.name, len(groups), c["_claim_names"], c["_claim_sources"], wantNames, wantSources)
				}
				checkClaimOrder(t, tok.name, segment(t, tok.answer[tok.field].(string), 1))
			}
		})
	}
}

// checkClaimOrder checks that a token's claims are in Entra's order: aud,
// iss, iat, nbf, exp, then the others sorted (protocol.md §3.3), which puts
// _claim_names and _claim_sources first among them.
func checkClaimOrder(t *testing.T, name string, payload []byte) {
	t.Helper()
	v, err := parseOrdered(payload)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, m := range v.(object) {
		names = append(names, m.name)
	}
	head := []string{"aud", "iss", "iat", "nbf", "exp"}
	if len(names) < len(head) || !slices.Equal(names[:len(head)], head) || !slices.IsSorted(names[len(head):]) {
		t.Errorf("%s claims in order %s; want %s, then sorted", name, strings.Join(names, " "), strings.Join(head, " "))
	}
}

// TestGroupsFrontChannel: the id_token the authorization endpoint sends
// through the browser (response_type=code id_token) lists at most five
// groups of the client's groupMembershipClaims, and "hasgroups": true past
// that (Entra's implicit-flow limit); it carries no wids, and the code
// still redeems for tokens with every group.
func TestGroupsFrontChannel(t *testing.T) {
	w := newIxWorld(t)
	ctx := context.Background()
	claims := "All"
	_, err := w.Directory.UpdateApplication(ctx, ixShop, tenant.ApplicationUpdate{GroupMembershipClaims: &claims})
	if err != nil {
		t.Fatal(err)
	}
	w.Consent.PutGrant(ctx, w.contoso, ixShop, "api://orders", "", []string{"Orders.Read"})
	var groups []string
	for _, tc := range []struct {
		name      string
		groups    int
		hasGroups bool
	}{{"five groups", 5, false}, {"six groups", 6, true}} {
		t.Run(tc.name, func(t *testing.T) {
			for len(groups) < tc.groups {
				g, err := w.Directory.AddGroup(ctx, "contoso.com", tenant.GroupSpec{DisplayName: fmt.Sprintf("G%d", len(groups))})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := w.Directory.AddGroupMember(ctx, "contoso.com", g.ID, "ada@contoso.com"); err != nil {
					t.Fatal(err)
				}
				groups = append(groups, g.ID)
			}
			b := w.browserFor(t)
			p := b.signIn(b.get(authorizeURL("contoso.com", shopRequest(map[string]string{"response_mode": "form_post", "response_type": "code id_token"}))), "ada@contoso.com")
			fields := map[string]string{}
			for _, h := range hiddenRe.FindAllStringSubmatch(p.body, -1) {
				fields[h[1]] = h[2]
			}
			if fields["id_token"] == "" || fields["code"] == "" {
				t.Fatalf("form_post page %d without id_token and code:\n%s", p.status, p.body)
			}
			c := jwtClaims(t, fields["id_token"])
			got := stringsClaim(t, c, "groups")
			slices.Sort(got)
			want := slices.Sorted(slices.Values(groups))
			if tc.hasGroups {
				want = nil
			}
			if !slices.Equal(got, want) || (c["hasgroups"] == true) != tc.hasGroups {
				t.Errorf("front-channel id_token groups %v, hasgroups %v; want %v, %v", got, c["hasgroups"], want, tc.hasGroups)
			}
			if v, ok := c["wids"]; ok {
				t.Errorf("front-channel id_token wids = %v; want none", v)
			}
			status, body := w.redeem(t, "contoso.com", codeForm(fields["code"], map[string]string{"client_secret": w.shopSecret}), "")
			if status != http.StatusOK {
				t.Fatalf("redeem: %d %v", status, body)
			}
			idt := jwtClaims(t, body["id_token"].(string))
			if got := stringsClaim(t, idt, "groups"); len(got) != tc.groups || idt["hasgroups"] != nil || idt["wids"] == nil {
				t.Errorf("the token endpoint's id_token: groups %v, hasgroups %v, wids %v; want %d groups and wids", got, idt["hasgroups"], idt["wids"], tc.groups)
			}
		})
	}
}

// TestGroupsOptionalClaim: the groups optional claim formats the groups
// claim of its token type. emit_as_roles moves the groups into roles, in
// place of the app roles; cloud_displayname names the groups assigned to
// the application; the sam_account_name forms leave cloud groups' ids; and
// without groupMembershipClaims the entry changes nothing.
func TestGroupsOptionalClaim(t *testing.T) {
	w := newGroupsWorld(t)
	ctx := context.Background()
	_, err := w.Directory.AddAppRole(ctx, middleID, tenant.AppRoleSpec{Value: "Middle.User", AllowedMemberTypes: []string{"User"}})
	w.must(err)
	m := w.manager()
	_, err = m.AssignRole(ctx, tenantA, "api://middle", "Middle.User", consent.Assignee{Group: salesID})
	w.must(err)
	security := []string{salesID, europeID}
	slices.Sort(security)
	tests := []struct {
		name       string
		resource   string   // Middle Tier's groupMembershipClaims
		access     []string // additionalProperties of its accessToken groups entry; nil: no entry
		client     string   // Native's groupMembershipClaims
		id         []string // of Native's idToken groups entry
		wantGroups []string // the access token's
		wantRoles  []string
		wantIDGrp  []string
		wantIDRole []string
	}{
		{name: "an entry without properties", resource: "SecurityGroup", access: []string{},
			wantGroups: security, wantRoles: []string{"Middle.User"}},
		{name: "emit_as_roles in the access token", resource: "SecurityGroup", access: []string{"emit_as_roles"},
			wantRoles: security},
		{name: "emit_as_roles in the id_token", client: "SecurityGroup", id: []string{"Emit_As_Roles"},
			wantRoles: []string{"Middle.User"}, wantIDRole: security},
		{name: "emit_as_roles without groupMembershipClaims", access: []string{"emit_as_roles"},
			wantRoles: []string{"Middle.User"}},
		{name: "cloud_displayname of the groups assigned", resource: "ApplicationGroup", access: []string{"cloud_displayname"},
			wantGroups: []string{"Sales"}, wantRoles: []string{"Middle.User"}},
		{name: "cloud_displayname of security groups keeps ids", resource: "SecurityGroup", access: []string{"cloud_displayname"},
			wantGroups: security, wantRoles: []string{"Middle.User"}},
		{name: "sam_account_name keeps a cloud group's id", resource: "SecurityGroup", access: []string{"sam_account_name", "dns_domain_and_sam_account_name"},
			wantGroups: security, wantRoles: []string{"Middle.User"}},
	}
	entry := func(props []string) []tenant.OptionalClaim {
		if props == nil {
			return nil
		}
		return []tenant.OptionalClaim{{Name: "groups", AdditionalProperties: props}}
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w.setGroupClaims(middleID, tc.resource)
			w.setGroupClaims(nativeID, tc.client)
			for appID, oc := range map[string]tenant.OptionalClaims{
				middleID: {AccessToken: entry(tc.access)},
				nativeID: {IDToken: entry(tc.id)},
			} {
				_, err := w.Directory.UpdateApplication(ctx, appID, tenant.ApplicationUpdate{OptionalClaims: &oc})
				w.must(err)
			}
			answer := w.tokenOK(t, "/"+tenantA+"/oauth2/v2.0/token", pwForm())
			access, id := answerClaims(t, answer, "access_token"), answerClaims(t, answer, "id_token")
			for _, c := range []struct {
				token, claim string
				claims       map[string]any
				want         []string
			}{
				{"access token", "groups", access, tc.wantGroups},
				{"access token", "roles", access, tc.wantRoles},
				{"id_token", "groups", id, tc.wantIDGrp},
				{"id_token", "roles", id, tc.wantIDRole},
			} {
				got := stringsClaim(t, c.claims, c.claim)
				slices.Sort(got)
				if !slices.Equal(got, c.want) {
					t.Errorf("%s %s = %v; want %v", c.token, c.claim, got, c.want)
				}
			}
		})
	}
}

// TestIDTokenRoles: an id_token carries the client application's roles the
// user holds, directly or through a direct group, in the application's
// order; a role reached through a nested group, a disabled role and an
// Application-type role do not count. The access token keeps the
// resource's roles.
func TestIDTokenRoles(t *testing.T) {
	w := newGroupsWorld(t)
	ctx := context.Background()
	d, m := w.Directory, w.manager()
	for _, r := range []tenant.AppRoleSpec{
		{Value: "Native.Team", AllowedMemberTypes: []string{"User"}},
		{Value: "Native.User", AllowedMemberTypes: []string{"User", "Application"}},
		{Value: "Native.Nested", AllowedMemberTypes: []string{"User"}},
		{Value: "Native.Off", AllowedMemberTypes: []string{"User"}},
	} {
		_, err := d.AddAppRole(ctx, nativeID, r)
		w.must(err)
	}
	_, err := d.AddAppRole(ctx, middleID, tenant.AppRoleSpec{Value: "Middle.User", AllowedMemberTypes: []string{"User"}})
	w.must(err)
	for _, a := range []struct {
		resource, role string
		who            consent.Assignee
	}{
		{nativeID, "Native.User", consent.Assignee{User: adaUPN}},
		{nativeID, "Native.Team", consent.Assignee{Group: salesID}},    // Ada's direct group
		{nativeID, "Native.Nested", consent.Assignee{Group: europeID}}, // Ada's through Sales only
		{nativeID, "Native.Off", consent.Assignee{User: adaUPN}},
		{"api://middle", "Middle.User", consent.Assignee{User: adaUPN}},
	} {
		_, err := m.AssignRole(ctx, tenantA, a.resource, a.role, a.who)
		w.must(err)
	}
	_, err = d.SetAppRoleEnabled(ctx, nativeID, "Native.Off", false)
	w.must(err)
	w.setGroupClaims(nativeID, "")
	answer := w.tokenOK(t, "/"+tenantA+"/oauth2/v2.0/token", pwForm())
	if got := stringsClaim(t, answerClaims(t, answer, "id_token"), "roles"); !slices.Equal(got, []string{"Native.Team", "Native.User"}) {
		t.Errorf("id_token roles = %v; want [Native.Team Native.User]", got)
	}
	if got := stringsClaim(t, answerClaims(t, answer, "access_token"), "roles"); !slices.Equal(got, []string{"Middle.User"}) {
		t.Errorf("access token roles = %v; want the resource's [Middle.User]", got)
	}
}
