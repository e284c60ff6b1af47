package issuer_test

import (
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/tenant"
)

// graphIdentifierForm is a name a client may give Microsoft Graph in a
// scope or resource= on a server whose Graph endpoint (graph.Mount's
// alias, issuer.Server.AliasResource) is at an alias: Entra's own
// identifiers, and the alias in the forms an identifier URI is matched in
// (case-insensitive, one trailing slash). ok is false for a name that is no
// alias: a path below the endpoint is another identifier, which no
// application has. aud is the audience of the token: the resource as
// named (Entra's v1.0 tokens, which Graph's are, carry the identifier the
// client asked for), and Graph's identifier URI for an alias.
type graphIdentifierForm struct {
	name, resource, aud string
	ok                  bool
}

// graphAliasWorld returns an interaction world and the forms of Graph's
// names on its server, whose Graph endpoint is the alias.
func graphAliasWorld(t *testing.T) (*ixWorld, []graphIdentifierForm) {
	w := newIxWorld(t)
	alias := strings.TrimSuffix(w.GraphURL(), "/v1.0")
	u, _ := url.Parse(alias)
	upper := strings.ToUpper(u.Scheme) + "://" + strings.ToUpper(u.Host) + strings.ToUpper(u.Path)
	graph := tenant.MicrosoftGraphURI
	return w, []graphIdentifierForm{
		{"Graph's identifier URI", graph, graph, true},
		{"Graph's identifier URI with a slash", graph + "/", graph + "/", true},
		{"Graph's appId", tenant.MicrosoftGraphAppID, tenant.MicrosoftGraphAppID, true},
		{"alias", alias, graph, true},
		{"alias with a slash", alias + "/", graph, true},
		{"alias in upper case", upper, graph, true},
		{"path below the alias", alias + "/v1.0", "", false},
	}
}

// wantGraphToken checks the token endpoint's answer to step: 200 and an
// access token for aud; with scp not empty, delegated to User.Read (scp
// "User.Read" exactly, "*User.Read" among other scopes).
func wantGraphToken(t *testing.T, step string, status int, body map[string]any, aud, scp string) {
	t.Helper()
	if status != http.StatusOK {
		t.Fatalf("%s: %d %v", step, status, body)
	}
	c := jwtClaims(t, body["access_token"].(string))
	got := fmt.Sprint(c["scp"])
	scpOK := scp == "" || got == scp || strings.HasPrefix(scp, "*") && slices.Contains(strings.Fields(got), scp[1:])
	if c["aud"] != aud || !scpOK {
		t.Errorf("%s: access token claims %v; want aud %s and scp %s", step, c, aud, scp)
	}
}

// TestResourceAliasTokenEndpoint: every identifier of Graph names Graph at
// the token endpoint, as a v2 scope and as v1's resource=; the token's
// audience is the name sent, or Graph's identifier URI for an alias.
func TestResourceAliasTokenEndpoint(t *testing.T) {
	w, forms := graphAliasWorld(t)
	for _, form := range forms {
		for _, endpoint := range []string{"v1", "v2"} {
			t.Run(form.name+"/"+endpoint, func(t *testing.T) {
				f := url.Values{"grant_type": {"client_credentials"}, "client_id": {ixShop}, "client_secret": {w.shopSecret}}
				path := "/contoso.com/oauth2/v2.0/token"
				if endpoint == "v1" {
					f.Set("resource", form.resource)
					path = "/contoso.com/oauth2/token"
				} else {
					f.Set("scope", form.resource+"/.default")
				}
				status, body := w.post(t, path, f)
				if !form.ok {
					wantTokenError(t, status, body, "invalid_resource", issuer.CodeResourceNotFound)
					return
				}
				wantGraphToken(t, "token", status, body, form.aud, "")
			})
		}
	}
}

