package issuer_test

// Real, unmodified Microsoft clients and a standard JWT validator as test
// peers (issue 6; what each requires is in clients.md). One test per
// library, each a table of flows and a table of refusals. A refusal is
// asserted through what the library reports (MSAL Go's CallErr,
// azidentity's *AuthenticationFailedError, go-oidc's errors), then through
// the AADSTS body the library carries. A new credential kind (certificate,
// assertion callback) or flow (on-behalf-of, username/password) is one more
// row: the tables take a credential constructor and the request's options.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
	msalerrors "github.com/AzureAD/microsoft-authentication-library-for-go/apps/errors"
	"github.com/coreos/go-oidc/v3/oidc"
)

// unknownTenant is a well-formed tenant GUID no directory holds.
const unknownTenant = "99999999-9999-4999-8999-999999999999"

// clientWorld is the seeded world plus the consent scenario's applications,
// with Partner Daemon consented in Fabrikam: everything the client tables
// use.
func clientWorld(t *testing.T) *world {
	w := newWorld(t)
	w.addConsentApps()
	w.consentPartner()
	return w
}

// recorder is an HTTP client that trusts the world's CA and records the
// requests the library under test sends, so a test can tell a cache hit
// (no request) from a network call and see the form a library posted.
// *http.Client is both MSAL Go's HTTPClient and azcore's Transporter.
type recorder struct {
	base http.RoundTripper
	mu   sync.Mutex
	sent []sentRequest
}

type sentRequest struct {
	method, path string
	form         url.Values
}

func newRecorder(w *world) (*recorder, *http.Client) {
	r := &recorder{base: w.Client().Transport}
	return r, &http.Client{Transport: r, Timeout: 30 * time.Second}
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	s := sentRequest{method: req.Method, path: req.URL.Path}
	if req.Body != nil {
		body, err := io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
		s.form, _ = url.ParseQuery(string(body))
	}
	r.mu.Lock()
	r.sent = append(r.sent, s)
	r.mu.Unlock()
	return r.base.RoundTrip(req)
}

// tokenPosts returns the token requests sent so far.
func (r *recorder) tokenPosts() []sentRequest {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []sentRequest
	for _, s := range r.sent {
		if s.method == http.MethodPost && strings.HasSuffix(s.path, "/token") {
			out = append(out, s)
		}
	}
	return out
}

// issuedToken is what a client table expects of a token: the tenant that
// issued it, its version, audience and roles. The client's claim (azp or
// appid) and oid (its service principal in that tenant) are derived.
type issuedToken struct {
	tid     string
	version int
	aud     string
	roles   []string
}

// checkToken verifies token against the JWKS and discovery issuer of the
// tenant it claims, as a relying party does, and checks it against want.
func (w *world) checkToken(t *testing.T, token, clientAppID string, want issuedToken) {
	t.Helper()
	c := w.verify(t, token, want.tid, want.version).claims
	ver, clientClaim := "2.0", "azp"
	if want.version == 1 {
		ver, clientClaim = "1.0", "appid"
	}
	checkClaim(t, c, "ver", ver)
	checkClaim(t, c, "tid", want.tid)
	checkClaim(t, c, "aud", want.aud)
	checkClaim(t, c, clientClaim, clientAppID)
	checkClaim(t, c, "oid", w.servicePrincipalID(t, want.tid, clientAppID))
	var roles []string
	if v, ok := c["roles"]; ok {
		roles = stringSlice(v)
	}
	if !slices.Equal(roles, want.roles) {
		t.Errorf("roles = %v; want %v", roles, want.roles)
	}
}

// aadError is the AADSTS body a library hands back with its error.
type aadError struct {
	Error      string `json:"error"`
	ErrorCodes []int  `json:"error_codes"`
	SubError   string `json:"suberror"`
}

// refusal is what a client must report: the HTTP status of the answer it
// got, the OAuth error and the AADSTS code.
type refusal struct {
	status int
	oauth  string
	code   int
}

