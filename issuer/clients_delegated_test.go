package issuer_test

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
)

// TestMSALGoUsernamePassword signs Ada in with MSAL Go's public client and
// the password grant, at the tenant and at /organizations: MSAL asks
// /common/UserRealm first, then posts to our token endpoint, and parses our
// id_token and client_info into its account (clients.md §2.1). A public
// client needs no secret.
func TestMSALGoUsernamePassword(t *testing.T) {
	w := newDelegatedWorld(t)
	for _, authority := range []string{tenantA, domainA, "organizations"} {
		t.Run(authority, func(t *testing.T) {
			app, err := public.New(nativeID, public.WithAuthority(w.URL+"/"+authority),
				public.WithHTTPClient(w.Client()), public.WithInstanceDiscovery(false))
			if err != nil {
				t.Fatal(err)
			}
			res, err := app.AcquireTokenByUsernamePassword(context.Background(), []string{"api://middle/access_as_user"}, adaUPN, adaPassword)
			if err != nil {
				t.Fatalf("AcquireTokenByUsernamePassword: %v", err)
			}
			c := w.verify(t, res.AccessToken, tenantA, 2).claims
			checkUserClaims(t, c, 2, middleID, adaID, adaUPN, "Ada Lovelace", "access_as_user", "0")
			if res.Account.PreferredUsername != adaUPN || res.Account.HomeAccountID != adaID+"."+tenantA {
				t.Errorf("account = %s, %s; want %s, %s.%s", res.Account.PreferredUsername, res.Account.HomeAccountID, adaUPN, adaID, tenantA)
			}
			if !slices.Contains(res.GrantedScopes, "api://middle/access_as_user") {
				t.Errorf("granted scopes = %v", res.GrantedScopes)
			}
		})
	}
	t.Run("wrong password surfaces AADSTS50126", func(t *testing.T) {
		app, err := public.New(nativeID, public.WithAuthority(w.URL+"/"+tenantA),
			public.WithHTTPClient(w.Client()), public.WithInstanceDiscovery(false))
		if err != nil {
			t.Fatal(err)
		}
		_, err = app.AcquireTokenByUsernamePassword(context.Background(), []string{"api://middle/access_as_user"}, adaUPN, "not the password")
		if err == nil || !strings.Contains(err.Error(), "invalid_grant") || !strings.Contains(err.Error(), "AADSTS50126") {
			t.Errorf("AcquireTokenByUsernamePassword with a wrong password = %v; want invalid_grant AADSTS50126", err)
		}
	})
}

// TestMSALGoOnBehalfOf exchanges Ada's token with MSAL Go's confidential
// client as the middle tier: MSAL sends client_info=1 and its OIDC scopes,
// requires every requested scope in our scope member and an expires_in of
// at least five minutes, and caches the answer under the assertion.
func TestMSALGoOnBehalfOf(t *testing.T) {
	w := newDelegatedWorld(t)
	ada := w.adaToken(t)
	cred, err := confidential.NewCredFromSecret(middleSecret)
	if err != nil {
		t.Fatal(err)
	}
	app, err := confidential.New(w.URL+"/"+tenantA, middleID, cred,
		confidential.WithHTTPClient(w.Client()), confidential.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	for _, scopes := range [][]string{{"api://downstream/Data.Read"}, {"api://downstream/.default"}, {"api://orders/Orders.Read"}} {
		t.Run(strings.Join(scopes, " "), func(t *testing.T) {
			res, err := app.AcquireTokenOnBehalfOf(context.Background(), ada, scopes)
			if err != nil {
				t.Fatalf("AcquireTokenOnBehalfOf: %v", err)
			}
			version := 2
			if strings.HasPrefix(scopes[0], "api://orders") {
				version = 1
			}
			c := w.verify(t, res.AccessToken, tenantA, version).claims
			checkClaim(t, c, "oid", adaID)
			checkClaim(t, c, claimName(version, "appid", "azp"), middleID)
			// A second call is served from MSAL's cache.
			again, err := app.AcquireTokenOnBehalfOf(context.Background(), ada, scopes)
			if err != nil || again.AccessToken != res.AccessToken {
				t.Errorf("second AcquireTokenOnBehalfOf = %v; want the cached token", err)
			}
		})
	}
	t.Run("missing consent surfaces AADSTS65001", func(t *testing.T) {
		_, err := app.AcquireTokenOnBehalfOf(context.Background(), ada, []string{"api://downstream/Data.Write"})
		if err == nil || !strings.Contains(err.Error(), "invalid_grant") || !strings.Contains(err.Error(), "AADSTS65001") {
			t.Errorf("AcquireTokenOnBehalfOf without consent = %v; want invalid_grant AADSTS65001", err)
		}
	})
}

// TestAzidentityOnBehalfOf exchanges Ada's token with azidentity's
// OnBehalfOfCredential, which wraps MSAL Go and asks for CAE (claims=…).
func TestAzidentityOnBehalfOf(t *testing.T) {
	w := newDelegatedWorld(t)
	cred, err := azidentity.NewOnBehalfOfCredentialWithSecret(tenantA, middleID, w.adaToken(t), middleSecret, &azidentity.OnBehalfOfCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: w.URL + "/"}, Transport: w.Client()},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"api://downstream/Data.Read"}, EnableCAE: true})
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	c := w.verify(t, tok.Token, tenantA, 2).claims
	checkUserClaims(t, c, 2, downstreamID, adaID, adaUPN, "Ada Lovelace", "Data.Read", "1")
}
