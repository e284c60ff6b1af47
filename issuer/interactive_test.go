package issuer_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/issuer/issuertest"
	"github.com/issuer-dev/issuer/tenant"
)

// The interactive world: Contoso exposes the Orders API (multi-tenant, v2)
// with a User-type and an Admin-type scope and an application
// permission; Shop is a multi-tenant web app (confidential) requiring all
// three; CLI a public client; Page a single-page app. Alice is a user of
// Contoso, Ada its Global Administrator; Fabrikam has its own
// administrator, Fay, and a user, Finn.
const (
	ixOrders   = "0a000000-0000-4000-8000-0000000000a1"
	ixShop     = "0a000000-0000-4000-8000-0000000000a2"
	ixCLI      = "0a000000-0000-4000-8000-0000000000a3"
	ixPage     = "0a000000-0000-4000-8000-0000000000a4"
	ixShopCB   = "https://shop.example/signin-oidc"
	ixPageCB   = "https://page.example/"
	ixPassword = "correct horse battery staple"
	// ixVerifier is an RFC 7636 verifier; ixChallenge its S256 challenge.
	ixVerifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
)

var ixChallenge = func() string {
	sum := sha256.Sum256([]byte(ixVerifier))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}()

type ixWorld struct {
	*issuertest.Server
	t          testing.TB
	shopSecret string
	contoso    tenant.Tenant
	fabrikam   tenant.Tenant
}

func newIxWorld(t testing.TB) *ixWorld {
	t.Helper()
	return newIxWorldWith(t, issuertest.Clock(fixedNow), issuertest.DeterministicIDs())
}

func newIxWorldWith(t testing.TB, opts ...issuertest.Option) *ixWorld {
	t.Helper()
	s := issuertest.NewServer(t, opts...)
	w := &ixWorld{Server: s, t: t}
	w.contoso = s.AddTenant("Contoso", "contoso.com")
	w.fabrikam = s.AddTenant("Fabrikam")
	s.AddApp("contoso.com", tenant.ApplicationSpec{DisplayName: "Orders API", AppID: ixOrders, IdentifierURIs: []string{"api://orders"},
		TokenVersion: 2, MultiTenant: true})
	ctx := context.Background()
	for _, sc := range []struct{ value, typ string }{{"Orders.Read", tenant.ScopeTypeUser}, {"Orders.Admin", tenant.ScopeTypeAdmin}} {
		_, err := s.Directory.AddScope(ctx, ixOrders, tenant.ScopeSpec{Value: sc.value, Type: sc.typ,
			UserConsentDisplayName: "Read your orders", UserConsentDescription: "Lets the app read your orders.",
			AdminConsentDisplayName: sc.value + " for everyone", AdminConsentDescription: "Lets the app " + sc.value + " for all users."})
		if err != nil {
			t.Fatal(err)
		}
	}
	s.AddAppRole(ixOrders, "Orders.Sync", tenant.MemberTypeApplication)
	s.AddApp("contoso.com", tenant.ApplicationSpec{DisplayName: "Shop", AppID: ixShop, MultiTenant: true, WebRedirectURIs: []string{ixShopCB}})
	w.shopSecret = s.AddSecret(ixShop)
	s.RequirePermissions(ixShop, "api://orders", []string{"Orders.Read", "Orders.Admin"}, []string{"Orders.Sync"})
	s.AddApp("contoso.com", tenant.ApplicationSpec{DisplayName: "CLI", AppID: ixCLI, PublicClient: true, MultiTenant: true,
		PublicClientRedirectURIs: []string{"http://localhost"}})
	s.RequirePermissions(ixCLI, "api://orders", []string{"Orders.Read"}, nil)
	s.AddApp("contoso.com", tenant.ApplicationSpec{DisplayName: "Page", AppID: ixPage, SPARedirectURIs: []string{ixPageCB}})
	for _, u := range []struct {
		tenant, upn string
		roles       []string
	}{
		{"contoso.com", "alice@contoso.com", nil},
		{"contoso.com", "ada@contoso.com", []string{tenant.RoleGlobalAdministrator}},
		{"fabrikam.onmicrosoft.com", "fay@fabrikam.onmicrosoft.com", []string{tenant.RoleApplicationAdministrator}},
		{"fabrikam.onmicrosoft.com", "finn@fabrikam.onmicrosoft.com", nil},
	} {
		s.AddUser(u.tenant, tenant.UserSpec{UserPrincipalName: u.upn, Password: ixPassword, DirectoryRoles: u.roles})
	}
	return w
}

// browser is a client with its own cookie jar that does not follow
// redirects: each step of a flow is one request.
type browser struct {
	t      testing.TB
	w      *ixWorld
	client *http.Client
}

func (w *ixWorld) browser() *browser { return w.browserFor(w.t) }

// browserFor is a browser whose failures are t's (a subtest's).
func (w *ixWorld) browserFor(t testing.TB) *browser {
	jar, err := cookiejar.New(nil)
	if err != nil {
		t.Fatal(err)
	}
	c := *w.Client()
	c.Jar = jar
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &browser{t: t, w: w, client: &c}
}

// page is one answer: status, Location and body.
type page struct {
	status   int
	location string
	body     string
	header   http.Header
}

func (b *browser) do(req *http.Request) page {
	b.t.Helper()
	resp, err := b.client.Do(req)
	if err != nil {
		b.t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return page{status: resp.StatusCode, location: resp.Header.Get("Location"), body: string(body), header: resp.Header}
}

func (b *browser) get(path string) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodGet, b.w.URL+path, nil)
	return b.do(req)
}

