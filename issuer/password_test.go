package issuer_test

import (
	"net/http"
	"slices"
	"strings"
	"testing"
)

// TestPasswordGrant checks the password grant's successes end to end: the
// response shape of each endpoint, the access token verified against the
// JWKS with Entra's delegated claims, the id_token, client_info and the
// refresh token when Entra sends them.
func TestPasswordGrant(t *testing.T) {
	w := newDelegatedWorld(t)
	v2 := "/" + tenantA + "/oauth2/v2.0/token"
	v1 := "/" + tenantA + "/oauth2/token"
	for _, tc := range []struct {
		name          string
		path          string
		form          func() map[string][]string
		endpoint      int
		tokenVersion  int
		wantScope     string
		wantScp       string
		wantAud       string
		wantACR       string
		wantRefresh   bool
		wantIDToken   bool
		wantClientInf bool
	}{
		{name: "v2, public client, MSAL's scopes", path: v2, form: func() map[string][]string { return pwForm() }, endpoint: 2, tokenVersion: 2,
			wantScope: "api://middle/access_as_user", wantScp: "access_as_user", wantAud: middleID, wantACR: "0",
			wantRefresh: true, wantIDToken: true, wantClientInf: true},
		{name: "v2 without offline_access has no refresh token", path: v2,
			form:     func() map[string][]string { return pwForm("scope", "api://middle/access_as_user", "client_info", "") },
			endpoint: 2, tokenVersion: 2, wantScope: "api://middle/access_as_user", wantScp: "access_as_user", wantAud: middleID, wantACR: "0"},
		{name: "v2 /.default lists every granted scope and the .default", path: v2,
			form:     func() map[string][]string { return pwForm("scope", "api://middle/.default offline_access") },
			endpoint: 2, tokenVersion: 2, wantScope: "api://middle/access_as_user api://middle/.default", wantScp: "access_as_user",
			wantAud: middleID, wantACR: "0", wantRefresh: true, wantClientInf: true},
		{name: "v2 by appId, user name in another case", path: v2,
			form: func() map[string][]string {
				return pwForm("scope", middleID+"/ACCESS_AS_USER openid", "username", "ADA@Contoso.onmicrosoft.com")
			},
			endpoint: 2, tokenVersion: 2, wantScope: middleID + "/access_as_user", wantScp: "access_as_user", wantAud: middleID, wantACR: "0",
			wantIDToken: true, wantClientInf: true},
		{name: "v2 at organizations finds Contoso by the domain", path: "/organizations/oauth2/v2.0/token", form: func() map[string][]string { return pwForm() },
			endpoint: 2, tokenVersion: 2, wantScope: "api://middle/access_as_user", wantScp: "access_as_user",
			wantAud: middleID, wantACR: "0", wantRefresh: true, wantIDToken: true, wantClientInf: true},
		{name: "v2 at Contoso's domain name", path: "/contoso.com/oauth2/v2.0/token", form: func() map[string][]string { return pwForm() },
			endpoint: 2, tokenVersion: 2, wantScope: "api://middle/access_as_user", wantScp: "access_as_user",
			wantAud: middleID, wantACR: "0", wantRefresh: true, wantIDToken: true, wantClientInf: true},
		{name: "v2, confidential client with its secret, v1 resource", path: v2,
			form: func() map[string][]string {
				return pwForm("client_id", middleID, "client_secret", middleSecret, "scope", "api://orders/Orders.Read offline_access", "client_info", "")
			},
			endpoint: 2, tokenVersion: 1, wantScope: "api://orders/Orders.Read", wantScp: "Orders.Read", wantAud: "api://orders", wantACR: "1",
			wantRefresh: true},
		{name: "v1 endpoint: resource, openid, refresh token always", path: v1,
			form: func() map[string][]string {
				return pwForm("scope", "openid", "resource", "api://middle", "client_info", "")
			},
			endpoint: 1, tokenVersion: 2, wantScope: "access_as_user", wantScp: "access_as_user", wantAud: middleID, wantACR: "0",
			wantRefresh: true, wantIDToken: true},
		{name: "v1 endpoint without scope", path: v1,
			form: func() map[string][]string {
				return pwForm("scope", "", "resource", "api://orders", "client_id", middleID, "client_secret", middleSecret)
			},
			endpoint: 1, tokenVersion: 1, wantScope: "Orders.Read", wantScp: "Orders.Read", wantAud: "api://orders", wantACR: "1",
			wantRefresh: true, wantClientInf: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.post(t, tc.path, tc.form())
			if r.status != http.StatusOK {
				t.Fatalf("status %d; want 200\n%s", r.status, r.body)
			}
			var m map[string]any
			r.decode(t, &m)
			checkUserResponse(t, r, m, tc.endpoint, tc.wantRefresh, tc.wantIDToken, tc.wantClientInf)
			if m["scope"] != tc.wantScope {
				t.Errorf("scope = %v; want %q", m["scope"], tc.wantScope)
			}
			c := w.verify(t, m["access_token"].(string), tenantA, tc.tokenVersion).claims
			checkUserClaims(t, c, tc.tokenVersion, tc.wantAud, adaID, adaUPN, "Ada Lovelace", tc.wantScp, tc.wantACR)
			if tc.wantIDToken {
				checkIDToken(t, w, m["id_token"].(string), tc.endpoint, claimString(c, "appid", "azp"))
			}
			if tc.wantClientInf {
				if ci := clientInfoOf(t, m["client_info"]); ci["uid"] != adaID || ci["utid"] != tenantA {
					t.Errorf("client_info = %v; want uid %s, utid %s", ci, adaID, tenantA)
				}
			}
			if tc.endpoint == 1 && m["resource"] != tc.form()["resource"][0] {
				t.Errorf("resource = %v; want the request's", m["resource"])
			}
		})
	}
}