// checkRefusal compares the response a library kept with want, and checks
// that the library's own message names the code, as users read it there.
// It returns the body, for the members a caller checks besides (suberror).
func checkRefusal(t *testing.T, err error, resp *http.Response, want refusal) aadError {
	t.Helper()
	if resp == nil {
		t.Fatalf("error %v carries no HTTP response; want HTTP %d %s AADSTS%d", err, want.status, want.oauth, want.code)
	}
	body, rerr := io.ReadAll(resp.Body)
	if rerr != nil {
		t.Fatal(rerr)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body)) // the library may read it again
	var e aadError
	if jerr := json.Unmarshal(body, &e); jerr != nil {
		t.Fatalf("response body %q: %v", body, jerr)
	}
	if resp.StatusCode != want.status || e.Error != want.oauth || !slices.Equal(e.ErrorCodes, []int{want.code}) {
		t.Errorf("library got HTTP %d %s %v; want HTTP %d %s [%d]", resp.StatusCode, e.Error, e.ErrorCodes, want.status, want.oauth, want.code)
	}
	for _, s := range []string{want.oauth, fmt.Sprintf("AADSTS%d", want.code)} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("library error %q does not mention %s", err, s)
		}
	}
	return e
}

// checkSubError checks the suberror of a refusal's body: MSAL decides from
// it that the user must act (consent_required) or sign in again
// (bad_token).
func checkSubError(t *testing.T, e aadError, want string) {
	t.Helper()
	if e.SubError != want {
		t.Errorf("suberror = %q; want %q", e.SubError, want)
	}
}

// msalRefusal checks a refusal as MSAL Go reports it: an errors.CallErr
// whose response carries want, and the suberror sub ("" for none).
func msalRefusal(t *testing.T, err error, want refusal, sub string) {
	t.Helper()
	var ce msalerrors.CallErr
	if !errors.As(err, &ce) {
		t.Fatalf("error %v; want an errors.CallErr", err)
	}
	checkSubError(t, checkRefusal(t, err, ce.Resp, want), sub)
}