func (b *browser) post(path string, form url.Values) page {
	b.t.Helper()
	req, _ := http.NewRequest(http.MethodPost, b.w.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.do(req)
}

var (
	hiddenRe = regexp.MustCompile(`<input type="hidden" name="([a-z_]+)" value="([^"]*)">`)
	actionRe = regexp.MustCompile(`<form method="post" action="([^"]*)"`)
)

// submit posts the page's form with its hidden fields and extra.
func (b *browser) submit(p page, extra url.Values) page {
	b.t.Helper()
	m := actionRe.FindStringSubmatch(p.body)
	if m == nil {
		b.t.Fatalf("no form on the page (status %d):\n%s", p.status, p.body)
	}
	form := url.Values{}
	for _, h := range hiddenRe.FindAllStringSubmatch(p.body, -1) {
		form.Set(h[1], html.UnescapeString(h[2]))
	}
	for k, vs := range extra {
		form[k] = vs
	}
	return b.post(html.UnescapeString(m[1]), form)
}

func (b *browser) signIn(p page, upn string) page {
	b.t.Helper()
	if !strings.Contains(p.body, `name="password"`) {
		b.t.Fatalf("not the sign-in page (status %d, Location %q):\n%s", p.status, p.location, p.body)
	}
	return b.submit(p, url.Values{"username": {upn}, "password": {ixPassword}})
}

// authorizeURL builds a v2 authorization request.
func authorizeURL(tenantSeg string, params map[string]string) string {
	q := url.Values{}
	for k, v := range params {
		q.Set(k, v)
	}
	return "/" + tenantSeg + "/oauth2/v2.0/authorize?" + q.Encode()
}

func shopRequest(extra map[string]string) map[string]string {
	p := map[string]string{"client_id": ixShop, "response_type": "code", "redirect_uri": ixShopCB,
		"scope": "api://orders/Orders.Read openid offline_access", "state": "st-1", "nonce": "n-1"}
	for k, v := range extra {
		if v == "" {
			delete(p, k)
		} else {
			p[k] = v
		}
	}
	return p
}

// redirectParams checks that p redirects to the redirect URI and returns
// its query (or fragment) parameters.
func redirectParams(t *testing.T, p page, base string) url.Values {
	t.Helper()
	if p.status != http.StatusFound || !strings.HasPrefix(p.location, base) {
		t.Fatalf("status %d, Location %q; want a 302 to %s\n%s", p.status, p.location, base, p.body)
	}
	u, err := url.Parse(p.location)
	if err != nil {
		t.Fatal(err)
	}
	if u.Fragment != "" {
		v, _ := url.ParseQuery(u.Fragment)
		return v
	}
	return u.Query()
}

func wantRedirectError(t *testing.T, v url.Values, oauth string, code int) {
	t.Helper()
	if v.Get("error") != oauth || !strings.HasPrefix(v.Get("error_description"), fmt.Sprintf("AADSTS%d:", code)) {
		t.Errorf("error=%q, error_description=%q; want %s and AADSTS%d", v.Get("error"), v.Get("error_description"), oauth, code)
	}
}

// redeem posts a token request to the tenant's v2 token endpoint, with
// an Origin header when origin is set (a browser's cross-origin call).
func (w *ixWorld) redeem(t *testing.T, tenantSeg string, form url.Values, origin string) (int, map[string]any) {
	t.Helper()
	return w.postJSON(t, "/"+tenantSeg+"/oauth2/v2.0/token", form, origin)
}

// postJSON posts form to path and decodes the JSON answer.
func (w *ixWorld) postJSON(t *testing.T, path string, form url.Values, origin string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, w.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if origin != "" {
		req.Header.Set("Origin", origin)
	}
	resp, err := w.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func codeForm(code string, extra map[string]string) url.Values {
	f := url.Values{"grant_type": {"authorization_code"}, "client_id": {ixShop}, "code": {code}, "redirect_uri": {ixShopCB},
		"scope": {"api://orders/Orders.Read openid offline_access"}}
	for k, v := range extra {
		if v == "" {
			f.Del(k)
		} else {
			f.Set(k, v)
		}
	}
	return f
}

func wantTokenError(t *testing.T, status int, body map[string]any, oauth string, code int) {
	t.Helper()
	codes, _ := body["error_codes"].([]any)
	if body["error"] != oauth || len(codes) != 1 || codes[0] != float64(code) {
		t.Errorf("token answer %d %v; want %s AADSTS%d", status, body, oauth, code)
	}
}

// claimsOf decodes a JWT's payload without verifying it (the
// verification of our tokens is tested elsewhere against the JWKS).
func jwtClaims(t *testing.T, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("not a JWT: %q", token)
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	if err := json.Unmarshal(raw, &c); err != nil {
		t.Fatal(err)
	}
	return c
}

// consentAs signs alice (or another user) in to Shop for scope and
// accepts the consent page; it returns the code.
func (w *ixWorld) userConsentCode(t *testing.T, b *browser, upn string, extra map[string]string) string {
	t.Helper()
	p := b.signIn(b.get(authorizeURL("contoso.com", shopRequest(extra))), upn)
	if !strings.Contains(p.body, "Permissions requested") {
		t.Fatalf("want the consent page, got status %d Location %q\n%s", p.status, p.location, p.body)
	}
	v := redirectParams(t, b.submit(p, url.Values{"decision": {"accept"}}), ixShopCB)
	if v.Get("code") == "" || v.Get("state") != "st-1" {
		t.Fatalf("redirect %v; want a code and state st-1", v)
	}
	return v.Get("code")
}

// TestAuthorizeCodeFlow: a user consents to a User-type scope on the page,
// the code is redeemed once for an access, id and refresh token, and the
// grant is the one `issuer consent list` shows.
func TestAuthorizeCodeFlow(t *testing.T) {
	w := newIxWorld(t)
	b := w.browser()
	code := w.userConsentCode(t, b, "alice@contoso.com", map[string]string{"code_challenge": ixChallenge, "code_challenge_method": "S256"})
	status, body := w.redeem(t, "contoso.com", codeForm(code, map[string]string{"client_secret": w.shopSecret, "code_verifier": ixVerifier}), "")
	if status != 200 {
		t.Fatalf("redeem: %d %v", status, body)
	}
	at := jwtClaims(t, body["access_token"].(string))
	idt := jwtClaims(t, body["id_token"].(string))
	if at["scp"] != "Orders.Read" || at["aud"] != ixOrders || at["preferred_username"] != "alice@contoso.com" || at["azpacr"] != "1" {
		t.Errorf("access token claims %v", at)
	}
	if idt["nonce"] != "n-1" || idt["aud"] != ixShop {
		t.Errorf("id_token claims %v; want nonce n-1 and aud Shop", idt)
	}
	if body["refresh_token"] == nil {
		t.Error("no refresh_token for offline_access")
	}
	// The second redemption of the same code.
	status, body = w.redeem(t, "contoso.com", codeForm(code, map[string]string{"client_secret": w.shopSecret, "code_verifier": ixVerifier}), "")
	wantTokenError(t, status, body, "invalid_grant", issuer.CodeCodeRedeemed)
	compareGolden(t, "authorize_code_redeemed_twice", goldenErrorBody(t, body))

	l, err := w.Consent.List(context.Background(), "contoso.com", ixShop)
	if err != nil {
		t.Fatal(err)
	}
	if len(l.PermissionGrants) != 1 || l.PermissionGrants[0].ConsentType != consent.Principal || l.PermissionGrants[0].Scope != "Orders.Read" {
		t.Errorf("grants after consent = %+v; want one Principal grant of Orders.Read", l.PermissionGrants)
	}
	// Single sign-on: the next request of the same browser needs no page,
	// with prompt=none too.
	v := redirectParams(t, b.get(authorizeURL("contoso.com", shopRequest(map[string]string{"prompt": "none"}))), ixShopCB)
	if v.Get("code") == "" {
		t.Errorf("prompt=none with a session: %v; want a code", v)
	}
	// Logout ends the session: prompt=none is login_required again.
	if p := b.get("/contoso.com/oauth2/v2.0/logout?post_logout_redirect_uri=" + url.QueryEscape("https://evil.example/")); p.status != 200 || p.location != "" {
		t.Errorf("logout with an unregistered post_logout_redirect_uri: %d %q; want the signed-out page", p.status, p.location)
	}
	v = redirectParams(t, b.get(authorizeURL("contoso.com", shopRequest(map[string]string{"prompt": "none"}))), ixShopCB)
	wantRedirectError(t, v, "login_required", issuer.CodeLoginRequired)
}

// TestAuthorizeCodeRedemptionRefusals: every check of the authorization
// code grant, each with a fresh code.
func TestAuthorizeCodeRedemptionRefusals(t *testing.T) {
	w := newIxWorld(t)
	b := w.browser()
	w.userConsentCode(t, b, "alice@contoso.com", nil) // consent once; later codes come by SSO
	newCode := func(extra map[string]string) string {
		v := redirectParams(t, b.get(authorizeURL("contoso.com", shopRequest(extra))), ixShopCB)
		return v.Get("code")
	}
	pkce := map[string]string{"code_challenge": ixChallenge, "code_challenge_method": "S256"}
	for _, tc := range []struct {
		name   string
		auth   map[string]string
		form   map[string]string
		origin string
		tenant string
		oauth  string
		code   int
	}{
		{"no secret for a web redirect", nil, nil, "", "contoso.com", "invalid_client", issuer.CodeMissingClientCred},
		{"wrong secret", nil, map[string]string{"client_secret": "nope"}, "", "contoso.com", "invalid_client", issuer.CodeInvalidClientSecret},
		{"redirect_uri differs", nil, map[string]string{"redirect_uri": ixShopCB + "x"}, "", "contoso.com", "invalid_grant", issuer.CodeRedirectNotSame},
		{"redirect_uri missing", nil, map[string]string{"redirect_uri": ""}, "", "contoso.com", "invalid_request", issuer.CodeMissingParameter},
		{"verifier missing", pkce, nil, "", "contoso.com", "invalid_grant", issuer.CodeCodeVerifier},
		{"verifier wrong", pkce, map[string]string{"code_verifier": strings.Repeat("a", 43)}, "", "contoso.com", "invalid_grant", issuer.CodeCodeVerifier},
		{"plain verifier wrong", map[string]string{"code_challenge": strings.Repeat("b", 43), "code_challenge_method": "plain"},
			map[string]string{"code_verifier": strings.Repeat("a", 43)}, "", "contoso.com", "invalid_grant", issuer.CodeCodeVerifier},
		{"another client", nil, map[string]string{"client_id": ixCLI}, "", "contoso.com", "invalid_grant", issuer.CodeInvalidGrant},
		{"another tenant", nil, nil, "", "fabrikam.onmicrosoft.com", "invalid_grant", issuer.CodeInvalidGrant},
		{"cross-origin for a web app", nil, nil, "https://shop.example", "contoso.com", "invalid_request", issuer.CodeCrossOriginNotSPA},
		{"code missing", nil, map[string]string{"code": ""}, "", "contoso.com", "invalid_request", issuer.CodeMissingParameter},
		{"resource on v2", nil, map[string]string{"resource": "api://orders"}, "", "contoso.com", "invalid_request", issuer.CodeResourceParameter},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code := newCode(tc.auth)
			form := map[string]string{"client_secret": w.shopSecret}
			for k, v := range tc.form {
				form[k] = v
			}
			if tc.name == "no secret for a web redirect" {
				form["client_secret"] = ""
			}
			status, body := w.redeem(t, tc.tenant, codeForm(code, form), tc.origin)
			wantTokenError(t, status, body, tc.oauth, tc.code)
			// A refused redemption does not spend the code.
			if tc.code != issuer.CodeInvalidGrant || tc.name == "another client" {
				f := map[string]string{"client_secret": w.shopSecret}
				if tc.auth != nil && tc.auth["code_challenge_method"] == "S256" {
					f["code_verifier"] = ixVerifier
				}
				if tc.auth != nil && tc.auth["code_challenge_method"] == "plain" {
					f["code_verifier"] = tc.auth["code_challenge"]
				}
				if status, body := w.redeem(t, "contoso.com", codeForm(code, f), ""); status != 200 {
					t.Errorf("the right redemption after the refusal: %d %v", status, body)
				}
			}
		})
	}
	t.Run("unknown code", func(t *testing.T) {
		status, body := w.redeem(t, "contoso.com", codeForm(strings.Repeat("A", 43), map[string]string{"client_secret": w.shopSecret}), "")
		wantTokenError(t, status, body, "invalid_grant", issuer.CodeInvalidGrant)
	})
	t.Run("expired code", func(t *testing.T) {
		code := newCode(nil)
		w.Advance(11 * time.Minute)
		status, body := w.redeem(t, "contoso.com", codeForm(code, map[string]string{"client_secret": w.shopSecret}), "")
		wantTokenError(t, status, body, "invalid_grant", issuer.CodeGrantExpired)
	})
}

