package issuer

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

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
	return New(ctx, Config{BaseURL: "https://issuer.test", Directory: d, Grants: db, Keys: db})
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