// TestMSALGo runs MSAL Go's confidential client (apps/confidential) against
// the server: instance discovery off, TLS through WithHTTPClient
// (clients.md §2.1). Each flow runs twice on one client; the second call
// must come from MSAL's cache without a request.
func TestMSALGo(t *testing.T) {
	w := clientWorld(t)
	ctx := context.Background()
	secret := func(s string) func(*testing.T) confidential.Credential {
		return func(t *testing.T) confidential.Credential {
			c, err := confidential.NewCredFromSecret(s)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
	}
	newClient := func(t *testing.T, tenantSegment, clientAppID string, cred confidential.Credential, hc *http.Client) confidential.Client {
		t.Helper()
		app, err := confidential.New(w.URL+"/"+tenantSegment, clientAppID, cred,
			confidential.WithHTTPClient(hc), confidential.WithInstanceDiscovery(false))
		if err != nil {
			t.Fatal(err)
		}
		return app
	}

	for _, tc := range []struct {
		name      string
		authority string // tenant segment of the authority
		client    string
		cred      func(*testing.T) confidential.Credential
		scope     string
		opts      []confidential.AcquireByCredentialOption
		want      issuedToken
	}{
		{name: "secret, tenant GUID", authority: tenantA, client: clientID, cred: secret(clientSecret), scope: "api://inventory/.default",
			want: issuedToken{tid: tenantA, version: 2, aud: inventoryID, roles: []string{"Inventory.Read.All"}}},
		{name: "secret, tenant domain", authority: domainA, client: clientID, cred: secret(clientSecret), scope: "api://inventory/.default",
			want: issuedToken{tid: tenantA, version: 2, aud: inventoryID, roles: []string{"Inventory.Read.All"}}},
		{name: "secret, v1 resource", authority: "Contoso.OnMicrosoft.com", client: clientID, cred: secret(clientSecret), scope: "api://orders/.default",
			want: issuedToken{tid: tenantA, version: 1, aud: "api://orders", roles: []string{"Orders.Read.All"}}},
		{name: "secret, WithTenantID to a tenant that consented", authority: tenantA, client: partnerID, cred: secret(partnerSecret), scope: "api://shared/.default",
			opts: []confidential.AcquireByCredentialOption{confidential.WithTenantID(tenantB)},
			want: issuedToken{tid: tenantB, version: 2, aud: sharedAPIID, roles: []string{sharedReadRole}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, hc := newRecorder(w)
			app := newClient(t, tc.authority, tc.client, tc.cred(t), hc)
			first, err := app.AcquireTokenByCredential(ctx, []string{tc.scope}, tc.opts...)
			if err != nil {
				t.Fatalf("AcquireTokenByCredential: %v", err)
			}
			if first.Metadata.TokenSource != confidential.TokenSourceIdentityProvider {
				t.Errorf("first call: TokenSource = %v; want the identity provider", first.Metadata.TokenSource)
			}
			w.checkToken(t, first.AccessToken, tc.client, tc.want)

			second, err := app.AcquireTokenByCredential(ctx, []string{tc.scope}, tc.opts...)
			if err != nil {
				t.Fatalf("second AcquireTokenByCredential: %v", err)
			}
			if second.Metadata.TokenSource != confidential.TokenSourceCache || second.AccessToken != first.AccessToken {
				t.Errorf("second call: TokenSource = %v, same token %v; want the cached token", second.Metadata.TokenSource, second.AccessToken == first.AccessToken)
			}
			if n := len(rec.tokenPosts()); n != 1 {
				t.Errorf("%d token requests for two calls; want 1", n)
			}
		})
	}

	for _, tc := range []struct {
		name      string
		authority string
		client    string
		cred      func(*testing.T) confidential.Credential
		scope     string
		want      refusal
	}{
		{name: "wrong secret", authority: tenantA, client: clientID, cred: secret("not-the-secret-0001"), scope: "api://inventory/.default",
			want: refusal{401, "invalid_client", 7000215}},
		{name: "client not assigned to a resource that requires it", authority: tenantA, client: clientID, cred: secret(clientSecret), scope: "api://payroll/.default",
			want: refusal{400, "invalid_client", 501051}},
		{name: "single-tenant client of another tenant", authority: tenantA, client: foreignID, cred: secret("foreign-secret-value-0001"), scope: "api://orders/.default",
			want: refusal{400, "unauthorized_client", 700016}},
		{name: "unknown tenant (discovery)", authority: unknownTenant, client: clientID, cred: secret(clientSecret), scope: "api://inventory/.default",
			want: refusal{400, "invalid_tenant", 90002}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, hc := newRecorder(w)
			app := newClient(t, tc.authority, tc.client, tc.cred(t), hc)
			_, err := app.AcquireTokenByCredential(ctx, []string{tc.scope})
			var ce msalerrors.CallErr
			if !errors.As(err, &ce) {
				t.Fatalf("AcquireTokenByCredential = %v; want an errors.CallErr", err)
			}
			checkRefusal(t, err, ce.Resp, tc.want)
		})
	}
}