// TestSPACode: a single-page app must use PKCE and redeem cross-origin,
// without a secret.
func TestSPACode(t *testing.T) {
	w := newIxWorld(t)
	w.Consent.PutGrant(context.Background(), w.contoso, ixPage, "api://orders", "", []string{"Orders.Read"})
	b := w.browser()
	base := map[string]string{"client_id": ixPage, "response_type": "code", "redirect_uri": ixPageCB, "scope": "api://orders/Orders.Read", "state": "s"}
	wantRedirectError(t, redirectParams(t, b.get(authorizeURL("contoso.com", base)), ixPageCB), "invalid_request", issuer.CodePKCERequired)
	base["code_challenge"], base["code_challenge_method"] = ixChallenge, "S256"
	code := redirectParams(t, b.signIn(b.get(authorizeURL("contoso.com", base)), "alice@contoso.com"), ixPageCB).Get("code")
	form := url.Values{"grant_type": {"authorization_code"}, "client_id": {ixPage}, "code": {code}, "redirect_uri": {ixPageCB},
		"code_verifier": {ixVerifier}, "scope": {"api://orders/Orders.Read"}}
	status, body := w.redeem(t, "contoso.com", form, "")
	wantTokenError(t, status, body, "invalid_request", issuer.CodeSPANeedsOrigin)
	if status, body := w.redeem(t, "contoso.com", form, "https://page.example"); status != 200 || body["access_token"] == nil {
		t.Errorf("SPA redemption with Origin: %d %v", status, body)
	}
}

