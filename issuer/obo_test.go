package issuer_test

import (
	"net/http"
	"net/url"
	"slices"
	"testing"

	"github.com/go-jose/go-jose/v4"
)

// TestOnBehalfOf checks the on-behalf-of grant's successes end to end: the
// middle tier exchanges Ada's token for a downstream token that keeps the
// user and names the middle tier, v2 and v1, at the tenant and at /common
// and /organizations, in a chain of two hops, and across tenants.
func TestOnBehalfOf(t *testing.T) {
	w := newDelegatedWorld(t)
	v2 := "/" + tenantA + "/oauth2/v2.0/token"
	v1 := "/" + tenantA + "/oauth2/token"
	ada := w.adaToken(t)
	adaSub := claimsOf(t, ada)["sub"]

	type want struct {
		version   int
		aud       string
		client    string
		acr       string
		scp       string
		roles     []string
		scope     string
		refresh   bool
		idToken   bool
		clientInf bool
	}
	downstream := want{version: 2, aud: downstreamID, client: middleID, acr: "1", scp: "Data.Read", roles: []string{"Data.Admin"},
		scope: "api://downstream/Data.Read", refresh: true, idToken: true, clientInf: true}
	for _, tc := range []struct {
		name     string
		path     string
		form     url.Values
		basic    bool
		endpoint int
		want     want
	}{
		{name: "v2, MSAL's request", path: v2, form: oboForm(ada), endpoint: 2, want: downstream},
		{name: "v2 at /common: issued in the user's tenant", path: "/common/oauth2/v2.0/token", form: oboForm(ada), endpoint: 2, want: downstream},
		{name: "v2 at /organizations", path: "/organizations/oauth2/v2.0/token", form: oboForm(ada), endpoint: 2, want: downstream},
		{name: "v2 with the secret in HTTP Basic", path: v2, form: oboForm(ada, "client_secret", ""), basic: true, endpoint: 2, want: downstream},
		{name: "v2 /.default is every consented scope", path: v2, form: oboForm(ada, "scope", "api://downstream/.default", "client_info", ""), endpoint: 2,
			want: want{version: 2, aud: downstreamID, client: middleID, acr: "1", scp: "Data.Read", roles: []string{"Data.Admin"},
				scope: "api://downstream/Data.Read api://downstream/.default"}},
		{name: "v2 for a v1 resource", path: v2, form: oboForm(ada, "scope", "api://orders/Orders.Read offline_access", "client_info", ""), endpoint: 2,
			want: want{version: 1, aud: "api://orders", client: middleID, acr: "1", scp: "Orders.Read", scope: "api://orders/Orders.Read", refresh: true}},
		{name: "v1 endpoint: resource, refresh token always", path: v1, form: oboForm(ada, "scope", "", "resource", "api://orders", "client_info", ""), endpoint: 1,
			want: want{version: 1, aud: "api://orders", client: middleID, acr: "1", scp: "Orders.Read", scope: "Orders.Read", refresh: true}},
		{name: "v1 endpoint with scope=openid", path: v1, form: oboForm(ada, "scope", "openid", "resource", downstreamID, "client_info", ""), endpoint: 1,
			want: want{version: 2, aud: downstreamID, client: middleID, acr: "1", scp: "Data.Read", roles: []string{"Data.Admin"}, scope: "Data.Read", refresh: true, idToken: true}},
		{name: "assertion from issuer token user", path: v2, form: oboForm(w.UserToken(t, tenantA, adaUPN, nativeID, "api://middle", "access_as_user")),
			endpoint: 2, want: downstream},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var edits []func(*http.Request)
			if tc.basic {
				edits = append(edits, func(r *http.Request) { r.SetBasicAuth(middleID, url.QueryEscape(middleSecret)) })
			}
			r := w.post(t, tc.path, tc.form, edits...)
			if r.status != http.StatusOK {
				t.Fatalf("status %d; want 200\n%s", r.status, r.body)
			}
			var m map[string]any
			r.decode(t, &m)
			checkUserResponse(t, r, m, tc.endpoint, tc.want.refresh, tc.want.idToken, tc.want.clientInf)
			if m["scope"] != tc.want.scope {
				t.Errorf("scope = %v; want %q", m["scope"], tc.want.scope)
			}
			c := w.verify(t, m["access_token"].(string), tenantA, tc.want.version).claims
			checkUserClaims(t, c, tc.want.version, tc.want.aud, adaID, adaUPN, "Ada Lovelace", tc.want.scp, tc.want.acr)
			checkClaim(t, c, "tid", tenantA)
			checkClaim(t, c, claimName(tc.want.version, "appid", "azp"), tc.want.client)
			if tc.want.roles == nil {
				checkAbsent(t, c, "roles")
			} else if got := stringSlice(c["roles"]); !slices.Equal(got, tc.want.roles) {
				t.Errorf("roles = %v; want %v", got, tc.want.roles)
			}
			if c["sub"] == adaSub {
				t.Errorf("sub = %v, the assertion's; want a new pairwise sub for the new audience", c["sub"])
			}
			if tc.want.idToken {
				checkIDToken(t, w, m["id_token"].(string), tc.endpoint, middleID)
			}
		})
	}

	t.Run("sub is stable per user and audience", func(t *testing.T) {
		a := claimsOf(t, w.tokenOK(t, v2, oboForm(ada))["access_token"].(string))
		b := claimsOf(t, w.tokenOK(t, v2, oboForm(ada, "scope", "api://downstream/.default"))["access_token"].(string))
		if a["sub"] != b["sub"] {
			t.Errorf("sub %v then %v for the same user and audience; want the same", a["sub"], b["sub"])
		}
	})

	t.Run("chain: the OBO token is the assertion of a further hop", func(t *testing.T) {
		// Middle Tier → Orders API (a v1 token whose aud is api://orders),
		// then Orders API → Downstream API.
		hop1 := w.tokenOK(t, v2, oboForm(ada, "scope", "api://orders/Orders.Read"))["access_token"].(string)
		m := w.tokenOK(t, v2, oboForm(hop1, "client_id", ordersID, "client_secret", ordersSecret))
		c := w.verify(t, m["access_token"].(string), tenantA, 2).claims
		checkUserClaims(t, c, 2, downstreamID, adaID, adaUPN, "Ada Lovelace", "Data.Read", "1")
		checkClaim(t, c, "azp", ordersID)
	})

	t.Run("cross-tenant: a Fabrikam middle tier consented in Contoso serves a Contoso user", func(t *testing.T) {
		assertion := w.tokenOK(t, v2, pwForm("scope", "api://partner-middle/access_as_user"))["access_token"].(string)
		form := oboForm(assertion, "client_id", pMiddleID, "client_secret", pMiddleSec, "scope", "api://partner-api/Partner.Read offline_access")
		m := w.tokenOK(t, "/organizations/oauth2/v2.0/token", form)
		c := w.verify(t, m["access_token"].(string), tenantA, 1).claims
		checkUserClaims(t, c, 1, "api://partner-api", adaID, adaUPN, "Ada Lovelace", "Partner.Read", "1")
		checkClaim(t, c, "tid", tenantA)
		checkClaim(t, c, "appid", pMiddleID)
	})
}

