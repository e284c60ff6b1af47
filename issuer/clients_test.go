package issuer_test

import (
	"context"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// TestMSALGo acquires tokens with the unmodified MSAL Go confidential
// client, by tenant GUID and by domain: it reads our v2 discovery, checks
// the issuer's host against the authority, appends its OIDC scopes and
// parses our response (clients.md §2.1). Instance discovery must be off:
// MSAL sends it to login.microsoftonline.com otherwise.
func TestMSALGo(t *testing.T) {
	w := newWorld(t)
	cred, err := confidential.NewCredFromSecret(clientSecret)
	if err != nil {
		t.Fatal(err)
	}
	for _, tenantSegment := range []string{tenantA, domainA} {
		t.Run(tenantSegment, func(t *testing.T) {
			app, err := confidential.New(w.URL+"/"+tenantSegment, clientID, cred,
				confidential.WithHTTPClient(w.Client()), confidential.WithInstanceDiscovery(false))
			if err != nil {
				t.Fatal(err)
			}
			res, err := app.AcquireTokenByCredential(context.Background(), []string{"api://inventory/.default"})
			if err != nil {
				t.Fatalf("AcquireTokenByCredential: %v", err)
			}
			c := w.verify(t, res.AccessToken, tenantA, 2).claims
			if c["aud"] != inventoryID || c["azp"] != clientID {
				t.Errorf("aud, azp = %v, %v; want %s, %s", c["aud"], c["azp"], inventoryID, clientID)
			}
		})
	}
	t.Run("wrong secret surfaces AADSTS7000215", func(t *testing.T) {
		bad, _ := confidential.NewCredFromSecret("not-the-secret-0001")
		app, err := confidential.New(w.URL+"/"+tenantA, clientID, bad,
			confidential.WithHTTPClient(w.Client()), confidential.WithInstanceDiscovery(false))
		if err != nil {
			t.Fatal(err)
		}
		_, err = app.AcquireTokenByCredential(context.Background(), []string{"api://inventory/.default"})
		if err == nil || !strings.Contains(err.Error(), "invalid_client") || !strings.Contains(err.Error(), "AADSTS7000215") {
			t.Errorf("AcquireTokenByCredential with a wrong secret = %v; want invalid_client AADSTS7000215", err)
		}
	})
}

// TestAzidentity acquires a token with azidentity's ClientSecretCredential
// pointed at our host.
func TestAzidentity(t *testing.T) {
	w := newWorld(t)
	cred, err := azidentity.NewClientSecretCredential(tenantA, clientID, clientSecret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: w.URL + "/"}, Transport: w.Client()},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"api://orders/.default"}})
	if err != nil {
		t.Fatalf("GetToken: %v", err)
	}
	c := w.verify(t, tok.Token, tenantA, 1).claims
	if c["aud"] != "api://orders" || c["appid"] != clientID || c["ver"] != "1.0" {
		t.Errorf("aud, appid, ver = %v, %v, %v; want api://orders, %s, 1.0", c["aud"], c["appid"], c["ver"], clientID)
	}
}