// claimString returns the first of the named claims that is present.
func claimString(c map[string]any, names ...string) string {
	for _, n := range names {
		if s, ok := c[n].(string); ok {
			return s
		}
	}
	return ""
}

// checkUserResponse checks the members and their types of a user flow's
// answer: v2 numbers with scope, v1 strings with expires_on, not_before and
// resource; refresh_token, id_token and client_info as expected; Entra's
// member order.
func checkUserResponse(t *testing.T, r result, m map[string]any, endpoint int, refresh, idToken, clientInfo bool) {
	t.Helper()
	want := []string{"token_type", "scope", "expires_in", "ext_expires_in", "access_token"}
	if endpoint == 1 {
		want = []string{"token_type", "scope", "expires_in", "ext_expires_in", "expires_on", "not_before", "resource", "access_token"}
	}
	if refresh {
		want = append(want, "refresh_token")
	}
	if idToken {
		want = append(want, "id_token")
	}
	if clientInfo {
		want = append(want, "client_info")
	}
	if got := keysInOrder(t, r.body); !slices.Equal(got, want) {
		t.Errorf("response members = %v; want %v", got, want)
	}
	if m["token_type"] != "Bearer" {
		t.Errorf("token_type = %v; want Bearer", m["token_type"])
	}
	if endpoint == 2 {
		if in, ok := m["expires_in"].(float64); !ok || in < 300 || m["ext_expires_in"] != in {
			t.Errorf("expires_in, ext_expires_in = %v, %v; want equal numbers ≥ 300", m["expires_in"], m["ext_expires_in"])
		}
	} else {
		for _, k := range []string{"expires_in", "ext_expires_in", "expires_on", "not_before"} {
			if _, ok := m[k].(string); !ok {
				t.Errorf("%s = %#v; want a string", k, m[k])
			}
		}
	}
	if rt, _ := m["refresh_token"].(string); refresh && (!strings.HasPrefix(rt, "1.A") || len(rt) < 46) {
		t.Errorf("refresh_token = %q; want an opaque 1.A… token of 256 bits", rt)
	}
}

