package issuertest_test

import (
	"context"
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

// A test registers a daemon and an API in a tenant, gives the daemon an app
// role on the API, and asks for a token over TLS with the server's client.
// (In a test, use issuertest.NewServer(t, …), which closes the server when
// the test ends.)
func Example() {
	s, err := issuertest.Start(issuertest.Clock(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)), issuertest.DeterministicIDs())
	if err != nil {
		panic(err)
	}
	defer s.Close()
	ctx := context.Background()
	check := func(err error) {
		if err != nil {
			panic(err)
		}
	}

	t, err := s.Directory.CreateTenant(ctx, tenant.TenantSpec{Name: "Contoso"})
	check(err)
	daemon, err := s.Directory.RegisterApplication(ctx, t.ID, tenant.ApplicationSpec{DisplayName: "Daemon"})
	check(err)
	_, secret, err := s.Directory.AddPassword(ctx, daemon.AppID, tenant.PasswordSpec{DisplayName: "ci"})
	check(err)
	api, err := s.Directory.RegisterApplication(ctx, t.ID, tenant.ApplicationSpec{
		DisplayName: "Orders API", IdentifierURIs: []string{"api://orders"}, TokenVersion: 2})
	check(err)

	// Give the daemon the API's Orders.Read.All application permission.
	const roleID = "11111111-0000-4000-8000-000000000001"
	check(s.DB.UpdateApplication(ctx, api.AppID, func(a *tenant.Application) error {
		a.AppRoles = append(a.AppRoles, tenant.AppRole{ID: roleID, Value: "Orders.Read.All",
			AllowedMemberTypes: []string{tenant.MemberTypeApplication}, IsEnabled: true})
		return nil
	}))
	client, err := s.DB.GetServicePrincipal(ctx, t.ID, daemon.AppID)
	check(err)
	resource, err := s.DB.GetServicePrincipal(ctx, t.ID, api.AppID)
	check(err)
	check(s.DB.CreateAppRoleAssignment(ctx, consent.AppRoleAssignment{ID: "22222222-0000-4000-8000-000000000001", TenantID: t.ID,
		AppRoleID: roleID, PrincipalID: client.ID, PrincipalType: consent.PrincipalServicePrincipal, ResourceID: resource.ID}))

	resp, err := s.Client().PostForm(s.URL+"/contoso.onmicrosoft.com/oauth2/v2.0/token", url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {daemon.AppID},
		"client_secret": {secret},
		"scope":         {"api://orders/.default"},
	})
	check(err)
	defer resp.Body.Close()
	var body struct {
		TokenType   string `json:"token_type"`
		ExpiresIn   int    `json:"expires_in"`
		AccessToken string `json:"access_token"`
	}
	check(json.NewDecoder(resp.Body).Decode(&body))
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(body.AccessToken, ".")[1])
	check(err)
	var claims struct {
		Aud   string   `json:"aud"`
		Azp   string   `json:"azp"`
		Roles []string `json:"roles"`
		Ver   string   `json:"ver"`
	}
	check(json.Unmarshal(payload, &claims))

	fmt.Println(resp.StatusCode, body.TokenType, body.ExpiresIn)
	fmt.Println("aud is the API:", claims.Aud == api.AppID)
	fmt.Println("azp is the daemon:", claims.Azp == daemon.AppID)
	fmt.Println(claims.Ver, claims.Roles)
	// Output:
	// 200 Bearer 3599
	// aud is the API: true
	// azp is the daemon: true
	// 2.0 [Orders.Read.All]
}
