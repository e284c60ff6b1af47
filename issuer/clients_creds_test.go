package issuer_test

import (
	"context"
	"crypto/x509"
	"errors"
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
		msalRefusal(t, err, refusal{401, "invalid_client", 700027}, "")
	})
}

// TestAzidentityCertificate authenticates with azidentity's
// ClientCertificateCredential, with and without the certificate chain, and
// meets the refusal of a certificate the application does not hold.
func TestAzidentityCertificate(t *testing.T) {
	w := newWorld(t, realTime())
	cert := wideCert(t, 0)
	w.addCert(t, clientID, cert)
	credential := func(t *testing.T, c clientCert, chain bool) azcore.TokenCredential {
		t.Helper()
		cred, err := azidentity.NewClientCertificateCredential(tenantA, clientID, []*x509.Certificate{c.cert}, c.key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: azOptions(w), DisableInstanceDiscovery: true, SendCertificateChain: chain})
		if err != nil {
			t.Fatal(err)
		}
		return cred
	}
	scopes := policy.TokenRequestOptions{Scopes: []string{"api://orders/.default"}}
	for _, tc := range []struct {
		name  string
		chain bool // SendCertificateChain
	}{{"without the chain", false}, {"with the chain (x5c)", true}} {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := credential(t, cert, tc.chain).GetToken(context.Background(), scopes)
			if err != nil {
				t.Fatalf("GetToken: %v", err)
			}
			if c := w.verify(t, tok.Token, tenantA, 1).claims; c["appidacr"] != "2" || c["appid"] != clientID || c["aud"] != "api://orders" {
				t.Errorf("appidacr, appid, aud = %v, %v, %v; want 2, %s, api://orders", c["appidacr"], c["appid"], c["aud"], clientID)
			}
		})
	}
	for _, tc := range []struct {
		name  string
		cert  clientCert
		chain bool
		want  refusal
	}{
		{name: "unregistered certificate", cert: wideCert(t, 1), want: refusal{401, "invalid_client", 700027}},
		{name: "unregistered certificate with its chain", cert: wideCert(t, 1), chain: true, want: refusal{401, "invalid_client", 700027}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := credential(t, tc.cert, tc.chain).GetToken(context.Background(), scopes)
			var afe *azidentity.AuthenticationFailedError
			if !errors.As(err, &afe) {
				t.Fatalf("GetToken = %v; want an *azidentity.AuthenticationFailedError", err)
			}
			checkRefusal(t, err, afe.RawResponse, tc.want)
		})
	}
}