// TestSPARefreshToken: a single-page application's refresh tokens, as
// Entra gives them: redeemed cross-origin only, 24 hours from the sign-in,
// which redeeming does not extend; and no other refresh token is redeemed
// cross-origin.
func TestSPARefreshToken(t *testing.T) {
	w := newIxWorld(t)
	ctx := context.Background()
	w.Consent.PutGrant(ctx, w.contoso, ixPage, "api://orders", "", []string{"Orders.Read"})
	w.Consent.PutGrant(ctx, w.contoso, ixCLI, "api://orders", "", []string{"Orders.Read"})
	const origin = "https://page.example"
	scope := "api://orders/Orders.Read offline_access"
	b := w.browser()
	params := map[string]string{"client_id": ixPage, "response_type": "code", "redirect_uri": ixPageCB, "scope": scope, "state": "s",
		"code_challenge": ixChallenge, "code_challenge_method": "S256"}
	code := redirectParams(t, b.signIn(b.get(authorizeURL("contoso.com", params)), "alice@contoso.com"), ixPageCB).Get("code")
	status, body := w.redeem(t, "contoso.com", url.Values{"grant_type": {"authorization_code"}, "client_id": {ixPage}, "code": {code},
		"redirect_uri": {ixPageCB}, "code_verifier": {ixVerifier}, "scope": {scope}}, origin)
	if status != 200 || body["refresh_token"] == nil {
		t.Fatalf("SPA code redemption: %d %v", status, body)
	}
	rt := body["refresh_token"].(string)
	refresh := func(client, token, origin string) (int, map[string]any) {
		return w.redeem(t, "contoso.com", url.Values{"grant_type": {"refresh_token"}, "client_id": {client}, "refresh_token": {token}, "scope": {scope}}, origin)
	}

	status, body = refresh(ixPage, rt, "")
	wantTokenError(t, status, body, "invalid_request", issuer.CodeSPANeedsOrigin)
	w.Advance(23 * time.Hour)
	status, body = refresh(ixPage, rt, origin)
	if status != 200 || body["refresh_token"] == nil {
		t.Fatalf("SPA refresh with Origin after 23 h: %d %v", status, body)
	}
	next := body["refresh_token"].(string)
	w.Advance(2 * time.Hour) // 25 h after the sign-in, 2 h after the successor
	status, body = refresh(ixPage, next, origin)
	wantTokenError(t, status, body, "invalid_grant", issuer.CodeRefreshTokenExpired)

	// A public client's password-grant refresh token, presented cross-origin.
	status, body = w.redeem(t, "contoso.com", url.Values{"grant_type": {"password"}, "client_id": {ixCLI}, "username": {"alice@contoso.com"},
		"password": {ixPassword}, "scope": {scope}}, "")
	if status != 200 || body["refresh_token"] == nil {
		t.Fatalf("password grant: %d %v", status, body)
	}
	status, body = refresh(ixCLI, body["refresh_token"].(string), origin)
	wantTokenError(t, status, body, "invalid_request", issuer.CodeCrossOriginNotSPA)
}

// TestAuthorizeRequestRefusals: what is shown on a page (no trusted
// redirect URI) and what is redirected to the client.
func TestAuthorizeRequestRefusals(t *testing.T) {
	w := newIxWorld(t)
	pages := []struct {
		name   string
		tenant string
		params map[string]string
		code   int
	}{
		{"unregistered redirect URI", "contoso.com", shopRequest(map[string]string{"redirect_uri": "https://evil.example/cb"}), issuer.CodeRedirectMismatch},
		{"redirect URI of another port", "contoso.com", shopRequest(map[string]string{"redirect_uri": "https://shop.example:444/signin-oidc"}), issuer.CodeRedirectMismatch},
		{"unknown client", "contoso.com", shopRequest(map[string]string{"client_id": "0a000000-0000-4000-8000-0000000000ff"}), issuer.CodeApplicationNotFound},
		{"client not a GUID", "contoso.com", shopRequest(map[string]string{"client_id": "shop"}), issuer.CodeApplicationNotFound},
		{"no client", "contoso.com", shopRequest(map[string]string{"client_id": ""}), issuer.CodeMissingParameter},
		{"unknown tenant", "nosuch.example", shopRequest(nil), issuer.CodeTenantNotFound},
		{"single-tenant client of another tenant", "fabrikam.onmicrosoft.com",
			map[string]string{"client_id": ixPage, "response_type": "code", "redirect_uri": ixPageCB, "scope": "openid"}, issuer.CodeApplicationNotFound},
	}
	for _, tc := range pages {
		t.Run(tc.name, func(t *testing.T) {
			p := w.browserFor(t).get(authorizeURL(tc.tenant, tc.params))
			if p.status != 200 || p.location != "" || !strings.Contains(p.body, fmt.Sprintf("AADSTS%d:", tc.code)) {
				t.Errorf("status %d, Location %q; want an error page with AADSTS%d\n%s", p.status, p.location, tc.code, p.body)
			}
			if csp := p.header.Get("Content-Security-Policy"); !strings.Contains(csp, "frame-ancestors 'none'") {
				t.Errorf("Content-Security-Policy %q", csp)
			}
		})
	}
	redirects := []struct {
		name   string
		tenant string
		params map[string]string
		oauth  string
		code   int
	}{
		{"no response_type", "contoso.com", shopRequest(map[string]string{"response_type": ""}), "invalid_request", issuer.CodeMissingParameter},
		{"implicit token", "contoso.com", shopRequest(map[string]string{"response_type": "token"}), "unsupported_response_type", issuer.CodeResponseType},
		{"unknown prompt", "contoso.com", shopRequest(map[string]string{"prompt": "always"}), "invalid_request", issuer.CodeMalformedRequest},
		{"unknown response_mode", "contoso.com", shopRequest(map[string]string{"response_mode": "web_message"}), "invalid_request", issuer.CodeMalformedRequest},
		{"bad challenge method", "contoso.com", shopRequest(map[string]string{"code_challenge": ixChallenge, "code_challenge_method": "S512"}), "invalid_request", issuer.CodeMalformedRequest},
		{"short challenge", "contoso.com", shopRequest(map[string]string{"code_challenge": "abc"}), "invalid_request", issuer.CodeMalformedRequest},
		{"no scope", "contoso.com", shopRequest(map[string]string{"scope": ""}), "invalid_request", issuer.CodeMissingParameter},
		{"two resources", "contoso.com", shopRequest(map[string]string{"scope": "api://orders/Orders.Read api://other/x"}), "invalid_scope", issuer.CodeMultipleResources},
		{"id_token without nonce", "contoso.com", shopRequest(map[string]string{"response_type": "code id_token", "nonce": ""}), "invalid_request", issuer.CodeMissingParameter},
		{"prompt=none without a session", "contoso.com", shopRequest(map[string]string{"prompt": "none"}), "login_required", issuer.CodeLoginRequired},
		{"single-tenant app at organizations", "organizations",
			map[string]string{"client_id": ixPage, "response_type": "code", "redirect_uri": ixPageCB, "scope": "openid", "state": "st-1", "code_challenge": ixChallenge}, "invalid_request", issuer.CodeNotMultiTenant},
	}
	for _, tc := range redirects {
		t.Run(tc.name, func(t *testing.T) {
			p := w.browserFor(t).get(authorizeURL(tc.tenant, tc.params))
			base := ixShopCB
			if tc.params["client_id"] == ixPage {
				base = ixPageCB
			}
			v := redirectParams(t, p, base)
			wantRedirectError(t, v, tc.oauth, tc.code)
			if v.Get("state") != "st-1" {
				t.Errorf("state = %q; want st-1", v.Get("state"))
			}
		})
	}
	t.Run("golden", func(t *testing.T) {
		v := redirectParams(t, w.browser().get(authorizeURL("contoso.com", shopRequest(map[string]string{"response_type": ""}))), ixShopCB)
		compareGolden(t, "authorize_error_redirect", goldenParams(v))
	})
}

