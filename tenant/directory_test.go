package tenant_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

var epoch = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// env is a Directory over a fresh database, with a clock the test moves.
type env struct {
	t   *testing.T
	ctx context.Context
	db  *storage.DB
	dir *tenant.Directory
	now time.Time
	ids int
}

func newEnv(t *testing.T) *env {
	t.Helper()
	db, err := storage.Open(t.TempDir()+"/db", storage.Options{})
	if err != nil {
		t.Fatalf("storage.Open: %v", err)
	}
	t.Cleanup(func() { db.Close() })
	e := &env{t: t, ctx: context.Background(), db: db, now: epoch}
	e.dir = tenant.NewDirectory(db, tenant.WithClock(func() time.Time { return e.now }), tenant.WithIDs(func() string {
		e.ids++
		return fmt.Sprintf("00000000-0000-4000-8000-%012d", e.ids)
	}))
	return e
}

func (e *env) tenant(name string, domains ...string) tenant.Tenant {
	e.t.Helper()
	tn, err := e.dir.CreateTenant(e.ctx, tenant.TenantSpec{Name: name, Domains: domains})
	if err != nil {
		e.t.Fatalf("CreateTenant(%s): %v", name, err)
	}
	return tn
}

func (e *env) app(tenantRef string, spec tenant.ApplicationSpec) tenant.Application {
	e.t.Helper()
	app, err := e.dir.RegisterApplication(e.ctx, tenantRef, spec)
	if err != nil {
		e.t.Fatalf("RegisterApplication(%s): %v", spec.DisplayName, err)
	}
	return app
}

// errIs reports a mismatch between err and the wanted sentinel (nil: success).
func errIs(err, want error) bool {
	if want == nil {
		return err == nil
	}
	return errors.Is(err, want)
}

func TestCreateTenant(t *testing.T) {
	tests := []struct {
		name        string
		spec        tenant.TenantSpec
		wantDomains []string
		wantID      string
		wantErr     error
	}{
		{name: "initial domain from the name", spec: tenant.TenantSpec{Name: "Contoso Ltd."},
			wantDomains: []string{"contosoltd.onmicrosoft.com"}},
		{name: "extra domains lowercased, duplicates dropped",
			spec:        tenant.TenantSpec{Name: "Contoso", Domains: []string{"Contoso.COM", "contoso.com", "eu.contoso.com"}},
			wantDomains: []string{"contoso.onmicrosoft.com", "contoso.com", "eu.contoso.com"}},
		{name: "fixed id canonicalised", spec: tenant.TenantSpec{Name: "Contoso", ID: "C0FFEE00-0000-4000-8000-00000000ABCD"},
			wantDomains: []string{"contoso.onmicrosoft.com"}, wantID: "c0ffee00-0000-4000-8000-00000000abcd"},
		{name: "name without letters", spec: tenant.TenantSpec{Name: "!!!"}, wantErr: tenant.ErrInvalid},
		{name: "name too long", spec: tenant.TenantSpec{Name: strings.Repeat("a", 28)}, wantErr: tenant.ErrInvalid},
		{name: "domain with one label", spec: tenant.TenantSpec{Name: "C", Domains: []string{"contoso"}}, wantErr: tenant.ErrInvalid},
		{name: "domain label starting with a hyphen", spec: tenant.TenantSpec{Name: "C", Domains: []string{"-a.com"}}, wantErr: tenant.ErrInvalid},
		{name: "domain with an underscore", spec: tenant.TenantSpec{Name: "C", Domains: []string{"a_b.com"}}, wantErr: tenant.ErrInvalid},
		{name: "reserved segment", spec: tenant.TenantSpec{Name: "C", Domains: []string{"common"}}, wantErr: tenant.ErrInvalid},
		{name: "malformed fixed id", spec: tenant.TenantSpec{Name: "C", ID: "1234"}, wantErr: tenant.ErrInvalid},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			got, err := e.dir.CreateTenant(e.ctx, tc.spec)
			if !errIs(err, tc.wantErr) {
				t.Fatalf("CreateTenant(%+v) error = %v; want %v", tc.spec, err, tc.wantErr)
			}
			if tc.wantErr != nil {
				return
			}
			if !slices.Equal(got.Domains, tc.wantDomains) {
				t.Errorf("CreateTenant(%+v) domains = %q; want %q", tc.spec, got.Domains, tc.wantDomains)
			}
			if tc.wantID != "" && got.ID != tc.wantID {
				t.Errorf("CreateTenant(%+v) id = %s; want %s", tc.spec, got.ID, tc.wantID)
			}
			if !tenant.IsGUID(got.ID) || got.ID != strings.ToLower(got.ID) {
				t.Errorf("CreateTenant id = %q; want a lowercase GUID", got.ID)
			}
			if !got.AllowsUserConsent() || !got.CreatedDateTime.Equal(epoch) {
				t.Errorf("CreateTenant = %+v; want user consent allowed and created at %v", got, epoch)
			}
			stored, err := e.db.GetTenant(e.ctx, got.ID)
			if err != nil || !slices.Equal(stored.Domains, got.Domains) {
				t.Errorf("GetTenant(%s) = %+v, %v; want the created tenant", got.ID, stored, err)
			}
		})
	}
}

