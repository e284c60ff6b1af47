package issuer

import (
	"context"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/signing"
	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// The hot path of a client-credentials token, piece by piece, and whole:
//
//	go test ./issuer -run '^$' -bench . -benchmem
//
// BenchmarkSign (signer_test.go) is the raw RS256 rate the whole is
// compared with; BenchmarkClientCredentials is the handler without TLS
// (what the server adds to a signature) and over TLS with keep-alive.

// hotFixture is an issuer over a real database: one tenant, a daemon with a
// secret and an app role on a v2 API.
type hotFixture struct {
	srv    *Server
	db     *storage.DB
	tenant tenant.Tenant
	daemon tenant.Application
	api    tenant.Application // the resource, api://orders
	secret string
	body   string // the token request form
	path   string
}

const hotRoleID = "11111111-0000-4000-8000-000000000001"

// backendCase is an RS256 backend the benchmarks compare; openssl is
// skipped where the build has no cgo or the machine no libcrypto.
type backendCase struct {
	name string
	get  func() (signing.Backend, error)
}

var backendCases = []backendCase{
	{signing.Go, func() (signing.Backend, error) { return signing.GoBackend(), nil }},
	{signing.OpenSSL, signing.OpenSSLBackend},
}

func (bc backendCase) backend(tb testing.TB) signing.Backend {
	tb.Helper()
	b, err := bc.get()
	if err != nil {
		tb.Skipf("%s backend unavailable: %v", bc.name, err)
	}
	return b
}

func newHotFixture(tb testing.TB, backend signing.Backend) *hotFixture {
	return newHotFixtureIn(tb, backend, 0)
}

// newHotFixtureIn is newHotFixture in a directory that also holds filler
// tenants of ten applications each, seeded in batches of 1,000 through
// the bulk path.
func newHotFixtureIn(tb testing.TB, backend signing.Backend, filler int) *hotFixture {
	tb.Helper()
	ctx := context.Background()
	db, err := storage.Open(filepath.Join(tb.TempDir(), "hot.db"), storage.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { db.Close() })
	must := func(err error) {
		tb.Helper()
		if err != nil {
			tb.Fatal(err)
		}
	}
	d := tenant.NewDirectory(db)
	for first := 0; first < filler; first += 1000 {
		var batch []tenant.BulkTenant
		for i := first; i < min(first+1000, filler); i++ {
			bt := tenant.BulkTenant{Tenant: tenant.TenantSpec{Name: fmt.Sprintf("filler%d", i)}}
			for j := range 10 {
				bt.Applications = append(bt.Applications, tenant.ApplicationSpec{DisplayName: fmt.Sprintf("App %d", j),
					IdentifierURIs: []string{fmt.Sprintf("api://filler%d/app%d", i, j)}})
			}
			batch = append(batch, bt)
		}
		_, _, err := d.BulkCreate(ctx, batch)
		must(err)
	}
	f := &hotFixture{db: db}
	f.tenant, err = d.CreateTenant(ctx, tenant.TenantSpec{Name: "Contoso"})
	must(err)
	f.daemon, err = d.RegisterApplication(ctx, f.tenant.ID, tenant.ApplicationSpec{DisplayName: "Daemon"})
	must(err)
	_, f.secret, err = d.AddPassword(ctx, f.daemon.AppID, tenant.PasswordSpec{DisplayName: "bench"})
	must(err)
	f.api, err = d.RegisterApplication(ctx, f.tenant.ID, tenant.ApplicationSpec{
		DisplayName: "Orders API", IdentifierURIs: []string{"api://orders"}, TokenVersion: 2})
	must(err)
	_, err = d.AddAppRole(ctx, f.api.AppID, tenant.AppRoleSpec{ID: hotRoleID, Value: "Orders.Read.All",
		DisplayName: "Read orders", Description: "Read all orders", AllowedMemberTypes: []string{tenant.MemberTypeApplication}})
	must(err)
	_, err = consent.NewManager(d, db).AssignRole(ctx, f.tenant.ID, f.api.AppID, "Orders.Read.All", consent.Assignee{ClientAppID: f.daemon.AppID})
	must(err)
	f.srv, err = New(ctx, db, Config{BaseURL: "https://issuer.test", Signer: backend})
	must(err)
	f.path = "/" + f.tenant.ID + "/oauth2/v2.0/token"
	f.body = url.Values{
		"grant_type": {"client_credentials"}, "client_id": {f.daemon.AppID},
		"client_secret": {f.secret}, "scope": {"api://orders/.default"},
	}.Encode()
	return f
}

// request builds the token request and the call it starts.
func (f *hotFixture) parse(tb testing.TB) (*call, *tokenRequest) {
	r := httptest.NewRequest(http.MethodPost, f.path, strings.NewReader(f.body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	form, err := readTokenForm(nil, r)
	if err != nil {
		tb.Fatal(err)
	}
	req, err := parseTokenRequest(form, "", "", false, 2, f.tenant.ID)
	if err != nil {
		tb.Fatal(err)
	}
	return f.srv.begin(r), req
}

// resolve does the reads of a request, in one view: tenant, client,
// resource, the client's roles.
func (f *hotFixture) resolve(tb testing.TB, req *tokenRequest) (consent.Request, consent.Facts) {
	ctx := context.Background()
	a, err := f.srv.resolveAuthority(ctx, req.Tenant)
	if err != nil {
		tb.Fatal(err)
	}
	creq := consent.Request{Flow: consent.FlowClientCredentials, TenantRef: a.tenant.ID, ClientAppID: req.ClientID, Default: true, ResourceName: "api://orders"}
	facts, err := f.srv.resolve(ctx, creq)
	if err != nil || facts.ResourceSP == nil {
		tb.Fatalf("resolve: %+v, %v", facts, err)
	}
	return creq, facts
}

func BenchmarkParse(b *testing.B) {
	f := newHotFixture(b, signing.GoBackend())
	b.ReportAllocs()
	for b.Loop() {
		f.parse(b)
	}
}

// BenchmarkResolve is the reads of a request, in a directory of one
// tenant and of 10,000 more (100,000 applications): the cost must not grow
// with the directory.
func BenchmarkResolve(b *testing.B) {
	for _, filler := range []int{0, 10000} {
		b.Run(fmt.Sprintf("%d filler tenants", filler), func(b *testing.B) {
			f := newHotFixtureIn(b, signing.GoBackend(), filler)
			_, req := f.parse(b)
			b.ReportAllocs()
			for b.Loop() {
				f.resolve(b, req)
			}
		})
	}
}

func BenchmarkAuthenticate(b *testing.B) {
	f := newHotFixture(b, signing.GoBackend())
	c, req := f.parse(b)
	_, facts := f.resolve(b, req)
	auth := authority{kind: tenantAuthority, segment: f.tenant.ID, tenant: f.tenant}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := f.srv.authenticateClient(ctx, auth, facts.ClientApp, req, c.now); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkDecide(b *testing.B) {
	f := newHotFixture(b, signing.GoBackend())
	_, req := f.parse(b)
	creq, facts := f.resolve(b, req)
	b.ReportAllocs()
	for b.Loop() {
		dec, err := consent.Decide(creq, facts)
		if err != nil || len(dec.Roles) != 1 {
			b.Fatalf("Decide = %v, %v", dec, err)
		}
	}
}

// BenchmarkClaims builds the v2 claims and encodes them, as sign does
// before the signature.
func BenchmarkClaims(b *testing.B) {
	f := newHotFixture(b, signing.GoBackend())
	t := f.appToken()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := json.Marshal(t.claimsV2(f.srv.issuer(2, t.TenantID))); err != nil {
			b.Fatal(err)
		}
	}
}

func (f *hotFixture) appToken() appToken {
	return appToken{access: access{Version: 2, TenantID: f.tenant.ID, ClientAppID: f.daemon.AppID,
		ResourceAppID: tenant.NewGUID(), ResourceName: "api://orders", Roles: []string{"Orders.Read.All"}, ACR: "1",
		Issued: time.Now(), Lifetime: DefaultTokenLifetime, ID: tenant.NewGUID()}, ClientSPID: tenant.NewGUID()}
}

// BenchmarkSignToken is claims, JWS assembly and the signature of each
// backend: Server.signAccess.
func BenchmarkSignToken(b *testing.B) {
	for _, bc := range backendCases {
		b.Run(bc.name, func(b *testing.B) {
			f := newHotFixture(b, bc.backend(b))
			t := f.appToken()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := f.srv.signAccess(t); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkClientCredentials is the whole token endpoint: "handler" calls
// the handler directly (no network, no TLS), "tls" posts over HTTPS with
// keep-alive on loopback, client and server in this process.
//
// "overhead" is the handler with a signer that does no work (noSignature):
// everything a token costs the server but the RSA signature and the
// network, the share this package can cut.
//
// "overhead/refreshed" is "overhead" with a refresh token redeemed in the
// store before each request (not timed): a server issuing user tokens
// beside app-only ones, whose refresh-token writes leave the read caches
// as they are.
func BenchmarkClientCredentials(b *testing.B) {
	b.Run("overhead", func(b *testing.B) { benchmarkHandler(b, noSignature{}) })
	b.Run("overhead/refreshed", benchmarkAfterRefreshTokens)
	for _, bc := range backendCases {
		b.Run(bc.name+"/handler", func(b *testing.B) { benchmarkHandler(b, bc.backend(b)) })
		b.Run(bc.name+"/tls", func(b *testing.B) {
			f := newHotFixture(b, bc.backend(b))
			ts := httptest.NewUnstartedServer(f.srv.Handler())
			ts.StartTLS()
			b.Cleanup(ts.Close)
			pool := x509.NewCertPool()
			pool.AddCert(ts.Certificate())
			client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
			b.ReportAllocs()
			for b.Loop() {
				resp, err := client.Post(ts.URL+f.path, "application/x-www-form-urlencoded", strings.NewReader(f.body))
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					b.Fatalf("status %d", resp.StatusCode)
				}
			}
		})
	}
}

// benchmarkHandler posts the fixture's token request to the handler
// directly: no network, no TLS.
func benchmarkHandler(b *testing.B, backend signing.Backend) {
	f := newHotFixture(b, backend)
	h := f.srv.Handler()
	b.ReportAllocs()
	for b.Loop() {
		f.serveToken(b, h)
	}
}

// serveToken posts the fixture's token request to h directly and fails b
// on any answer but a token.
func (f *hotFixture) serveToken(b *testing.B, h http.Handler) {
	r := httptest.NewRequest(http.MethodPost, f.path, strings.NewReader(f.body))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	if w.Code != http.StatusOK {
		b.Fatalf("status %d: %s", w.Code, w.Body)
	}
}

// benchmarkAfterRefreshTokens is benchmarkHandler with a refresh token
// renewed in the store, untimed, before each request.
func benchmarkAfterRefreshTokens(b *testing.B) {
	f := newHotFixture(b, noSignature{})
	ctx := context.Background()
	now := time.Now()
	rt := tenant.RefreshToken{Hash: "rt0", FamilyID: "f", TenantID: f.tenant.ID, ClientAppID: f.daemon.AppID, UserID: "u",
		IssuedDateTime: now, ExpiresDateTime: now.Add(time.Hour)}
	if err := f.db.CreateRefreshToken(ctx, rt); err != nil {
		b.Fatal(err)
	}
	h := f.srv.Handler()
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		next := rt
		next.Hash = fmt.Sprintf("rt%d", i+1)
		if err := f.db.RenewRefreshToken(ctx, rt.Hash, now, next); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		f.serveToken(b, h)
	}
}

// noSignature is a signing.Backend whose Signer does no work: it returns a
// zero 256-byte signature (allocated, as a real signer's is). Only
// BenchmarkClientCredentials/overhead uses it, to measure everything but
// the signature; its tokens verify nowhere.
type noSignature struct{}

func (noSignature) Name() string    { return "none" }
func (noSignature) Version() string { return "no signature (benchmark only)" }
func (noSignature) NewSigner(*rsa.PrivateKey) (signing.Signer, error) {
	return zeroSigner{}, nil
}

type zeroSigner struct{}

func (zeroSigner) SignRS256([]byte) ([]byte, error) { return make([]byte, 256), nil }
