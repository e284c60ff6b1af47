package issuer_test

import (
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/issuer/issuertest"
	"github.com/issuer-dev/issuer/tenant"
)

// Objects of the federation tests, added to the world of helpers_test.go.
const (
	exchangeID   = "5c6f7a8b-9dae-4fb4-90c1-4c5d6e7f8a9c" // Token Exchange: api://AzureADTokenExchange in Contoso
	workloadID   = "6d7a8b9c-aebf-4ac5-81d2-5d6e7f8a9bad" // Workload: a Contoso daemon whose tokens Fabrikam trusts
	workloadKey  = "workload-secret-value-0001"
	workload2ID  = "7e8b9cad-bfc0-4bd6-92e3-6e7f8a9bacbe" // Workload 2: a Contoso daemon Fabrikam does not trust
	bareID       = "8f9cadbe-c0d1-4ce7-83f4-7f8a9bacbdcf" // Bare: a Fabrikam app with no federated credential
	idpSubject   = "system:serviceaccount:jobs:Nightly"
	exchangeAud  = tenant.DefaultFederationAudience
	fedScope     = "api://fabrikam/.default"
	fabrikamPath = "/" + tenantB + "/oauth2/v2.0/token"
)

// fakeIdP is an external OpenID issuer: a discovery document and a key
// set per mode (the first path segment), so that each mode is an issuer
// of its own with its own cache entry. It counts requests.
//
//	/good      correct documents, keys from keys()
//	/mismatch  discovery names another issuer
//	/httpjwks  jwks_uri is http://
//	/redirect  discovery redirects to http://
//	/big       discovery larger than 1 MiB
//	/error     discovery answers 500
//	/many      101 keys, the signing key last
type fakeIdP struct {
	srv *httptest.Server

	mu     sync.Mutex
	keys   map[string]*rsa.PrivateKey // kid -> key, published in /good
	counts map[string]int             // path -> requests
}

func newFakeIdP(t *testing.T) *fakeIdP {
	t.Helper()
	f := &fakeIdP{keys: map[string]*rsa.PrivateKey{"k1": testRSAKeys()[2]}, counts: map[string]int{}}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeIdP) issuer(mode string) string { return f.srv.URL + "/" + mode }

func (f *fakeIdP) count(path string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.counts[path]
}

// setKeys replaces the published keys of /good.
func (f *fakeIdP) setKeys(keys map[string]*rsa.PrivateKey) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.keys = keys
}

func jwkOf(kid string, k *rsa.PrivateKey) map[string]any {
	return map[string]any{
		"kty": "RSA", "use": "sig", "kid": kid, "alg": "RS256",
		"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
		"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
	}
}

func (f *fakeIdP) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.counts[r.URL.Path]++
	keys := f.keys
	f.mu.Unlock()
	mode, rest, _ := strings.Cut(strings.TrimPrefix(r.URL.Path, "/"), "/")
	iss := f.issuer(mode)
	doc := map[string]any{"issuer": iss, "jwks_uri": iss + "/keys"}
	switch {
	case rest == ".well-known/openid-configuration":
		switch mode {
		case "mismatch":
			doc["issuer"] = f.issuer("other")
		case "httpjwks":
			doc["jwks_uri"] = strings.Replace(iss, "https://", "http://", 1) + "/keys"
		case "redirect":
			http.Redirect(w, r, strings.Replace(iss, "https://", "http://", 1)+"/.well-known/openid-configuration", http.StatusFound)
			return
		case "big":
			doc["padding"] = strings.Repeat("x", 1<<20)
		case "error":
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		json.NewEncoder(w).Encode(doc)
	case rest == "keys":
		set := []any{}
		switch mode {
		case "many":
			for i := range 100 {
				set = append(set, jwkOf(fmt.Sprintf("decoy-%d", i), testRSAKeys()[3]))
			}
			set = append(set, jwkOf("k1", testRSAKeys()[2]))
		default:
			set = append(set, map[string]any{"kty": "EC", "kid": "ec", "crv": "P-256", "x": "bad", "y": "bad"}) // skipped, not fatal
			for kid, k := range keys {
				set = append(set, jwkOf(kid, k))
			}
		}
		json.NewEncoder(w).Encode(map[string]any{"keys": set})
	default:
		http.NotFound(w, r)
	}
}

