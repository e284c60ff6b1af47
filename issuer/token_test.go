package issuer_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"testing"
)

// TestClientCredentials runs successful client-credentials requests end to
// end and checks each token as a relying party would: signature against the
// published JWKS, iss equal to the discovery issuer of the token's version,
// and the app-only claims of protocol.md §3.3. The token version follows the
// resource, not the endpoint.
func TestClientCredentials(t *testing.T) {
	w := newWorld(t)
	iat := fixedNow.Unix() - 300
	for _, tc := range []struct {
		name     string
		path     string
		form     url.Values
		edit     func(*http.Request)
		endpoint int
		version  int
		aud      string
		roles    []string
	}{
		{name: "v2 endpoint, v2 resource by URI", path: "/" + tenantA + "/oauth2/v2.0/token",
			form: ccForm("scope", "api://inventory/.default"), endpoint: 2, version: 2, aud: inventoryID, roles: []string{"Inventory.Read.All"}},
		{name: "v2 endpoint, v2 resource by appId", path: "/" + tenantA + "/oauth2/v2.0/token",
			form: ccForm("scope", inventoryID+"/.default"), endpoint: 2, version: 2, aud: inventoryID, roles: []string{"Inventory.Read.All"}},
		{name: "v2 endpoint, v1 resource", path: "/" + tenantA + "/oauth2/v2.0/token",
			form: ccForm("scope", "api://orders/.default"), endpoint: 2, version: 1, aud: "api://orders", roles: []string{"Orders.Read.All"}},
		{name: "v2 endpoint, v1 resource by appId", path: "/" + tenantA + "/oauth2/v2.0/token",
			form: ccForm("scope", ordersID+"/.default"), endpoint: 2, version: 1, aud: ordersID, roles: []string{"Orders.Read.All"}},
		{name: "v2 endpoint, resource as requested keeps its case", path: "/" + tenantA + "/oauth2/v2.0/token",
			form: ccForm("scope", "API://Orders/.default"), endpoint: 2, version: 1, aud: "API://Orders", roles: []string{"Orders.Read.All"}},
		{name: "v2 endpoint, resource with trailing slash", path: "/" + tenantA + "/oauth2/v2.0/token",
			form: ccForm("scope", "api://orders//.default"), endpoint: 2, version: 1, aud: "api://orders/", roles: []string{"Orders.Read.All"}},
		{name: "v2 endpoint, OIDC scopes as MSAL Go adds them", path: "/" + tenantA + "/oauth2/v2.0/token",
			form: ccForm("scope", "api://inventory/.default openid offline_access profile"), endpoint: 2, version: 2, aud: inventoryID, roles: []string{"Inventory.Read.All"}},
		{name: "v2 endpoint, no roles assigned", path: "/" + tenantA + "/oauth2/v2.0/token",
			form: ccForm("scope", "api://reports/.default"), endpoint: 2, version: 2, aud: reportsID},
		{name: "v1 endpoint, v1 resource", path: "/" + tenantA + "/oauth2/token",
			form: ccForm("resource", "api://orders"), endpoint: 1, version: 1, aud: "api://orders", roles: []string{"Orders.Read.All"}},
		{name: "v1 endpoint, v2 resource", path: "/" + tenantA + "/oauth2/token",
			form: ccForm("resource", "api://inventory"), endpoint: 1, version: 2, aud: inventoryID, roles: []string{"Inventory.Read.All"}},
		{name: "v1 endpoint ignores scope", path: "/" + tenantA + "/oauth2/token",
			form: ccForm("resource", ordersID, "scope", "nonsense"), endpoint: 1, version: 1, aud: ordersID, roles: []string{"Orders.Read.All"}},
		{name: "tenant by domain in mixed case", path: "/Contoso.OnMicrosoft.com/oauth2/v2.0/token",
			form: ccForm("scope", "api://inventory/.default"), endpoint: 2, version: 2, aud: inventoryID, roles: []string{"Inventory.Read.All"}},
		{name: "tenant by extra domain", path: "/contoso.com/oauth2/token",
			form: ccForm("resource", "api://orders"), endpoint: 1, version: 1, aud: "api://orders", roles: []string{"Orders.Read.All"}},
		{name: "tenant GUID in upper case", path: "/6C1E0B7A-2D3F-4A5B-8C9D-0E1F2A3B4C5D/oauth2/v2.0/token",
			form: ccForm("scope", "api://inventory/.default"), endpoint: 2, version: 2, aud: inventoryID, roles: []string{"Inventory.Read.All"}},
		{name: "client_id in upper case", path: "/" + tenantA + "/oauth2/v2.0/token",
			form: ccForm("scope", "api://inventory/.default", "client_id", "B41D9E6F-0A83-4C25-91D7-5E8A4F60B3C2"), endpoint: 2, version: 2, aud: inventoryID, roles: []string{"Inventory.Read.All"}},
		{name: "HTTP Basic, form-urlencoded as RFC 6749 says", path: "/" + tenantA + "/oauth2/v2.0/token",
			form:     ccForm("scope", "api://inventory/.default", "client_id", "", "client_secret", ""),
			edit:     func(r *http.Request) { r.SetBasicAuth(url.QueryEscape(clientID), url.QueryEscape(clientSecret)) },
			endpoint: 2, version: 2, aud: inventoryID, roles: []string{"Inventory.Read.All"}},
		{name: "HTTP Basic with the same client_id in the body", path: "/" + tenantA + "/oauth2/token",
			form:     ccForm("resource", "api://orders", "client_secret", ""),
			edit:     func(r *http.Request) { r.SetBasicAuth(clientID, url.QueryEscape(clientSecret)) },
			endpoint: 1, version: 1, aud: "api://orders", roles: []string{"Orders.Read.All"}},
		{name: "content type with charset", path: "/" + tenantA + "/oauth2/v2.0/token",
			form: ccForm("scope", "api://inventory/.default"),
			edit: func(r *http.Request) {
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=UTF-8")
			},
			endpoint: 2, version: 2, aud: inventoryID, roles: []string{"Inventory.Read.All"}},
		{name: "unknown parameters MSAL sends are ignored", path: "/" + tenantA + "/oauth2/v2.0/token",
			form: ccForm("scope", "api://inventory/.default", "client_info", "1", "x-client-SKU", "MSAL.Go", "x-client-VER", "1.10.1",
				"claims", `{"access_token":{"xms_cc":{"values":["CP1"]}}}`, "x-ms-lib-capability", "retry-after, h429"),
			endpoint: 2, version: 2, aud: inventoryID, roles: []string{"Inventory.Read.All"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			edits := []func(*http.Request){}
			if tc.edit != nil {
				edits = append(edits, tc.edit)
			}
			r := w.post(t, tc.path, tc.form, edits...)
			if r.status != http.StatusOK {
				t.Fatalf("POST %s = %d %s; want 200", tc.path, r.status, r.body)
			}
			checkNoStoreHeaders(t, r, 0)

			token, expiresIn := tokenFromResponse(t, r, tc.endpoint, tc.form)
			if expiresIn != 3599 {
				t.Errorf("expires_in = %d; want 3599", expiresIn)
			}
			v := w.verify(t, token, tenantA, tc.version)
			c := v.claims
			wantHeader := []string{"typ", "alg", "kid"}
			if tc.version == 1 {
				wantHeader = []string{"typ", "alg", "x5t", "kid"}
			}
			if got := keysInOrder(t, segment(t, token, 0)); !slices.Equal(got, wantHeader) {
				t.Errorf("header members = %v; want %v", got, wantHeader)
			}
			if v.header["x5t"] != nil && v.header["x5t"] != v.kid {
				t.Errorf("x5t = %v; want kid %q", v.header["x5t"], v.kid)
			}
			checkClaim(t, c, "ver", map[int]string{1: "1.0", 2: "2.0"}[tc.version])
			checkClaim(t, c, "aud", tc.aud)
			checkClaim(t, c, "tid", tenantA)
			checkClaim(t, c, "oid", w.clientSP)
			checkClaim(t, c, "sub", w.clientSP)
			checkClaim(t, c, "iat", float64(iat))
			checkClaim(t, c, "nbf", float64(iat))
			checkClaim(t, c, "exp", float64(iat+3900))
			if tc.version == 1 {
				checkClaim(t, c, "appid", clientID)
				checkClaim(t, c, "appidacr", "1")
				checkClaim(t, c, "idp", c["iss"])
				checkAbsent(t, c, "azp", "azpacr")
			} else {
				checkClaim(t, c, "azp", clientID)
				checkClaim(t, c, "azpacr", "1")
				checkAbsent(t, c, "appid", "appidacr", "idp", "idtyp")
			}
			if uti, _ := c["uti"].(string); len(uti) != 22 {
				t.Errorf("uti = %q; want 22 characters", uti)
			}
			if tc.roles == nil {
				checkAbsent(t, c, "roles")
			} else if got := stringSlice(c["roles"]); !slices.Equal(got, tc.roles) {
				t.Errorf("roles = %v; want %v", got, tc.roles)
			}
			wantOrder := []string{"aud", "iss", "iat", "nbf", "exp"}
			if got := keysInOrder(t, segment(t, token, 1)); !slices.Equal(got[:5], wantOrder) || !slices.IsSorted(got[5:]) {
				t.Errorf("claim order = %v; want %v then alphabetical", got, wantOrder)
			}
		})
	}
}

