package managedidentity_test

import (
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer/issuertest"
	"github.com/issuer-dev/issuer/managedidentity"
	"github.com/issuer-dev/issuer/tenant"
)

const (
	secret  = "the-identity-header-secret"
	contoso = "contoso.onmicrosoft.com"
)

// world is an issuer with an assignment-required API, a user-assigned
// identity holding its role, a system-assigned one that does not, and a
// disabled one, behind the endpoints on a loopback listener.
type world struct {
	url                  string // of the endpoints
	handler              http.Handler
	tenantID             string
	worker, web, retired tenant.ServicePrincipal
}

func newWorld(t testing.TB) *world {
	t.Helper()
	s := issuertest.NewServer(t)
	tn := s.AddTenant("Contoso")
	api := s.AddApp(tn.ID, tenant.ApplicationSpec{DisplayName: "Orders API", IdentifierURIs: []string{"api://orders"}})
	s.AddAppRole(api.AppID, "Orders.Read")
	yes, no := true, false
	s.UpdateServicePrincipal(tn.ID, api.AppID, tenant.ServicePrincipalUpdate{AppRoleAssignmentRequired: &yes})
	add := func(spec tenant.ManagedIdentitySpec) tenant.ServicePrincipal {
		sp, err := s.Directory.AddManagedIdentity(context.Background(), tn.ID, spec)
		if err != nil {
			t.Fatal(err)
		}
		return sp
	}
	w := &world{tenantID: tn.ID,
		worker:  add(tenant.ManagedIdentitySpec{Name: "orders-worker"}),
		web:     add(tenant.ManagedIdentitySpec{Name: "orders-web", SystemAssigned: true}),
		retired: add(tenant.ManagedIdentitySpec{Name: "retired"})}
	s.AssignRole(tn.ID, "api://orders", "Orders.Read", consent.Assignee{ClientAppID: w.worker.AppID})
	s.AssignRole(tn.ID, "api://orders", "Orders.Read", consent.Assignee{ClientAppID: w.retired.AppID})
	s.UpdateServicePrincipal(tn.ID, w.retired.AppID, tenant.ServicePrincipalUpdate{AccountEnabled: &no})
	w.handler = &managedidentity.Handler{Issuer: s.Issuer, Secret: secret}
	srv := httptest.NewServer(w.handler)
	t.Cleanup(srv.Close)
	w.url = srv.URL
	return w
}

// get sends a request without a body; see send.
func get(t *testing.T, method, u string, hdr map[string]string) (int, map[string]any) {
	t.Helper()
	return send(t, method, u, hdr, "")
}

// send sends method url with headers and body and returns the status and
// JSON body.
func send(t *testing.T, method, u string, hdr map[string]string, body string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s %s: status %d, body %q is not JSON", method, u, resp.StatusCode, b)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q", ct)
	}
	return resp.StatusCode, m
}