func TestCreateTenantConflicts(t *testing.T) {
	tests := []struct {
		name   string
		first  tenant.TenantSpec
		second tenant.TenantSpec
	}{
		{"same initial domain", tenant.TenantSpec{Name: "Contoso"}, tenant.TenantSpec{Name: "contoso"}},
		{"extra domain taken", tenant.TenantSpec{Name: "A", Domains: []string{"contoso.com"}}, tenant.TenantSpec{Name: "B", Domains: []string{"CONTOSO.com"}}},
		{"extra domain is another's initial domain", tenant.TenantSpec{Name: "A"}, tenant.TenantSpec{Name: "B", Domains: []string{"a.onmicrosoft.com"}}},
		{"same id", tenant.TenantSpec{Name: "A", ID: "c0000000-0000-4000-8000-000000000001"}, tenant.TenantSpec{Name: "B", ID: "C0000000-0000-4000-8000-000000000001"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			if _, err := e.dir.CreateTenant(e.ctx, tc.first); err != nil {
				t.Fatalf("CreateTenant(%+v): %v", tc.first, err)
			}
			if _, err := e.dir.CreateTenant(e.ctx, tc.second); !errors.Is(err, tenant.ErrExists) {
				t.Errorf("CreateTenant(%+v) error = %v; want ErrExists", tc.second, err)
			}
		})
	}
}

func TestResolveTenant(t *testing.T) {
	e := newEnv(t)
	contoso := e.tenant("Contoso", "contoso.com")
	e.tenant("Fabrikam")
	tests := []struct {
		ref     string
		wantID  string
		wantErr error
	}{
		{contoso.ID, contoso.ID, nil},
		{strings.ToUpper(contoso.ID), contoso.ID, nil},
		{"contoso.onmicrosoft.com", contoso.ID, nil},
		{"Contoso.OnMicrosoft.COM", contoso.ID, nil},
		{"CONTOSO.COM", contoso.ID, nil},
		{" contoso.com ", contoso.ID, nil},
		{"nobody.onmicrosoft.com", "", tenant.ErrNotFound},
		{"00000000-0000-4000-8000-0000000000ee", "", tenant.ErrNotFound},
		{"not a tenant", "", tenant.ErrInvalid},
		{"", "", tenant.ErrInvalid},
	}
	for _, tc := range tests {
		got, err := e.dir.ResolveTenant(e.ctx, tc.ref)
		if !errIs(err, tc.wantErr) || got.ID != tc.wantID {
			t.Errorf("ResolveTenant(%q) = %s, %v; want %s, %v", tc.ref, got.ID, err, tc.wantID, tc.wantErr)
		}
	}
}

