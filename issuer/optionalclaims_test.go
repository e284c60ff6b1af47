package issuer_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/issuer-dev/issuer/tenant"
)

// TestOptionalClaims: the resource's optionalClaims.accessToken shape the
// access tokens issued for it and the client's optionalClaims.idToken the
// id_tokens it receives, with the user's attributes, as Microsoft's
// optional claims reference describes them; nothing is added where nothing
// was asked for, and a claim whose attribute is unset is left out.
func TestOptionalClaims(t *testing.T) {
	w := newWorld(t)
	w.seedDelegated()
	ctx := context.Background()
	claims := func(kind string, names ...string) *tenant.OptionalClaims {
		var oc tenant.OptionalClaims
		for _, n := range names {
			oc.Add(kind, tenant.OptionalClaim{Name: n})
		}
		return &oc
	}
	all := []string{"idtyp", "email", "given_name", "family_name", "upn", "acct", "ctry"}
	_, err := w.Directory.UpdateApplication(ctx, middleID, tenant.ApplicationUpdate{OptionalClaims: claims(tenant.TokenTypeAccess, all...)})
	w.must(err)
	_, err = w.Directory.UpdateApplication(ctx, inventoryID, tenant.ApplicationUpdate{OptionalClaims: claims(tenant.TokenTypeAccess, "idtyp")})
	w.must(err)
	idc := claims(tenant.TokenTypeID, "email", "login_hint", "upn", "given_name")
	_, err = w.Directory.UpdateApplication(ctx, nativeID, tenant.ApplicationUpdate{OptionalClaims: idc})
	w.must(err)
	mail, given, sur, ctry := "ada@example.com", "Ada", "Lovelace", "gb"
	_, err = w.Directory.UpdateUser(ctx, tenantA, adaUPN, tenant.UserUpdate{UserAttributes: tenant.UserAttributes{
		Mail: &mail, GivenName: &given, Surname: &sur, Country: &ctry}})
	w.must(err)

	v2 := "/" + tenantA + "/oauth2/v2.0/token"
	pw := w.tokenOK(t, v2, pwForm())
	downstream := w.tokenOK(t, v2, oboForm(pw["access_token"].(string)))
	var app map[string]any
	w.post(t, v2, ccForm("scope", "api://inventory/.default")).decode(t, &app)
	var plainApp map[string]any
	w.post(t, v2, ccForm("scope", "api://reports/.default")).decode(t, &plainApp)
	v1 := w.tokenOK(t, "/"+tenantA+"/oauth2/token", pwForm("resource", "api://middle", "scope", "openid"))

	decode := func(t *testing.T, tok string) map[string]any {
		t.Helper()
		var m map[string]any
		if err := json.Unmarshal(segment(t, tok, 1), &m); err != nil {
			t.Fatal(err)
		}
		return m
	}
	for _, tc := range []struct {
		name   string
		token  string
		want   map[string]any
		absent []string
	}{
		{"user access token of a resource asking for all", pw["access_token"].(string), map[string]any{
			"idtyp": "user", "email": mail, "given_name": given, "family_name": sur, "upn": adaUPN, "acct": float64(0), "ctry": "GB"},
			[]string{"login_hint"}},
		{"id_token of a client asking for some", pw["id_token"].(string), map[string]any{
			"email": mail, "upn": adaUPN, "given_name": given},
			[]string{"idtyp", "family_name", "acct", "ctry"}},
		{"user access token of a resource asking for none", downstream["access_token"].(string), nil,
			[]string{"idtyp", "email", "given_name", "family_name", "upn", "acct", "ctry"}},
		{"app-only token of a resource asking for idtyp", app["access_token"].(string), map[string]any{"idtyp": "app"}, nil},
		{"app-only token of a resource asking for nothing", plainApp["access_token"].(string), nil, []string{"idtyp"}},
		// v1 tokens carry given_name and family_name whenever the user has them.
		{"v1 id_token", v1["id_token"].(string), map[string]any{"given_name": given, "family_name": sur, "email": mail}, []string{"idtyp"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := decode(t, tc.token)
			for k, want := range tc.want {
				if c[k] != want {
					t.Errorf("claim %s = %#v; want %#v", k, c[k], want)
				}
			}
			for _, k := range tc.absent {
				if v, ok := c[k]; ok {
					t.Errorf("claim %s = %#v; want it absent", k, v)
				}
			}
		})
	}
	if lh, _ := decode(t, pw["id_token"].(string))["login_hint"].(string); lh == "" {
		t.Error("id_token has no login_hint; want the opaque hint the client asked for")
	}

	// An attribute cleared leaves its claim out, even when asked for.
	empty := ""
	_, err = w.Directory.UpdateUser(ctx, tenantA, adaUPN, tenant.UserUpdate{UserAttributes: tenant.UserAttributes{Mail: &empty}})
	w.must(err)
	c := decode(t, w.tokenOK(t, v2, pwForm())["access_token"].(string))
	if v, ok := c["email"]; ok {
		t.Errorf("email = %v after the user's mail was cleared; want it absent", v)
	}
}
