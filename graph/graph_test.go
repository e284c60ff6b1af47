package graph_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer/issuertest"
	"github.com/issuer-dev/issuer/tenant"
)

// env is a server with a tenant, a bootstrap admin app holding Graph app
// roles, and a user.
type env struct {
	srv    *issuertest.Server
	tenant tenant.Tenant
	admin  string // app-only Graph token of the bootstrap app
	reader string // app-only Graph token with Application.Read.All only
}

func newEnv(t *testing.T) *env {
	t.Helper()
	srv := issuertest.NewServer(t)
	ten := srv.AddTenant("contoso")
	e := &env{srv: srv, tenant: ten}
	e.admin = e.appToken(t, "Bootstrap", "Application.ReadWrite.All", "AppRoleAssignment.ReadWrite.All",
		"DelegatedPermissionGrant.ReadWrite.All", "User.ReadWrite.All", "Organization.Read.All")
	e.reader = e.appToken(t, "Reader", "Application.Read.All")
	return e
}

// appToken registers a daemon holding the given Graph app roles and returns
// a client-credentials token for Graph, from the token endpoint.
func (e *env) appToken(t *testing.T, name string, roles ...string) string {
	t.Helper()
	app := e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: name})
	secret := e.srv.AddSecret(app.AppID)
	for _, r := range roles {
		e.srv.AssignRole(e.tenant.ID, tenant.MicrosoftGraphAppID, r, consent.Assignee{ClientAppID: app.AppID})
	}
	return e.token(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {app.AppID}, "client_secret": {secret},
		"scope": {"https://graph.microsoft.com/.default"}})
}