// checkUserClaims checks the delegated claims of an access token (protocol.md
// §3.3): the user's identity, the client, scp, the absent idtyp, and Entra's
// claim order.
func checkUserClaims(t *testing.T, c map[string]any, version int, aud, oid, upn, name, scp, acr string) {
	t.Helper()
	checkClaim(t, c, "aud", aud)
	checkClaim(t, c, "oid", oid)
	checkClaim(t, c, "name", name)
	checkClaim(t, c, "scp", scp)
	checkAbsent(t, c, "idtyp", "ipaddr", "idp")
	if sub, _ := c["sub"].(string); len(sub) != 43 || sub == oid {
		t.Errorf("sub = %q; want a 43-character pairwise identifier", sub)
	}
	if version == 1 {
		checkClaim(t, c, "ver", "1.0")
		checkClaim(t, c, "upn", upn)
		checkClaim(t, c, "unique_name", upn)
		checkClaim(t, c, "acr", "1")
		checkClaim(t, c, "appidacr", acr)
		if amr := stringSlice(c["amr"]); !slices.Equal(amr, []string{"pwd"}) {
			t.Errorf("amr = %v; want [pwd]", amr)
		}
		checkAbsent(t, c, "azp", "azpacr", "preferred_username")
	} else {
		checkClaim(t, c, "ver", "2.0")
		checkClaim(t, c, "preferred_username", upn)
		checkClaim(t, c, "azpacr", acr)
		checkAbsent(t, c, "appid", "appidacr", "upn", "unique_name", "amr", "acr")
	}
}

// checkIDToken checks an id_token: on v2 signed and verifiable against the
// JWKS, on v1 unsigned (alg none); aud is the client.
func checkIDToken(t *testing.T, w *world, token string, endpoint int, client string) {
	t.Helper()
	var c map[string]any
	if endpoint == 2 {
		c = w.verify(t, token, tenantA, 2).claims
		checkClaim(t, c, "preferred_username", adaUPN)
		checkClaim(t, c, "ver", "2.0")
	} else {
		parts := strings.Split(token, ".")
		if len(parts) != 3 || parts[2] != "" {
			t.Fatalf("v1 id_token %q; want an unsigned JWT (empty signature)", token)
		}
		if h := decodeSegment(t, token, 0); h["alg"] != "none" {
			t.Errorf("v1 id_token header %v; want alg none", h)
		}
		c = decodeSegment(t, token, 1)
		checkClaim(t, c, "upn", adaUPN)
		checkClaim(t, c, "unique_name", adaUPN)
		checkClaim(t, c, "ver", "1.0")
	}
	checkClaim(t, c, "aud", client)
	checkClaim(t, c, "oid", adaID)
	checkClaim(t, c, "tid", tenantA)
	checkAbsent(t, c, "scp", "roles", "azp", "appid")
}