// TestAzidentity runs azidentity's ClientSecretCredential against the
// server: authority host from ClientOptions.Cloud, TLS through
// ClientOptions.Transport, instance discovery off (clients.md §2.2).
func TestAzidentity(t *testing.T) {
	w := clientWorld(t)
	ctx := context.Background()
	type credentialFunc func(t *testing.T, tenantID, clientAppID string, opts azcore.ClientOptions, allowed []string) azcore.TokenCredential
	secret := func(s string) credentialFunc {
		return func(t *testing.T, tenantID, clientAppID string, opts azcore.ClientOptions, allowed []string) azcore.TokenCredential {
			cred, err := azidentity.NewClientSecretCredential(tenantID, clientAppID, s, &azidentity.ClientSecretCredentialOptions{
				ClientOptions: opts, DisableInstanceDiscovery: true, AdditionallyAllowedTenants: allowed,
			})
			if err != nil {
				t.Fatal(err)
			}
			return cred
		}
	}
	clientOptions := func(hc *http.Client) azcore.ClientOptions {
		return azcore.ClientOptions{
			Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: w.URL + "/"},
			Transport: hc,
			// A refusal is final; retries would only slow the negative cases.
			Retry: policy.RetryOptions{MaxRetries: -1},
		}
	}

	for _, tc := range []struct {
		name    string
		tenant  string
		client  string
		cred    credentialFunc
		allowed []string // AdditionallyAllowedTenants
		request policy.TokenRequestOptions
		want    issuedToken
		claims  string // the claims parameter azidentity must send, if any
	}{
		{name: "secret, v1 resource", tenant: tenantA, client: clientID, cred: secret(clientSecret),
			request: policy.TokenRequestOptions{Scopes: []string{"api://orders/.default"}},
			want:    issuedToken{tid: tenantA, version: 1, aud: "api://orders", roles: []string{"Orders.Read.All"}}},
		{name: "secret, v2 resource, tenant by domain", tenant: domainA, client: clientID, cred: secret(clientSecret),
			request: policy.TokenRequestOptions{Scopes: []string{inventoryID + "/.default"}},
			want:    issuedToken{tid: tenantA, version: 2, aud: inventoryID, roles: []string{"Inventory.Read.All"}}},
		{name: "EnableCAE sends the CP1 claims request", tenant: tenantA, client: clientID, cred: secret(clientSecret),
			request: policy.TokenRequestOptions{Scopes: []string{"api://inventory/.default"}, EnableCAE: true},
			want:    issuedToken{tid: tenantA, version: 2, aud: inventoryID, roles: []string{"Inventory.Read.All"}},
			claims:  `{"access_token":{"xms_cc":{"values":["CP1"]}}}`},
		{name: "AdditionallyAllowedTenants, token from a tenant that consented", tenant: tenantA, client: partnerID, cred: secret(partnerSecret),
			allowed: []string{tenantB},
			request: policy.TokenRequestOptions{Scopes: []string{"api://shared/.default"}, TenantID: tenantB},
			want:    issuedToken{tid: tenantB, version: 2, aud: sharedAPIID, roles: []string{sharedReadRole}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec, hc := newRecorder(w)
			cred := tc.cred(t, tc.tenant, tc.client, clientOptions(hc), tc.allowed)
			tok, err := cred.GetToken(ctx, tc.request)
			if err != nil {
				t.Fatalf("GetToken: %v", err)
			}
			w.checkToken(t, tok.Token, tc.client, tc.want)
			again, err := cred.GetToken(ctx, tc.request)
			if err != nil || again.Token != tok.Token {
				t.Errorf("second GetToken = same token %v, %v; want the cached token", again.Token == tok.Token, err)
			}
			posts := rec.tokenPosts()
			if len(posts) != 1 {
				t.Fatalf("%d token requests for two GetToken calls; want 1", len(posts))
			}
			if got := posts[0].form.Get("claims"); got != tc.claims {
				t.Errorf("claims parameter = %q; want %q", got, tc.claims)
			}
		})
	}

	for _, tc := range []struct {
		name   string
		tenant string
		client string
		cred   credentialFunc
		scope  string
		want   refusal
	}{
		{name: "wrong secret", tenant: tenantA, client: clientID, cred: secret("not-the-secret-0001"), scope: "api://inventory/.default",
			want: refusal{401, "invalid_client", 7000215}},
		{name: "client not assigned to a resource that requires it", tenant: tenantA, client: clientID, cred: secret(clientSecret), scope: "api://payroll/.default",
			want: refusal{400, "invalid_client", 501051}},
		{name: "unknown tenant (discovery)", tenant: unknownTenant, client: clientID, cred: secret(clientSecret), scope: "api://inventory/.default",
			want: refusal{400, "invalid_tenant", 90002}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, hc := newRecorder(w)
			cred := tc.cred(t, tc.tenant, tc.client, clientOptions(hc), nil)
			_, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{tc.scope}})
			var afe *azidentity.AuthenticationFailedError
			if !errors.As(err, &afe) {
				t.Fatalf("GetToken = %v; want an *azidentity.AuthenticationFailedError", err)
			}
			checkRefusal(t, err, afe.RawResponse, tc.want)
		})
	}
}