func TestUserConsentSetting(t *testing.T) {
	e := newEnv(t)
	e.tenant("Contoso")
	for _, tc := range []struct {
		in      string
		want    tenant.UserConsent
		allowed bool
		wantErr error
	}{
		{"disabled", tenant.UserConsentDisabled, false, nil},
		{"Allowed", tenant.UserConsentAllowed, true, nil},
		{"maybe", "", false, tenant.ErrInvalid},
	} {
		v, err := tenant.ParseUserConsent(tc.in)
		if !errIs(err, tc.wantErr) || v != tc.want {
			t.Errorf("ParseUserConsent(%q) = %q, %v; want %q, %v", tc.in, v, err, tc.want, tc.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		got, err := e.dir.UpdateTenant(e.ctx, "contoso.onmicrosoft.com", func(t *tenant.Tenant) error { t.UserConsent = v; return nil })
		if err != nil || got.AllowsUserConsent() != tc.allowed {
			t.Errorf("UpdateTenant(user consent %s) = %+v, %v; want AllowsUserConsent %v", v, got, err, tc.allowed)
		}
	}
}

func TestIdentifierURIs(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(e *env) // registers other applications first
		tenant  string
		spec    tenant.ApplicationSpec
		wantErr error
	}{
		{name: "api:// is free", tenant: "contoso.onmicrosoft.com", spec: tenant.ApplicationSpec{IdentifierURIs: []string{"api://orders"}}},
		{name: "urn is free", tenant: "contoso.onmicrosoft.com", spec: tenant.ApplicationSpec{IdentifierURIs: []string{"urn:contoso:orders"}}},
		{name: "https on the initial domain", tenant: "contoso.onmicrosoft.com", spec: tenant.ApplicationSpec{IdentifierURIs: []string{"https://contoso.onmicrosoft.com/orders"}}},
		{name: "https on a subdomain of a tenant domain", tenant: "contoso.onmicrosoft.com", spec: tenant.ApplicationSpec{IdentifierURIs: []string{"https://api.contoso.com"}}},
		{name: "https on a foreign domain", tenant: "contoso.onmicrosoft.com", spec: tenant.ApplicationSpec{IdentifierURIs: []string{"https://orders.example.com"}}, wantErr: tenant.ErrInvalid},
		{name: "https on a domain of another tenant", tenant: "contoso.onmicrosoft.com", spec: tenant.ApplicationSpec{IdentifierURIs: []string{"https://fabrikam.onmicrosoft.com/x"}}, wantErr: tenant.ErrInvalid},
		{name: "https on a tenant domain spelt with U+0130 for i", tenant: "contoso.onmicrosoft.com", spec: tenant.ApplicationSpec{IdentifierURIs: []string{"https://contoso.onm\u0130crosoft.com/x"}}, wantErr: tenant.ErrInvalid},
		{name: "not a URI", tenant: "contoso.onmicrosoft.com", spec: tenant.ApplicationSpec{IdentifierURIs: []string{"orders"}}, wantErr: tenant.ErrInvalid},
		{name: "wildcard", tenant: "contoso.onmicrosoft.com", spec: tenant.ApplicationSpec{IdentifierURIs: []string{"api://*"}}, wantErr: tenant.ErrInvalid},
		{name: "fragment", tenant: "contoso.onmicrosoft.com", spec: tenant.ApplicationSpec{IdentifierURIs: []string{"api://orders#x"}}, wantErr: tenant.ErrInvalid},
		{name: "too long", tenant: "contoso.onmicrosoft.com", spec: tenant.ApplicationSpec{IdentifierURIs: []string{"api://" + strings.Repeat("o", 250)}}, wantErr: tenant.ErrInvalid},
		{name: "taken in the same tenant", setup: registerOrders("contoso.onmicrosoft.com", false),
			tenant: "contoso.onmicrosoft.com", spec: tenant.ApplicationSpec{IdentifierURIs: []string{"API://Orders"}}, wantErr: tenant.ErrExists},
		{name: "taken in the same tenant, trailing slash", setup: registerOrders("contoso.onmicrosoft.com", false),
			tenant: "contoso.onmicrosoft.com", spec: tenant.ApplicationSpec{IdentifierURIs: []string{"api://orders/"}}, wantErr: tenant.ErrExists},
		{name: "single-tenant apps of two tenants may share a URI", setup: registerOrders("fabrikam.onmicrosoft.com", false),
			tenant: "contoso.onmicrosoft.com", spec: tenant.ApplicationSpec{IdentifierURIs: []string{"api://orders"}}},
		{name: "a multi-tenant app's URI is global", setup: registerOrders("fabrikam.onmicrosoft.com", true),
			tenant: "contoso.onmicrosoft.com", spec: tenant.ApplicationSpec{IdentifierURIs: []string{"api://orders"}}, wantErr: tenant.ErrExists},
		{name: "a new multi-tenant app may not take a URI used elsewhere", setup: registerOrders("fabrikam.onmicrosoft.com", false),
			tenant: "contoso.onmicrosoft.com", spec: tenant.ApplicationSpec{IdentifierURIs: []string{"api://orders"}, MultiTenant: true}, wantErr: tenant.ErrExists},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t)
			e.tenant("Contoso", "contoso.com")
			e.tenant("Fabrikam")
			if tc.setup != nil {
				tc.setup(e)
			}
			tc.spec.DisplayName = "App"
			app, err := e.dir.RegisterApplication(e.ctx, tc.tenant, tc.spec)
			if !errIs(err, tc.wantErr) {
				t.Fatalf("RegisterApplication(%q) error = %v; want %v", tc.spec.IdentifierURIs, err, tc.wantErr)
			}
			if err == nil && !slices.Equal(app.IdentifierURIs, tc.spec.IdentifierURIs) {
				t.Errorf("RegisterApplication identifierUris = %q; want %q", app.IdentifierURIs, tc.spec.IdentifierURIs)
			}
		})
	}
}