// token returns a token of issuer iss signed by key with kid; claims
// override the defaults (sub idpSubject, aud [api://AzureADTokenExchange]
// as Kubernetes sends it, valid for an hour from now).
func (f *fakeIdP) token(t testing.TB, iss, kid string, key *rsa.PrivateKey, now time.Time, kv ...any) string {
	t.Helper()
	s := assertionSpec{
		header: map[string]any{"alg": "RS256", "typ": "JWT", "kid": kid},
		claims: map[string]any{"iss": iss, "sub": idpSubject, "aud": []string{exchangeAud},
			"iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix()},
	}.set(kv...)
	return signJWT(t, s.header, s.claims, key)
}

// fedWorld is a world where Contoso issues the tokens Fabrikam trusts:
// Workload's app-only v1 tokens for api://AzureADTokenExchange, from
// Contoso's v1 issuer, stand in for Fabrikam Daemon's credential; and
// where a fake external IdP is trusted too.
type fedWorld struct {
	*world
	idp        *fakeIdP
	workloadSP string // Workload's service principal in Contoso: the sub of its tokens
}

func newFedWorld(t *testing.T, opts ...issuertest.Option) *fedWorld {
	t.Helper()
	idp := newFakeIdP(t)
	opts = append(opts, issuertest.WithConfig(func(c *issuer.Config) { c.FederationRoots().AddCert(idp.srv.Certificate()) }))
	fw := &fedWorld{world: newWorld(t, opts...), idp: idp}
	ctx := context.Background()
	d := fw.Directory
	for _, a := range []struct {
		tenantID, appID, name string
		uris                  []string
	}{
		{tenantA, exchangeID, "Token Exchange", []string{exchangeAud}},
		{tenantA, workloadID, "Workload", nil},
		{tenantA, workload2ID, "Workload 2", nil},
		{tenantB, bareID, "Bare", nil},
	} {
		_, err := d.RegisterApplication(ctx, a.tenantID, tenant.ApplicationSpec{DisplayName: a.name, AppID: a.appID, IdentifierURIs: a.uris})
		fw.must(err)
	}
	for _, id := range []string{workloadID, workload2ID} {
		_, _, err := d.AddPassword(ctx, id, tenant.PasswordSpec{SecretText: workloadKey})
		fw.must(err)
	}
	sp, err := fw.DB.GetServicePrincipal(ctx, tenantA, workloadID)
	fw.must(err)
	fw.workloadSP = sp.ID
	for _, f := range []tenant.FederatedIdentityCredential{
		{Name: "contoso-workload", Issuer: fw.URL + "/" + tenantA + "/", Subject: sp.ID},
		{Name: "idp-good", Issuer: idp.issuer("good"), Subject: idpSubject},
		{Name: "idp-good-usgov", Issuer: idp.issuer("good"), Subject: "system:serviceaccount:jobs:Gov", Audiences: []string{"api://AzureADTokenExchangeUSGov"}},
		{Name: "idp-many", Issuer: idp.issuer("many"), Subject: idpSubject},
		{Name: "idp-mismatch", Issuer: idp.issuer("mismatch"), Subject: idpSubject},
		{Name: "idp-httpjwks", Issuer: idp.issuer("httpjwks"), Subject: idpSubject},
		{Name: "idp-redirect", Issuer: idp.issuer("redirect"), Subject: idpSubject},
		{Name: "idp-big", Issuer: idp.issuer("big"), Subject: idpSubject},
		{Name: "idp-error", Issuer: idp.issuer("error"), Subject: idpSubject},
		{Name: "closed-port", Issuer: "https://127.0.0.1:1/issuer", Subject: idpSubject},
	} {
		_, err := d.AddFederatedIdentityCredential(ctx, foreignID, f)
		fw.must(err)
	}
	return fw
}

// workloadToken gets an app-only token from Contoso for client (Workload
// or Workload 2) and resource.
func (fw *fedWorld) workloadToken(t testing.TB, client, resource string) string {
	t.Helper()
	r := fw.post(t, "/"+tenantA+"/oauth2/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {client}, "client_secret": {workloadKey}, "resource": {resource},
	})
	if r.status != http.StatusOK {
		t.Fatalf("Contoso token for %s: %d %s", client, r.status, r.body)
	}
	var m map[string]string
	r.decode(t, &m)
	return m["access_token"]
}

