package issuertest_test

import (
	"errors"
	"slices"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer/issuertest"
	"github.com/issuer-dev/issuer/seed"
	"github.com/issuer-dev/issuer/tenant"
)

const exampleSeed = "../../testdata/seed/example.json"

// TestSeed: a seed file fills the directory before the server starts; its
// known secrets get tokens with the roles consent and assignment gave.
func TestSeed(t *testing.T) {
	s := issuertest.NewServer(t, issuertest.Seed(exampleSeed), issuertest.Clock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	for _, tc := range []struct {
		name, client, secret string
		wantRoles            []string
	}{
		{"daemon: consent and assignment", "0000a002-0000-4000-8000-000000000002", "nightly-job-secret-value-0001", []string{"Orders.Read", "Orders.Write"}},
		{"multi-tenant partner consented in contoso", "0000a004-0000-4000-8000-000000000004", "partner-secret-value-0001", []string{"Orders.Read"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, claims, code := clientCredentials(s, "contoso.onmicrosoft.com", tc.client, tc.secret, "api://orders/.default")
			if status != 200 {
				t.Fatalf("token: %d AADSTS%d; want 200", status, code)
			}
			var roles []string
			for _, r := range claims["roles"].([]any) {
				roles = append(roles, r.(string))
			}
			slices.Sort(roles)
			if !slices.Equal(roles, tc.wantRoles) || claims["ver"] != "2.0" {
				t.Errorf("roles %v, ver %v; want %v in a v2 token", roles, claims["ver"], tc.wantRoles)
			}
		})
	}
	// Web has no role on the API, which requires assignment.
	web, err := s.Directory.ListApplications(t.Context(), "contoso.onmicrosoft.com")
	if err != nil {
		t.Fatal(err)
	}
	i := slices.IndexFunc(web, func(a tenant.Application) bool { return a.DisplayName == "Web" })
	if status, _, code := clientCredentials(s, "contoso.onmicrosoft.com", web[i].AppID, "web-app-secret-value-0001", "api://orders/.default"); status != 400 || code != 501051 {
		t.Errorf("Web: %d AADSTS%d; want 400 AADSTS501051", status, code)
	}
	if logs := s.Logs(); len(logs) != 3 || logs[2].Reason != string(consent.ReasonClientNotAssigned) {
		t.Errorf("Logs() = %+v; want three entries, the last refused as client_not_assigned", logs)
	}
	if res := s.Apply(seed.Document{Tenants: []seed.Tenant{{Name: "Contoso"}}}); res.Tenants.Unchanged != 1 {
		t.Errorf("Apply(Contoso again) = %+v; want the tenant unchanged", res)
	}
}

// TestSeedRefused: a seed that cannot be applied stops the server's start.
func TestSeedRefused(t *testing.T) {
	bad := seed.Document{Tenants: []seed.Tenant{{Name: "Contoso", Consents: []seed.Consent{{Client: "Nobody", Admin: true}}}}}
	if s, err := issuertest.Start(issuertest.SeedValue(bad)); err == nil {
		s.Close()
		t.Fatal("Start with a seed naming an unknown client: nil error")
	} else if se := (*seed.Error)(nil); !errors.As(err, &se) || se.Path != "tenants[0].consents[0]" {
		t.Errorf("Start = %v; want a *seed.Error at tenants[0].consents[0]", err)
	}
	if _, err := issuertest.Start(issuertest.Seed("no/such/seed.json")); err == nil {
		t.Error("Start with a missing seed file: nil error")
	}
}

// TestAdvanceExpiresToken: a token's exp passes when the test advances the
// clock; no sleep.
func TestAdvanceExpiresToken(t *testing.T) {
	s := issuertest.NewServer(t)
	ten := s.AddTenant("Contoso")
	api := s.AddApp(ten.ID, tenant.ApplicationSpec{DisplayName: "API", IdentifierURIs: []string{"api://api"}})
	daemon := s.AddApp(ten.ID, tenant.ApplicationSpec{DisplayName: "Daemon"})
	secret := s.AddSecret(daemon.AppID)
	_, claims, _ := clientCredentials(s, ten.ID, daemon.AppID, secret, "api://api/.default")
	exp := time.Unix(int64(claims["exp"].(float64)), 0)
	if claims["aud"] != "api://api" && claims["aud"] != api.AppID || !s.Now().Before(exp) {
		t.Fatalf("fresh token: aud %v, exp %v, now %v; want a live token", claims["aud"], exp, s.Now())
	}
	s.Advance(time.Hour + time.Minute)
	if !s.Now().After(exp) {
		t.Errorf("after Advance(61m): now %v, exp %v; want the token expired", s.Now(), exp)
	}
}