// TestIdentifierURIsWithGUIDs: api://{GUID} URIs name the application's
// own appId or its home tenant's id, never another application's or
// tenant's (a multi-tenant app in Fabrikam claiming api://{Contoso's Orders
// appId} would take the URI Contoso's clients ask for).
func TestIdentifierURIsWithGUIDs(t *testing.T) {
	const ownAppID = "11111111-2222-4333-8444-555555555555"
	e := newEnv(t)
	contoso := e.tenant("Contoso", "contoso.com")
	fabrikam := e.tenant("Fabrikam")
	orders := e.app("contoso.onmicrosoft.com", tenant.ApplicationSpec{DisplayName: "Orders"})
	for _, tc := range []struct {
		name    string
		uri     string
		multi   bool
		wantErr error
	}{
		{"own appId", "api://" + ownAppID, false, nil},
		{"own appId in upper case", "api://" + strings.ToUpper(ownAppID), false, nil},
		{"own appId with a path", "api://" + ownAppID + "/read", false, nil},
		{"home tenant's id with the appId", "api://" + fabrikam.ID + "/" + ownAppID, false, nil},
		{"home tenant's id with a name", "api://" + fabrikam.ID + "/orders", true, nil},
		{"another application's appId", "api://" + orders.AppID, true, tenant.ErrInvalid},
		{"another application's appId, single-tenant", "api://" + orders.AppID, false, tenant.ErrInvalid},
		{"another tenant's id", "api://" + contoso.ID + "/orders", false, tenant.ErrInvalid},
		{"an unknown GUID", "api://99999999-9999-4999-8999-999999999999", false, tenant.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec := tenant.ApplicationSpec{DisplayName: "App", AppID: ownAppID, IdentifierURIs: []string{tc.uri}, MultiTenant: tc.multi}
			app, err := e.dir.RegisterApplication(e.ctx, "fabrikam.onmicrosoft.com", spec)
			if !errIs(err, tc.wantErr) {
				t.Fatalf("RegisterApplication(%q) error = %v; want %v", tc.uri, err, tc.wantErr)
			}
			if err == nil {
				if err := e.dir.RemoveApplication(e.ctx, app.AppID); err != nil {
					t.Fatal(err)
				}
			}
		})
	}
}