// exchange asks Fabrikam for a token for client with assertion.
func (fw *fedWorld) exchange(t testing.TB, client, assertion string) result {
	t.Helper()
	return fw.post(t, fabrikamPath, url.Values{
		"grant_type": {"client_credentials"}, "client_id": {client}, "scope": {fedScope},
		"client_assertion_type": {jwtBearer}, "client_assertion": {assertion},
	})
}

// fabrikamClaims checks a successful exchange and returns its claims.
func (fw *fedWorld) fabrikamClaims(t testing.TB, r result) map[string]any {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("exchange = %d %s; want 200", r.status, r.body)
	}
	var m map[string]any
	r.decode(t, &m)
	return fw.verify(t, m["access_token"].(string), tenantB, 1).claims
}

// TestFederatedCredentialSameServer exchanges a token of tenant Contoso
// for one of tenant Fabrikam: Contoso is the external identity provider,
// reached through its own discovery document over TLS (the server trusts
// its own CA), as protocol.md §6.2 describes for managed identities.
func TestFederatedCredentialSameServer(t *testing.T) {
	fw := newFedWorld(t)
	assertion := fw.workloadToken(t, workloadID, exchangeAud)
	src := fw.verify(t, assertion, tenantA, 1).claims
	if src["aud"] != exchangeAud || src["iss"] != fw.URL+"/"+tenantA+"/" || src["sub"] != fw.workloadSP {
		t.Fatalf("Contoso token aud, iss, sub = %v, %v, %v", src["aud"], src["iss"], src["sub"])
	}
	c := fw.fabrikamClaims(t, fw.exchange(t, foreignID, assertion))
	if c["appidacr"] != "2" || c["appid"] != foreignID || c["tid"] != tenantB || c["aud"] != "api://fabrikam" {
		t.Errorf("appidacr, appid, tid, aud = %v, %v, %v, %v; want 2, %s, %s, api://fabrikam", c["appidacr"], c["appid"], c["tid"], c["aud"], foreignID, tenantB)
	}
	// The same assertion works again (no jti replay check).
	fw.fabrikamClaims(t, fw.exchange(t, foreignID, assertion))
}

