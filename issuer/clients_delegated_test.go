package issuer_test

import (
	"context"
	"crypto/x509"
	"errors"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/public"
	"github.com/go-jose/go-jose/v4"

	"github.com/issuer-dev/issuer/tenant"
)

// caeClaims is the claims request of a CP1-capable client (azidentity's
// EnableCAE). Passed to MSAL Go's AcquireTokenSilent, it also makes MSAL
// skip its cached access token and redeem the refresh token.
const caeClaims = `{"access_token":{"xms_cc":{"values":["CP1"]}}}`

// grants returns the grant_type of each token request rec saw.
func grants(rec *recorder) []string {
	var out []string
	for _, p := range rec.tokenPosts() {
		out = append(out, p.form.Get("grant_type"))
	}
	return out
}

// TestMSALGoUsernamePassword signs Ada in with MSAL Go's public client and
// the password grant, at the tenant and at /organizations: MSAL asks
// /common/UserRealm first, then posts to our token endpoint, and parses our
// id_token and client_info into its account (clients.md §2.1). A public
// client needs no secret. AcquireTokenSilent then answers from the cache,
// and with a claims request redeems the refresh token MSAL kept. The
// refusals include those of the refresh, which re-checks the user and the
// consent.
func TestMSALGoUsernamePassword(t *testing.T) {
	ctx := context.Background()
	scopes := []string{"api://middle/access_as_user"}
	newApp := func(t *testing.T, w *world, authority string) (public.Client, *recorder) {
		t.Helper()
		rec, hc := newRecorder(w)
		app, err := public.New(nativeID, public.WithAuthority(w.URL+"/"+authority),
			public.WithHTTPClient(hc), public.WithInstanceDiscovery(false))
		if err != nil {
			t.Fatal(err)
		}
		return app, rec
	}

	w := newDelegatedWorld(t)
	for _, authority := range []string{tenantA, domainA, "organizations"} {
		t.Run(authority, func(t *testing.T) {
			app, rec := newApp(t, w, authority)
			res, err := app.AcquireTokenByUsernamePassword(ctx, scopes, adaUPN, adaPassword)
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

			cached, err := app.AcquireTokenSilent(ctx, scopes, public.WithSilentAccount(res.Account))
			if err != nil || cached.Metadata.TokenSource != public.TokenSourceCache || cached.AccessToken != res.AccessToken {
				t.Errorf("AcquireTokenSilent = %v, source %v, same token %v; want the cached token", err, cached.Metadata.TokenSource, cached.AccessToken == res.AccessToken)
			}

			refreshed, err := app.AcquireTokenSilent(ctx, scopes, public.WithSilentAccount(res.Account), public.WithClaims(caeClaims))
			if err != nil {
				t.Fatalf("AcquireTokenSilent with claims: %v", err)
			}
			if refreshed.Metadata.TokenSource != public.TokenSourceIdentityProvider || refreshed.AccessToken == res.AccessToken {
				t.Errorf("AcquireTokenSilent with claims: source %v, same token %v; want a new token", refreshed.Metadata.TokenSource, refreshed.AccessToken == res.AccessToken)
			}
			c = w.verify(t, refreshed.AccessToken, tenantA, 2).claims
			checkUserClaims(t, c, 2, middleID, adaID, adaUPN, "Ada Lovelace", "access_as_user", "0")
			if got, want := grants(rec), []string{"password", "refresh_token"}; !slices.Equal(got, want) {
				t.Errorf("token requests: grant_type %v; want %v", got, want)
			}
		})
	}

	// signInThen signs Ada in, changes the world with change, and redeems
	// the refresh token as AcquireTokenSilent does with a claims request.
	signInThen := func(change func(t *testing.T, w *world)) func(t *testing.T, w *world, app public.Client) error {
		return func(t *testing.T, w *world, app public.Client) error {
			res, err := app.AcquireTokenByUsernamePassword(ctx, scopes, adaUPN, adaPassword)
			if err != nil {
				t.Fatalf("AcquireTokenByUsernamePassword: %v", err)
			}
			change(t, w)
			_, err = app.AcquireTokenSilent(ctx, scopes, public.WithSilentAccount(res.Account), public.WithClaims(caeClaims))
			return err
		}
	}
	password := func(upn, pw string) func(t *testing.T, w *world, app public.Client) error {
		return func(t *testing.T, w *world, app public.Client) error {
			_, err := app.AcquireTokenByUsernamePassword(ctx, scopes, upn, pw)
			return err
		}
	}
	for _, tc := range []struct {
		name string
		run  func(t *testing.T, w *world, app public.Client) error
		want refusal
		sub  string // suberror
	}{
		{name: "wrong password", run: password(adaUPN, "not the password"), want: refusal{400, "invalid_grant", 50126}},
		{name: "unknown user", run: password("nobody@contoso.onmicrosoft.com", adaPassword), want: refusal{400, "invalid_grant", 50034}, sub: "bad_token"},
		{name: "refresh after the user was disabled", run: signInThen(func(t *testing.T, w *world) {
			disabled := false
			if _, err := w.Directory.UpdateUser(ctx, tenantA, adaUPN, tenant.UserUpdate{AccountEnabled: &disabled}); err != nil {
				t.Fatal(err)
			}
		}), want: refusal{400, "invalid_grant", 50057}},
		{name: "refresh after the admin consent was revoked", run: signInThen(func(t *testing.T, w *world) {
			if _, err := w.manager().Revoke(ctx, tenantA, nativeID, ""); err != nil {
				t.Fatal(err)
			}
		}), want: refusal{400, "invalid_grant", 65001}, sub: "consent_required"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := newDelegatedWorld(t) // the refusals change the directory
			app, _ := newApp(t, w, tenantA)
			msalRefusal(t, tc.run(t, w, app), tc.want, tc.sub)
		})
	}
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

	for _, tc := range []struct {
		name      string
		assertion func(t *testing.T) string
		scope     string
		want      refusal
		sub       string // suberror
	}{
		{name: "scope without consent", assertion: func(*testing.T) string { return ada }, scope: "api://downstream/Data.Write",
			want: refusal{400, "invalid_grant", 65001}, sub: "consent_required"},
		{name: "assertion not signed by this issuer", assertion: func(t *testing.T) string {
			return signWith(t, jose.RS256, otherKey(t), testKey(t).KeyID, w.adaClaims())
		}, scope: "api://downstream/Data.Read", want: refusal{400, "invalid_grant", 50013}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := app.AcquireTokenOnBehalfOf(context.Background(), tc.assertion(t), []string{tc.scope})
			msalRefusal(t, err, tc.want, tc.sub)
		})
	}
}