// TestSignInPage: wrong credentials show the page again with the error;
// forms without their CSRF token, or from another browser, are refused.
func TestSignInPage(t *testing.T) {
	w := newIxWorld(t)
	b := w.browser()
	p := b.get(authorizeURL("contoso.com", shopRequest(nil)))
	for _, tc := range []struct {
		name, user, password string
		code                 int
	}{
		{"wrong password", "alice@contoso.com", "nope", issuer.CodeInvalidCredentials},
		{"unknown user", "zed@contoso.com", "x", issuer.CodeUserNotFound},
		{"user of another tenant", "finn@fabrikam.onmicrosoft.com", ixPassword, issuer.CodeUserNotFound},
		{"no password", "alice@contoso.com", "", issuer.CodeInvalidCredentials},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := b.submit(p, url.Values{"username": {tc.user}, "password": {tc.password}})
			if got.status != 200 || !strings.Contains(got.body, fmt.Sprintf("AADSTS%d:", tc.code)) || !strings.Contains(got.body, `name="password"`) {
				t.Errorf("status %d; want the sign-in page with AADSTS%d\n%s", got.status, tc.code, got.body)
			}
		})
	}
	form := url.Values{}
	for _, h := range hiddenRe.FindAllStringSubmatch(p.body, -1) {
		form.Set(h[1], html.UnescapeString(h[2]))
	}
	form.Set("username", "alice@contoso.com")
	form.Set("password", ixPassword)
	for _, tc := range []struct {
		name string
		b    *browser
		edit func(url.Values)
	}{
		{"no csrf token", b, func(f url.Values) { f.Del("csrf") }},
		{"wrong csrf token", b, func(f url.Values) { f.Set("csrf", strings.Repeat("x", 43)) }},
		{"another browser", w.browser(), func(url.Values) {}},
		{"unknown flow", b, func(f url.Values) { f.Set("flow", strings.Repeat("y", 43)) }},
		{"field twice", b, func(f url.Values) { f.Add("username", "ada@contoso.com") }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := url.Values{}
			for k, v := range form {
				f[k] = append([]string{}, v...)
			}
			tc.edit(f)
			got := tc.b.post("/contoso.com/login", f)
			if got.status != 200 || got.location != "" || !strings.Contains(got.body, "AADSTS9002313:") {
				t.Errorf("status %d, Location %q; want the error page with AADSTS9002313\n%s", got.status, got.location, got.body)
			}
		})
	}
	setCookies := strings.Join(p.header.Values("Set-Cookie"), "\n")
	for _, want := range []string{"__Host-issuer_browser=", "HttpOnly", "Secure", "SameSite=Lax"} {
		if !strings.Contains(setCookies, want) {
			t.Errorf("Set-Cookie %q lacks %s", setCookies, want)
		}
	}
}

