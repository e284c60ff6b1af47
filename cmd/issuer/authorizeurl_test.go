package main

import (
	"path/filepath"
	"strings"
	"testing"
)

// TestAuthorizeURL: the URLs the helper prints, v2 with PKCE, v1, admin
// consent, and its refusals.
func TestAuthorizeURL(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "issuer.db")
	opts := fixed()
	const web = "0000a101-0000-4000-8000-000000000001"
	mustRun(t, db, opts, "tenant", "add", "--name", "Contoso", "--domain", "contoso.com")
	mustRun(t, db, opts, "app", "add", "--tenant", "contoso.com", "--name", "Web", "--app-id", web, "--web-redirect-uri", "https://localhost:5001/signin-oidc")
	for _, s := range []struct {
		name string
		args []string
	}{
		{"authorize_url_pkce", []string{"authorize-url", "--tenant", "contoso.com", "--client", web, "--scope", "api://orders/Orders.Read", "--scope", "offline_access", "--pkce", "--state", "s1"}},
		{"authorize_url_v1_json", []string{"-o", "json", "authorize-url", "--client", web, "--resource", "api://orders", "--base-url", "https://issuer.test:9443"}},
		{"authorize_url_admin_consent", []string{"authorize-url", "--tenant", "fabrikam.com", "--client", web, "--admin-consent"}},
	} {
		t.Run(s.name, func(t *testing.T) {
			r := runCLI(t, db, opts, s.args...)
			if r.code != exitOK {
				t.Fatalf("exit %d: %s", r.code, r.stderr)
			}
			golden(t, s.name, r.transcript(dir, s.args))
		})
	}
	for _, tc := range []struct {
		name, want string
		args       []string
	}{
		{"unregistered redirect", "is not a redirect URI", []string{"authorize-url", "--client", web, "--redirect-uri", "https://evil.example/"}},
		{"scope and resource", "not both", []string{"authorize-url", "--client", web, "--scope", "x", "--resource", "y"}},
		{"unknown client", "not found", []string{"authorize-url", "--client", "0000a101-0000-4000-8000-0000000000ff"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if r := runCLI(t, db, opts, tc.args...); r.code == exitOK || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("exit %d, stderr %q; want a failure with %q", r.code, r.stderr, tc.want)
			}
		})
	}
}
