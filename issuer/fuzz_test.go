package issuer

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"maps"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/signing"
	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// checkRefusal fails unless err is an *Error whose code is in the table and
// is not a server error: malformed input is the caller's fault.
func checkRefusal(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("refusal %v (%T) is not an *Error", err, err)
	}
	if _, ok := codeTable[e.Code]; !ok || e.Code == CodeServerError {
		t.Fatalf("refusal code %d is not a client error of the table (%v)", e.Code, e)
	}
	return e
}

// newFuzzServer is an issuer over a real database in dir, with one tenant
// and one confidential client.
func newFuzzServer(f *testing.F) (*Server, error) {
	db, err := storage.Open(filepath.Join(f.TempDir(), "fuzz.db"), storage.Options{})
	if err != nil {
		return nil, err
	}
	f.Cleanup(func() { db.Close() })
	ctx := context.Background()
	d := tenant.NewDirectory(db)
	if _, err := d.CreateTenant(ctx, tenant.TenantSpec{Name: "Contoso"}); err != nil {
		return nil, err
	}
	app, err := d.RegisterApplication(ctx, "contoso.onmicrosoft.com", tenant.ApplicationSpec{
		DisplayName: "Daemon", AppID: "b41d9e6f-0a83-4c25-91d7-5e8a4f60b3c2", IdentifierURIs: []string{"api://daemon"}})
	if err != nil {
		return nil, err
	}
	if _, _, err := d.AddPassword(ctx, app.AppID, tenant.PasswordSpec{SecretText: "fuzz-secret-value-0001"}); err != nil {
		return nil, err
	}
	return New(ctx, db, Config{BaseURL: "https://issuer.test"})
}