func registerOrders(tenantRef string, multi bool) func(*env) {
	return func(e *env) {
		e.app(tenantRef, tenant.ApplicationSpec{DisplayName: "Orders", IdentifierURIs: []string{"api://orders"}, MultiTenant: multi})
	}
}

func TestRegisterApplication(t *testing.T) {
	e := newEnv(t)
	contoso := e.tenant("Contoso")
	app := e.app("contoso.onmicrosoft.com", tenant.ApplicationSpec{DisplayName: "  Orders  ", TokenVersion: 2})
	if app.DisplayName != "Orders" || app.HomeTenantID != contoso.ID || app.SignInAudience != tenant.AudienceMyOrg || app.TokenVersion() != 2 {
		t.Errorf("RegisterApplication = %+v; want Orders homed in %s, AzureADMyOrg, token version 2", app, contoso.ID)
	}
	sp, err := e.db.GetServicePrincipal(e.ctx, contoso.ID, app.AppID)
	if err != nil || !sp.AccountEnabled || sp.AppOwnerOrganizationID != contoso.ID || sp.DisplayName != "Orders" {
		t.Errorf("home service principal = %+v, %v; want an enabled one owned by %s", sp, err, contoso.ID)
	}
	for _, spec := range []tenant.ApplicationSpec{
		{DisplayName: " "},
		{DisplayName: strings.Repeat("x", 121)},
		{DisplayName: "x", TokenVersion: 3},
		{DisplayName: "x", AppID: "not-a-guid"},
	} {
		if _, err := e.dir.RegisterApplication(e.ctx, contoso.ID, spec); !errors.Is(err, tenant.ErrInvalid) {
			t.Errorf("RegisterApplication(%+v) error = %v; want ErrInvalid", spec, err)
		}
	}
	if _, err := e.dir.RegisterApplication(e.ctx, contoso.ID, tenant.ApplicationSpec{DisplayName: "Again", AppID: app.AppID}); !errors.Is(err, tenant.ErrExists) {
		t.Errorf("RegisterApplication(same appId) error = %v; want ErrExists", err)
	}
	if _, err := e.dir.RegisterApplication(e.ctx, "nobody.onmicrosoft.com", tenant.ApplicationSpec{DisplayName: "x"}); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("RegisterApplication(unknown tenant) error = %v; want ErrNotFound", err)
	}
}