// TestFederatedCredentialSecondServer uses another issuer instance as the
// external identity provider; the first trusts its CA through
// FederationRoots, as `serve --federation-ca` arranges.
func TestFederatedCredentialSecondServer(t *testing.T) {
	idp := issuertest.NewServer(t, issuertest.Clock(fixedNow))
	ctx := context.Background()
	idpTenant, err := idp.Directory.CreateTenant(ctx, tenant.TenantSpec{Name: "Northwind"})
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range []tenant.ApplicationSpec{
		{DisplayName: "Exchange", IdentifierURIs: []string{exchangeAud}},
		{DisplayName: "Job", AppID: workloadID},
	} {
		if _, err := idp.Directory.RegisterApplication(ctx, idpTenant.ID, spec); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := idp.Directory.AddPassword(ctx, workloadID, tenant.PasswordSpec{SecretText: workloadKey}); err != nil {
		t.Fatal(err)
	}
	sp, err := idp.DB.GetServicePrincipal(ctx, idpTenant.ID, workloadID)
	if err != nil {
		t.Fatal(err)
	}
	w := newWorld(t, issuertest.WithConfig(func(c *issuer.Config) { c.FederationRoots().AppendCertsFromPEM(idp.CACertPEM()) }))
	if _, err := w.Directory.AddFederatedIdentityCredential(ctx, foreignID, tenant.FederatedIdentityCredential{
		Name: "northwind-job", Issuer: idp.URL + "/" + idpTenant.ID + "/", Subject: sp.ID,
	}); err != nil {
		t.Fatal(err)
	}
	resp, err := idp.Client().PostForm(idp.URL+"/"+idpTenant.ID+"/oauth2/v2.0/token", url.Values{
		"grant_type": {"client_credentials"}, "client_id": {workloadID}, "client_secret": {workloadKey}, "scope": {exchangeAud + "/.default"},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("Northwind token: %d %v %v", resp.StatusCode, m, err)
	}
	fw := &fedWorld{world: w}
	c := fw.fabrikamClaims(t, fw.exchange(t, foreignID, m["access_token"].(string)))
	if c["appidacr"] != "2" || c["appid"] != foreignID {
		t.Errorf("appidacr, appid = %v, %v; want 2, %s", c["appidacr"], c["appid"], foreignID)
	}
}

// TestFederatedCredentialRefusals checks every refusal of a federated
// assertion with its code, `error` and status.
func TestFederatedCredentialRefusals(t *testing.T) {
	fw := newFedWorld(t)
	idp := fw.idp
	k1 := testRSAKeys()[2]
	good := func(kv ...any) string { return idp.token(t, idp.issuer("good"), "k1", k1, fixedNow, kv...) }
	contoso := fw.workloadToken(t, workloadID, exchangeAud)
	parts := strings.Split(contoso, ".")
	sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
	sig[0] ^= 1
	tampered := parts[0] + "." + parts[1] + "." + base64.RawURLEncoding.EncodeToString(sig)
	for _, tc := range []struct {
		name       string
		client     string
		assertion  string
		wantCode   int
		wantError  string
		wantStatus int
	}{
		{"application without federated credentials", bareID, contoso, 70021, "invalid_request", 400},
		{"issuer without a federated credential", foreignID, idp.token(t, "https://token.actions.githubusercontent.com", "k1", k1, fixedNow), 700211, "invalid_client", 401},
		{"issuer differing by a trailing slash", foreignID, idp.token(t, idp.issuer("good")+"/", "k1", k1, fixedNow), 700211, "invalid_client", 401},
		{"subject of another workload", foreignID, fw.workloadToken(t, workload2ID, exchangeAud), 700213, "invalid_client", 401},
		{"subject differing only in case", foreignID, good("sub", strings.ToUpper(idpSubject)), 7002138, "invalid_client", 401},
		{"audience of another resource", foreignID, fw.workloadToken(t, workloadID, "api://orders"), 700212, "invalid_client", 401},
		{"audience of another cloud", foreignID, good("aud", "api://AzureADTokenExchangeChina"), 700212, "invalid_client", 401},
		{"credential with another audience", foreignID, good("sub", "system:serviceaccount:jobs:Gov"), 700212, "invalid_client", 401},
		{"tampered signature", foreignID, tampered, 700027, "invalid_client", 401},
		{"signed by an unpublished key", foreignID, idp.token(t, idp.issuer("good"), "k1", testRSAKeys()[0], fixedNow), 700027, "invalid_client", 401},
		{"unknown kid", foreignID, idp.token(t, idp.issuer("good"), "k9", k1, fixedNow), 700027, "invalid_client", 401},
		{"signing key beyond the first 100", foreignID, idp.token(t, idp.issuer("many"), "k1", k1, fixedNow), 700027, "invalid_client", 401},
		{"expired", foreignID, good("iat", fixedNow.Add(-2*time.Hour).Unix(), "nbf", fixedNow.Add(-2*time.Hour).Unix(), "exp", fixedNow.Add(-10*time.Minute).Unix()), 700024, "invalid_client", 401},
		{"not yet valid", foreignID, good("nbf", fixedNow.Add(10*time.Minute).Unix()), 700024, "invalid_client", 401},
		{"PS256", foreignID, good("h:alg", "PS256"), 5002738, "invalid_client", 401},
		{"no sub", foreignID, good("sub", nil), 90014, "invalid_request", 400},
		{"no aud", foreignID, good("aud", nil), 90014, "invalid_request", 400},
		{"no exp", foreignID, good("exp", nil), 90014, "invalid_request", 400},
		{"discovery names another issuer", foreignID, idp.token(t, idp.issuer("mismatch"), "k1", k1, fixedNow), 50166, "invalid_request", 400},
		{"jwks_uri over http", foreignID, idp.token(t, idp.issuer("httpjwks"), "k1", k1, fixedNow), 50166, "invalid_request", 400},
		{"redirect to http", foreignID, idp.token(t, idp.issuer("redirect"), "k1", k1, fixedNow), 50166, "invalid_request", 400},
		{"discovery over 1 MiB", foreignID, idp.token(t, idp.issuer("big"), "k1", k1, fixedNow), 50166, "invalid_request", 400},
		{"discovery failing", foreignID, idp.token(t, idp.issuer("error"), "k1", k1, fixedNow), 50166, "invalid_request", 400},
		{"issuer unreachable", foreignID, idp.token(t, "https://127.0.0.1:1/issuer", "k1", k1, fixedNow), 50166, "invalid_request", 400},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fw.exchange(t, tc.client, tc.assertion)
			e := checkErrorShape(t, r, tc.wantCode)
			if r.status != tc.wantStatus || e.Error != tc.wantError || len(e.ErrorCodes) != 1 || e.ErrorCodes[0] != tc.wantCode {
				t.Errorf("= %d %s %v; want %d %s [%d]\n%s", r.status, e.Error, e.ErrorCodes, tc.wantStatus, tc.wantError, tc.wantCode, r.body)
			}
		})
	}
	if n := idp.count("/good/.well-known/openid-configuration") + idp.count("/good/keys"); n == 0 {
		t.Errorf("the fake IdP was never asked; the refusals above did not reach it")
	}
	t.Run("no fetch for an issuer the application does not name", func(t *testing.T) {
		r := fw.exchange(t, foreignID, idp.token(t, idp.issuer("unconfigured"), "k1", k1, fixedNow))
		checkErrorShape(t, r, 700211)
		if n := idp.count("/unconfigured/.well-known/openid-configuration"); n != 0 {
			t.Errorf("discovery of an unconfigured issuer fetched %d times; want 0", n)
		}
	})
}