func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		t.Fatalf("token %q is not a JWS", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTokens: each endpoint hands out the selected identity's token, in
// its own response shape (every member a string), with Entra's
// managed-identity claims.
func TestTokens(t *testing.T) {
	w := newWorld(t)
	app := func(id tenant.ServicePrincipal) string { return w.url + "/" + w.tenantID + "/" + id.ID + "/msi/token" }
	imds := func(id tenant.ServicePrincipal) string {
		return w.url + "/" + w.tenantID + "/" + id.ID + "/metadata/identity/oauth2/token"
	}
	appHdr := map[string]string{"X-IDENTITY-HEADER": secret}
	imdsHdr := map[string]string{"Metadata": "true"}
	q := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return "?" + v.Encode()
	}
	appKeys := []string{"access_token", "client_id", "expires_on", "resource", "token_type"}
	imdsKeys := []string{"access_token", "client_id", "expires_in", "expires_on", "not_before", "refresh_token", "resource", "token_type"}
	shell := w.url + "/" + w.tenantID + "/" + w.worker.ID + "/cloudshell/token"
	ml := func(id tenant.ServicePrincipal) string {
		return w.url + "/" + w.tenantID + "/" + id.ID + "/azureml/token"
	}
	tests := []struct {
		name     string
		method   string // "": GET
		url      string
		hdr      map[string]string
		body     string
		keys     []string
		identity tenant.ServicePrincipal
	}{
		{"Cloud Shell", "POST", shell, map[string]string{"Metadata": "true", "Content-Type": "application/x-www-form-urlencoded"}, "resource=api%3A%2F%2Forders", imdsKeys, w.worker},
		{"Azure ML, the endpoint's identity", "", ml(w.worker) + q("api-version", "2017-09-01", "resource", "api://orders"), map[string]string{"secret": secret}, "", appKeys, w.worker},
		{"Azure ML, by clientid", "", ml(w.web) + q("api-version", "2017-09-01", "resource", "api://orders", "clientid", w.worker.AppID), map[string]string{"secret": secret}, "", appKeys, w.worker},
		{"App Service, the endpoint's identity", "", app(w.worker) + q("api-version", "2019-08-01", "resource", "api://orders"), appHdr, "", appKeys, w.worker},
		{"App Service, by client_id", "", app(w.web) + q("api-version", "2019-08-01", "resource", "api://orders", "client_id", w.worker.AppID), appHdr, "", appKeys, w.worker},
		{"App Service, by principal_id", "", app(w.web) + q("api-version", "2019-08-01", "resource", "api://orders", "principal_id", w.worker.ID), appHdr, "", appKeys, w.worker},
		{"App Service, by object_id", "", app(w.web) + q("api-version", "2019-08-01", "resource", "api://orders", "object_id", w.worker.ID), appHdr, "", appKeys, w.worker},
		{"App Service, by mi_res_id", "", app(w.web) + q("api-version", "2019-08-01", "resource", "api://orders", "mi_res_id", w.worker.ManagedIdentityResourceID()), appHdr, "", appKeys, w.worker},
		{"IMDS, the endpoint's identity", "", imds(w.worker) + q("api-version", "2018-02-01", "resource", "api://orders"), imdsHdr, "", imdsKeys, w.worker},
		{"IMDS, by msi_res_id", "", imds(w.web) + q("api-version", "2018-02-01", "resource", "api://orders", "msi_res_id", w.worker.ManagedIdentityResourceID()), imdsHdr, "", imdsKeys, w.worker},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := send(t, cmp.Or(tt.method, http.MethodGet), tt.url, tt.hdr, tt.body)
			if status != http.StatusOK {
				t.Fatalf("status %d: %v", status, body)
			}
			if len(body) != len(tt.keys) {
				t.Errorf("members %v, want %v", body, tt.keys)
			}
			for _, k := range tt.keys {
				if _, ok := body[k].(string); !ok {
					t.Errorf("%s = %#v, want a string", k, body[k])
				}
			}
			if body["token_type"] != "Bearer" || body["resource"] != "api://orders" || body["client_id"] != tt.identity.AppID {
				t.Errorf("answer %v", body)
			}
			c := claimsOf(t, body["access_token"].(string))
			want := map[string]any{"aud": "api://orders", "appid": tt.identity.AppID, "appidacr": "2", "oid": tt.identity.ID,
				"sub": tt.identity.ID, "tid": w.tenantID, "xms_mirid": tt.identity.ManagedIdentityResourceID()}
			for k, v := range want {
				if c[k] != v {
					t.Errorf("claim %s = %v, want %v", k, c[k], v)
				}
			}
			if roles, _ := c["roles"].([]any); len(roles) != 1 || roles[0] != "Orders.Read" {
				t.Errorf("roles %v, want [Orders.Read]", c["roles"])
			}
		})
	}
}