func TestSecrets(t *testing.T) {
	e := newEnv(t)
	e.tenant("Contoso")
	app := e.app("contoso.onmicrosoft.com", tenant.ApplicationSpec{DisplayName: "Daemon"})

	cred, secret, err := e.dir.AddPassword(e.ctx, app.AppID, tenant.PasswordSpec{DisplayName: "ci", Lifetime: 24 * time.Hour})
	if err != nil {
		t.Fatalf("AddPassword: %v", err)
	}
	if cred.Hint != secret[:3] {
		t.Errorf("hint = %q; want the secret's first 3 characters %q", cred.Hint, secret[:3])
	}
	// The random part after the "8Q~" marker carries the entropy.
	_, random, ok := strings.Cut(secret, "8Q~")
	raw, derr := base64.RawURLEncoding.DecodeString(random)
	if !ok || derr != nil || len(raw)*8 < 256 {
		t.Errorf("secret %q carries %d random bits; want at least 256", secret, len(raw)*8)
	}
	if _, other, _ := e.dir.AddPassword(e.ctx, app.AppID, tenant.PasswordSpec{}); other == secret {
		t.Errorf("two generated secrets are equal: %q", secret)
	}
	if !cred.EndDateTime.Equal(epoch.Add(24 * time.Hour)) {
		t.Errorf("EndDateTime = %v; want %v", cred.EndDateTime, epoch.Add(24*time.Hour))
	}

	// Shown once: neither the stored application nor its JSON holds the secret.
	stored, err := e.dir.GetApplication(e.ctx, app.AppID)
	if err != nil {
		t.Fatalf("GetApplication: %v", err)
	}
	js, _ := json.Marshal(stored)
	if strings.Contains(string(js), secret) || strings.Contains(string(js), random) {
		t.Errorf("application JSON %s contains the secret", js)
	}
	for _, c := range stored.PasswordCredentials {
		if strings.Contains(string(c.Hash), secret) || len(c.Hash) != 32 || len(c.Salt) < 16 {
			t.Errorf("stored credential %+v; want a salted SHA-256 only", c)
		}
	}
	if !stored.PasswordCredentials[0].Matches(secret) {
		t.Errorf("stored credential does not match its secret")
	}
	wrong := secret[:len(secret)-1] + string(secret[len(secret)-1]^1)
	for _, s := range []string{wrong, "", secret + "x", secret[:len(secret)-1]} {
		if stored.PasswordCredentials[0].Matches(s) {
			t.Errorf("Matches(%q) = true; want false", s)
		}
	}

	if err := e.dir.RemovePassword(e.ctx, app.AppID, "00000000-0000-4000-8000-0000000000ee"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("RemovePassword(unknown) error = %v; want ErrNotFound", err)
	}
	if err := e.dir.RemovePassword(e.ctx, app.AppID, strings.ToUpper(cred.KeyID)); err != nil {
		t.Errorf("RemovePassword(%s) error = %v", cred.KeyID, err)
	}
	if got, _ := e.dir.GetApplication(e.ctx, app.AppID); got.VerifySecret(secret, e.now) == nil {
		t.Errorf("VerifySecret after RemovePassword = nil; want a mismatch")
	}

	for _, spec := range []tenant.PasswordSpec{{SecretText: "short"}, {Lifetime: -time.Hour}, {KeyID: "x"}} {
		if _, _, err := e.dir.AddPassword(e.ctx, app.AppID, spec); !errors.Is(err, tenant.ErrInvalid) {
			t.Errorf("AddPassword(%+v) error = %v; want ErrInvalid", spec, err)
		}
	}
}

func TestVerifySecret(t *testing.T) {
	const (
		shared  = "shared-secret-0123456789"
		current = "current-secret-0123456789"
		old     = "old-secret-0123456789abc"
	)
	e := newEnv(t)
	e.tenant("Contoso")
	app := e.app("contoso.onmicrosoft.com", tenant.ApplicationSpec{DisplayName: "Daemon"})
	add := func(secret string, lifetime time.Duration) {
		if _, _, err := e.dir.AddPassword(e.ctx, app.AppID, tenant.PasswordSpec{SecretText: secret, Lifetime: lifetime}); err != nil {
			t.Fatalf("AddPassword: %v", err)
		}
	}
	add(old, time.Hour)        // expires at epoch+1h
	add(shared, time.Hour)     // an expired and a valid credential share this text
	add(shared, 0)             // never expires
	add(current, 48*time.Hour) // valid until epoch+48h
	app, _ = e.dir.GetApplication(e.ctx, app.AppID)

	tests := []struct {
		name   string
		secret string
		at     time.Time
		want   error
	}{
		{"valid", current, epoch.Add(time.Minute), nil},
		{"valid, another credential", old, epoch.Add(time.Minute), nil},
		{"mismatch", "nobody-knows-this-secret", epoch, tenant.ErrSecretMismatch},
		{"hint only", current[:3], epoch, tenant.ErrSecretMismatch},
		{"expired", old, epoch.Add(time.Hour), tenant.ErrCredentialExpired},
		{"before start", current, epoch.Add(-time.Second), tenant.ErrCredentialExpired},
		{"expired one, valid twin", shared, epoch.Add(2 * time.Hour), nil},
		{"later expiry", current, epoch.Add(47 * time.Hour), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if err := app.VerifySecret(tc.secret, tc.at); !errIs(err, tc.want) {
				t.Errorf("VerifySecret(%q, %v) = %v; want %v", tc.secret, tc.at, err, tc.want)
			}
		})
	}
}