// TestFederatedKeyCache checks the key cache against the fake IdP: one
// fetch serves many exchanges; an unknown kid refetches once, not sooner
// than 30 s after the last fetch; keys expire after 10 minutes.
func TestFederatedKeyCache(t *testing.T) {
	fw := newFedWorld(t)
	idp := fw.idp
	k1, k2 := testRSAKeys()[2], testRSAKeys()[3]
	fetches := func() int { return idp.count("/good/keys") }
	exchange := func(kid string, key *rsa.PrivateKey) result {
		return fw.exchange(t, foreignID, idp.token(t, idp.issuer("good"), kid, key, fw.Now()))
	}
	for range 3 {
		fw.fabrikamClaims(t, exchange("k1", k1))
	}
	if got := fetches(); got != 1 || idp.count("/good/.well-known/openid-configuration") != 1 {
		t.Fatalf("three exchanges made %d key set fetches; want 1", got)
	}

	// The IdP rotates to k2. Within 30 s of the last fetch an unknown kid
	// does not refetch.
	idp.setKeys(map[string]*rsa.PrivateKey{"k2": k2})
	checkErrorShape(t, exchange("k2", k2), 700027)
	if got := fetches(); got != 1 {
		t.Errorf("unknown kid within 30 s: %d fetches; want still 1", got)
	}
	fw.Advance(31 * time.Second)
	fw.fabrikamClaims(t, exchange("k2", k2))
	if got := fetches(); got != 2 {
		t.Errorf("unknown kid after 30 s: %d fetches; want 2 (one refetch)", got)
	}
	// A kid unknown even after the refetch is refused after one fetch.
	fw.Advance(31 * time.Second)
	checkErrorShape(t, exchange("k3", k1), 700027)
	if got := fetches(); got != 3 {
		t.Errorf("kid unknown after a refetch: %d fetches; want 3", got)
	}
	// The old key is gone from the set: its tokens no longer verify.
	checkErrorShape(t, exchange("k1", k1), 700027)

	fw.Advance(10 * time.Minute)
	fw.fabrikamClaims(t, exchange("k2", k2))
	if got := fetches(); got != 4 {
		t.Errorf("after the 10-minute TTL: %d fetches; want 4", got)
	}
}