func (e *env) token(t *testing.T, form url.Values) string {
	t.Helper()
	resp, err := e.srv.Client().PostForm(e.srv.URL+"/"+e.tenant.ID+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		Error       string `json:"error_description"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil || body.AccessToken == "" {
		t.Fatalf("token: %d %v %s", resp.StatusCode, err, body.Error)
	}
	return body.AccessToken
}

// call sends a Graph request and decodes the JSON answer (nil for 204).
func (e *env) call(t *testing.T, token, method, path, body string) (int, map[string]any, http.Header) {
	t.Helper()
	return e.callWith(t, nil, token, method, path, body)
}

// callWith is call with extra request headers (ConsistencyLevel).
func (e *env) callWith(t *testing.T, header http.Header, token, method, path, body string) (int, map[string]any, http.Header) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, e.srv.GraphURL()+path, rd)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	for k, vs := range header {
		req.Header[k] = vs
	}
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &m); err != nil {
			t.Fatalf("%s %s: %d, not JSON: %s", method, path, resp.StatusCode, raw)
		}
	}
	return resp.StatusCode, m, resp.Header
}

func errorCode(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	c, _ := e["code"].(string)
	return c
}

// snapshot is what a refusal must leave alone: the tenant's applications,
// service principals, users and grants.
func (e *env) snapshot(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	apps, err1 := e.srv.Directory.ListApplications(ctx, e.tenant.ID)
	sps, err2 := e.srv.Directory.ListServicePrincipals(ctx, e.tenant.ID)
	users, err3 := e.srv.Directory.ListUsers(ctx, e.tenant.ID)
	grants, err4 := e.srv.Consent.List(ctx, e.tenant.ID, "")
	for _, err := range []error{err1, err2, err3, err4} {
		if err != nil {
			t.Fatal(err)
		}
	}
	owners := map[string][]string{} // not in the objects' JSON
	for _, a := range apps {
		owners[a.ID] = a.Owners
	}
	for _, sp := range sps {
		owners[sp.ID] = sp.Owners
	}
	b, _ := json.Marshal([]any{apps, owners, sps, users, grants})
	return string(b)
}

func TestRefusals(t *testing.T) {
	e := newEnv(t)
	api := e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: "API", IdentifierURIs: []string{"api://orders"}})
	other := newEnv(t) // another server: its tokens are not ours
	ownAPIToken := func() string {
		d := e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: "Caller"})
		role := e.srv.AddAppRole(api.AppID, "Orders.Read")
		e.srv.AssignRole(e.tenant.ID, api.AppID, role.Value, consent.Assignee{ClientAppID: d.AppID})
		return e.token(t, url.Values{"grant_type": {"client_credentials"}, "client_id": {d.AppID},
			"client_secret": {e.srv.AddSecret(d.AppID)}, "scope": {"api://orders/.default"}})
	}()
	apps, _ := e.srv.Directory.ListApplications(context.Background(), e.tenant.ID)
	apiObject := ""
	for _, a := range apps {
		if a.AppID == api.AppID {
			apiObject = a.ID
		}
	}
	for _, tc := range []struct {
		name, token, method, path, body string
		wantStatus                      int
		wantCode                        string
	}{
		{name: "no token", method: "GET", path: "/applications", wantStatus: 401, wantCode: "InvalidAuthenticationToken"},
		{name: "not a JWT", token: "abc", method: "GET", path: "/applications", wantStatus: 401, wantCode: "InvalidAuthenticationToken"},
		{name: "another server's token", token: other.admin, method: "GET", path: "/applications", wantStatus: 401, wantCode: "InvalidAuthenticationToken"},
		{name: "a token for another audience", token: ownAPIToken, method: "GET", path: "/applications", wantStatus: 401, wantCode: "InvalidAuthenticationToken"},
		{name: "a read role cannot create", token: e.reader, method: "POST", path: "/applications", body: `{"displayName":"x"}`, wantStatus: 403, wantCode: "Authorization_RequestDenied"},
		{name: "a read role cannot read users", token: e.reader, method: "GET", path: "/users", wantStatus: 403, wantCode: "Authorization_RequestDenied"},
		{name: "unknown application", token: e.admin, method: "GET", path: "/applications/5f7e0a56-0000-4000-8000-000000000001", wantStatus: 404, wantCode: "Request_ResourceNotFound"},
		{name: "malformed object id", token: e.admin, method: "GET", path: "/applications/nope", wantStatus: 400, wantCode: "Request_BadRequest"},
		{name: "unknown segment", token: e.admin, method: "GET", path: "/devices", wantStatus: 400, wantCode: "BadRequest"},
		{name: "method not allowed", token: e.admin, method: "PUT", path: "/applications", wantStatus: 405, wantCode: "Request_BadRequest"},
		{name: "malformed JSON", token: e.admin, method: "POST", path: "/applications", body: `{"displayName":`, wantStatus: 400, wantCode: "Request_BadRequest"},
		{name: "unknown property", token: e.admin, method: "POST", path: "/applications", body: `{"displayName":"x","colour":"red"}`, wantStatus: 400, wantCode: "Request_BadRequest"},
		{name: "no displayName", token: e.admin, method: "POST", path: "/applications", body: `{}`, wantStatus: 400, wantCode: "Request_BadRequest"},
		{name: "duplicate identifier URI", token: e.admin, method: "POST", path: "/applications", body: `{"displayName":"x","identifierUris":["api://orders"]}`, wantStatus: 400, wantCode: "Request_BadRequest"},
		{name: "a second service principal", token: e.admin, method: "POST", path: "/servicePrincipals", body: `{"appId":"` + tenant.MicrosoftGraphAppID + `"}`, wantStatus: 409, wantCode: "Request_MultipleObjectsWithSameKeyValue"},
		{name: "Graph cannot be changed", token: e.admin, method: "PATCH", path: "/servicePrincipals(appId='" + tenant.MicrosoftGraphAppID + "')", body: `{"accountEnabled":false}`, wantStatus: 403, wantCode: "Authorization_RequestDenied"},
		{name: "removing an enabled role", token: e.admin, method: "PATCH", path: "/applications/" + apiObject, body: `{"appRoles":[]}`, wantStatus: 400, wantCode: "Request_BadRequest"},
		{name: "bad $top", token: e.admin, method: "GET", path: "/applications?$top=0", wantStatus: 400, wantCode: "Request_BadRequest"},
		{name: "bad $filter", token: e.admin, method: "GET", path: "/applications?$filter=appId%20gt%201", wantStatus: 400, wantCode: "Request_BadRequest"},
		{name: "filter on an unknown property", token: e.admin, method: "GET", path: "/applications?$filter=colour%20eq%20'red'", wantStatus: 400, wantCode: "Request_BadRequest"},
		{name: "unknown $select", token: e.admin, method: "GET", path: "/applications?$select=colour", wantStatus: 400, wantCode: "Request_BadRequest"},
		{name: "$orderby without the advanced query parameters", token: e.admin, method: "GET", path: "/applications?$orderby=displayName", wantStatus: 400, wantCode: "Request_UnsupportedQuery"},
		{name: "unsupported $expand", token: e.admin, method: "GET", path: "/applications?$expand=owners", wantStatus: 400, wantCode: "Request_BadRequest"},
		{name: "$count without ConsistencyLevel", token: e.admin, method: "GET", path: "/applications?$count=true", wantStatus: 400, wantCode: "Request_UnsupportedQuery"},
		{name: "a bad $count", token: e.admin, method: "GET", path: "/applications?$count=maybe", wantStatus: 400, wantCode: "Request_BadRequest"},
		{name: "/me without a user", token: e.admin, method: "GET", path: "/me", wantStatus: 400, wantCode: "BadRequest"},
		{name: "user without required properties", token: e.admin, method: "POST", path: "/users", body: `{"displayName":"x"}`, wantStatus: 400, wantCode: "Request_BadRequest"},
		{name: "grant of an unknown scope", token: e.admin, method: "POST", path: "/oauth2PermissionGrants",
			body:       `{"clientId":"` + mustSP(t, e, api.AppID) + `","consentType":"AllPrincipals","resourceId":"` + mustSP(t, e, tenant.MicrosoftGraphAppID) + `","scope":"Nope.Read"}`,
			wantStatus: 400, wantCode: "Request_BadRequest"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := e.snapshot(t)
			status, body, hdr := e.call(t, tc.token, tc.method, tc.path, tc.body)
			if status != tc.wantStatus || errorCode(body) != tc.wantCode {
				t.Errorf("%s %s = %d %s; want %d %s (%v)", tc.method, tc.path, status, errorCode(body), tc.wantStatus, tc.wantCode, body)
			}
			inner, _ := body["error"].(map[string]any)["innerError"].(map[string]any)
			if inner["request-id"] == "" || inner["request-id"] != hdr.Get("request-id") || inner["date"] == "" {
				t.Errorf("innerError = %v; want request-id %q and a date", inner, hdr.Get("request-id"))
			}
			if after := e.snapshot(t); after != before {
				t.Errorf("a refused call changed the directory")
			}
		})
	}
}

func mustSP(t *testing.T, e *env, appID string) string {
	t.Helper()
	sp, _, err := e.srv.Directory.FindServicePrincipal(context.Background(), e.tenant.ID, appID)
	if err != nil {
		t.Fatal(err)
	}
	return sp.ID
}

// TestUserGraphToken: a user of a public client gets a Graph token for
// User.Read by the password grant once consent exists, reads /me with it,
// and "openid profile" alone is a Graph sign-in, as in Entra.
func TestUserGraphToken(t *testing.T) {
	e := newEnv(t)
	native := e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: "Native", PublicClient: true})
	ada := e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: "ada@contoso.onmicrosoft.com", DisplayName: "Ada", Password: "Correct-Horse-9"})
	form := func(scope string) url.Values {
		return url.Values{"grant_type": {"password"}, "client_id": {native.AppID}, "username": {ada.UserPrincipalName},
			"password": {"Correct-Horse-9"}, "scope": {scope}}
	}
	if _, _, err := e.srv.Consent.PutGrant(context.Background(), e.tenant, native.AppID, tenant.MicrosoftGraphURI, ada.ID,
		[]string{"openid", "profile", "User.Read"}); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct{ name, scope string }{
		{"User.Read", "User.Read openid"},
		{"openid profile alone", "openid profile"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tok := e.token(t, form(tc.scope))
			status, me, _ := e.call(t, tok, "GET", "/me?$select=userPrincipalName,displayName", "")
			if status != 200 || me["userPrincipalName"] != ada.UserPrincipalName || len(me) != 3 {
				t.Errorf("GET /me = %d %v; want Ada's two selected properties and @odata.context", status, me)
			}
		})
	}
	// A delegated token without an administrator role reads applications
	// only with a read scope, and never changes them.
	tok := e.token(t, form("User.Read"))
	if status, body, _ := e.call(t, tok, "POST", "/applications", `{"displayName":"x"}`); status != 403 {
		t.Errorf("POST /applications with User.Read = %d %v; want 403", status, body)
	}
}

// TestPaging: $top pages a list with @odata.nextLink, which reads the
// rest with the same filter.
func TestPaging(t *testing.T) {
	e := newEnv(t)
	for _, n := range []string{"a", "b", "c", "d", "e"} {
		e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: "paged-" + n})
	}
	path := "/applications?$top=2&$filter=startswith(displayName,'paged-')&$select=displayName"
	var names []string
	for pages := 0; path != ""; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		status, body, _ := e.call(t, e.admin, "GET", path, "")
		if status != 200 {
			t.Fatalf("GET %s = %d %v", path, status, body)
		}
		for _, v := range body["value"].([]any) {
			names = append(names, v.(map[string]any)["displayName"].(string))
		}
		path = ""
		if next, ok := body["@odata.nextLink"].(string); ok {
			path = strings.TrimPrefix(next, e.srv.GraphURL())
		}
	}
	if len(names) != 5 {
		t.Errorf("paged through %v; want the five paged- applications", names)
	}
	// $count with ConsistencyLevel: eventual counts every match, not the page.
	req, _ := http.NewRequest("GET", e.srv.GraphURL()+"/applications?$top=2&$count=true&$filter=startswith(displayName,'paged-')", nil)
	req.Header.Set("Authorization", "Bearer "+e.admin)
	req.Header.Set("ConsistencyLevel", "eventual")
	resp, err := e.srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 200 || body["@odata.count"] != float64(5) || len(body["value"].([]any)) != 2 {
		t.Errorf("$count=true = %d %v; want @odata.count 5 and a page of 2", resp.StatusCode, body)
	}
}

// TestKeyCredentialsPatch: a certificate registered by PATCH of
// keyCredentials (as Terraform's azuread provider registers one) signs
// MSAL's client assertions; a PATCH without it removes it; a key that is
// not a certificate is refused and changes nothing.
func TestKeyCredentialsPatch(t *testing.T) {
	e := newEnv(t)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "daemon"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	status, app, _ := e.call(t, e.admin, "POST", "/applications", `{"displayName":"Cert Daemon"}`)
	if status != 201 {
		t.Fatalf("create: %d %v", status, app)
	}
	id, appID := app["id"].(string), app["appId"].(string)
	body, _ := json.Marshal(map[string]any{"keyCredentials": []map[string]any{{"type": "AsymmetricX509Cert", "usage": "Verify", "key": der, "displayName": "CN=daemon"}}})
	if status, b, _ := e.call(t, e.admin, "PATCH", "/applications/"+id, string(body)); status != 204 {
		t.Fatalf("PATCH keyCredentials: %d %v", status, b)
	}
	get := func() []any {
		_, a, _ := e.call(t, e.admin, "GET", "/applications/"+id+"?$select=keyCredentials", "")
		return a["keyCredentials"].([]any)
	}
	if kc := get(); len(kc) != 1 {
		t.Fatalf("keyCredentials = %v; want the certificate", kc)
	}
	tokenWithCert := func() error {
		cred, err := confidential.NewCredFromCert([]*x509.Certificate{cert}, key)
		if err != nil {
			return err
		}
		cc, err := confidential.New(e.srv.URL+"/"+e.tenant.ID, appID, cred,
			confidential.WithHTTPClient(e.srv.Client()), confidential.WithInstanceDiscovery(false))
		if err != nil {
			return err
		}
		_, err = cc.AcquireTokenByCredential(context.Background(), []string{"https://graph.microsoft.com/.default"})
		return err
	}
	// MSAL signs assertions with the real clock; the test server's is real too.
	if err := tokenWithCert(); err != nil {
		t.Fatalf("MSAL with the registered certificate: %v", err)
	}
	before := e.snapshot(t)
	if status, b, _ := e.call(t, e.admin, "PATCH", "/applications/"+id, `{"keyCredentials":[{"type":"AsymmetricX509Cert","usage":"Verify","key":"bm90IGEgY2VydA=="}]}`); status != 400 || errorCode(b) != "Request_BadRequest" {
		t.Errorf("PATCH with a key that is not a certificate = %d %v; want 400", status, b)
	}
	if e.snapshot(t) != before {
		t.Error("a refused PATCH changed the directory")
	}
	if status, b, _ := e.call(t, e.admin, "PATCH", "/applications/"+id, `{"keyCredentials":[]}`); status != 204 {
		t.Fatalf("PATCH keyCredentials []: %d %v", status, b)
	}
	if kc := get(); len(kc) != 0 {
		t.Errorf("keyCredentials = %v; want none", kc)
	}
	if err := tokenWithCert(); err == nil {
		t.Error("a removed certificate still gets tokens")
	}
}

// TestDelegatedAuthorization: with a delegated token the scope bounds the
// app and the user's directory role bounds the user: any member may
// register an application (Entra's default), only an administrator may
// change one or assign roles.
func TestDelegatedAuthorization(t *testing.T) {
	e := newEnv(t)
	client := e.srv.AddApp(e.tenant.ID, tenant.ApplicationSpec{DisplayName: "Portal", PublicClient: true})
	if _, _, err := e.srv.Consent.PutGrant(context.Background(), e.tenant, client.AppID, tenant.MicrosoftGraphURI, "",
		[]string{"Application.ReadWrite.All", "User.Read"}); err != nil {
		t.Fatal(err)
	}
	admin := e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: "ada@contoso.onmicrosoft.com", Password: "Correct-Horse-9",
		DirectoryRoles: []string{tenant.RoleApplicationAdministrator}})
	member := e.srv.AddUser(e.tenant.ID, tenant.UserSpec{UserPrincipalName: "bo@contoso.onmicrosoft.com", Password: "Correct-Horse-9"})
	tokenOf := func(u tenant.User, scope string) string {
		return e.srv.UserToken(t, e.tenant.ID, u.UserPrincipalName, client.AppID, tenant.MicrosoftGraphURI, scope)
	}
	_, made, _ := e.call(t, e.admin, "POST", "/applications", `{"displayName":"Target"}`)
	target := "/applications/" + made["id"].(string)
	for _, tc := range []struct {
		name, token, method, path, body string
		want                            int
	}{
		{"a member registers an application", tokenOf(member, "Application.ReadWrite.All"), "POST", "/applications", `{"displayName":"Mine"}`, 201},
		{"a member may not change one", tokenOf(member, "Application.ReadWrite.All"), "PATCH", target, `{"displayName":"Renamed"}`, 403},
		{"an administrator may", tokenOf(admin, "Application.ReadWrite.All"), "PATCH", target, `{"displayName":"Renamed"}`, 204},
		{"an administrator without the scope may not", tokenOf(admin, "User.Read"), "PATCH", target, `{"displayName":"Again"}`, 403},
		{"a member reads /me", tokenOf(member, "User.Read"), "GET", "/me", "", 200},
		{"a member lists applications with the write scope", tokenOf(member, "Application.ReadWrite.All"), "GET", "/applications", "", 200},
		{"User.Read lists no applications", tokenOf(member, "User.Read"), "GET", "/applications", "", 403},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if status, body, _ := e.call(t, tc.token, tc.method, tc.path, tc.body); status != tc.want {
				t.Errorf("%s %s = %d %v; want %d", tc.method, tc.path, status, body, tc.want)
			}
		})
	}
}

// TestMetadata: the cloud document names this server's login and Graph
// endpoints for api-version 2022-09-01, and refuses other versions as ARM
// does.
func TestMetadata(t *testing.T) {
	e := newEnv(t)
	for _, tc := range []struct {
		name, query string
		want        int
		wantCode    string
	}{
		{"2022-09-01", "?api-version=2022-09-01", 200, ""},
		{"no api-version", "", 400, "MissingApiVersionParameter"},
		{"an unknown api-version", "?api-version=2019-05-01", 400, "InvalidApiVersionParameter"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := e.srv.Client().Get(e.srv.URL + "/metadata/endpoints" + tc.query)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var m map[string]any
			_ = json.NewDecoder(resp.Body).Decode(&m)
			if resp.StatusCode != tc.want || tc.want == 200 && (m["microsoftGraphResourceId"] != e.srv.URL+"/graph/" ||
				m["authentication"].(map[string]any)["loginEndpoint"] != e.srv.URL) || tc.wantCode != "" && errorCode(m) != tc.wantCode {
				t.Errorf("GET /metadata/endpoints%s = %d %v", tc.query, resp.StatusCode, m)
			}
		})
	}
}

// refusalCase is a GET Graph refuses with 400 and wantCode.
type refusalCase struct {
	name, path string
	header     http.Header
	wantCode   string
}

// wantRefusals runs each case as a subtest; spaces in a path are sent as
// %20.
func (e *env) wantRefusals(t *testing.T, cases []refusalCase) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, body, _ := e.callWith(t, tc.header, e.admin, "GET", strings.ReplaceAll(tc.path, " ", "%20"), "")
			if status != 400 || errorCode(body) != tc.wantCode {
				t.Errorf("GET %s = %d %s; want 400 %s (%v)", tc.path, status, errorCode(body), tc.wantCode, body)
			}
		})
	}
}