func TestServicePrincipals(t *testing.T) {
	e := newEnv(t)
	contoso := e.tenant("Contoso")
	fabrikam := e.tenant("Fabrikam")
	single := e.app(contoso.ID, tenant.ApplicationSpec{DisplayName: "Single"})
	multi := e.app(contoso.ID, tenant.ApplicationSpec{DisplayName: "Multi", MultiTenant: true})

	if _, err := e.dir.AddServicePrincipal(e.ctx, fabrikam.ID, single.AppID); !errors.Is(err, tenant.ErrNotMultiTenant) {
		t.Errorf("AddServicePrincipal(single-tenant, foreign) error = %v; want ErrNotMultiTenant", err)
	}
	if _, err := e.dir.AddServicePrincipal(e.ctx, contoso.ID, single.AppID); !errors.Is(err, tenant.ErrExists) {
		t.Errorf("AddServicePrincipal(home again) error = %v; want ErrExists", err)
	}
	sp, err := e.dir.AddServicePrincipal(e.ctx, "FABRIKAM.onmicrosoft.com", strings.ToUpper(multi.AppID))
	if err != nil {
		t.Fatalf("AddServicePrincipal(multi-tenant, foreign): %v", err)
	}
	if sp.TenantID != fabrikam.ID || sp.AppID != multi.AppID || sp.AppOwnerOrganizationID != contoso.ID || !sp.AccountEnabled {
		t.Errorf("foreign service principal = %+v; want tenant %s, owner %s, enabled", sp, fabrikam.ID, contoso.ID)
	}
	if sp2, created, err := e.dir.EnsureServicePrincipal(e.ctx, fabrikam.ID, multi.AppID); err != nil || created || sp2.ID != sp.ID {
		t.Errorf("EnsureServicePrincipal(existing) = %s, %v, %v; want %s, false, nil", sp2.ID, created, err, sp.ID)
	}
	// An application made single-tenant keeps the service principals it has.
	no := false
	if _, err := e.dir.UpdateApplication(e.ctx, multi.AppID, tenant.ApplicationUpdate{MultiTenant: &no}); err != nil {
		t.Fatalf("UpdateApplication: %v", err)
	}
	if sp2, created, err := e.dir.EnsureServicePrincipal(e.ctx, fabrikam.ID, multi.AppID); err != nil || created || sp2.ID != sp.ID {
		t.Errorf("EnsureServicePrincipal(now single-tenant, existing) = %s, %v, %v; want %s, false, nil", sp2.ID, created, err, sp.ID)
	}
	if _, _, err := e.dir.EnsureServicePrincipal(e.ctx, fabrikam.ID, single.AppID); !errors.Is(err, tenant.ErrNotMultiTenant) {
		t.Errorf("EnsureServicePrincipal(single-tenant, foreign) error = %v; want ErrNotMultiTenant", err)
	}

	yes := true
	got, err := e.dir.UpdateServicePrincipal(e.ctx, fabrikam.ID, multi.AppID, tenant.ServicePrincipalUpdate{AppRoleAssignmentRequired: &yes, AccountEnabled: &no})
	if err != nil || !got.AppRoleAssignmentRequired || got.AccountEnabled {
		t.Errorf("UpdateServicePrincipal = %+v, %v; want assignment required and disabled", got, err)
	}
	// Every tenant also holds Microsoft Graph's service principal.
	list, err := e.dir.ListServicePrincipals(e.ctx, fabrikam.ID)
	if err != nil || len(list) != 2 || !slices.ContainsFunc(list, func(got tenant.ServicePrincipal) bool { return got.ID == sp.ID }) ||
		!slices.ContainsFunc(list, func(got tenant.ServicePrincipal) bool { return got.AppID == tenant.MicrosoftGraphAppID }) {
		t.Errorf("ListServicePrincipals(fabrikam) = %+v, %v; want %s and Microsoft Graph's", list, err, sp.ID)
	}
	if err := e.dir.RemoveServicePrincipal(e.ctx, fabrikam.ID, multi.AppID); err != nil {
		t.Errorf("RemoveServicePrincipal: %v", err)
	}
	if _, err := e.db.GetServicePrincipal(e.ctx, fabrikam.ID, multi.AppID); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("GetServicePrincipal after removal error = %v; want ErrNotFound", err)
	}
}

