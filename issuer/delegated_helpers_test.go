package issuer_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// The users and applications of the delegated flows, added to the world of
// helpers_test.go by seedDelegated. IDs are fixed so that golden files and
// assertions can name them.
const (
	adaID        = "9a7e5c3b-1d2f-4e6a-8b0c-2d4f6a8c0e1a" // Contoso, enabled, password, Data.Admin on Downstream
	adaUPN       = "ada@contoso.onmicrosoft.com"
	adaPassword  = "correct horse battery staple"
	graceID      = "9b7e5c3b-1d2f-4e6a-8b0c-2d4f6a8c0e1b" // Contoso, disabled, password
	graceUPN     = "grace@contoso.onmicrosoft.com"
	linusID      = "9c7e5c3b-1d2f-4e6a-8b0c-2d4f6a8c0e1c" // Contoso, no password
	linusUPN     = "linus@contoso.com"                    // a domain alias of Contoso
	fayID        = "9d7e5c3b-1d2f-4e6a-8b0c-2d4f6a8c0e1d" // Fabrikam
	fayUPN       = "fay@fabrikam.onmicrosoft.com"
	fayPassword  = "fay-password-0001"
	nativeID     = "5a1b2c3d-0000-4000-8000-000000000001" // Native: public client of Contoso
	middleID     = "5a1b2c3d-0000-4000-8000-000000000002" // Middle Tier: confidential, api://middle, v2
	middleSecret = "middle-tier-secret-0001"
	downstreamID = "5a1b2c3d-0000-4000-8000-000000000003" // Downstream API: api://downstream, v2
	ordersSecret = "orders-api-secret-0001"               // Orders API (v1) becomes a middle tier too
	pMiddleID    = "5a1b2c3d-0000-4000-8000-000000000004" // Partner Middle: multi-tenant, Fabrikam, api://partner-middle, v2
	pMiddleSec   = "partner-middle-secret-0001"
	pAPIID       = "5a1b2c3d-0000-4000-8000-000000000005" // Partner API: multi-tenant, Fabrikam, api://partner-api, v1
	dataAdminID  = "33333333-0000-4000-8000-000000000001"
)

