package issuertest_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer/issuertest"
	"github.com/issuer-dev/issuer/tenant"
)

// A SaaS vendor's daemon, registered in the vendor's tenant as a
// multi-tenant application, calls a customer's API. Until the customer's
// administrator consents, the customer's tenant does not know the daemon
// (AADSTS700016); consent provisions it there with the role it requires.
// (In a test, use issuertest.NewServer(t, …), which closes the server when
// the test ends.)
func Example_multiTenant() {
	s, err := issuertest.Start(issuertest.Clock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	if err != nil {
		panic(err)
	}
	defer s.Close()
	contoso, vendor := s.AddTenant("Contoso"), s.AddTenant("Vendor")
	api := s.AddApp(contoso.ID, tenant.ApplicationSpec{DisplayName: "Orders API", IdentifierURIs: []string{"api://orders"}, TokenVersion: 2})
	s.AddAppRole(api.AppID, "Orders.Read")
	daemon := s.AddApp(vendor.ID, tenant.ApplicationSpec{DisplayName: "Vendor Daemon", MultiTenant: true})
	secret := s.AddSecret(daemon.AppID)
	s.RequirePermissions(daemon.AppID, api.AppID, nil, []string{"Orders.Read"})

	status, _, code := clientCredentials(s, "contoso.onmicrosoft.com", daemon.AppID, secret, "api://orders/.default")
	fmt.Println("before consent:", status, code)
	s.GrantAdminConsent("contoso.onmicrosoft.com", daemon.AppID)
	status, claims, _ := clientCredentials(s, "contoso.onmicrosoft.com", daemon.AppID, secret, "api://orders/.default")
	fmt.Println("after consent:", status, claims["roles"], claims["tid"] == contoso.ID, claims["aud"] == api.AppID)
	// Output:
	// before consent: 400 700016
	// after consent: 200 [Orders.Read] true true
}

// An API that requires app role assignment refuses an unassigned client
// (AADSTS501051); the sign-in log says why, and an assignment fixes it.
// Advancing the clock past a secret's end date expires it (AADSTS7000222)
// without sleeping.
func Example_rolesAndLogs() {
	s, err := issuertest.Start(issuertest.Clock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))
	if err != nil {
		panic(err)
	}
	defer s.Close()
	t := s.AddTenant("Contoso")
	api := s.AddApp(t.ID, tenant.ApplicationSpec{DisplayName: "Payroll API", IdentifierURIs: []string{"api://payroll"}})
	s.AddAppRole(api.AppID, "Payroll.Read")
	required := true
	s.UpdateServicePrincipal(t.ID, api.AppID, tenant.ServicePrincipalUpdate{AppRoleAssignmentRequired: &required})
	daemon := s.AddApp(t.ID, tenant.ApplicationSpec{DisplayName: "Daemon"})
	secret := s.AddPassword(daemon.AppID, tenant.PasswordSpec{Lifetime: 24 * time.Hour})

	status, _, code := clientCredentials(s, t.ID, daemon.AppID, secret, "api://payroll/.default")
	fmt.Println(status, code, s.Logs()[0].Reason)
	s.AssignRole(t.ID, "api://payroll", "Payroll.Read", consent.Assignee{ClientAppID: daemon.AppID})
	status, claims, _ := clientCredentials(s, t.ID, daemon.AppID, secret, "api://payroll/.default")
	fmt.Println(status, claims["roles"])
	s.Advance(25 * time.Hour)
	status, _, code = clientCredentials(s, t.ID, daemon.AppID, secret, "api://payroll/.default")
	fmt.Println(status, code)
	// Output:
	// 400 501051 client_not_assigned
	// 200 [Payroll.Read]
	// 401 7000222
}

// clientCredentials asks for an app-only token on the v2 endpoint and
// returns the status, the token's claims, and the AADSTS code of a refusal.
func clientCredentials(s *issuertest.Server, tenantRef, clientID, secret, scope string) (int, map[string]any, int) {
	resp, err := s.Client().PostForm(s.URL+"/"+tenantRef+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "scope": {scope},
	})
	if err != nil {
		panic(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		ErrorCodes  []int  `json:"error_codes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		panic(err)
	}
	if len(body.ErrorCodes) > 0 {
		return resp.StatusCode, nil, body.ErrorCodes[0]
	}
	claims, err := claimsOf(body.AccessToken)
	if err != nil {
		panic(err)
	}
	return resp.StatusCode, claims, 0
}

// claimsOf decodes the claims of a JWS, unverified.
func claimsOf(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("not a JWS: %d parts", len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return nil, err
	}
	var claims map[string]any
	return claims, json.Unmarshal(payload, &claims)
}
