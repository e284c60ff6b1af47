package issuer_test

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"slices"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer/issuertest"
	"github.com/issuer-dev/issuer/tenant"
)

// scenario is the "Done when" script: everything is set up with the
// library calls behind the CLI commands named in the comments, and every
// token is asked for over HTTPS.
type scenario struct {
	t   *testing.T
	s   *issuertest.Server
	dir *tenant.Directory
	m   *consent.Manager
	ctx context.Context

	home, users           string // the tenant of the APIs, the tenant of the user and the native client
	native, middle, down  string // appIds
	middleSecret, userUPN string
}

const scenarioPassword = "p4ssw0rd-for-the-scenario"

func (sc *scenario) must(err error) {
	sc.t.Helper()
	if err != nil {
		sc.t.Fatal(err)
	}
}

// newScenario sets up the script. With cross, the middle tier and the
// downstream API are multi-tenant applications of a publisher's tenant,
// consented by an administrator of the customer's tenant, where the user and
// the native client live.
func newScenario(t *testing.T, cross bool) *scenario {
	s := issuertest.NewServer(t)
	sc := &scenario{t: t, s: s, dir: s.Directory, ctx: context.Background()}
	sc.m = consent.NewManager(sc.dir, s.DB)
	ctx := sc.ctx

	// issuer tenant add --name Contoso   (and --name Publisher)
	customer, err := sc.dir.CreateTenant(ctx, tenant.TenantSpec{Name: "Contoso"})
	sc.must(err)
	sc.home, sc.users = customer.ID, customer.ID
	if cross {
		pub, err := sc.dir.CreateTenant(ctx, tenant.TenantSpec{Name: "Publisher"})
		sc.must(err)
		sc.home = pub.ID
	}
	// issuer user add --tenant contoso.onmicrosoft.com --upn alice@… --name Alice --password …
	sc.userUPN = "alice@contoso.onmicrosoft.com"
	_, err = sc.dir.AddUser(ctx, sc.users, tenant.UserSpec{UserPrincipalName: sc.userUPN, DisplayName: "Alice", Password: scenarioPassword})
	sc.must(err)
	// issuer app add --tenant contoso.onmicrosoft.com --name Native --public-client
	native, err := sc.dir.RegisterApplication(ctx, sc.users, tenant.ApplicationSpec{DisplayName: "Native", PublicClient: true})
	sc.must(err)
	// issuer app add --tenant HOME --name "Middle API" --identifier-uri api://middle-api --token-version 2 [--multi-tenant]
	middle, err := sc.dir.RegisterApplication(ctx, sc.home, tenant.ApplicationSpec{
		DisplayName: "Middle API", IdentifierURIs: []string{"api://middle-api"}, TokenVersion: 2, MultiTenant: cross})
	sc.must(err)
	// issuer app secret add --app MIDDLE
	_, sc.middleSecret, err = sc.dir.AddPassword(ctx, middle.AppID, tenant.PasswordSpec{DisplayName: "obo"})
	sc.must(err)
	// issuer app scope add --app MIDDLE --value access_as_user
	_, err = sc.dir.AddScope(ctx, middle.AppID, tenant.ScopeSpec{Value: "access_as_user"})
	sc.must(err)
	// issuer app add --tenant HOME --name "Downstream API" --identifier-uri api://downstream-api [--multi-tenant]
	down, err := sc.dir.RegisterApplication(ctx, sc.home, tenant.ApplicationSpec{
		DisplayName: "Downstream API", IdentifierURIs: []string{"api://downstream-api"}, MultiTenant: cross})
	sc.must(err)
	// issuer app scope add --app DOWN --value Files.Read
	_, err = sc.dir.AddScope(ctx, down.AppID, tenant.ScopeSpec{Value: "Files.Read"})
	sc.must(err)
	// issuer app role add --app DOWN --value Files.Admin --member-types User
	_, err = sc.dir.AddAppRole(ctx, down.AppID, tenant.AppRoleSpec{Value: "Files.Admin", AllowedMemberTypes: []string{"User"}})
	sc.must(err)
	sc.native, sc.middle, sc.down = native.AppID, middle.AppID, down.AppID
	// issuer app permission add --app NATIVE --resource MIDDLE --scope access_as_user
	_, err = sc.dir.AddRequiredResourceAccess(ctx, sc.native, sc.middle, []string{"access_as_user"}, nil)
	sc.must(err)
	// issuer app permission add --app MIDDLE --resource api://downstream-api --scope Files.Read
	_, err = sc.dir.AddRequiredResourceAccess(ctx, sc.middle, "api://downstream-api", []string{"Files.Read"}, nil)
	sc.must(err)
	// issuer consent grant --tenant contoso.onmicrosoft.com --client MIDDLE --admin
	// (in the customer's tenant this provisions the middle tier's and the
	// downstream API's service principals), then the same for NATIVE.
	sc.grant()
	_, err = sc.m.GrantAdminConsent(ctx, sc.users, sc.native)
	sc.must(err)
	// issuer role assign --tenant contoso.onmicrosoft.com --resource api://downstream-api --role Files.Admin --user alice@…
	_, err = sc.m.AssignRole(ctx, sc.users, "api://downstream-api", "Files.Admin", consent.Assignee{User: sc.userUPN})
	sc.must(err)
	return sc
}