// tokenFromResponse checks the response body shape of the endpoint (v2:
// numbers, v1: strings with expires_on, not_before, resource) and returns
// the access token and expires_in.
func tokenFromResponse(t *testing.T, r result, endpoint int, form url.Values) (string, int64) {
	t.Helper()
	var m map[string]any
	r.decode(t, &m)
	if m["token_type"] != "Bearer" {
		t.Errorf("token_type = %v; want Bearer", m["token_type"])
	}
	token, _ := m["access_token"].(string)
	if endpoint == 2 {
		want := []string{"token_type", "expires_in", "ext_expires_in", "access_token"}
		if got := keysInOrder(t, r.body); !slices.Equal(got, want) {
			t.Errorf("v2 response members = %v; want %v", got, want)
		}
		in, ok := m["expires_in"].(float64)
		if !ok || m["ext_expires_in"] != in {
			t.Errorf("expires_in = %v, ext_expires_in = %v; want equal numbers", m["expires_in"], m["ext_expires_in"])
		}
		return token, int64(in)
	}
	want := []string{"token_type", "expires_in", "ext_expires_in", "expires_on", "not_before", "resource", "access_token"}
	if got := keysInOrder(t, r.body); !slices.Equal(got, want) {
		t.Errorf("v1 response members = %v; want %v", got, want)
	}
	for _, k := range want {
		if _, ok := m[k].(string); !ok {
			t.Errorf("v1 %s = %#v; want a string", k, m[k])
		}
	}
	if m["resource"] != form.Get("resource") {
		t.Errorf("resource = %v; want the request's %q", m["resource"], form.Get("resource"))
	}
	claims := decodeSegment(t, token, 1)
	exp, nbf := fmt.Sprint(int64(claims["exp"].(float64))), fmt.Sprint(int64(claims["nbf"].(float64)))
	if m["expires_on"] != exp || m["not_before"] != nbf {
		t.Errorf("expires_on, not_before = %v, %v; want the token's exp, nbf %s, %s", m["expires_on"], m["not_before"], exp, nbf)
	}
	in, err := strconv.ParseInt(m["expires_in"].(string), 10, 64)
	if err != nil || m["ext_expires_in"] != m["expires_in"] {
		t.Errorf("expires_in = %v, ext_expires_in = %v; want equal integer strings", m["expires_in"], m["ext_expires_in"])
	}
	return token, in
}