func TestUsers(t *testing.T) {
	e := newEnv(t)
	contoso := e.tenant("Contoso", "contoso.com")
	e.tenant("Fabrikam")
	alice, err := e.dir.AddUser(e.ctx, contoso.ID, tenant.UserSpec{UserPrincipalName: "Alice@Contoso.com", Password: "correct horse"})
	if err != nil {
		t.Fatalf("AddUser: %v", err)
	}
	if alice.UserPrincipalName != "alice@contoso.com" || alice.DisplayName != "alice" || !alice.AccountEnabled {
		t.Errorf("AddUser = %+v; want alice@contoso.com, display name alice, enabled", alice)
	}
	if strings.Contains(alice.PasswordHash, "correct horse") || !strings.HasPrefix(alice.PasswordHash, "$argon2id$") {
		t.Errorf("PasswordHash = %q; want an argon2id hash", alice.PasswordHash)
	}
	for _, tc := range []struct {
		password string
		want     bool
	}{{"correct horse", true}, {"Correct horse", false}, {"", false}, {"correct horse ", false}} {
		if got := alice.CheckPassword(tc.password); got != tc.want {
			t.Errorf("CheckPassword(%q) = %v; want %v", tc.password, got, tc.want)
		}
	}
	bob, err := e.dir.AddUser(e.ctx, contoso.ID, tenant.UserSpec{UserPrincipalName: "bob@contoso.onmicrosoft.com", Disabled: true})
	if err != nil || bob.AccountEnabled || bob.CheckPassword("") {
		t.Errorf("AddUser(bob, no password, disabled) = %+v, %v; want disabled, matching no password", bob, err)
	}

	for _, tc := range []struct {
		upn  string
		want error
	}{
		{"carol@fabrikam.onmicrosoft.com", tenant.ErrInvalid}, // another tenant's domain
		{"carol@example.com", tenant.ErrInvalid},
		{"carol", tenant.ErrInvalid},
		{"@contoso.com", tenant.ErrInvalid},
		{"car ol@contoso.com", tenant.ErrInvalid},
		{"ALICE@contoso.com", tenant.ErrExists},
	} {
		if _, err := e.dir.AddUser(e.ctx, contoso.ID, tenant.UserSpec{UserPrincipalName: tc.upn}); !errors.Is(err, tc.want) {
			t.Errorf("AddUser(%q) error = %v; want %v", tc.upn, err, tc.want)
		}
	}
	for _, ref := range []string{"ALICE@contoso.com", alice.ID, strings.ToUpper(alice.ID)} {
		if got, err := e.dir.FindUser(e.ctx, contoso.ID, ref); err != nil || got.ID != alice.ID {
			t.Errorf("FindUser(%q) = %s, %v; want %s", ref, got.ID, err, alice.ID)
		}
	}
	if _, err := e.dir.FindUser(e.ctx, contoso.ID, "nobody@contoso.com"); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("FindUser(unknown) error = %v; want ErrNotFound", err)
	}

	pw := "new password"
	updated, err := e.dir.UpdateUser(e.ctx, contoso.ID, "alice@contoso.com", tenant.UserUpdate{Password: &pw})
	if err != nil || updated.CheckPassword("correct horse") || !updated.CheckPassword(pw) {
		t.Errorf("UpdateUser(password) = %v; want only the new password to match", err)
	}
	if err := e.dir.RemoveUser(e.ctx, contoso.ID, alice.ID); err != nil {
		t.Errorf("RemoveUser: %v", err)
	}
	if _, err := e.dir.FindUser(e.ctx, contoso.ID, alice.ID); !errors.Is(err, tenant.ErrNotFound) {
		t.Errorf("FindUser after RemoveUser error = %v; want ErrNotFound", err)
	}
}