// TestPasswordGrantRefusals checks every refusal of the password grant
// with its code, `error`, status and suberror.
func TestPasswordGrantRefusals(t *testing.T) {
	w := newDelegatedWorld(t)
	v2 := "/" + tenantA + "/oauth2/v2.0/token"
	v1 := "/" + tenantA + "/oauth2/token"
	for _, tc := range []struct {
		name       string
		path       string
		form       map[string][]string
		wantCode   int
		wantError  string
		wantStatus int
		wantSub    string
	}{
		// Tenant.
		{name: "at /common", path: "/common/oauth2/v2.0/token", form: pwForm(), wantCode: 9001023, wantError: "invalid_request", wantStatus: 400},
		{name: "at /consumers", path: "/consumers/oauth2/v2.0/token", form: pwForm(), wantCode: 9001023, wantError: "invalid_request", wantStatus: 400},
		{name: "at /common on v1", path: "/common/oauth2/token", form: pwForm("resource", "api://middle", "scope", ""), wantCode: 9001023, wantError: "invalid_request", wantStatus: 400},
		{name: "unknown tenant", path: "/nowhere.example/oauth2/v2.0/token", form: pwForm(), wantCode: 90002, wantError: "invalid_request", wantStatus: 400},
		{name: "unknown domain at /organizations", path: "/organizations/oauth2/v2.0/token", form: pwForm("username", "ada@nowhere.example"),
			wantCode: 50034, wantError: "invalid_grant", wantStatus: 400, wantSub: "bad_token"},
		{name: "user name without a domain at /organizations", path: "/organizations/oauth2/v2.0/token", form: pwForm("username", "ada"),
			wantCode: 50034, wantError: "invalid_grant", wantStatus: 400, wantSub: "bad_token"},

		// Parameters.
		{name: "no client_id", path: v2, form: pwForm("client_id", ""), wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: "no username", path: v2, form: pwForm("username", ""), wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: "no password", path: v2, form: pwForm("password", ""), wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: "v2 without scope", path: v2, form: pwForm("scope", ""), wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: "resource on v2", path: v2, form: pwForm("resource", "api://middle"), wantCode: 901002, wantError: "invalid_request", wantStatus: 400},
		{name: "v1 without resource", path: v1, form: pwForm(), wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: ".default with a named scope", path: v2, form: pwForm("scope", "api://middle/.default api://middle/access_as_user"), wantCode: 70011, wantError: "invalid_scope", wantStatus: 400},
		{name: "a scope with an empty value", path: v2, form: pwForm("scope", "api://middle/ openid"), wantCode: 70011, wantError: "invalid_scope", wantStatus: 400},
		{name: "scopes of two resources", path: v2, form: pwForm("scope", "api://middle/access_as_user api://downstream/Data.Read"), wantCode: 28000, wantError: "invalid_scope", wantStatus: 400},
		{name: "a named scope and a Graph scope", path: v2, form: pwForm("scope", "api://middle/access_as_user User.Read"), wantCode: 28000, wantError: "invalid_scope", wantStatus: 400},

		// Client.
		{name: "unknown client", path: v2, form: pwForm("client_id", "00000000-1111-4222-8333-444444444444"), wantCode: 700016, wantError: "unauthorized_client", wantStatus: 400},
		{name: "client of another tenant", path: v2, form: pwForm("client_id", foreignID), wantCode: 700016, wantError: "unauthorized_client", wantStatus: 400},
		{name: "disabled client", path: v2, form: pwForm("client_id", disabledID, "client_secret", "disabled-secret-value-0001"), wantCode: 7000112, wantError: "unauthorized_client", wantStatus: 400},
		{name: "public client presenting a secret", path: v2, form: pwForm("client_secret", "anything-at-all-0001"), wantCode: 700025, wantError: "invalid_client", wantStatus: 401},
		{name: "confidential client without its secret", path: v2, form: pwForm("client_id", middleID, "scope", "api://downstream/Data.Read"), wantCode: 7000218, wantError: "invalid_client", wantStatus: 401},
		{name: "confidential client with a wrong secret", path: v2, form: pwForm("client_id", middleID, "client_secret", "wrong-secret-0001", "scope", "api://downstream/Data.Read"),
			wantCode: 7000215, wantError: "invalid_client", wantStatus: 401},

		// User.
		{name: "unknown user", path: v2, form: pwForm("username", "zed@contoso.onmicrosoft.com"), wantCode: 50034, wantError: "invalid_grant", wantStatus: 400, wantSub: "bad_token"},
		// Only ASCII letters fold: U+0130 (İ) lowercases to "i" under
		// Unicode rules and U+212A (the Kelvin sign) to "k", which let
		// these names sign in as ada.
		{name: "user name with a dotted capital I for i", path: v2, form: pwForm("username", "ada@contoso.onm\u0130crosoft.com"),
			wantCode: 50034, wantError: "invalid_grant", wantStatus: 400, wantSub: "bad_token"},
		{name: "user name with a Kelvin sign", path: v2, form: pwForm("username", "\u212Aada@contoso.onmicrosoft.com"),
			wantCode: 50034, wantError: "invalid_grant", wantStatus: 400, wantSub: "bad_token"},
		{name: "tenant domain with a dotted capital I for i", path: "/contoso.onm%C4%B0crosoft.com/oauth2/v2.0/token", form: pwForm(),
			wantCode: 900023, wantError: "invalid_request", wantStatus: 400},
		{name: "user of another tenant", path: v2, form: pwForm("username", fayUPN, "password", fayPassword), wantCode: 50034, wantError: "invalid_grant", wantStatus: 400, wantSub: "bad_token"},
		{name: "wrong password", path: v2, form: pwForm("password", "Correct Horse Battery Staple"), wantCode: 50126, wantError: "invalid_grant", wantStatus: 400},
		{name: "user without a password", path: v2, form: pwForm("username", linusUPN, "password", "anything"), wantCode: 50056, wantError: "invalid_grant", wantStatus: 400},
		{name: "disabled user", path: v2, form: pwForm("username", graceUPN), wantCode: 50057, wantError: "invalid_grant", wantStatus: 400},
		{name: "disabled user, wrong password", path: v2, form: pwForm("username", graceUPN, "password", "nope"), wantCode: 50126, wantError: "invalid_grant", wantStatus: 400},

		// Resource and policy.
		// Microsoft Graph is in every tenant; nobody consented to it here.
		{name: "Graph without consent", path: v2, form: pwForm("scope", "User.Read openid"),
			wantCode: 65001, wantError: "invalid_grant", wantStatus: 400, wantSub: "consent_required"},
		{name: "only OIDC scopes: a Graph sign-in without consent", path: v2, form: pwForm("scope", "openid profile offline_access"),
			wantCode: 65001, wantError: "invalid_grant", wantStatus: 400, wantSub: "consent_required"},
		{name: "resource of another tenant", path: v2, form: pwForm("scope", "api://fabrikam/.default"), wantCode: 500011, wantError: "invalid_resource", wantStatus: 400},
		{name: "a scope the resource does not expose", path: v2, form: pwForm("scope", "api://middle/Nope"), wantCode: 70011, wantError: "invalid_scope", wantStatus: 400},
		{name: "no consent for the resource", path: v2, form: pwForm("scope", "api://downstream/Data.Read"),
			wantCode: 65001, wantError: "invalid_grant", wantStatus: 400, wantSub: "consent_required"},
		{name: "no consent, v1", path: v1, form: pwForm("scope", "", "resource", "api://downstream"),
			wantCode: 65001, wantError: "invalid_grant", wantStatus: 400, wantSub: "consent_required"},
		{name: "resource requires assignment", path: v2, form: pwForm("client_id", middleID, "client_secret", middleSecret, "scope", "api://payroll/Payroll.Read"),
			wantCode: 50105, wantError: "invalid_grant", wantStatus: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			checkRefused(t, w.post(t, tc.path, tc.form), tc.wantCode, tc.wantError, tc.wantStatus, tc.wantSub)
		})
	}
}