// grant is `issuer consent grant --tenant contoso.onmicrosoft.com --client MIDDLE --admin`.
func (sc *scenario) grant() {
	sc.t.Helper()
	_, err := sc.m.GrantAdminConsent(sc.ctx, sc.users, sc.middle)
	sc.must(err)
}

func (sc *scenario) post(path string, form url.Values) (int, map[string]any) {
	sc.t.Helper()
	resp, err := sc.s.Client().PostForm(sc.s.URL+path, form)
	sc.must(err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	sc.must(err)
	var m map[string]any
	r := result{status: resp.StatusCode, body: body}
	r.decode(sc.t, &m)
	return resp.StatusCode, m
}

func (sc *scenario) ok(path string, form url.Values) map[string]any {
	sc.t.Helper()
	status, m := sc.post(path, form)
	if status != http.StatusOK {
		sc.t.Fatalf("POST %s = %d %v; want 200", path, status, m)
	}
	return m
}

// refused posts form and checks the AADSTS code.
func (sc *scenario) refused(what, path string, form url.Values, code int) {
	sc.t.Helper()
	status, m := sc.post(path, form)
	codes, _ := m["error_codes"].([]any)
	if status == http.StatusOK || len(codes) != 1 || int(codes[0].(float64)) != code {
		sc.t.Errorf("%s: POST %s = %d %v %v; want AADSTS%d", what, path, status, m["error"], m["error_codes"], code)
	}
}

func (sc *scenario) userToken() string {
	sc.t.Helper()
	return sc.ok("/"+sc.users+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"password"}, "client_id": {sc.native}, "username": {sc.userUPN}, "password": {scenarioPassword},
		"scope": {"api://middle-api/access_as_user openid profile offline_access"}, "client_info": {"1"},
	})["access_token"].(string)
}

func (sc *scenario) oboForm(assertion string) url.Values {
	return url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "client_id": {sc.middle}, "client_secret": {sc.middleSecret},
		"assertion": {assertion}, "requested_token_use": {"on_behalf_of"},
		"scope": {"api://downstream-api/Files.Read offline_access"},
	}
}

func (sc *scenario) refreshForm(rt string) url.Values {
	return url.Values{
		"grant_type": {"refresh_token"}, "client_id": {sc.middle}, "client_secret": {sc.middleSecret}, "refresh_token": {rt},
		"scope": {"api://downstream-api/Files.Read offline_access"},
	}
}