// claimName picks the v1 or v2 name of a claim.
func claimName(version int, v1, v2 string) string {
	if version == 1 {
		return v1
	}
	return v2
}

// TestOnBehalfOfRefusals checks every refusal of the on-behalf-of grant
// with its code, `error`, status and suberror.
func TestOnBehalfOfRefusals(t *testing.T) {
	w := newDelegatedWorld(t)
	v2 := "/" + tenantA + "/oauth2/v2.0/token"
	v1 := "/" + tenantA + "/oauth2/token"
	ada := w.adaToken(t)
	key := testKey(t)
	appOnly := w.tokenOK(t, v2, ccForm("scope", "api://middle/.default"))["access_token"].(string)
	idToken := w.tokenOK(t, v2, pwForm("client_id", middleID, "client_secret", middleSecret, "scope", "openid api://downstream/Data.Read"))["id_token"].(string)
	forDownstream := w.tokenOK(t, v2, oboForm(ada))["access_token"].(string)
	now := w.Now().Unix()

	for _, tc := range []struct {
		name       string
		path       string
		form       url.Values
		wantCode   int
		wantError  string
		wantStatus int
		wantSub    string
	}{
		// Request shape.
		{name: "no requested_token_use", path: v2, form: oboForm(ada, "requested_token_use", ""), wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: "other requested_token_use", path: v2, form: oboForm(ada, "requested_token_use", "exchange"), wantCode: 9002313, wantError: "invalid_request", wantStatus: 400},
		{name: "no assertion", path: v2, form: oboForm("", "assertion", ""), wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: "no client_id", path: v2, form: oboForm(ada, "client_id", ""), wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: "v2 without scope", path: v2, form: oboForm(ada, "scope", ""), wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: "resource on v2", path: v2, form: oboForm(ada, "resource", "api://downstream"), wantCode: 901002, wantError: "invalid_request", wantStatus: 400},
		{name: "v1 without resource", path: v1, form: oboForm(ada, "scope", "openid"), wantCode: 900144, wantError: "invalid_request", wantStatus: 400},
		{name: ".default with a named scope", path: v2, form: oboForm(ada, "scope", "api://downstream/.default api://downstream/Data.Read"), wantCode: 70011, wantError: "invalid_scope", wantStatus: 400},
		{name: "scopes of two resources", path: v2, form: oboForm(ada, "scope", "api://downstream/Data.Read api://orders/Orders.Read"), wantCode: 28000, wantError: "invalid_scope", wantStatus: 400},
		{name: "at /consumers", path: "/consumers/oauth2/v2.0/token", form: oboForm(ada), wantCode: 9001023, wantError: "invalid_request", wantStatus: 400},

		// The assertion: ours, intact, in time.
		{name: "not a JWT", path: v2, form: oboForm("not-a-token"), wantCode: 50013, wantError: "invalid_grant", wantStatus: 400},
		{name: "signed by an unknown key under our kid", path: v2, form: oboForm(signWith(t, jose.RS256, otherKey(t), key.KeyID, w.adaClaims())),
			wantCode: 50013, wantError: "invalid_grant", wantStatus: 400},
		{name: "unknown kid", path: v2, form: oboForm(signWith(t, jose.RS256, key.PrivateKey, "unknown-kid", w.adaClaims())),
			wantCode: 50013, wantError: "invalid_grant", wantStatus: 400},
		{name: "no kid", path: v2, form: oboForm(signWith(t, jose.RS256, key.PrivateKey, "", w.adaClaims())),
			wantCode: 50013, wantError: "invalid_grant", wantStatus: 400},
		{name: "alg none", path: v2, form: oboForm(unsigned(t, key.KeyID, w.adaClaims())), wantCode: 50013, wantError: "invalid_grant", wantStatus: 400},
		{name: "HS256 keyed with our kid", path: v2, form: oboForm(signWith(t, jose.HS256, []byte(key.KeyID+key.KeyID), key.KeyID, w.adaClaims())),
			wantCode: 50013, wantError: "invalid_grant", wantStatus: 400},
		{name: "PS256 with our key", path: v2, form: oboForm(signWith(t, jose.PS256, key.PrivateKey, key.KeyID, w.adaClaims())),
			wantCode: 50013, wantError: "invalid_grant", wantStatus: 400},
		{name: "tampered payload", path: v2, form: oboForm(tamper(t, ada)), wantCode: 50013, wantError: "invalid_grant", wantStatus: 400},
		{name: "another issuer", path: v2, form: oboForm(w.forge(t, w.adaClaims("iss", "https://login.microsoftonline.com/"+tenantA+"/v2.0"))),
			wantCode: 50013, wantError: "invalid_grant", wantStatus: 400},
		{name: "no exp", path: v2, form: oboForm(w.forge(t, w.adaClaims("exp", nil))), wantCode: 50013, wantError: "invalid_grant", wantStatus: 400},
		{name: "expired", path: v2, form: oboForm(w.forge(t, w.adaClaims("exp", now-1))), wantCode: 500133, wantError: "invalid_grant", wantStatus: 400},
		{name: "expires this second", path: v2, form: oboForm(w.forge(t, w.adaClaims("exp", now))), wantCode: 500133, wantError: "invalid_grant", wantStatus: 400},
		{name: "not yet valid", path: v2, form: oboForm(w.forge(t, w.adaClaims("nbf", now+60))), wantCode: 500133, wantError: "invalid_grant", wantStatus: 400},

		// The tenant and the middle tier.
		{name: "a Contoso token at Fabrikam", path: "/" + tenantB + "/oauth2/v2.0/token", form: oboForm(ada), wantCode: 50034, wantError: "invalid_grant", wantStatus: 400, wantSub: "bad_token"},
		{name: "middle tier without a service principal in the user's tenant", path: v2, form: oboForm(ada, "client_id", foreignID, "client_secret", "foreign-secret-value-0001"),
			wantCode: 700016, wantError: "unauthorized_client", wantStatus: 400},
		{name: "middle tier without its secret", path: v2, form: oboForm(ada, "client_secret", ""), wantCode: 7000218, wantError: "invalid_client", wantStatus: 401},
		{name: "middle tier with a wrong secret", path: v2, form: oboForm(ada, "client_secret", "wrong-secret-0001"), wantCode: 7000215, wantError: "invalid_client", wantStatus: 401},
		{name: "a public client cannot act on behalf of", path: v2, form: oboForm(ada, "client_id", nativeID, "client_secret", ""),
			wantCode: 7000218, wantError: "invalid_client", wantStatus: 401},

		// What the assertion is.
		{name: "an id_token", path: v2, form: oboForm(idToken), wantCode: 240002, wantError: "invalid_grant", wantStatus: 400},
		{name: "an app-only token", path: v2, form: oboForm(appOnly), wantCode: 7000114, wantError: "unauthorized_client", wantStatus: 400},
		{name: "an app-only token with idtyp app", path: v2, form: oboForm(w.forge(t, w.adaClaims("idtyp", "app"))), wantCode: 7000114, wantError: "unauthorized_client", wantStatus: 400},
		{name: "a token for another audience", path: v2, form: oboForm(forDownstream), wantCode: 500131, wantError: "invalid_grant", wantStatus: 400},
		{name: "Ada's token presented by another middle tier", path: v2, form: oboForm(ada, "client_id", ordersID, "client_secret", ordersSecret),
			wantCode: 500131, wantError: "invalid_grant", wantStatus: 400},
		{name: "an unknown user", path: v2, form: oboForm(w.forge(t, w.adaClaims("oid", "99999999-0000-4000-8000-000000000000"))),
			wantCode: 50034, wantError: "invalid_grant", wantStatus: 400, wantSub: "bad_token"},
		{name: "a disabled user", path: v2, form: oboForm(w.forge(t, w.adaClaims("oid", graceID))), wantCode: 50057, wantError: "invalid_grant", wantStatus: 400},

		// The downstream resource and consent.
		{name: "downstream without a service principal in the tenant", path: v2, form: oboForm(ada, "scope", "api://fabrikam/Fab.Read"),
			wantCode: 500011, wantError: "invalid_resource", wantStatus: 400},
		{name: "Graph without consent", path: v2, form: oboForm(ada, "scope", "User.Read offline_access"),
			wantCode: 65001, wantError: "invalid_grant", wantStatus: 400, wantSub: "consent_required"},
		{name: "a scope the downstream does not expose", path: v2, form: oboForm(ada, "scope", "api://downstream/Data.Delete"), wantCode: 70011, wantError: "invalid_scope", wantStatus: 400},
		{name: "a scope nobody consented to", path: v2, form: oboForm(ada, "scope", "api://downstream/Data.Write"),
			wantCode: 65001, wantError: "invalid_grant", wantStatus: 400, wantSub: "consent_required"},
		{name: "/.default without any consent", path: v2, form: oboForm(ada, "scope", "api://inventory/.default"),
			wantCode: 65001, wantError: "invalid_grant", wantStatus: 400, wantSub: "consent_required"},
		{name: "downstream requires assignment, the user has none", path: v2, form: oboForm(ada, "scope", "api://payroll/Payroll.Read"),
			wantCode: 50105, wantError: "invalid_grant", wantStatus: 400},
		{name: "downstream disabled", path: v2, form: oboForm(ada, "scope", "api://legacy/.default"), wantCode: 500014, wantError: "invalid_resource", wantStatus: 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := w.post(t, tc.path, tc.form)
			checkRefused(t, r, tc.wantCode, tc.wantError, tc.wantStatus, tc.wantSub)
		})
	}
}

// checkRefused checks an error answer: Entra's body and headers, the code,
// `error`, status and suberror.
func checkRefused(t *testing.T, r result, code int, oauthError string, status int, subError string) {
	t.Helper()
	e := checkErrorShape(t, r, code)
	if r.status != status || e.Error != oauthError || len(e.ErrorCodes) != 1 || e.ErrorCodes[0] != code || e.SubError != subError {
		t.Errorf("got %d %s %v suberror %q; want %d %s [%d] suberror %q\n%s", r.status, e.Error, e.ErrorCodes, e.SubError,
			status, oauthError, code, subError, r.body)
	}
	checkNoStoreHeaders(t, r, code)
}

// tamper changes one character of a token's payload, keeping its signature.
func tamper(t *testing.T, token string) string {
	t.Helper()
	b := []byte(token)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