// seedDelegated adds users, a native client, middle tiers and downstream
// APIs with their scopes, requirements and admin consent in Contoso:
//
//	Native ──access_as_user──► Middle Tier ──Data.Read──► Downstream API (v2, Data.Admin for Ada)
//	   │                            ├──Orders.Read──► Orders API (v1) ──Data.Read──► Downstream API
//	   │                            └──Payroll.Read─► Payroll API (assignment required, nobody assigned)
//	   └──access_as_user──► Partner Middle (Fabrikam, multi-tenant) ──Partner.Read──► Partner API (Fabrikam, multi-tenant, v1)
//
// Downstream also exposes Data.Write (type Admin), which nobody requires.
func (w *world) seedDelegated() {
	w.t.Helper()
	ctx := context.Background()
	d := w.Directory
	for _, u := range []struct {
		tenant string
		spec   tenant.UserSpec
	}{
		{tenantA, tenant.UserSpec{ID: adaID, UserPrincipalName: adaUPN, DisplayName: "Ada Lovelace", Password: adaPassword}},
		{tenantA, tenant.UserSpec{ID: graceID, UserPrincipalName: graceUPN, DisplayName: "Grace Hopper", Password: adaPassword, Disabled: true}},
		{tenantA, tenant.UserSpec{ID: linusID, UserPrincipalName: linusUPN, DisplayName: "Linus"}},
		{tenantB, tenant.UserSpec{ID: fayID, UserPrincipalName: fayUPN, DisplayName: "Fay", Password: fayPassword}},
	} {
		_, err := d.AddUser(ctx, u.tenant, u.spec)
		w.must(err)
	}
	reg := func(tenantID, appID, name, uri string, version int, public, multi bool) {
		w.t.Helper()
		_, err := d.RegisterApplication(ctx, tenantID, tenant.ApplicationSpec{
			DisplayName: name, AppID: appID, IdentifierURIs: nonEmptyList(uri), TokenVersion: version, PublicClient: public, MultiTenant: multi,
		})
		w.must(err)
	}
	reg(tenantA, nativeID, "Native", "", 0, true, false)
	reg(tenantA, middleID, "Middle Tier", "api://middle", 2, false, false)
	reg(tenantA, downstreamID, "Downstream API", "api://downstream", 2, false, false)
	reg(tenantB, pMiddleID, "Partner Middle", "api://partner-middle", 2, false, true)
	reg(tenantB, pAPIID, "Partner API", "api://partner-api", 0, false, true)
	for _, s := range []struct{ appID, secret string }{{middleID, middleSecret}, {ordersID, ordersSecret}, {pMiddleID, pMiddleSec}} {
		_, _, err := d.AddPassword(ctx, s.appID, tenant.PasswordSpec{DisplayName: "test", SecretText: s.secret})
		w.must(err)
	}
	scope := func(appID, value, typ string) {
		w.t.Helper()
		_, err := d.AddScope(ctx, appID, tenant.ScopeSpec{Value: value, Type: typ})
		w.must(err)
	}
	scope(middleID, "access_as_user", "")
	scope(downstreamID, "Data.Read", "")
	scope(downstreamID, "Data.Write", "Admin")
	scope(ordersID, "Orders.Read", "")
	scope(payrollID, "Payroll.Read", "")
	scope(pMiddleID, "access_as_user", "")
	scope(pAPIID, "Partner.Read", "")
	_, err := d.AddAppRole(ctx, downstreamID, tenant.AppRoleSpec{ID: dataAdminID, Value: "Data.Admin", AllowedMemberTypes: []string{"User"}})
	w.must(err)

	require := func(client, resource string, scopes ...string) {
		w.t.Helper()
		_, err := d.AddRequiredResourceAccess(ctx, client, resource, scopes, nil)
		w.must(err)
	}
	require(nativeID, "api://middle", "access_as_user")
	require(nativeID, pMiddleID, "access_as_user")
	require(middleID, "api://downstream", "Data.Read")
	require(middleID, "api://orders", "Orders.Read")
	require(middleID, "api://payroll", "Payroll.Read")
	require(ordersID, "api://downstream", "Data.Read")
	require(pMiddleID, "api://partner-api", "Partner.Read")

	m := w.manager()
	for _, client := range []string{nativeID, middleID, ordersID, pMiddleID} {
		_, err := m.GrantAdminConsent(ctx, tenantA, client)
		w.must(err)
	}
	_, err = m.AssignRole(ctx, tenantA, "api://downstream", "Data.Admin", consent.Assignee{User: adaUPN})
	w.must(err)
}

// manager is a consent.Manager over the world's stores.
func (w *world) manager() *consent.Manager {
	return consent.NewManager(w.Directory, w.DB, consent.WithClock(w.Now))
}

// newDelegatedWorld is newWorld with seedDelegated.
func newDelegatedWorld(t *testing.T) *world {
	t.Helper()
	w := newWorld(t)
	w.seedDelegated()
	return w
}

func nonEmptyList(s string) []string {
	if s == "" {
		return nil
	}
	return []string{s}
}

// edit returns a copy of f with kv applied as name, value pairs; an empty
// value deletes the parameter.
func edit(f url.Values, kv ...string) url.Values {
	out := url.Values{}
	for k, v := range f {
		out[k] = append([]string(nil), v...)
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			out.Del(kv[i])
		} else {
			out.Set(kv[i], kv[i+1])
		}
	}
	return out
}

// pwForm is a v2 password request of Ada through Native for the Middle
// Tier's scope, as MSAL sends it.
func pwForm(kv ...string) url.Values {
	return edit(url.Values{
		"grant_type": {"password"}, "client_id": {nativeID}, "username": {adaUPN}, "password": {adaPassword},
		"scope": {"api://middle/access_as_user openid profile offline_access"}, "client_info": {"1"},
	}, kv...)
}