// TestResourceAliasAuthorize: the same names are Graph in the scope of an
// authorization request: the user consents to Graph's User.Read, and the
// code redeems (with the same scope) for a Graph token; a name that is no
// alias is refused after the sign-in, redirected to the client.
func TestResourceAliasAuthorize(t *testing.T) {
	w, forms := graphAliasWorld(t)
	for _, form := range forms {
		t.Run(form.name, func(t *testing.T) {
			scope := form.resource + "/User.Read openid"
			b := w.browserFor(t)
			p := b.signIn(b.get(authorizeURL("contoso.com", shopRequest(map[string]string{"scope": scope}))), "alice@contoso.com")
			if !form.ok {
				wantRedirectError(t, redirectParams(t, p, ixShopCB), "invalid_resource", issuer.CodeResourceNotFound)
				return
			}
			if strings.Contains(p.body, "Permissions requested") { // the first case consents; the grant serves the rest
				p = b.submit(p, url.Values{"decision": {"accept"}})
			}
			v := redirectParams(t, p, ixShopCB)
			if v.Get("code") == "" {
				t.Fatalf("redirect %v; want a code", v)
			}
			status, body := w.redeem(t, "contoso.com", codeForm(v.Get("code"), map[string]string{"client_secret": w.shopSecret, "scope": scope}), "")
			wantGraphToken(t, "redeem", status, body, form.aud, "User.Read")
		})
	}
}

// TestResourceAliasAuthorizeV1: the same names are Graph as v1's
// resource= of an authorization request, once the user has consented to
// Graph's User.Read for the client: the code redeems at the v1 token
// endpoint for a Graph token.
func TestResourceAliasAuthorizeV1(t *testing.T) {
	w, forms := graphAliasWorld(t)
	b := w.browser()
	w.userConsentCode(t, b, "alice@contoso.com", map[string]string{"scope": "User.Read openid"})
	for _, form := range forms {
		t.Run(form.name, func(t *testing.T) {
			q := url.Values{"client_id": {ixShop}, "response_type": {"code"}, "redirect_uri": {ixShopCB}, "resource": {form.resource}}
			v := redirectParams(t, b.get("/contoso.com/oauth2/authorize?"+q.Encode()), ixShopCB)
			if !form.ok {
				wantRedirectError(t, v, "invalid_resource", issuer.CodeResourceNotFound)
				return
			}
			if v.Get("code") == "" {
				t.Fatalf("redirect %v; want a code", v)
			}
			status, body := w.post(t, "/contoso.com/oauth2/token", url.Values{"grant_type": {"authorization_code"}, "client_id": {ixShop},
				"client_secret": {w.shopSecret}, "code": {v.Get("code")}, "redirect_uri": {ixShopCB}, "resource": {form.resource}})
			wantGraphToken(t, "redeem", status, body, form.aud, "*User.Read")
		})
	}
}

// TestResourceAliasDeviceCode: the same names are Graph in the scope of a
// device code request: the code is approved in a browser and the poll
// gets a Graph token; a name that is no alias is refused at the approval.
func TestResourceAliasDeviceCode(t *testing.T) {
	w, forms := graphAliasWorld(t)
	for _, form := range forms {
		t.Run(form.name, func(t *testing.T) {
			status, body := w.post(t, "/contoso.com/oauth2/v2.0/devicecode", url.Values{"client_id": {ixCLI}, "scope": {form.resource + "/User.Read"}})
			if status != http.StatusOK {
				t.Fatalf("devicecode: %d %v", status, body)
			}
			dc, uc := body["device_code"].(string), body["user_code"].(string)
			b := w.browserFor(t)
			p := b.signIn(b.submit(b.get("/devicelogin"), url.Values{"otc": {uc}}), "alice@contoso.com")
			if !form.ok {
				if !strings.Contains(p.body, "AADSTS500011") {
					t.Fatalf("want AADSTS500011 on the page\n%s", p.body)
				}
				return
			}
			if strings.Contains(p.body, "Permissions requested") {
				p = b.submit(p, url.Values{"decision": {"accept"}})
			}
			if !strings.Contains(p.body, "signed in to CLI on your device") {
				t.Fatalf("want the done page\n%s", p.body)
			}
			w.Advance(6 * time.Second)
			status, body = w.poll(t, dc)
			wantGraphToken(t, "poll", status, body, form.aud, "User.Read")
		})
	}
}