// TestMSALGoFederated authenticates with MSAL Go's assertion callback, the
// way workload identity clients do: the callback returns a token of the
// external issuer (here, tenant Contoso of the same server).
func TestMSALGoFederated(t *testing.T) {
	fw := newFedWorld(t, realTime())
	calls := 0
	cred := confidential.NewCredFromAssertionCallback(func(_ context.Context, o confidential.AssertionRequestOptions) (string, error) {
		calls++
		if o.ClientID != foreignID || !strings.HasPrefix(o.TokenEndpoint, fw.URL+"/"+tenantB+"/") {
			return "", fmt.Errorf("callback options %+v", o)
		}
		return fw.workloadToken(t, workloadID, exchangeAud), nil
	})
	app, err := confidential.New(fw.URL+"/"+tenantB, foreignID, cred, confidential.WithHTTPClient(fw.Client()), confidential.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	res, err := app.AcquireTokenByCredential(context.Background(), []string{fedScope})
	if err != nil {
		t.Fatalf("AcquireTokenByCredential: %v", err)
	}
	if c := fw.verify(t, res.AccessToken, tenantB, 1).claims; c["appidacr"] != "2" || c["appid"] != foreignID || calls != 1 {
		t.Errorf("appidacr, appid, callback calls = %v, %v, %d; want 2, %s, 1", c["appidacr"], c["appid"], calls, foreignID)
	}
}

// TestAzidentityFederated authenticates with azidentity's
// ClientAssertionCredential, and checks that a refusal surfaces its code.
func TestAzidentityFederated(t *testing.T) {
	fw := newFedWorld(t, realTime())
	for _, tc := range []struct {
		name     string
		client   string
		wantCode string
	}{{"trusted workload", workloadID, ""}, {"untrusted workload", workload2ID, "AADSTS700213"}} {
		t.Run(tc.name, func(t *testing.T) {
			cred, err := azidentity.NewClientAssertionCredential(tenantB, foreignID, func(context.Context) (string, error) {
				return fw.workloadToken(t, tc.client, exchangeAud), nil
			}, &azidentity.ClientAssertionCredentialOptions{ClientOptions: azOptions(fw.world), DisableInstanceDiscovery: true})
			if err != nil {
				t.Fatal(err)
			}
			tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{fedScope}})
			if tc.wantCode != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantCode) || !strings.Contains(err.Error(), "invalid_client") {
					t.Errorf("GetToken = %v; want invalid_client %s", err, tc.wantCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("GetToken: %v", err)
			}
			if c := fw.verify(t, tok.Token, tenantB, 1).claims; c["appidacr"] != "2" || c["appid"] != foreignID {
				t.Errorf("appidacr, appid = %v, %v; want 2, %s", c["appidacr"], c["appid"], foreignID)
			}
		})
	}
}