// run walks the script: a user token for the middle tier, the exchange, a
// refresh, and each refusal as its consent, assignment or flag is removed
// (and put back).
func (sc *scenario) run(oboPath string) {
	t, ctx := sc.t, sc.ctx
	users := "/" + sc.users + "/oauth2/v2.0/token"
	user := sc.userToken()
	uc := claimsOf(t, user)
	if uc["aud"] != sc.middle || uc["tid"] != sc.users || uc["scp"] != "access_as_user" {
		t.Fatalf("user token aud, tid, scp = %v, %v, %v; want %s, %s, access_as_user", uc["aud"], uc["tid"], uc["scp"], sc.middle, sc.users)
	}

	// The exchange.
	m := sc.ok(oboPath, sc.oboForm(user))
	dc := claimsOf(t, m["access_token"].(string))
	want := map[string]any{"aud": "api://downstream-api", "tid": sc.users, "oid": uc["oid"], "upn": sc.userUPN, "unique_name": sc.userUPN,
		"name": "Alice", "scp": "Files.Read", "appid": sc.middle, "appidacr": "1", "ver": "1.0"}
	for k, v := range want {
		if dc[k] != v {
			t.Errorf("downstream token %s = %v; want %v", k, dc[k], v)
		}
	}
	if roles := stringSlice(dc["roles"]); !slices.Equal(roles, []string{"Files.Admin"}) {
		t.Errorf("downstream token roles = %v; want [Files.Admin]", roles)
	}
	if m["scope"] != "api://downstream-api/Files.Read" {
		t.Errorf("scope = %v; want the requested scopes of the resource", m["scope"])
	}

	// The refresh: a new access token and a new refresh token.
	rt := m["refresh_token"].(string)
	r := sc.ok(oboPath, sc.refreshForm(rt))
	if claimsOf(t, r["access_token"].(string))["scp"] != "Files.Read" || r["refresh_token"] == rt {
		t.Errorf("refresh = %v; want Files.Read and a new refresh token", r)
	}
	rt = r["refresh_token"].(string)

	// Consent removed: issuer consent revoke --tenant contoso… --client MIDDLE
	_, err := sc.m.Revoke(ctx, sc.users, sc.middle, "")
	sc.must(err)
	sc.refused("consent revoked, OBO", oboPath, sc.oboForm(user), 65001)
	sc.refused("consent revoked, refresh", oboPath, sc.refreshForm(rt), 65001)
	sc.grant()
	rt = sc.ok(oboPath, sc.refreshForm(rt))["refresh_token"].(string)

	// Assignment required and removed: issuer sp update --assignment-required=true;
	// issuer role unassign … --user alice
	tr, fa := true, false
	_, err = sc.dir.UpdateServicePrincipal(ctx, sc.users, sc.down, tenant.ServicePrincipalUpdate{AppRoleAssignmentRequired: &tr})
	sc.must(err)
	sc.ok(oboPath, sc.oboForm(user)) // still assigned
	_, err = sc.m.UnassignRole(ctx, sc.users, "api://downstream-api", "Files.Admin", consent.Assignee{User: sc.userUPN})
	sc.must(err)
	sc.refused("user not assigned, OBO", oboPath, sc.oboForm(user), 50105)
	sc.refused("user not assigned, refresh", oboPath, sc.refreshForm(rt), 50105)
	_, err = sc.dir.UpdateServicePrincipal(ctx, sc.users, sc.down, tenant.ServicePrincipalUpdate{AppRoleAssignmentRequired: &fa})
	sc.must(err)

	// The user disabled: issuer user update --tenant … alice@… --enabled=false
	_, err = sc.dir.UpdateUser(ctx, sc.users, sc.userUPN, tenant.UserUpdate{AccountEnabled: &fa})
	sc.must(err)
	sc.refused("user disabled, password", users, url.Values{"grant_type": {"password"}, "client_id": {sc.native}, "username": {sc.userUPN},
		"password": {scenarioPassword}, "scope": {"api://middle-api/access_as_user"}}, 50057)
	sc.refused("user disabled, OBO", oboPath, sc.oboForm(user), 50057)
	sc.refused("user disabled, refresh", oboPath, sc.refreshForm(rt), 50057)
	_, err = sc.dir.UpdateUser(ctx, sc.users, sc.userUPN, tenant.UserUpdate{AccountEnabled: &tr})
	sc.must(err)
	rt = sc.ok(oboPath, sc.refreshForm(rt))["refresh_token"].(string)

	// A redeemed refresh token stays valid, as in Entra: a retry after a
	// lost answer works, and so does its successor.
	next := sc.ok(oboPath, sc.refreshForm(rt))["refresh_token"].(string)
	sc.ok(oboPath, sc.refreshForm(rt))
	sc.ok(oboPath, sc.refreshForm(next))

	// Wrong assertions: a token for the downstream API, an app-only token.
	sc.refused("assertion for another audience", oboPath, sc.oboForm(m["access_token"].(string)), 500131)
	appOnly := sc.ok("/"+sc.users+"/oauth2/v2.0/token", url.Values{"grant_type": {"client_credentials"}, "client_id": {sc.middle},
		"client_secret": {sc.middleSecret}, "scope": {"api://middle-api/.default"}})["access_token"].(string)
	sc.refused("app-only assertion", oboPath, sc.oboForm(appOnly), 7000114)

	// The downstream API's service principal removed: issuer sp remove --tenant … --app DOWN
	sc.must(sc.dir.RemoveServicePrincipal(ctx, sc.users, sc.down))
	sc.refused("downstream not in the tenant", oboPath, sc.oboForm(user), 500011)
	// The middle tier's removed: issuer sp remove --tenant … --app MIDDLE
	sc.must(sc.dir.RemoveServicePrincipal(ctx, sc.users, sc.middle))
	// In its home tenant that is AADSTS7000229; in a customer's, 700016.
	wantCode := 700016
	if sc.home == sc.users {
		wantCode = 7000229
	}
	sc.refused("middle tier not in the tenant", oboPath, sc.oboForm(user), wantCode)

	// Time passes: the user's token expires.
	sc.s.Advance(2 * time.Hour)
	sc.refused("assertion expired", oboPath, sc.oboForm(user), 500133)
}

// TestDoneWhen is the acceptance script in one tenant: a user, a
// native public client, a middle-tier API and a downstream API; a user token
// for the middle tier, the exchange, the refresh, and each refusal.
func TestDoneWhen(t *testing.T) {
	sc := newScenario(t, false)
	sc.run("/" + sc.users + "/oauth2/v2.0/token")
}

// TestDoneWhenAcrossTenants is the same script with a multi-tenant middle
// tier and downstream API of a publisher's tenant, consented in the
// customer's tenant: the exchange at /organizations issues in the
// customer's tenant.
func TestDoneWhenAcrossTenants(t *testing.T) {
	sc := newScenario(t, true)
	if sc.home == sc.users {
		t.Fatal("the scenario did not create two tenants")
	}
	sc.run("/organizations/oauth2/v2.0/token")
}