// TestConsentRules: the consent page follows the engine's rules.
func TestConsentRules(t *testing.T) {
	// One world for all: each step leaves the consents the next starts
	// from, and the administrator's consent for the organization comes last.
	w := newIxWorld(t)
	t.Run("non-administrator and an Admin-type scope", func(t *testing.T) {
		b := w.browserFor(t)
		p := b.signIn(b.get(authorizeURL("contoso.com", shopRequest(map[string]string{"scope": "api://orders/Orders.Admin"}))), "alice@contoso.com")
		if !strings.Contains(p.body, "Need admin approval") || !strings.Contains(p.body, fmt.Sprintf("AADSTS%d:", issuer.CodeAdminApprovalRequired)) {
			t.Fatalf("want the admin approval page\n%s", p.body)
		}
		v := redirectParams(t, b.submit(p, url.Values{"decision": {"cancel"}}), ixShopCB)
		wantRedirectError(t, v, "access_denied", issuer.CodeUserDeclinedConsent)
	})

	t.Run("cancel", func(t *testing.T) {
		b := w.browserFor(t)
		p := b.signIn(b.get(authorizeURL("contoso.com", shopRequest(nil))), "alice@contoso.com")
		v := redirectParams(t, b.submit(p, url.Values{"decision": {"cancel"}}), ixShopCB)
		wantRedirectError(t, v, "access_denied", issuer.CodeUserDeclinedConsent)
		if v.Get("error_subcode") != "cancel" || v.Get("state") != "st-1" {
			t.Errorf("redirect %v; want error_subcode=cancel and the state", v)
		}
		if l, _ := w.Consent.List(context.Background(), "contoso.com", ixShop); len(l.PermissionGrants) != 0 {
			t.Errorf("grants after cancel: %+v", l.PermissionGrants)
		}
	})

	t.Run("prompt=none needs consent", func(t *testing.T) {
		b := w.browserFor(t)
		b.signIn(b.get(authorizeURL("contoso.com", shopRequest(map[string]string{"scope": "openid"}))), "alice@contoso.com")
		v := redirectParams(t, b.get(authorizeURL("contoso.com", shopRequest(map[string]string{"prompt": "none"}))), ixShopCB)
		wantRedirectError(t, v, "consent_required", issuer.CodeConsentRequired)
	})

	t.Run("tenant without user consent", func(t *testing.T) {
		disabled := tenant.UserConsentDisabled
		if _, err := w.Directory.UpdateTenant(context.Background(), "contoso.com", func(t *tenant.Tenant) error { t.UserConsent = disabled; return nil }); err != nil {
			t.Fatal(err)
		}
		b := w.browserFor(t)
		p := b.signIn(b.get(authorizeURL("contoso.com", shopRequest(nil))), "alice@contoso.com")
		if !strings.Contains(p.body, fmt.Sprintf("AADSTS%d:", issuer.CodeUserConsentBlocked)) {
			t.Fatalf("want AADSTS90093\n%s", p.body)
		}
		if _, err := w.Directory.UpdateTenant(context.Background(), "contoso.com", func(t *tenant.Tenant) error { t.UserConsent = tenant.UserConsentAllowed; return nil }); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("response modes", func(t *testing.T) {
		w.Consent.PutGrant(context.Background(), w.contoso, ixShop, "api://orders", "", []string{"Orders.Read"})
		b := w.browserFor(t)
		v := redirectParams(t, b.signIn(b.get(authorizeURL("contoso.com", shopRequest(map[string]string{"response_mode": "fragment"}))), "alice@contoso.com"), ixShopCB)
		if v.Get("code") == "" {
			t.Errorf("fragment: %v", v)
		}
		p := b.get(authorizeURL("contoso.com", shopRequest(map[string]string{"response_mode": "form_post", "response_type": "code id_token"})))
		if p.status != 200 || !strings.Contains(p.body, `action="`+ixShopCB+`"`) || !strings.Contains(p.body, `name="id_token"`) || !strings.Contains(p.body, `name="code"`) {
			t.Errorf("form_post: %d\n%s", p.status, p.body)
		}
		idt := ""
		for _, h := range hiddenRe.FindAllStringSubmatch(p.body, -1) {
			if h[1] == "id_token" {
				idt = h[2]
			}
		}
		if c := jwtClaims(t, idt); c["nonce"] != "n-1" || c["c_hash"] == nil {
			t.Errorf("hybrid id_token claims %v; want nonce and c_hash", c)
		}
	})
	t.Run("administrator for the organization", func(t *testing.T) {
		b := w.browserFor(t)
		p := b.signIn(b.get(authorizeURL("contoso.com", shopRequest(map[string]string{"scope": "api://orders/Orders.Read api://orders/Orders.Admin"}))), "ada@contoso.com")
		if !strings.Contains(p.body, "Consent on behalf of your organization") || strings.Contains(p.body, "checked") {
			t.Fatalf("want the organization choice, unticked\n%s", p.body)
		}
		// Without the box, an Admin-type scope cannot be granted.
		again := b.submit(p, url.Values{"decision": {"accept"}})
		if !strings.Contains(again.body, "on behalf of your organization") || again.status != 200 {
			t.Fatalf("accept without the box: %d %q\n%s", again.status, again.location, again.body)
		}
		v := redirectParams(t, b.submit(again, url.Values{"decision": {"accept"}, "org": {"1"}}), ixShopCB)
		if v.Get("code") == "" {
			t.Fatalf("redirect %v; want a code", v)
		}
		l, _ := w.Consent.List(context.Background(), "contoso.com", ixShop)
		if len(l.PermissionGrants) != 1 || l.PermissionGrants[0].ConsentType != consent.AllPrincipals {
			t.Fatalf("grants %+v; want one AllPrincipals grant", l.PermissionGrants)
		}
		// Alice now gets the admin-only scope without a page.
		b2 := w.browserFor(t)
		v = redirectParams(t, b2.signIn(b2.get(authorizeURL("contoso.com", shopRequest(map[string]string{"scope": "api://orders/Orders.Admin"}))), "alice@contoso.com"), ixShopCB)
		if v.Get("code") == "" {
			t.Errorf("alice after admin consent: %v", v)
		}
	})
}

// TestAdminConsentEndpoint: Fabrikam's administrator consents to the
// multi-tenant Shop, which provisions it (and the Orders API) in Fabrikam;
// Shop then gets an app-only token there. A non-administrator is stopped.
func TestAdminConsentEndpoint(t *testing.T) {
	w := newIxWorld(t)
	q := url.Values{"client_id": {ixShop}, "redirect_uri": {ixShopCB}, "state": {"ac-1"}, "scope": {"api://orders/.default"}}
	path := "/" + w.fabrikam.ID + "/v2.0/adminconsent?" + q.Encode()

	b := w.browser()
	p := b.signIn(b.get(path), "finn@fabrikam.onmicrosoft.com")
	if !strings.Contains(p.body, fmt.Sprintf("AADSTS%d:", issuer.CodeAdminApprovalRequired)) {
		t.Fatalf("non-administrator: want the admin approval page\n%s", p.body)
	}
	v := redirectParams(t, b.submit(p, url.Values{"decision": {"cancel"}}), ixShopCB)
	if v.Get("error") != "permission_denied" || v.Get("admin_consent") != "False" {
		t.Errorf("cancel: %v", v)
	}

	// Before consent, Fabrikam does not know Shop.
	cc := url.Values{"grant_type": {"client_credentials"}, "client_id": {ixShop}, "client_secret": {w.shopSecret}, "scope": {"api://orders/.default"}}
	if status, body := w.redeem(t, w.fabrikam.ID, cc, ""); status == 200 {
		t.Fatalf("client credentials in Fabrikam before consent: %v", body)
	}
	b = w.browser()
	p = b.signIn(b.get(path), "fay@fabrikam.onmicrosoft.com")
	if !strings.Contains(p.body, "Orders.Sync") || strings.Contains(p.body, "Consent on behalf of your organization") {
		t.Fatalf("want the admin consent page listing the app role\n%s", p.body)
	}
	v = redirectParams(t, b.submit(p, url.Values{"decision": {"accept"}}), ixShopCB)
	if v.Get("admin_consent") != "True" || v.Get("tenant") != w.fabrikam.ID || v.Get("state") != "ac-1" {
		t.Fatalf("admin consent redirect %v", v)
	}
	compareGolden(t, "adminconsent_redirect", goldenParams(v))
	status, body := w.redeem(t, w.fabrikam.ID, cc, "")
	if status != 200 {
		t.Fatalf("client credentials in Fabrikam after consent: %d %v", status, body)
	}
	if c := jwtClaims(t, body["access_token"].(string)); c["tid"] != w.fabrikam.ID || fmt.Sprint(c["roles"]) != "[Orders.Sync]" {
		t.Errorf("app-only token claims %v; want tid Fabrikam and roles [Orders.Sync]", c)
	}
	// Unregistered redirect URI: a page, never a redirect.
	q.Set("redirect_uri", "https://evil.example/")
	if p := w.browser().get("/" + w.fabrikam.ID + "/v2.0/adminconsent?" + q.Encode()); p.location != "" || !strings.Contains(p.body, "AADSTS50011:") {
		t.Errorf("unregistered redirect: %d %q", p.status, p.location)
	}
}

// deviceStart asks for a device code for CLI.
func (w *ixWorld) deviceStart(t *testing.T) (deviceCode, userCode string) {
	t.Helper()
	status, body := w.post(t, "/contoso.com/oauth2/v2.0/devicecode", url.Values{"client_id": {ixCLI}, "scope": {"api://orders/Orders.Read offline_access"}})
	if status != 200 {
		t.Fatalf("devicecode: %d %v", status, body)
	}
	if body["verification_uri"] != w.URL+"/devicelogin" || body["expires_in"] != float64(900) || body["interval"] != float64(5) {
		t.Errorf("devicecode answer %v", body)
	}
	return body["device_code"].(string), body["user_code"].(string)
}

func (w *ixWorld) post(t *testing.T, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	return w.postJSON(t, path, form, "")
}

func (w *ixWorld) poll(t *testing.T, deviceCode string) (int, map[string]any) {
	t.Helper()
	return w.post(t, "/contoso.com/oauth2/v2.0/token", url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:device_code"},
		"client_id": {ixCLI}, "device_code": {deviceCode}})
}

// TestDeviceCodeFlow: pending, slow_down, the code entered and consented
// in a browser, the tokens once; a cancelled one is declined; an old one
// expired.
func TestDeviceCodeFlow(t *testing.T) {
	w := newIxWorld(t)
	dc, uc := w.deviceStart(t)
	status, body := w.poll(t, dc)
	wantTokenError(t, status, body, "authorization_pending", issuer.CodeDevicePending)
	status, body = w.poll(t, dc)
	wantTokenError(t, status, body, "slow_down", issuer.CodeDevicePending)
	b := w.browser()
	entry := b.get("/devicelogin")
	if wrong := b.submit(entry, url.Values{"otc": {"ZZZZZZZZZ"}}); !strings.Contains(wrong.body, "AADSTS70018") {
		t.Errorf("a wrong code: want AADSTS70018 on the page\n%s", wrong.body)
	}
	p := b.signIn(b.submit(entry, url.Values{"otc": {strings.ToLower(uc)}}), "alice@contoso.com")
	done := b.submit(p, url.Values{"decision": {"accept"}})
	if !strings.Contains(done.body, "signed in to CLI on your device") {
		t.Fatalf("want the done page\n%s", done.body)
	}
	w.Advance(6 * time.Second)
	status, body = w.poll(t, dc)
	if status != 200 || body["refresh_token"] == nil {
		t.Fatalf("poll after approval: %d %v", status, body)
	}
	if c := jwtClaims(t, body["access_token"].(string)); c["scp"] != "Orders.Read" || c["azpacr"] != "0" {
		t.Errorf("device token claims %v", c)
	}
	status, body = w.poll(t, dc)
	wantTokenError(t, status, body, "bad_verification_code", issuer.CodeBadVerificationCode)

	t.Run("declined", func(t *testing.T) {
		dc, uc := w.deviceStart(t)
		b := w.browserFor(t)
		entry := b.get("/devicelogin?otc=" + uc)
		if !strings.Contains(entry.body, `value="`+uc+`"`) {
			t.Errorf("?otc= does not fill the code in\n%s", entry.body)
		}
		p := b.signIn(b.submit(entry, url.Values{"otc": {uc}}), "ada@contoso.com")
		if !strings.Contains(p.body, "Permissions requested") {
			// Ada has not consented for herself yet (alice's grant is hers).
			t.Fatalf("want the consent page\n%s", p.body)
		}
		b.submit(p, url.Values{"decision": {"cancel"}})
		status, body := w.poll(t, dc)
		wantTokenError(t, status, body, "authorization_declined", issuer.CodeUserDeclinedConsent)
	})
	t.Run("expired", func(t *testing.T) {
		dc, _ := w.deviceStart(t)
		w.Advance(16 * time.Minute)
		status, body := w.poll(t, dc)
		wantTokenError(t, status, body, "expired_token", issuer.CodeDeviceExpired)
	})
	t.Run("unknown client", func(t *testing.T) {
		status, body := w.post(t, "/contoso.com/oauth2/v2.0/devicecode", url.Values{"client_id": {"0a000000-0000-4000-8000-0000000000ff"}, "scope": {"openid"}})
		wantTokenError(t, status, body, "unauthorized_client", issuer.CodeApplicationNotFound)
	})
}

// goldenParams renders redirect parameters with the per-request ids
// masked, one per line, sorted.
func goldenParams(v url.Values) []byte {
	var lines []string
	mask := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	for k, vs := range v {
		for _, x := range vs {
			if k == "code" || k == "session_state" {
				x = "<" + k + ">"
			}
			if k == "error_description" {
				x = mask.ReplaceAllString(x, "<id>")
			}
			lines = append(lines, k+"="+x)
		}
	}
	sort.Strings(lines)
	return []byte(strings.Join(lines, "\n") + "\n")
}

// goldenErrorBody renders a token error body with the ids masked.
func goldenErrorBody(t *testing.T, body map[string]any) []byte {
	t.Helper()
	mask := regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)
	b, err := json.MarshalIndent(body, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	return append(mask.ReplaceAll(b, []byte("<id>")), '\n')
}

// FuzzLoginForm: whatever a browser posts to the pages' endpoint, with or
// without a live flow, the answer is a page, never a server error.
func FuzzLoginForm(f *testing.F) {
	w := newIxWorld(f)
	b := w.browserFor(f)
	start := b.get(authorizeURL("contoso.com", shopRequest(nil)))
	form := url.Values{}
	for _, h := range hiddenRe.FindAllStringSubmatch(start.body, -1) {
		form.Set(h[1], html.UnescapeString(h[2]))
	}
	for _, step := range []string{"signin", "pick", "consent", "approval", "device", ""} {
		form.Set("step", step)
		f.Add(form.Encode() + "&username=alice%40contoso.com&password=x&account=0&decision=accept&org=1")
	}
	f.Add("flow=%zz&csrf=\x00")
	f.Fuzz(func(t *testing.T, body string) {
		req, _ := http.NewRequest(http.MethodPost, w.URL+"/contoso.com/login", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := b.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode >= 500 {
			t.Fatalf("POST /login %q: status %d", body, resp.StatusCode)
		}
	})
}

// TestDeviceCodeMSALGo: MSAL Go's AcquireTokenByDeviceCode against the
// server's real clock (it waits the interval between polls), with the code
// entered and consented by a browser of this test.
func TestDeviceCodeMSALGo(t *testing.T) {
	w := newIxWorldWith(t)
	app, err := public.New(ixCLI, public.WithAuthority(w.URL+"/contoso.com"), public.WithHTTPClient(w.Client()), public.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dc, err := app.AcquireTokenByDeviceCode(ctx, []string{"api://orders/Orders.Read"})
	if err != nil {
		t.Fatal(err)
	}
	if dc.Result.VerificationURL != w.URL+"/devicelogin" || dc.Result.UserCode == "" {
		t.Fatalf("device code result %+v", dc.Result)
	}
	b := w.browserFor(t)
	p := b.signIn(b.submit(b.get("/devicelogin"), url.Values{"otc": {dc.Result.UserCode}}), "alice@contoso.com")
	if done := b.submit(p, url.Values{"decision": {"accept"}}); !strings.Contains(done.body, "on your device") {
		t.Fatalf("want the done page\n%s", done.body)
	}
	res, err := dc.AuthenticationResult(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if c := jwtClaims(t, res.AccessToken); c["scp"] != "Orders.Read" || c["preferred_username"] != "alice@contoso.com" {
		t.Errorf("token claims %v", c)
	}
	if res.Account.PreferredUsername != "alice@contoso.com" {
		t.Errorf("account %+v", res.Account)
	}
}

// TestAccountPicker: two accounts signed in on one browser; the picker,
// login_hint, prompt=select_account, prompt=login and prompt=none choose
// between them as Entra does.
func TestAccountPicker(t *testing.T) {
	w := newIxWorld(t)
	w.Consent.PutGrant(context.Background(), w.contoso, ixShop, "api://orders", "", []string{"Orders.Read"})
	b := w.browser()
	redirectParams(t, b.signIn(b.get(authorizeURL("contoso.com", shopRequest(nil))), "alice@contoso.com"), ixShopCB)
	redirectParams(t, b.signIn(b.get(authorizeURL("contoso.com", shopRequest(map[string]string{"prompt": "login"}))), "ada@contoso.com"), ixShopCB)

	p := b.get(authorizeURL("contoso.com", shopRequest(nil)))
	if !strings.Contains(p.body, "Pick an account") || !strings.Contains(p.body, "alice@contoso.com") || !strings.Contains(p.body, "ada@contoso.com") {
		t.Fatalf("two accounts: want the picker\n%s", p.body)
	}
	// Ada signed in last, so she is listed first.
	redirectParams(t, b.submit(p, url.Values{"account": {"1"}}), ixShopCB)
	if got := b.submit(b.get(authorizeURL("contoso.com", shopRequest(nil))), url.Values{"account": {"other"}}); !strings.Contains(got.body, `name="password"`) {
		t.Errorf("Use another account: want the sign-in page\n%s", got.body)
	}
	for _, tc := range []struct {
		name   string
		params map[string]string
		want   string // "code", "picker", "signin" or an OAuth error
	}{
		{"login_hint picks one", map[string]string{"login_hint": "ADA@contoso.com"}, "code"},
		{"prompt=none with a hint", map[string]string{"prompt": "none", "login_hint": "alice@contoso.com"}, "code"},
		{"prompt=none without a hint", map[string]string{"prompt": "none"}, "interaction_required"},
		{"prompt=none with another user's hint", map[string]string{"prompt": "none", "login_hint": "zed@contoso.com"}, "login_required"},
		{"select_account", map[string]string{"prompt": "select_account", "login_hint": "ada@contoso.com"}, "picker"},
		{"prompt=login", map[string]string{"prompt": "login", "login_hint": "ada@contoso.com"}, "signin"},
		{"another tenant's authority", map[string]string{"client_id": ixCLI, "redirect_uri": "http://localhost:1234", "tenant": "fabrikam"}, "signin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			seg := "contoso.com"
			if tc.params["tenant"] != "" {
				seg = "fabrikam.onmicrosoft.com"
				delete(tc.params, "tenant")
			}
			p := b.get(authorizeURL(seg, shopRequest(tc.params)))
			switch tc.want {
			case "picker":
				if !strings.Contains(p.body, "Pick an account") {
					t.Errorf("want the picker: %d %q", p.status, p.location)
				}
			case "signin":
				if !strings.Contains(p.body, `name="password"`) {
					t.Errorf("want the sign-in page: %d %q", p.status, p.location)
				}
			case "code":
				base := ixShopCB
				if v := redirectParams(t, p, base); v.Get("code") == "" {
					t.Errorf("want a code: %v", v)
				}
			default:
				v := redirectParams(t, p, ixShopCB)
				if v.Get("error") != tc.want {
					t.Errorf("error = %q; want %s", v.Get("error"), tc.want)
				}
			}
		})
	}
}

// TestGraphCodeFlow: a user signs in to Shop for Microsoft Graph's
// User.Read, consents on the page (Graph is in every tenant), and the
// code's access token is Graph's: it reads the user's /me from the
// server's Graph.
func TestGraphCodeFlow(t *testing.T) {
	w := newIxWorld(t)
	b := w.browser()
	code := w.userConsentCode(t, b, "alice@contoso.com", map[string]string{"scope": "User.Read openid profile offline_access"})
	status, body := w.redeem(t, "contoso.com", codeForm(code, map[string]string{"client_secret": w.shopSecret, "scope": "User.Read openid profile offline_access"}), "")
	if status != 200 {
		t.Fatalf("redeem: %d %v", status, body)
	}
	at := jwtClaims(t, body["access_token"].(string))
	if at["aud"] != tenant.MicrosoftGraphURI || !slices.Contains(strings.Fields(at["scp"].(string)), "User.Read") || at["ver"] != "1.0" {
		t.Errorf("access token claims %v; want a v1.0 Graph token with User.Read", at)
	}
	if got := body["scope"]; !strings.Contains(got.(string), "User.Read") || strings.Contains(got.(string), "graph.microsoft.com") {
		t.Errorf("scope %q; want Graph's scopes unqualified, as Entra lists them", got)
	}
	// The grant holds the OpenID Connect scopes asked for too, as Entra's
	// Graph grants do.
	l, err := w.Consent.List(context.Background(), "contoso.com", ixShop)
	if err != nil || len(l.PermissionGrants) != 1 || l.PermissionGrants[0].Scope != "User.Read openid profile offline_access" {
		t.Errorf("grants = %+v, %v; want one of User.Read openid profile offline_access", l.PermissionGrants, err)
	}
	req, _ := http.NewRequest("GET", w.GraphURL()+"/me", nil)
	req.Header.Set("Authorization", "Bearer "+body["access_token"].(string))
	resp, err := w.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var me map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&me)
	if resp.StatusCode != 200 || me["userPrincipalName"] != "alice@contoso.com" {
		t.Errorf("GET /me = %d %v; want alice", resp.StatusCode, me)
	}
}

// TestOIDCSignIn: a sign-in naming only OpenID Connect scopes is a Graph
// sign-in, as in Entra: the first one shows the consent page with Graph's
// permissions, the code then redeems for an id_token and a Graph token,
// and the next sign-in needs no page.
func TestOIDCSignIn(t *testing.T) {
	w := newIxWorld(t)
	b := w.browser()
	req := shopRequest(map[string]string{"scope": "openid profile"})
	p := b.signIn(b.get(authorizeURL("contoso.com", req)), "alice@contoso.com")
	if !strings.Contains(p.body, "Permissions requested") || !strings.Contains(p.body, "View users&#39; basic profile") {
		t.Fatalf("want the consent page listing Graph's profile permission, got status %d\n%s", p.status, p.body)
	}
	v := redirectParams(t, b.submit(p, url.Values{"decision": {"accept"}}), ixShopCB)
	status, body := w.redeem(t, "contoso.com", codeForm(v.Get("code"), map[string]string{"client_secret": w.shopSecret, "scope": "openid profile"}), "")
	if status != 200 || body["id_token"] == nil {
		t.Fatalf("redeem: %d %v; want tokens with an id_token", status, body)
	}
	if at := jwtClaims(t, body["access_token"].(string)); at["aud"] != tenant.MicrosoftGraphURI || at["scp"] != "openid profile" {
		t.Errorf("access token aud %v scp %v; want Graph's, openid profile", at["aud"], at["scp"])
	}
	// Another browser: the consent is remembered.
	b2 := w.browser()
	redirectParams(t, b2.signIn(b2.get(authorizeURL("contoso.com", req)), "alice@contoso.com"), ixShopCB)
}