// TestAzidentityOnBehalfOf exchanges Ada's token with azidentity's
// OnBehalfOfCredential, which wraps MSAL Go, with the middle tier's secret
// and with its certificate (PS256 client assertion, with and without the
// chain). The world runs on the real clock: MSAL signs assertions with it.
func TestAzidentityOnBehalfOf(t *testing.T) {
	w := newWorld(t, realTime())
	w.seedDelegated()
	cert := wideCert(t, 0)
	w.addCert(t, middleID, cert)
	unregistered := wideCert(t, 1)
	ada := w.adaToken(t)
	ctx := context.Background()

	type credentialFunc func(t *testing.T, opts azcore.ClientOptions) azcore.TokenCredential
	secret := func(s string) credentialFunc {
		return func(t *testing.T, opts azcore.ClientOptions) azcore.TokenCredential {
			cred, err := azidentity.NewOnBehalfOfCredentialWithSecret(tenantA, middleID, ada, s,
				&azidentity.OnBehalfOfCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true})
			if err != nil {
				t.Fatal(err)
			}
			return cred
		}
	}
	certificate := func(c clientCert, chain bool) credentialFunc {
		return func(t *testing.T, opts azcore.ClientOptions) azcore.TokenCredential {
			cred, err := azidentity.NewOnBehalfOfCredentialWithCertificate(tenantA, middleID, ada, []*x509.Certificate{c.cert}, c.key,
				&azidentity.OnBehalfOfCredentialOptions{ClientOptions: opts, DisableInstanceDiscovery: true, SendCertificateChain: chain})
			if err != nil {
				t.Fatal(err)
			}
			return cred
		}
	}
	clientOptions := func(hc *http.Client) azcore.ClientOptions {
		o := azOptions(w)
		o.Transport = hc
		return o
	}

	for _, tc := range []struct {
		name    string
		cred    credentialFunc
		request policy.TokenRequestOptions
		scp     string
		acr     string // azpacr: 1 secret, 2 certificate
	}{
		{name: "secret, EnableCAE", cred: secret(middleSecret),
			request: policy.TokenRequestOptions{Scopes: []string{"api://downstream/Data.Read"}, EnableCAE: true}, scp: "Data.Read", acr: "1"},
		{name: "certificate", cred: certificate(cert, false),
			request: policy.TokenRequestOptions{Scopes: []string{"api://downstream/Data.Read"}}, scp: "Data.Read", acr: "2"},
		{name: "certificate with its chain, /.default", cred: certificate(cert, true),
			request: policy.TokenRequestOptions{Scopes: []string{"api://downstream/.default"}}, scp: "Data.Read", acr: "2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, hc := newRecorder(w)
			cred := tc.cred(t, clientOptions(hc))
			tok, err := cred.GetToken(ctx, tc.request)
			if err != nil {
				t.Fatalf("GetToken: %v", err)
			}
			c := w.verify(t, tok.Token, tenantA, 2).claims
			checkUserClaims(t, c, 2, downstreamID, adaID, adaUPN, "Ada Lovelace", tc.scp, tc.acr)
			again, err := cred.GetToken(ctx, tc.request)
			if err != nil || again.Token != tok.Token {
				t.Errorf("second GetToken = same token %v, %v; want the cached token", again.Token == tok.Token, err)
			}
			posts := rec.tokenPosts()
			if len(posts) != 1 {
				t.Fatalf("%d token requests for two GetToken calls; want 1", len(posts))
			}
			f := posts[0].form
			if f.Get("requested_token_use") != "on_behalf_of" || f.Get("assertion") != ada {
				t.Errorf("requested_token_use %q, assertion is Ada's token %v; want on_behalf_of with Ada's token", f.Get("requested_token_use"), f.Get("assertion") == ada)
			}
			if hasAssertion := f.Get("client_assertion") != ""; hasAssertion != (tc.acr == "2") {
				t.Errorf("client_assertion sent %v; want %v", hasAssertion, tc.acr == "2")
			}
			if want := map[bool]string{true: caeClaims}[tc.request.EnableCAE]; f.Get("claims") != want {
				t.Errorf("claims parameter = %q; want %q", f.Get("claims"), want)
			}
		})
	}

	for _, tc := range []struct {
		name  string
		cred  credentialFunc
		scope string
		want  refusal
		sub   string // suberror
	}{
		{name: "scope without consent", cred: secret(middleSecret), scope: "api://downstream/Data.Write",
			want: refusal{400, "invalid_grant", 65001}, sub: "consent_required"},
		{name: "wrong secret", cred: secret("not-the-secret-0001"), scope: "api://downstream/Data.Read",
			want: refusal{401, "invalid_client", 7000215}},
		{name: "unregistered certificate", cred: certificate(unregistered, false), scope: "api://downstream/Data.Read",
			want: refusal{401, "invalid_client", 700027}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, hc := newRecorder(w)
			_, err := tc.cred(t, clientOptions(hc)).GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{tc.scope}})
			var afe *azidentity.AuthenticationFailedError
			if !errors.As(err, &afe) {
				t.Fatalf("GetToken = %v; want an *azidentity.AuthenticationFailedError", err)
			}
			checkSubError(t, checkRefusal(t, err, afe.RawResponse, tc.want), tc.sub)
		})
	}
}
