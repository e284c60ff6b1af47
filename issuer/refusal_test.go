package issuer_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

// TestTokenRefusals checks every refusal of the token endpoint end to end:
// the AADSTS code, the OAuth `error` and the HTTP status (never the
// wording), and that the body and headers have Entra's shape.
func TestTokenRefusals(t *testing.T) {
	w := newWorld(t)
	v2 := "/" + tenantA + "/oauth2/v2.0/token"
	v1 := "/" + tenantA + "/oauth2/token"
	inv := func(kv ...string) url.Values {
		return ccForm(append([]string{"scope", "api://inventory/.default"}, kv...)...)
	}
	basic := func(user, pass string) func(*http.Request) {
		return func(r *http.Request) { r.SetBasicAuth(user, pass) }
	}
	for _, tc := range []struct {
		name       string
		method     string // default POST
		path       string
		body       string // raw body; default form.Encode()
		form       url.Values
		edit       func(*http.Request)
		wantCode   int
		wantError  string
		wantStatus int
	}{
		// Request shape.
		{name: "GET on the v2 token endpoint", method: http.MethodGet, path: v2, wantCode: 900561, wantError: "invalid_request", wantStatus: 400},
		{name: "GET on the v1 token endpoint", method: http.MethodGet, path: v1, wantCode: 900561, wantError: "invalid_request", wantStatus: 400},
		{name: "PUT on the token endpoint", method: http.MethodPut, path: v2, form: inv(), wantCode: 900561, wantError: "invalid_request", wantStatus: 400},
		{name: "JSON body", path: v2, form: inv(), edit: func(r *http.Request) { r.Header.Set("Content-Type", "application/json") },
			wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: "no content type", path: v2, form: inv(), edit: func(r *http.Request) { r.Header.Del("Content-Type") },
			wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: "garbled content type", path: v2, form: inv(), edit: func(r *http.Request) { r.Header.Set("Content-Type", "application/x-www-form-urlencoded; ;;") },
			wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: "body over 1 MiB", path: v2, body: "grant_type=client_credentials&pad=" + strings.Repeat("a", 1<<20),
			wantCode: 9002313, wantError: "invalid_request", wantStatus: 413},
		{name: "bad percent escape", path: v2, body: "grant_type=client_credentials&client_id=%zz", wantCode: 9002313, wantError: "invalid_request", wantStatus: 400},
		{name: "semicolon separator", path: v2, body: "grant_type=client_credentials;client_id=x", wantCode: 9002313, wantError: "invalid_request", wantStatus: 400},
		{name: "non-UTF-8 value", path: v2, body: "grant_type=client_credentials&scope=%ff%fe", wantCode: 9002313, wantError: "invalid_request", wantStatus: 400},
		{name: "duplicated grant_type", path: v2, body: inv().Encode() + "&grant_type=password", wantCode: 9002313, wantError: "invalid_request", wantStatus: 400},
		{name: "duplicated client_secret", path: v2, body: inv().Encode() + "&client_secret=other", wantCode: 9002313, wantError: "invalid_request", wantStatus: 400},
		{name: "duplicated scope", path: v2, body: inv().Encode() + "&scope=api%3A%2F%2Finventory%2F.default", wantCode: 9002313, wantError: "invalid_request", wantStatus: 400},
		{name: "Basic client_id differs from the body", path: v2, form: inv("client_secret", ""), edit: basic(ordersID, url.QueryEscape(clientSecret)),
			wantCode: 9002313, wantError: "invalid_request", wantStatus: 400},
		{name: "Basic secret differs from the body", path: v2, form: inv(), edit: basic(clientID, "another-secret-0001"),
			wantCode: 9002313, wantError: "invalid_request", wantStatus: 400},
		{name: "Basic credentials not form-urlencoded", path: v2, form: inv("client_id", "", "client_secret", ""), edit: basic(clientID, "bad%zzescape"),
			wantCode: 9002313, wantError: "invalid_request", wantStatus: 400},
		{name: "secret and assertion together", path: v2, form: inv("client_assertion", "eyJ.x.y", "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
			wantCode: 9002313, wantError: "invalid_request", wantStatus: 400},

		// Grant type.
		{name: "missing grant_type", path: v2, form: inv("grant_type", ""), wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: "unknown grant_type", path: v2, form: inv("grant_type", "magic"), wantCode: 70003, wantError: "unsupported_grant_type", wantStatus: 400},
		{name: "password grant without username", path: v2, form: inv("grant_type", "password"), wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: "refresh_token grant without refresh_token", path: v2, form: inv("grant_type", "refresh_token"), wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: "jwt-bearer grant without requested_token_use", path: v2, form: inv("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), wantCode: 900144, wantError: "invalid_request", wantStatus: 400},

		// Tenant.
		{name: "unknown tenant GUID", path: "/99999999-9999-4999-8999-999999999999/oauth2/v2.0/token", form: inv(), wantCode: 90002, wantError: "invalid_request", wantStatus: 400},
		{name: "unknown tenant domain", path: "/nowhere.onmicrosoft.com/oauth2/v2.0/token", form: inv(), wantCode: 90002, wantError: "invalid_request", wantStatus: 400},
		{name: "malformed tenant", path: "/not_a_tenant/oauth2/v2.0/token", form: inv(), wantCode: 900023, wantError: "invalid_request", wantStatus: 400},
		{name: "malformed tenant on v1", path: "/-bad-.example/oauth2/token", form: ccForm("resource", "api://orders"), wantCode: 900023, wantError: "invalid_request", wantStatus: 400},
		{name: "common", path: "/common/oauth2/v2.0/token", form: inv(), wantCode: 50059, wantError: "invalid_request", wantStatus: 400},
		{name: "organizations", path: "/organizations/oauth2/v2.0/token", form: inv(), wantCode: 50059, wantError: "invalid_request", wantStatus: 400},
		{name: "consumers", path: "/consumers/oauth2/token", form: ccForm("resource", "api://orders"), wantCode: 50059, wantError: "invalid_request", wantStatus: 400},
		{name: "Common in upper case", path: "/COMMON/oauth2/v2.0/token", form: inv(), wantCode: 50059, wantError: "invalid_request", wantStatus: 400},

		// Client, before its credential.
		{name: "missing client_id", path: v2, form: inv("client_id", ""), wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: "unknown client", path: v2, form: inv("client_id", "00000000-1111-4222-8333-444444444444"), wantCode: 700016, wantError: "unauthorized_client", wantStatus: 400},
		{name: "client_id not a GUID", path: v2, form: inv("client_id", "daemon"), wantCode: 700016, wantError: "unauthorized_client", wantStatus: 400},
		{name: "single-tenant client of another tenant", path: v2, form: inv("client_id", foreignID, "client_secret", "foreign-secret-value-0001"),
			wantCode: 700016, wantError: "unauthorized_client", wantStatus: 400},
		{name: "disabled client", path: v2, form: inv("client_id", disabledID, "client_secret", "disabled-secret-value-0001"),
			wantCode: 7000112, wantError: "unauthorized_client", wantStatus: 400},
		{name: "disabled client with a wrong secret is still disabled first", path: v2, form: inv("client_id", disabledID, "client_secret", "wrong"),
			wantCode: 7000112, wantError: "unauthorized_client", wantStatus: 400},
		{name: "unknown client with no secret is still unknown first", path: v2, form: inv("client_id", "00000000-1111-4222-8333-444444444444", "client_secret", ""),
			wantCode: 700016, wantError: "unauthorized_client", wantStatus: 400},

		// Credential.
		{name: "no credential", path: v2, form: inv("client_secret", ""), wantCode: 7000218, wantError: "invalid_client", wantStatus: 401},
		{name: "empty secret", path: v2, body: inv("client_secret", "").Encode() + "&client_secret=", wantCode: 7000218, wantError: "invalid_client", wantStatus: 401},
		{name: "wrong secret", path: v2, form: inv("client_secret", "not-the-secret-0001"), wantCode: 7000215, wantError: "invalid_client", wantStatus: 401},
		{name: "secret of another app", path: v2, form: inv("client_secret", staleSecret), wantCode: 7000215, wantError: "invalid_client", wantStatus: 401},
		{name: "Basic secret sent without form-urlencoding", path: v2, form: inv("client_id", "", "client_secret", ""), edit: basic(clientID, clientSecret),
			wantCode: 7000215, wantError: "invalid_client", wantStatus: 401},
		{name: "expired secret", path: v2, form: inv("client_id", staleID, "client_secret", staleSecret), wantCode: 7000222, wantError: "invalid_client", wantStatus: 401},
		{name: "public client with a secret", path: v2, form: inv("client_id", publicID, "client_secret", "anything-at-all-0001"),
			wantCode: 700025, wantError: "invalid_client", wantStatus: 401},
		{name: "public client with nothing", path: v2, form: inv("client_id", publicID, "client_secret", ""), wantCode: 7000218, wantError: "invalid_client", wantStatus: 401},
		{name: "client assertion without claims", path: v2,
			form:     inv("client_secret", "", "client_assertion", "eyJhbGciOiJQUzI1NiJ9.e30.c2ln", "client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
			wantCode: 90014, wantError: "invalid_request", wantStatus: 400},

		// Scope and resource.
		{name: "v2 without scope", path: v2, form: ccForm(), wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: "v2 with empty scope", path: v2, form: ccForm("scope", " "), wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: "scope without /.default", path: v2, form: ccForm("scope", "api://inventory/Inventory.Read"), wantCode: 1002012, wantError: "invalid_scope", wantStatus: 400},
		{name: "only OIDC scopes", path: v2, form: ccForm("scope", "openid offline_access profile"), wantCode: 1002012, wantError: "invalid_scope", wantStatus: 400},
		{name: "bare .default", path: v2, form: ccForm("scope", ".default"), wantCode: 1002012, wantError: "invalid_scope", wantStatus: 400},
		{name: "two resources", path: v2, form: ccForm("scope", "api://inventory/.default api://orders/.default"), wantCode: 70011, wantError: "invalid_scope", wantStatus: 400},
		// Scopes are separated by the ASCII space only (RFC 6749 §3.3):
		// other white space was split on, and accepted.
		{name: "no-break space between scopes", path: v2, form: ccForm("scope", "api://inventory/.default\u00a0openid"), wantCode: 70011, wantError: "invalid_scope", wantStatus: 400},
		{name: "tab between scopes", path: v2, form: ccForm("scope", "api://inventory/.default\topenid"), wantCode: 70011, wantError: "invalid_scope", wantStatus: 400},
		{name: "ideographic space between scopes", path: v2, form: ccForm("scope", "openid\u3000api://inventory/.default"), wantCode: 70011, wantError: "invalid_scope", wantStatus: 400},
		{name: "line feed after the scope", path: v2, form: ccForm("scope", "api://inventory/.default\n"), wantCode: 70011, wantError: "invalid_scope", wantStatus: 400},
		{name: ".default with a named scope", path: v2, form: ccForm("scope", "api://inventory/.default api://inventory/Inventory.Read"), wantCode: 70011, wantError: "invalid_scope", wantStatus: 400},
		{name: "resource parameter on v2", path: v2, form: inv("resource", "api://inventory"), wantCode: 901002, wantError: "invalid_request", wantStatus: 400},
		{name: "v1 without resource", path: v1, form: ccForm("scope", "api://orders/.default"), wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: "unknown resource", path: v2, form: ccForm("scope", "api://nothing/.default"), wantCode: 500011, wantError: "invalid_resource", wantStatus: 400},
		{name: "unknown resource on v1", path: v1, form: ccForm("resource", "https://unknown.contoso.com"), wantCode: 500011, wantError: "invalid_resource", wantStatus: 400},
		{name: "resource of another tenant", path: v2, form: ccForm("scope", "api://fabrikam/.default"), wantCode: 500011, wantError: "invalid_resource", wantStatus: 400},
		{name: "disabled resource", path: v2, form: ccForm("scope", "api://legacy/.default"), wantCode: 500014, wantError: "invalid_resource", wantStatus: 400},
		{name: "assignment required and none held", path: v2, form: ccForm("scope", "api://payroll/.default"), wantCode: 501051, wantError: "invalid_client", wantStatus: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = http.MethodPost
			}
			body := tc.body
			if body == "" && tc.form != nil {
				body = tc.form.Encode()
			}
			req := w.request(t, method, tc.path, body)
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if tc.edit != nil {
				tc.edit(req)
			}
			r := w.do(t, req)
			e := checkErrorShape(t, r, tc.wantCode)
			if r.status != tc.wantStatus || e.Error != tc.wantError || len(e.ErrorCodes) != 1 || e.ErrorCodes[0] != tc.wantCode {
				t.Errorf("%s %s = %d %s %v; want %d %s [%d]\n%s", method, tc.path, r.status, e.Error, e.ErrorCodes,
					tc.wantStatus, tc.wantError, tc.wantCode, r.body)
			}
			checkNoStoreHeaders(t, r, tc.wantCode)
		})
	}
}

// checkErrorShape checks that an error body has Entra's members in Entra's
// order and that they agree with each other and with the headers
// (protocol.md §5.1).
func checkErrorShape(t *testing.T, r result, code int) errorResponse {
	t.Helper()
	var e errorResponse
	r.decode(t, &e)
	want := []string{"error", "error_description", "error_codes", "timestamp", "trace_id", "correlation_id", "error_uri"}
	got := keysInOrder(t, r.body)
	if e.SubError != "" {
		want = append(want, "suberror")
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("error members = %v; want %v", got, want)
	}
	if !strings.HasPrefix(e.ErrorDescription, fmt.Sprintf("AADSTS%d: ", code)) {
		t.Errorf("error_description = %q; want it to start with AADSTS%d", e.ErrorDescription, code)
	}
	for _, part := range []string{"\r\nTrace ID: " + e.TraceID, "\r\nCorrelation ID: " + e.CorrelationID, "\r\nTimestamp: " + e.Timestamp} {
		if !strings.Contains(e.ErrorDescription, part) {
			t.Errorf("error_description = %q; want it to contain %q", e.ErrorDescription, part)
		}
	}
	if _, err := time.Parse("2006-01-02 15:04:05Z", e.Timestamp); err != nil {
		t.Errorf("timestamp = %q; want Entra's 2006-01-02 15:04:05Z layout", e.Timestamp)
	}
	if got := r.header.Get("x-ms-request-id"); got != e.TraceID || got == "" {
		t.Errorf("x-ms-request-id = %q; want trace_id %q", got, e.TraceID)
	}
	if e.CorrelationID == "" {
		t.Errorf("correlation_id is empty")
	}
	if want := fmt.Sprintf("https://login.microsoftonline.com/error?code=%d", code); e.ErrorURI != want {
		t.Errorf("error_uri = %q; want %q", e.ErrorURI, want)
	}
	return e
}

// TestCorrelationID checks that correlation_id echoes the caller's
// client-request-id when it is a GUID (header, query or form, as MSAL and
// msal-node send it) and is generated otherwise.
func TestCorrelationID(t *testing.T) {
	w := newWorld(t)
	const id = "5fc87507-4086-4e77-b415-cee677eb232e"
	bad := ccForm("scope", "api://inventory/.default", "client_secret", "wrong-secret-0001")
	for _, tc := range []struct {
		name  string
		path  string
		form  url.Values
		edit  func(*http.Request)
		echo  bool
		value string
	}{
		{name: "client-request-id header", edit: func(r *http.Request) { r.Header.Set("client-request-id", id) }, echo: true, value: id},
		{name: "x-ms-client-request-id header", edit: func(r *http.Request) { r.Header.Set("x-ms-client-request-id", id) }, echo: true, value: id},
		{name: "query parameter", path: "?client-request-id=" + id, echo: true, value: id},
		{name: "form parameter", form: ccForm("scope", "api://inventory/.default", "client_secret", "wrong-secret-0001", "client-request-id", id), echo: true, value: id},
		{name: "not a GUID", edit: func(r *http.Request) { r.Header.Set("client-request-id", "my-request") }},
		{name: "absent"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			form := tc.form
			if form == nil {
				form = bad
			}
			var edits []func(*http.Request)
			if tc.edit != nil {
				edits = append(edits, tc.edit)
			}
			r := w.post(t, "/"+tenantA+"/oauth2/v2.0/token"+tc.path, form, edits...)
			e := checkErrorShape(t, r, 7000215)
			if tc.echo {
				if e.CorrelationID != tc.value || r.header.Get("client-request-id") != tc.value {
					t.Errorf("correlation_id, client-request-id header = %q, %q; want %q", e.CorrelationID, r.header.Get("client-request-id"), tc.value)
				}
				return
			}
			if e.CorrelationID == "" || e.CorrelationID == "my-request" || r.header.Get("client-request-id") != "" {
				t.Errorf("correlation_id, client-request-id header = %q, %q; want a generated GUID and no echo", e.CorrelationID, r.header.Get("client-request-id"))
			}
		})
	}
}

// TestTokenEndpointOptions checks that CORS preflights of the token
// endpoint succeed, as Entra's do.
func TestTokenEndpointOptions(t *testing.T) {
	w := newWorld(t)
	req := w.request(t, http.MethodOptions, "/"+tenantA+"/oauth2/v2.0/token", "")
	req.Header.Set("Origin", "https://app.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "content-type")
	r := w.do(t, req)
	if r.status != http.StatusOK || r.header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(r.header.Get("Access-Control-Allow-Methods"), "POST") || r.header.Get("Access-Control-Allow-Headers") != "content-type" {
		t.Errorf("OPTIONS token endpoint = %d %v; want 200 with CORS headers allowing POST", r.status, r.header)
	}
}

// TestMissingServicePrincipal: an application registered in its home
// tenant whose service principal there was deleted (an `az ad app create`
// without `az ad sp create`) is AADSTS7000229 invalid_client 401, after its
// credential was checked; elsewhere it is still unknown (700016).
func TestMissingServicePrincipal(t *testing.T) {
	w := newWorld(t)
	w.must(w.Directory.RemoveServicePrincipal(context.Background(), tenantA, clientID))
	for _, tc := range []struct {
		name       string
		tenant     string
		form       url.Values
		wantCode   int
		wantError  string
		wantStatus int
	}{
		{"right secret", tenantA, ccForm("scope", "api://inventory/.default"), 7000229, "invalid_client", 401},
		{"right secret, v1", tenantA, ccForm("resource", "api://orders"), 7000229, "invalid_client", 401},
		{"wrong secret is checked first", tenantA, ccForm("scope", "api://inventory/.default", "client_secret", "not-the-secret-0001"), 7000215, "invalid_client", 401},
		{"no credential is checked first", tenantA, ccForm("scope", "api://inventory/.default", "client_secret", ""), 7000218, "invalid_client", 401},
		{"another tenant", tenantB, ccForm("scope", "api://fabrikam/.default"), 700016, "unauthorized_client", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := "/" + tc.tenant + "/oauth2/v2.0/token"
			if tc.form.Get("resource") != "" {
				path = "/" + tc.tenant + "/oauth2/token"
			}
			r := w.post(t, path, tc.form)
			e := checkErrorShape(t, r, tc.wantCode)
			if r.status != tc.wantStatus || e.Error != tc.wantError {
				t.Errorf("%s = %d %s; want %d %s\n%s", path, r.status, e.Error, tc.wantStatus, tc.wantError, r.body)
			}
			if tc.wantCode == 7000229 && !strings.Contains(e.ErrorDescription, "is missing service principal in the tenant "+tenantA) {
				t.Errorf("error_description = %q; want Entra's text naming the tenant", e.ErrorDescription)
			}
		})
	}
	logs := w.Logs()
	if e := logs[0]; e.ErrorCode != 7000229 || e.Reason != "client_missing_service_principal" || !strings.Contains(e.Detail, "sp add") {
		t.Errorf("sign-in = %+v; want 7000229 with its reason and a detail saying how to fix it", e)
	}
}