// TestRefusals: every refusal of both endpoints, in the endpoint's error
// shape and status.
func TestRefusals(t *testing.T) {
	w := newWorld(t)
	base := w.url + "/" + w.tenantID + "/"
	app := base + w.worker.ID + "/msi/token?api-version=2019-08-01&resource=api%3A%2F%2Forders"
	imds := base + w.worker.ID + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=api%3A%2F%2Forders"
	appHdr := map[string]string{"X-IDENTITY-HEADER": secret}
	imdsHdr := map[string]string{"Metadata": "true"}
	tests := []struct {
		name, method, url string
		hdr               map[string]string
		wantStatus        int
		wantText          string // in message or error_description
		wantOAuth         string // IMDS's error; "" for App Service's shape
	}{
		{"App Service without the header", "GET", app, nil, 401, "X-IDENTITY-HEADER", ""},
		{"App Service with a wrong header", "GET", app, map[string]string{"X-IDENTITY-HEADER": secret + "x"}, 401, "X-IDENTITY-HEADER", ""},
		{"App Service, another api-version", "GET", strings.Replace(app, "2019-08-01", "2017-09-01", 1), appHdr, 400, "api-version", ""},
		{"App Service without a resource", "GET", strings.Split(app, "&")[0], appHdr, 400, "'resource' is missing", ""},
		{"App Service, POST", "POST", app, appHdr, 405, "GET only", ""},
		{"App Service, an unknown client_id", "GET", app + "&client_id=" + tenant.NewGUID(), appHdr, 400, "Identity not found", ""},
		{"App Service, an application's client id", "GET", base + "00000000-0000-4000-8000-000000000000/msi/token?api-version=2019-08-01&resource=api%3A%2F%2Forders", appHdr, 400, "Identity not found", ""},
		{"App Service, two selectors", "GET", app + "&client_id=" + w.worker.AppID + "&object_id=" + w.worker.ID, appHdr, 400, "at most one", ""},
		{"App Service, a parameter twice", "GET", app + "&resource=api%3A%2F%2Forders", appHdr, 400, "more than once", ""},
		{"App Service, not assigned to the API", "GET", base + w.web.ID + "/msi/token?api-version=2019-08-01&resource=api%3A%2F%2Forders", appHdr, 400, "AADSTS501051", ""},
		{"App Service, a disabled identity", "GET", base + w.retired.ID + "/msi/token?api-version=2019-08-01&resource=api%3A%2F%2Forders", appHdr, 400, "AADSTS7000112", ""},
		{"App Service, an unknown resource", "GET", strings.Replace(app, "api%3A%2F%2Forders", "https%3A%2F%2Fvault.azure.net", 1), appHdr, 400, "AADSTS500011", ""},
		{"App Service, an unknown tenant", "GET", w.url + "/" + tenant.NewGUID() + "/" + w.worker.ID + "/msi/token?api-version=2019-08-01&resource=api%3A%2F%2Forders", appHdr, 400, "Identity not found", ""},
		{"IMDS without Metadata: true (the SDKs' probe)", "GET", imds, nil, 400, "Required metadata header not specified", "invalid_request"},
		{"IMDS, another api-version", "GET", strings.Replace(imds, "2018-02-01", "2019-08-01", 1), imdsHdr, 400, "api-version", "invalid_request"},
		{"IMDS, an unknown object_id", "GET", imds + "&object_id=" + tenant.NewGUID(), imdsHdr, 400, "Identity not found", "invalid_request"},
		{"IMDS, not assigned to the API", "GET", base + w.web.ID + "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=api%3A%2F%2Forders", imdsHdr, 400, "AADSTS501051", "invalid_client"},
		{"Cloud Shell, GET", "GET", base + w.worker.ID + "/cloudshell/token", imdsHdr, 405, "POST only", "invalid_request"},
		{"Cloud Shell without Metadata: true", "POST", base + w.worker.ID + "/cloudshell/token", map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, 400, "Required metadata header", "invalid_request"},
		{"Cloud Shell, not a form", "POST", base + w.worker.ID + "/cloudshell/token", imdsHdr, 400, "malformed", "invalid_request"},
		{"Azure ML without the secret", "GET", base + w.worker.ID + "/azureml/token?api-version=2017-09-01&resource=api%3A%2F%2Forders", nil, 401, "secret header", ""},
		{"Azure ML, another api-version", "GET", base + w.worker.ID + "/azureml/token?api-version=2019-08-01&resource=api%3A%2F%2Forders", map[string]string{"secret": secret}, 400, "api-version", ""},
		{"Azure ML, an unknown clientid", "GET", base + w.worker.ID + "/azureml/token?api-version=2017-09-01&resource=api%3A%2F%2Forders&clientid=" + tenant.NewGUID(), map[string]string{"secret": secret}, 400, "Identity not found", ""},
		{"no such endpoint", "GET", base + w.worker.ID + "/oauth2/token", appHdr, 404, "No managed identity endpoint", "not_found"},
		{"no identity in the path", "GET", w.url + "/msi/token", appHdr, 404, "No managed identity endpoint", "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := get(t, tt.method, tt.url, tt.hdr)
			if status != tt.wantStatus {
				t.Fatalf("status %d, want %d: %v", status, tt.wantStatus, body)
			}
			text, _ := body["message"].(string)
			if tt.wantOAuth != "" {
				text, _ = body["error_description"].(string)
				if body["error"] != tt.wantOAuth || len(body) != 2 {
					t.Errorf("body %v, want {error: %s, error_description}", body, tt.wantOAuth)
				}
			} else if code, _ := body["statusCode"].(float64); int(code) != tt.wantStatus || body["correlationId"] == "" || len(body) != 3 {
				t.Errorf("body %v, want {statusCode: %d, message, correlationId}", body, tt.wantStatus)
			}
			if !strings.Contains(text, tt.wantText) {
				t.Errorf("message %q lacks %q", text, tt.wantText)
			}
			if strings.Contains(text, secret) {
				t.Error("the answer shows the header secret")
			}
		})
	}
}