// TestUserRealm checks /common/UserRealm, which MSAL calls before the
// password grant.
func TestUserRealm(t *testing.T) {
	w := newDelegatedWorld(t)
	for _, tc := range []struct {
		path, wantType, wantDomain string
		wantStatus                 int
	}{
		{"/common/UserRealm/" + adaUPN + "?api-version=1.0", "Managed", "contoso.onmicrosoft.com", 200},
		{"/common/userrealm/" + linusUPN, "Managed", "contoso.com", 200},
		{"/Common/UserRealm/ADA@CONTOSO.ONMICROSOFT.COM?api-version=1.0", "Managed", "contoso.onmicrosoft.com", 200},
		{"/common/UserRealm/someone@nowhere.example", "Unknown", "", 200},
		{"/common/UserRealm/not-a-upn", "Unknown", "", 200},
		{"/common/UserRealm/x@-bad-.example", "Unknown", "", 200},
		{"/" + tenantA + "/UserRealm/" + adaUPN, "", "", 404},
	} {
		t.Run(tc.path, func(t *testing.T) {
			r := w.get(t, tc.path)
			if r.status != tc.wantStatus {
				t.Fatalf("status %d; want %d\n%s", r.status, tc.wantStatus, r.body)
			}
			if tc.wantStatus != 200 {
				return
			}
			var m map[string]any
			r.decode(t, &m)
			want := map[string]any{"ver": "1.0", "account_type": tc.wantType, "cloud_instance_name": "microsoftonline.com",
				"cloud_audience_urn": "urn:federation:MicrosoftOnline"}
			if tc.wantDomain != "" {
				want["domain_name"] = tc.wantDomain
			}
			for k, v := range want {
				if m[k] != v {
					t.Errorf("%s = %v; want %v", k, m[k], v)
				}
			}
			if len(m) != len(want) {
				t.Errorf("members %v; want %v", m, want)
			}
		})
	}
}
