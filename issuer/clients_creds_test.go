package issuer_test

import (
	"context"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/issuer-dev/issuer/issuer/issuertest"
)

// realTime makes a world whose clock is the real time: MSAL and azidentity
// sign assertions with the real clock.
func realTime() issuertest.Option { return issuertest.Clock(time.Now()) }

// azOptions points azidentity at w.
func azOptions(w *world) azcore.ClientOptions {
	return azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: w.URL + "/"},
		Transport: w.Client(),
		Retry:     policy.RetryOptions{MaxRetries: -1},
	}
}

// TestMSALGoCertificate authenticates with MSAL Go's certificate
// credential, which signs PS256 with x5t#S256 in padded standard base64
// (clients.md §2.1), with and without the x5c chain, by tenant GUID and
// domain.
func TestMSALGoCertificate(t *testing.T) {
	w := newWorld(t, realTime())
	cert := wideCert(t, 0)
	w.addCert(t, clientID, cert)
	cred, err := confidential.NewCredFromCert([]*x509.Certificate{cert.cert}, cert.key)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, tenant string
		x5c          bool
	}{{"by GUID", tenantA, false}, {"by domain", domainA, false}, {"with x5c", tenantA, true}} {
		t.Run(tc.name, func(t *testing.T) {
			opts := []confidential.Option{confidential.WithHTTPClient(w.Client()), confidential.WithInstanceDiscovery(false)}
			if tc.x5c {
				opts = append(opts, confidential.WithX5C())
			}
			app, err := confidential.New(w.URL+"/"+tc.tenant, clientID, cred, opts...)
			if err != nil {
				t.Fatal(err)
			}
			res, err := app.AcquireTokenByCredential(context.Background(), []string{"api://inventory/.default"})
			if err != nil {
				t.Fatalf("AcquireTokenByCredential: %v", err)
			}
			if c := w.verify(t, res.AccessToken, tenantA, 2).claims; c["azpacr"] != "2" || c["azp"] != clientID {
				t.Errorf("azpacr, azp = %v, %v; want 2, %s", c["azpacr"], c["azp"], clientID)
			}
		})
	}
	t.Run("unregistered certificate surfaces AADSTS700027", func(t *testing.T) {
		other := wideCert(t, 1)
		bad, _ := confidential.NewCredFromCert([]*x509.Certificate{other.cert}, other.key)
		app, err := confidential.New(w.URL+"/"+tenantA, clientID, bad, confidential.WithHTTPClient(w.Client()), confidential.WithInstanceDiscovery(false))
		if err != nil {
			t.Fatal(err)
		}
		_, err = app.AcquireTokenByCredential(context.Background(), []string{"api://inventory/.default"})
		if err == nil || !strings.Contains(err.Error(), "invalid_client") || !strings.Contains(err.Error(), "AADSTS700027") {
			t.Errorf("AcquireTokenByCredential = %v; want invalid_client AADSTS700027", err)
		}
	})
}

// TestAzidentityCertificate authenticates with azidentity's
// ClientCertificateCredential, with and without the certificate chain.
func TestAzidentityCertificate(t *testing.T) {
	w := newWorld(t, realTime())
	cert := wideCert(t, 0)
	w.addCert(t, clientID, cert)
	for _, chain := range []bool{false, true} {
		cred, err := azidentity.NewClientCertificateCredential(tenantA, clientID, []*x509.Certificate{cert.cert}, cert.key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: azOptions(w), DisableInstanceDiscovery: true, SendCertificateChain: chain})
		if err != nil {
			t.Fatal(err)
		}
		tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{"api://orders/.default"}})
		if err != nil {
			t.Fatalf("GetToken (chain %v): %v", chain, err)
		}
		if c := w.verify(t, tok.Token, tenantA, 1).claims; c["appidacr"] != "2" || c["appid"] != clientID || c["aud"] != "api://orders" {
			t.Errorf("appidacr, appid, aud = %v, %v, %v; want 2, %s, api://orders", c["appidacr"], c["appid"], c["aud"], clientID)
		}
	}
}