// TestGoOIDC verifies tokens with coreos/go-oidc the way an API does: a
// provider from discovery of the issuer URL (go-oidc requires the document's
// issuer to equal that URL exactly), then signature against jwks_uri, iss,
// aud and expiry (clients.md §2.4). v2 tokens use {base}/{tid}/v2.0, whose
// discovery is /{tid}/v2.0/.well-known/openid-configuration; v1 tokens
// use {base}/{tid}/, whose discovery URL go-oidc builds as
// /{tid}/.well-known/openid-configuration, the v1 document. The server's
// clock is fixed, so the verifier reads it.
func TestGoOIDC(t *testing.T) {
	w := clientWorld(t)
	ctx := oidc.ClientContext(context.Background(), w.Client())
	token := func(tenantSegment, clientAppID, secret, scope string) func(t *testing.T) string {
		return func(t *testing.T) string {
			r := w.post(t, "/"+tenantSegment+"/oauth2/v2.0/token", url.Values{
				"grant_type": {"client_credentials"}, "client_id": {clientAppID}, "client_secret": {secret}, "scope": {scope},
			})
			var body struct {
				AccessToken string `json:"access_token"`
			}
			r.decode(t, &body)
			if r.status != http.StatusOK || body.AccessToken == "" {
				t.Fatalf("token request = %d %s", r.status, r.body)
			}
			return body.AccessToken
		}
	}
	v2 := token(tenantA, clientID, clientSecret, "api://inventory/.default")
	v1 := token(tenantA, clientID, clientSecret, "api://orders/.default")
	partnerB := token(tenantB, partnerID, partnerSecret, "api://shared/.default")

	for _, tc := range []struct {
		name     string
		issuer   string // the issuer URL the provider is built from
		audience string
		token    func(*testing.T) string
		later    time.Duration // verify this long after the server's now
		// wantErr is "" for a verified token, else what must fail: the
		// provider ("issuer") or verification ("verify", "expired").
		wantErr string
	}{
		{name: "v2 token, v2 issuer", issuer: w.URL + "/" + tenantA + "/v2.0", audience: inventoryID, token: v2},
		{name: "v1 token, v1 issuer", issuer: w.URL + "/" + tenantA + "/", audience: "api://orders", token: v1},
		{name: "v2 token of a second tenant", issuer: w.URL + "/" + tenantB + "/v2.0", audience: sharedAPIID, token: partnerB},
		{name: "v1 issuer without its trailing slash", issuer: w.URL + "/" + tenantA, audience: "api://orders", token: v1, wantErr: "issuer"},
		{name: "issuer by domain (the document names the GUID)", issuer: w.URL + "/" + domainA + "/v2.0", audience: inventoryID, token: v2, wantErr: "issuer"},
		{name: "v1 token, v2 issuer", issuer: w.URL + "/" + tenantA + "/v2.0", audience: "api://orders", token: v1, wantErr: "verify"},
		{name: "token of another tenant", issuer: w.URL + "/" + tenantA + "/v2.0", audience: sharedAPIID, token: partnerB, wantErr: "verify"},
		{name: "wrong audience", issuer: w.URL + "/" + tenantA + "/v2.0", audience: "api://inventory", token: v2, wantErr: "verify"},
		{name: "expired", issuer: w.URL + "/" + tenantA + "/v2.0", audience: inventoryID, token: v2, later: 2 * time.Hour, wantErr: "expired"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := tc.token(t)
			p, err := oidc.NewProvider(ctx, tc.issuer)
			if tc.wantErr == "issuer" {
				var mismatch *oidc.IssuerMismatchError
				if !errors.As(err, &mismatch) {
					t.Fatalf("NewProvider(%s) = %v; want an *oidc.IssuerMismatchError", tc.issuer, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("NewProvider(%s): %v", tc.issuer, err)
			}
			now := w.Now().Add(tc.later)
			v := p.VerifierContext(ctx, &oidc.Config{ClientID: tc.audience, Now: func() time.Time { return now }})
			idt, err := v.Verify(ctx, raw)
			switch tc.wantErr {
			case "":
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if idt.Issuer != tc.issuer || !slices.Contains(idt.Audience, tc.audience) {
					t.Errorf("verified iss %q, aud %v; want %q, %q", idt.Issuer, idt.Audience, tc.issuer, tc.audience)
				}
			case "expired":
				var expired *oidc.TokenExpiredError
				if !errors.As(err, &expired) {
					t.Errorf("Verify = %v; want an *oidc.TokenExpiredError", err)
				}
			default:
				if err == nil {
					t.Errorf("Verify succeeded; want a refusal")
				}
			}
		})
	}
}
