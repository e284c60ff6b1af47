package tenant

import (
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestValidateRedirectURI(t *testing.T) {
	for _, tc := range []struct {
		name     string
		platform Platform
		uri      string
		wantErr  string // "" for valid
	}{
		{"web https", PlatformWeb, "https://contoso.com/signin-oidc", ""},
		{"web http localhost", PlatformWeb, "http://localhost:5000/cb", ""},
		{"web http 127.0.0.1", PlatformWeb, "http://127.0.0.1/cb", ""},
		{"web http elsewhere", PlatformWeb, "http://contoso.com/cb", "must be https"},
		{"web custom scheme", PlatformWeb, "msalx://auth", "must be https"},
		{"spa https", PlatformSPA, "https://contoso.com/", ""},
		{"spa ipv6 loopback", PlatformSPA, "http://[::1]/cb", "must be https"},
		{"public localhost", PlatformPublicClient, "http://localhost", ""},
		{"public custom scheme", PlatformPublicClient, "msal0000://auth", ""},
		{"public oob", PlatformPublicClient, "urn:ietf:wg:oauth:2.0:oob", ""},
		{"public http elsewhere", PlatformPublicClient, "http://contoso.com/", "custom scheme"},
		{"public https without host", PlatformPublicClient, "https:///x", "no host"},
		{"relative", PlatformWeb, "/cb", "not an absolute URI"},
		{"fragment", PlatformWeb, "https://contoso.com/#a", "fragment"},
		{"wildcard", PlatformWeb, "https://*.contoso.com/", "wildcard"},
		{"user info", PlatformWeb, "https://u:p@contoso.com/", "user information"},
		{"too long", PlatformWeb, "https://contoso.com/" + strings.Repeat("a", 240), "longer than"},
		{"unknown platform", Platform("ios"), "https://contoso.com/", "unknown platform"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := ValidateRedirectURI(tc.platform, tc.uri)
			switch {
			case tc.wantErr == "" && err != nil:
				t.Errorf("ValidateRedirectURI(%s, %q) = %v; want nil", tc.platform, tc.uri, err)
			case tc.wantErr != "" && (err == nil || !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), tc.wantErr)):
				t.Errorf("ValidateRedirectURI(%s, %q) = %v; want ErrInvalid with %q", tc.platform, tc.uri, err, tc.wantErr)
			}
		})
	}
}

func TestMatchRedirectURI(t *testing.T) {
	app := Application{
		Web:          RedirectURIs{RedirectURIs: []string{"https://contoso.com/signin-oidc", "https://contoso.com:8443/cb?x=1", "http://localhost:5000/web"}},
		SPA:          RedirectURIs{RedirectURIs: []string{"https://contoso.com/spa"}},
		PublicClient: RedirectURIs{RedirectURIs: []string{"http://localhost", "msalapp://auth"}},
	}
	for _, tc := range []struct {
		name, requested string
		want            string
		platform        Platform
	}{
		{"exact web", "https://contoso.com/signin-oidc", "https://contoso.com/signin-oidc", PlatformWeb},
		{"host case", "https://CONTOSO.com/signin-oidc", "https://contoso.com/signin-oidc", PlatformWeb},
		{"path case differs", "https://contoso.com/SignIn-OIDC", "", ""},
		{"trailing slash differs", "https://contoso.com/signin-oidc/", "", ""},
		{"port must match on https", "https://contoso.com:8443/cb?x=1", "https://contoso.com:8443/cb?x=1", PlatformWeb},
		{"other https port", "https://contoso.com:9443/cb?x=1", "", ""},
		{"query must match", "https://contoso.com:8443/cb?x=2", "", ""},
		{"spa", "https://contoso.com/spa", "https://contoso.com/spa", PlatformSPA},
		{"localhost any port", "http://localhost:53127", "http://localhost", PlatformPublicClient},
		{"localhost any port with slash", "http://localhost:53127/", "http://localhost", PlatformPublicClient},
		{"localhost web any port", "http://localhost:6000/web", "http://localhost:5000/web", PlatformWeb},
		{"localhost other path", "http://localhost:53127/other", "", ""},
		{"https localhost is not http", "https://localhost:53127", "", ""},
		{"custom scheme", "msalapp://auth", "msalapp://auth", PlatformPublicClient},
		{"user info smuggled", "https://evil@contoso.com/signin-oidc", "", ""},
		{"unregistered", "https://evil.example/cb", "", ""},
		{"garbage", "%zz", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, p, ok := app.MatchRedirectURI(tc.requested)
			if got != tc.want || p != tc.platform || ok != (tc.want != "") {
				t.Errorf("MatchRedirectURI(%q) = %q, %q, %v; want %q, %q", tc.requested, got, p, ok, tc.want, tc.platform)
			}
		})
	}
}

func TestParseDirectoryRole(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"Global Administrator", RoleGlobalAdministrator},
		{"globaladministrator", RoleGlobalAdministrator},
		{"PRIVILEGED ROLE ADMINISTRATOR", RolePrivilegedRoleAdministrator},
		{"Cloud Application Administrator", RoleCloudApplicationAdministrator},
		{"application administrator", RoleApplicationAdministrator},
		{"User Administrator", ""},
		{"", ""},
	} {
		got, err := ParseDirectoryRole(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("ParseDirectoryRole(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
	if (User{}).CanGrantAdminConsent() || !(User{DirectoryRoles: []string{RoleApplicationAdministrator}}).CanGrantAdminConsent() {
		t.Error("CanGrantAdminConsent: want false without roles, true for an Application Administrator")
	}
}

// FuzzRedirectURI: validation and matching never panic; a URI valid for
// a platform matches itself there, and a match is never another host.
func FuzzRedirectURI(f *testing.F) {
	for _, seed := range []string{"https://contoso.com/cb", "http://localhost:5000/x", "msal://auth", "https://a@b/", "http://127.0.0.1", "%zz"} {
		f.Add(seed, "http://localhost:1234/x")
	}
	f.Fuzz(func(t *testing.T, registered, requested string) {
		for _, p := range []Platform{PlatformWeb, PlatformSPA, PlatformPublicClient} {
			if ValidateRedirectURI(p, registered) != nil {
				continue
			}
			app := Application{}
			switch p {
			case PlatformWeb:
				app.Web.RedirectURIs = []string{registered}
			case PlatformSPA:
				app.SPA.RedirectURIs = []string{registered}
			default:
				app.PublicClient.RedirectURIs = []string{registered}
			}
			if _, got, ok := app.MatchRedirectURI(registered); !ok || got != p {
				t.Fatalf("%s redirect URI %q does not match itself", p, registered)
			}
			if _, _, ok := app.MatchRedirectURI(requested); ok {
				r, _ := url.Parse(registered)
				q, err := url.Parse(requested)
				if err != nil || !strings.EqualFold(r.Hostname(), q.Hostname()) || !strings.EqualFold(r.Scheme, q.Scheme) {
					t.Fatalf("%q matched %q", requested, registered)
				}
			}
		}
	})
}