// checkNoStoreHeaders checks the token endpoint's headers (protocol.md §1.6).
func checkNoStoreHeaders(t *testing.T, r result, code int) {
	t.Helper()
	for k, want := range map[string]string{
		"Cache-Control":             "no-store, no-cache",
		"Pragma":                    "no-cache",
		"Expires":                   "-1",
		"Content-Type":              "application/json; charset=utf-8",
		"X-Ms-Clitelem":             fmt.Sprintf("1,%d,0,,", code),
		"Strict-Transport-Security": "max-age=31536000; includeSubDomains",
		"X-Content-Type-Options":    "nosniff",
		"X-Ms-Ests-Server":          "issuer - local",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("header %s = %q; want %q", k, got, want)
		}
	}
	if r.header.Get("x-ms-request-id") == "" {
		t.Errorf("header x-ms-request-id is missing")
	}
}

func checkClaim(t *testing.T, c map[string]any, name string, want any) {
	t.Helper()
	if got := c[name]; got != want {
		t.Errorf("claim %s = %#v; want %#v", name, got, want)
	}
}

func checkAbsent(t *testing.T, c map[string]any, names ...string) {
	t.Helper()
	for _, n := range names {
		if v, ok := c[n]; ok {
			t.Errorf("claim %s = %#v; want it absent", n, v)
		}
	}
}

func stringSlice(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

// keysInOrder returns the member names of a JSON object in document order.
func keysInOrder(t testing.TB, b []byte) []string {
	t.Helper()
	dec := json.NewDecoder(bytes.NewReader(b))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		t.Fatalf("not a JSON object: %s", b)
	}
	var keys []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, tok.(string))
		var skip json.RawMessage
		if err := dec.Decode(&skip); err != nil {
			t.Fatal(err)
		}
	}
	return keys
}

// TestClientCredentialsConcurrent issues tokens in parallel: the signer and
// key set are shared, and the race detector watches them.
func TestClientCredentialsConcurrent(t *testing.T) {
	w := newWorld(t)
	var wg sync.WaitGroup
	errs := make(chan string, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			path, form := "/"+tenantA+"/oauth2/v2.0/token", ccForm("scope", "api://inventory/.default")
			if i%2 == 1 {
				path, form = "/"+tenantA+"/oauth2/token", ccForm("resource", "api://orders")
			}
			resp, err := w.Client().PostForm(w.URL+path, form)
			if err != nil {
				errs <- err.Error()
				return
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				errs <- fmt.Sprintf("POST %s = %d", path, resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for e := range errs {
		t.Error(e)
	}
}