// FuzzParseTokenRequest feeds arbitrary bodies, Authorization and
// Content-Type headers to the token request parser and then to the whole
// token endpoint: nothing may panic, every parser refusal is a client error
// of the table, and the endpoint never answers 500.
func FuzzParseTokenRequest(f *testing.F) {
	for _, seed := range []struct {
		body, auth, ctype string
		v1                bool
	}{
		{"grant_type=client_credentials&client_id=b41d9e6f-0a83-4c25-91d7-5e8a4f60b3c2&client_secret=fuzz-secret-value-0001&scope=api%3A%2F%2Fdaemon%2F.default", "", "application/x-www-form-urlencoded", false},
		{"grant_type=client_credentials&resource=api%3A%2F%2Fdaemon", "Basic YjQxZDllNmYtMGE4My00YzI1LTkxZDctNWU4YTRmNjBiM2MyOmZ1enotc2VjcmV0LXZhbHVlLTAwMDE=", "application/x-www-form-urlencoded; charset=utf-8", true},
		{"grant_type=client_credentials&grant_type=password", "", "application/x-www-form-urlencoded", false},
		{"client_id=%zz", "", "application/x-www-form-urlencoded", false},
		{"a=1;b=2", "", "application/x-www-form-urlencoded", false},
		{"scope=%ff%fe%fd", "", "application/x-www-form-urlencoded", false},
		{"grant_type=client_credentials&client_id=x&client_assertion=e30.e30.e30&client_secret=s", "Basic Og==", "application/x-www-form-urlencoded", false},
		{`{"grant_type":"client_credentials"}`, "", "application/json", false},
		{"grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer&assertion=x&requested_token_use=on_behalf_of", "Basic %%%", "", true},
		{"&&&===&", "Bearer x", "multipart/form-data", false},
		{"grant_type=password&client_id=b41d9e6f-0a83-4c25-91d7-5e8a4f60b3c2&username=a%40contoso.onmicrosoft.com&password=x&scope=api%3A%2F%2Fdaemon%2Fread+openid", "", "application/x-www-form-urlencoded", false},
		{"grant_type=refresh_token&client_id=b41d9e6f-0a83-4c25-91d7-5e8a4f60b3c2&refresh_token=1.AQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQQ", "", "application/x-www-form-urlencoded", false},
	} {
		f.Add(seed.body, seed.auth, seed.ctype, seed.v1)
	}
	srv, err := newFuzzServer(f)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body, auth, ctype string, v1 bool) {
		endpoint := 2
		path := "/contoso.onmicrosoft.com/oauth2/v2.0/token"
		if v1 {
			endpoint, path = 1, "/contoso.onmicrosoft.com/oauth2/token"
		}
		if form, err := parseForm(body); err != nil {
			checkRefusal(t, err)
		} else {
			r := &http.Request{Header: http.Header{"Authorization": {auth}}}
			user, pass, ok := r.BasicAuth()
			req, err := parseTokenRequest(form, user, pass, ok, endpoint, "contoso.onmicrosoft.com")
			if err != nil {
				checkRefusal(t, err)
			} else if _, err := appOnlyResource(req); err != nil {
				checkRefusal(t, err)
			}
		}

		hr := httptest.NewRequest(http.MethodPost, "https://issuer.test"+path, strings.NewReader(body))
		hr.Header.Set("Content-Type", ctype)
		hr.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, hr)
		if rec.Code == http.StatusOK {
			return
		}
		var e struct {
			ErrorCodes []int `json:"error_codes"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || len(e.ErrorCodes) != 1 {
			t.Fatalf("status %d with body %q; want an Entra error body", rec.Code, rec.Body)
		}
		if _, ok := codeTable[e.ErrorCodes[0]]; rec.Code >= 500 || !ok {
			t.Fatalf("status %d code %d for body %q; want a client error of the table", rec.Code, e.ErrorCodes[0], body)
		}
	})
}

// FuzzParseScope checks the client-credentials scope parser: no panic, every
// refusal is AADSTS1002012 or 70011, and an accepted scope list names the
// returned resource with /.default.
func FuzzParseScope(f *testing.F) {
	for _, s := range []string{
		"api://orders/.default",
		"api://orders/.default openid offline_access profile",
		"https://management.azure.com//.default",
		"openid profile",
		"api://a/.default api://b/.default",
		"api://a/.default API://A/.default",
		"api://a/.default api://a/read",
		"/.default", ".default", "", "User.Read", "api://a/.DEFAULT",
		"\t\n api://x/.default \u00a0",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, scope string) {
		scopes := strings.Fields(scope)
		resource, err := parseDefaultScope(scopes)
		if err != nil {
			if e := checkRefusal(t, err); e.Code != CodeDefaultScopeRequired && e.Code != CodeInvalidScope {
				t.Fatalf("parseDefaultScope(%q) code %d; want 1002012 or 70011", scope, e.Code)
			}
			return
		}
		if resource == "" {
			t.Fatalf("parseDefaultScope(%q) accepted an empty resource", scope)
		}
		found := false
		for _, s := range scopes {
			if r, ok := defaultResource(s); ok && r == resource {
				found = true
			}
		}
		if !found {
			t.Fatalf("parseDefaultScope(%q) = %q, which no scope names with /.default", scope, resource)
		}
	})
}

// FuzzParseAssertion feeds arbitrary strings to the on-behalf-of assertion
// parser, seeded with tokens we signed and tokens we must refuse (alg none,
// HS256, another key, garbage): nothing may panic, every refusal is
// AADSTS50013, and an accepted assertion is one our key signed, with the
// members the grant relies on; the time check that follows accepts it or
// answers AADSTS500133.
func FuzzParseAssertion(f *testing.F) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ours, err := signing.NewKey(now)
	if err != nil {
		f.Fatal(err)
	}
	other, err := signing.NewKey(now)
	if err != nil {
		f.Fatal(err)
	}
	iss := func(version int, tid string) string {
		if version == 1 {
			return "https://issuer.test/" + tid + "/"
		}
		return "https://issuer.test/" + tid + "/v2.0"
	}
	const tid = "6c1e0b7a-2d3f-4a5b-8c9d-0e1f2a3b4c5d"
	claims := map[string]any{"aud": "api://middle", "iss": iss(2, tid), "iat": now.Unix() - 300, "nbf": now.Unix() - 300,
		"exp": now.Unix() + 3600, "azp": "x", "oid": "y", "scp": "access_as_user", "tid": tid, "ver": "2.0"}
	sign := func(k tenant.SigningKey, version int, c map[string]any) string {
		ring, err := signing.NewRing([]tenant.SigningKey{k}, signing.GoBackend())
		if err != nil {
			f.Fatal(err)
		}
		tok, err := ring.Sign(version, c)
		if err != nil {
			f.Fatal(err)
		}
		return tok
	}
	v1 := maps.Clone(claims)
	v1["ver"], v1["iss"], v1["appid"] = "1.0", iss(1, tid), "x"
	f.Add(sign(ours, 2, claims))
	f.Add(sign(ours, 1, v1))
	f.Add(sign(other, 2, claims))
	none, _ := unsignedJWT(claims)
	f.Add(none)
	f.Add("eyJhbGciOiJIUzI1NiIsImtpZCI6IngifQ.eyJhdWQiOiJ4In0.c2ln")
	f.Add("a.b.c")
	f.Add("")
	f.Add("..")
	f.Add(strings.Repeat("eyJ", 100))
	key := func(kid string) *rsa.PublicKey {
		if kid == ours.KeyID {
			return &ours.PrivateKey.PublicKey
		}
		return nil
	}
	f.Fuzz(func(t *testing.T, raw string) {
		c, err := parseUserAssertion(raw, key, iss)
		if err != nil {
			if e := checkRefusal(t, err); e.Code != CodeAssertionInvalid {
				t.Fatalf("parseUserAssertion(%q) code %d; want 50013", raw, e.Code)
			}
			return
		}
		switch {
		case len(c.Aud) != 1 || c.Exp == nil || !tenant.IsGUID(c.TID):
			t.Fatalf("parseUserAssertion(%q) accepted %+v", raw, c)
		case c.Iss != iss(1, c.TID) && c.Iss != iss(2, c.TID):
			t.Fatalf("parseUserAssertion(%q) accepted the issuer %q", raw, c.Iss)
		}
		if err := checkAssertionTime(c, now); err != nil {
			if e := checkRefusal(t, err); e.Code != CodeAssertionExpired {
				t.Fatalf("checkAssertionTime code %d; want 500133", e.Code)
			}
		}
	})
}

// FuzzParseRefreshToken checks the refresh token parser: no panic; what it
// accepts has our exact shape and is known by its SHA-256; every token we
// mint, whatever the random bytes, is accepted.
func FuzzParseRefreshToken(f *testing.F) {
	minted, err := newRefreshTokenText(rand.Reader)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []string{minted, "", "1.A", "0.AXEA", minted + "=", strings.ToUpper(minted), "1.A" + strings.Repeat("/", 43), "1.A" + strings.Repeat("_", 43)} {
		f.Add(s, []byte(s))
	}
	f.Fuzz(func(t *testing.T, s string, random []byte) {
		if hash, ok := parseRefreshToken(s); ok {
			if len(s) != refreshTokenLength || !strings.HasPrefix(s, refreshTokenPrefix) || hash != refreshTokenHash(s) || len(hash) != 64 {
				t.Fatalf("parseRefreshToken(%q) accepted it as %q", s, hash)
			}
		}
		if len(random) >= refreshTokenBytes {
			tok, err := newRefreshTokenText(bytes.NewReader(random))
			if err != nil {
				t.Fatal(err)
			}
			if _, ok := parseRefreshToken(tok); !ok {
				t.Fatalf("parseRefreshToken refuses the minted %q", tok)
			}
		}
	})
}

// FuzzParseDelegatedScopes checks the scope parser of user flows: no panic,
// refusals are AADSTS70011 or 28000, an accepted request names one resource,
// and once everything named is granted the response lists every scope that
// was requested, compared as MSAL compares (without case).
func FuzzParseDelegatedScopes(f *testing.F) {
	for _, s := range []string{
		"api://middle/access_as_user openid profile offline_access",
		"api://middle/.default offline_access",
		"User.Read Mail.Send",
		"openid profile",
		"api://a/x api://b/y",
		"api://a/.default api://a/x",
		"api://a/ openid",
		"api://X//B api://x/A",
		"https://management.azure.com//.default",
		"/x", "x/", ".default", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, scope string) {
		scopes := strings.Fields(scope)
		d, err := parseDelegatedScopes(scopes)
		if err != nil {
			if e := checkRefusal(t, err); e.Code != CodeInvalidScope && e.Code != CodeMultipleResources {
				t.Fatalf("parseDelegatedScopes(%q) code %d; want 70011 or 28000", scope, e.Code)
			}
			return
		}
		if d.Resource == "" || d.Default == (len(d.Values) > 0) {
			t.Fatalf("parseDelegatedScopes(%q) = %+v", scope, d)
		}
		granted := d.Values
		if d.Default {
			granted = []string{"Granted.Scope"}
		}
		listed := map[string]bool{}
		for _, s := range strings.Fields(d.responseScope(2, granted)) {
			listed[strings.ToLower(s)] = true
		}
		// Every scope asked of the resource is listed (MSAL's declined
		// scopes check); the OIDC scopes are not (they would be Graph's).
		for _, s := range scopes {
			oidc := isOIDCScope(s)
			if !oidc && !listed[strings.ToLower(s)] {
				t.Fatalf("parseDelegatedScopes(%q): the response scope %q does not list %q", scope, d.responseScope(2, granted), s)
			}
			if oidc && listed[strings.ToLower(s)] && !strings.EqualFold(d.Resource, graphResource) {
				t.Fatalf("parseDelegatedScopes(%q): the response scope %q lists the OIDC scope %q", scope, d.responseScope(2, granted), s)
			}
		}
	})
}