// oboForm is a v2 on-behalf-of request of the Middle Tier for Downstream's
// Data.Read, as MSAL sends it.
func oboForm(assertion string, kv ...string) url.Values {
	return edit(url.Values{
		"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "client_id": {middleID}, "client_secret": {middleSecret},
		"assertion": {assertion}, "requested_token_use": {"on_behalf_of"},
		"scope": {"api://downstream/Data.Read openid profile offline_access"}, "client_info": {"1"},
	}, kv...)
}

// rtForm is a v2 refresh request of Native.
func rtForm(refreshToken string, kv ...string) url.Values {
	return edit(url.Values{
		"grant_type": {"refresh_token"}, "client_id": {nativeID}, "refresh_token": {refreshToken},
		"scope": {"api://middle/access_as_user openid profile offline_access"}, "client_info": {"1"},
	}, kv...)
}

// tokenOK posts form to path, fails unless the answer is 200, and returns
// the body's members.
func (w *world) tokenOK(t testing.TB, path string, form url.Values) map[string]any {
	t.Helper()
	r := w.post(t, path, form)
	if r.status != http.StatusOK {
		t.Fatalf("POST %s = %d; want 200\n%s", path, r.status, r.body)
	}
	var m map[string]any
	r.decode(t, &m)
	return m
}

// adaToken is Ada's v2 access token for the Middle Tier, from the password
// grant through Native.
func (w *world) adaToken(t testing.TB) string {
	t.Helper()
	return w.tokenOK(t, "/"+tenantA+"/oauth2/v2.0/token", pwForm())["access_token"].(string)
}

// forge signs claims with the world's signing key, as the issuer would,
// so that tests can present tokens the issuer never issued but would
// accept by signature (expired, of an unknown user, …).
func (w *world) forge(t testing.TB, claims map[string]any) string {
	t.Helper()
	k := testKey(t)
	return signWith(t, jose.RS256, k.PrivateKey, k.KeyID, claims)
}

// signWith signs claims with key under alg, naming kid.
func signWith(t testing.TB, alg jose.SignatureAlgorithm, key any, kid string, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("JWT")
	if kid != "" {
		opts = opts.WithHeader("kid", kid)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(sig).Claims(claims).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// unsigned returns claims as an alg-none JWT.
func unsigned(t testing.TB, kid string, claims map[string]any) string {
	t.Helper()
	h, _ := json.Marshal(map[string]string{"typ": "JWT", "alg": "none", "kid": kid})
	p, _ := json.Marshal(claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

// adaClaims are the claims of a v2 token of Ada for the Middle Tier at the
// world's clock; kv overrides them (a nil value deletes the claim).
func (w *world) adaClaims(kv ...any) map[string]any {
	now := w.Now().Unix()
	c := map[string]any{
		"aud": middleID, "iss": w.URL + "/" + tenantA + "/v2.0", "iat": now - 300, "nbf": now - 300, "exp": now + 3600,
		"azp": nativeID, "azpacr": "0", "name": "Ada Lovelace", "oid": adaID, "preferred_username": adaUPN,
		"scp": "access_as_user", "sub": "x", "tid": tenantA, "uti": "x", "ver": "2.0",
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == nil {
			delete(c, kv[i].(string))
		} else {
			c[kv[i].(string)] = kv[i+1]
		}
	}
	return c
}

// otherKey is an RSA key the issuer does not know.
func otherKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// claimsOf decodes a compact JWT's payload without verifying it.
func claimsOf(t testing.TB, token string) map[string]any {
	t.Helper()
	return decodeSegment(t, token, 1)
}

// clientInfoOf decodes client_info.
func clientInfoOf(t testing.TB, v any) map[string]string {
	t.Helper()
	s, _ := v.(string)
	if strings.ContainsAny(s, "=+/") {
		t.Errorf("client_info %q is not unpadded base64url", s)
	}
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("client_info %q: %v", s, err)
	}
	var m map[string]string
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatalf("client_info %s: %v", b, err)
	}
	return m
}

// hours is d as a duration, for Advance.
func hours(n int) time.Duration { return time.Duration(n) * time.Hour }
