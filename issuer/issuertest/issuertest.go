// Package issuertest runs an in-process issuer over TLS for tests, in the
// manner of net/http/httptest: a real bbolt database in a temporary
// directory, a local CA the returned client trusts, and optionally a fixed
// clock and deterministic IDs so that tokens and error bodies can be
// compared with golden files.
//
// It is the Go API for integration tests: seed the directory from a seed
// file or value (Seed, SeedValue) or with the typed helpers (AddTenant,
// AddApp, AddSecret, AddUser, GrantAdminConsent, AssignRole, …), move the
// clock (Advance) to expire tokens and secrets without sleeping, and read
// why a token request was refused (Logs). Helpers stop the test with
// t.Fatal on error.
package issuertest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/graph"
	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/seed"
	"github.com/issuer-dev/issuer/signing"
	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// Server is a running issuer. URL is its base URL, https://127.0.0.1:port,
// which is also the issuer's Config.BaseURL, so clients use it as their
// authority host.
type Server struct {
	URL       string
	DB        *storage.DB
	Directory *tenant.Directory
	// Consent is the consent manager over the server's directory and
	// grants, on the server's clock.
	Consent *consent.Manager
	Issuer  *issuer.Server

	t         testing.TB // nil for Start: helpers then panic
	srv       *httptest.Server
	client    *http.Client
	transport *http.Transport
	caPEM     []byte
	clock     *issuer.Clock
	dir       string
	removeDir bool
	closeOnce sync.Once

	// The managed identity endpoints, started by the first
	// ManagedIdentityEnv (managedidentity.go).
	miOnce   sync.Once
	miSrv    *httptest.Server
	miSecret string
}

// Option configures NewServer.
type Option func(*options)

type options struct {
	start    *time.Time
	ids      bool
	keys     []tenant.SigningKey
	seeds    []seedSource
	configFn []func(*issuer.Config)
	wraps    []func(issuer.Backend) issuer.Backend
	signer   string // a --signer name; empty: $ISSUER_TEST_SIGNER, else go
	limits   issuer.HTTPLimits
}

// seedSource is a seed file's path or a seed value.
type seedSource struct {
	path  string
	value seed.Document
}

// Clock freezes the server's clock at start; Advance moves it. Without it
// the clock is the real time plus what Advance added. The TLS certificates
// still use the real time, which is what the TLS client checks.
func Clock(start time.Time) Option {
	return func(o *options) { o.start = &start }
}

// Seed applies the seed file at path (see seed.Parse and the
// README's "Seed files") before the server starts.
func Seed(path string) Option {
	return func(o *options) { o.seeds = append(o.seeds, seedSource{path: path}) }
}

// SeedValue applies a seed built in Go before the server starts.
func SeedValue(s seed.Document) Option {
	return func(o *options) { o.seeds = append(o.seeds, seedSource{value: s}) }
}

// DeterministicIDs makes every GUID the issuer and the directory create come
// from a counter: 00000000-0000-4000-8000-000000000001, …, so that object
// ids, trace ids and token ids are the same on every run; and draws the
// lifetimes of user tokens (60 to 90 minutes) from a fixed seed, so that
// their exp and expires_in are too.
func DeterministicIDs() Option { return func(o *options) { o.ids = true } }

// SigningKey stores k in the key store before the issuer starts, so tests can
// sign with a fixed key (golden JWKS). Keys are stored in the order given;
// the store lists them newest first.
func SigningKey(k tenant.SigningKey) Option {
	return func(o *options) { o.keys = append(o.keys, k) }
}

// WithConfig lets the test change the issuer's Config after the defaults are
// filled (BaseURL, clock, IDs, federation roots) and before the server
// starts; the clock and IDs it leaves are also those of Directory and
// Consent.
func WithConfig(f func(*issuer.Config)) Option {
	return func(o *options) { o.configFn = append(o.configFn, f) }
}

// WrapBackend puts a layer of the test's between the server and its
// database (a store that fails or panics on some calls, to test how the
// server answers a broken store). DB stays the database itself.
func WrapBackend(wrap func(issuer.Backend) issuer.Backend) Option {
	return func(o *options) { o.wraps = append(o.wraps, wrap) }
}

// Signer picks the RS256 backend by its `serve --signer` name: "go",
// "openssl" or "auto". Without this option the server signs with
// $ISSUER_TEST_SIGNER when it is set, so that a whole test suite can run
// against the OpenSSL backend (ISSUER_TEST_SIGNER=openssl go test ./...),
// and with the Go backend otherwise. Tokens are the same bytes either way.
func Signer(name string) Option { return func(o *options) { o.signer = name } }

// HTTPLimits sets the limits of the HTTP server (zero fields keep
// issuer.DefaultHTTPLimits, which `issuer serve` uses too), e.g. a short
// ReadHeaderTimeout for a test of slow clients.
func HTTPLimits(l issuer.HTTPLimits) Option {
	return func(o *options) { o.limits = l }
}

// NewServer starts a server for the test and closes it when the test ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := start(t.TempDir(), false, opts)
	if err != nil {
		t.Fatalf("issuertest: %v", err)
	}
	s.t = t
	t.Cleanup(s.Close)
	return s
}

// Start starts a server outside a test (examples, demos). The caller must
// Close it, which also removes its temporary database.
func Start(opts ...Option) (*Server, error) {
	dir, err := os.MkdirTemp("", "issuertest-")
	if err != nil {
		return nil, fmt.Errorf("issuertest: %w", err)
	}
	s, err := start(dir, true, opts)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	return s, nil
}

func start(dir string, removeDir bool, opts []Option) (_ *Server, err error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	ctx := context.Background()
	clock, _ := issuer.NewClock(issuer.ClockOffset, nil)
	if o.start != nil {
		start := *o.start
		clock, _ = issuer.NewClock(issuer.ClockFrozen, func() time.Time { return start })
	}
	db, err := storage.Open(dir+"/issuer.db", storage.Options{NoSync: true})
	if err != nil {
		return nil, fmt.Errorf("issuertest: opening database: %w", err)
	}
	s := &Server{DB: db, clock: clock, dir: dir, removeDir: removeDir}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	newID := tenant.NewGUID
	var draw func(int64) int64
	if o.ids {
		newID, draw = counterIDs(), seededDraw()
	}
	// Keys go in before New, which creates a key only when the store has
	// no active one: the test's fixed keys, else one of the pool's
	// (keys.go), which costs far less than a new one.
	if len(o.keys) == 0 {
		k, err := testKeys.Key(clock.Now())
		if err != nil {
			return nil, err
		}
		o.keys = append(o.keys, k)
	}
	for _, k := range o.keys {
		if err := db.AddSigningKey(ctx, k); err != nil {
			return nil, fmt.Errorf("issuertest: storing signing key: %w", err)
		}
	}

	cert, caPEM, err := issuer.LocalTLS(ctx, db, nil, time.Now())
	if err != nil {
		return nil, err
	}
	s.caPEM = caPEM
	s.srv = httptest.NewUnstartedServer(http.NotFoundHandler())
	s.URL = "https://" + s.srv.Listener.Addr().String()

	// Federated credentials may name a tenant of this server as their
	// issuer: outbound fetches trust the system roots and the local CA.
	// WithConfig may append more (another server's CACertPEM).
	roots, err := x509.SystemCertPool()
	if err != nil {
		roots = x509.NewCertPool()
	}
	roots.AppendCertsFromPEM(caPEM)
	cfg := issuer.Config{
		BaseURL:         s.URL,
		Clock:           s.clock,
		NewID:           newID,
		LifetimeDraw:    draw,
		FederationRoots: func() *x509.CertPool { return roots },
	}
	if o.signer == "" {
		o.signer = os.Getenv("ISSUER_TEST_SIGNER")
	}
	if o.signer != "" {
		if cfg.Signer, err = signing.Select(o.signer); err != nil {
			return nil, fmt.Errorf("issuertest: %w", err)
		}
	}
	for _, f := range o.configFn {
		f(&cfg)
	}
	// The server is assembled as `issuer serve` assembles it: New builds
	// the directory and the consent manager the helpers use, on the
	// server's clock, IDs and random source.
	var backend issuer.Backend = db
	for _, wrap := range o.wraps {
		backend = wrap(backend)
	}
	if s.Issuer, err = issuer.New(ctx, backend, cfg); err != nil {
		return nil, err
	}
	s.Directory, s.Consent, s.clock = s.Issuer.Directory(), s.Issuer.Consent(), s.Issuer.Clock()
	if _, err := graph.Mount(ctx, s.Issuer, nil); err != nil {
		return nil, err
	}
	for _, src := range o.seeds {
		doc := src.value
		if src.path != "" {
			if doc, err = seed.Load(src.path); err != nil {
				return nil, err
			}
		}
		if _, err := seed.Apply(ctx, s.Directory, s.Consent, doc); err != nil {
			return nil, err
		}
	}
	// The http.Server is built as `issuer serve` builds it, so that tests
	// meet its timeouts and header limit.
	s.srv.Config = issuer.NewHTTPServer(s.Issuer.Handler(), o.limits)
	s.srv.Config.ConnContext = s.Issuer.ConnContext
	s.srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	s.srv.StartTLS()

	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("issuertest: local CA is not PEM")
	}
	s.transport = &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, ForceAttemptHTTP2: true}
	s.client = &http.Client{Transport: s.transport}
	return s, nil
}

// UserToken returns a delegated access token for the user (UPN or object
// id) as if they had signed in interactively to the client and asked for
// the resource's scopes (none: /.default). It is issuer.Server.IssueUserToken,
// the implementation behind `issuer token user`, and fails the test when the
// token endpoint would refuse the request.
func (s *Server) UserToken(t testing.TB, tenantRef, upn, clientAppID, resource string, scopes ...string) string {
	t.Helper()
	tok, err := s.Issuer.IssueUserToken(context.Background(), issuer.UserTokenRequest{
		Tenant: tenantRef, User: upn, ClientAppID: clientAppID, Resource: resource, Scopes: scopes,
	})
	if err != nil {
		t.Fatalf("issuertest: user token for %s, client %s, resource %s: %v", upn, clientAppID, resource, err)
	}
	return tok
}

// Client returns an HTTP client that trusts only the server's local CA.
func (s *Server) Client() *http.Client { return s.client }

// GraphURL is the base URL of the server's Microsoft Graph subset: set it
// as a Graph SDK's base URL (msgraph-sdk-go: SetBaseUrl).
func (s *Server) GraphURL() string { return s.URL + strings.TrimSuffix(graph.Prefix, "/") }

// CACertPEM returns the local CA certificate, for clients configured by file
// (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE).
func (s *Server) CACertPEM() []byte { return s.caPEM }

// Now returns the server's current time.
func (s *Server) Now() time.Time { return s.clock.Now() }

// Advance moves the server's clock forward by d (with or without Clock):
// tokens, secrets and assertions expire without the test sleeping.
func (s *Server) Advance(d time.Duration) { s.clock.Advance(d) }

// Clock returns the server's clock, shared by the issuer, the directory and
// the consent manager.
func (s *Server) Clock() *issuer.Clock { return s.clock }

// Close shuts the server down and closes the database. It is safe to call
// more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		if s.srv != nil {
			s.srv.Close()
		}
		if s.miSrv != nil {
			s.miSrv.Close()
		}
		if s.transport != nil {
			s.transport.CloseIdleConnections()
		}
		s.DB.Close()
		if s.removeDir {
			os.RemoveAll(s.dir)
		}
	})
}

// counterIDs returns a GUID source counting from 1.
func counterIDs() func() string {
	var n atomic.Uint64
	return func() string { return fmt.Sprintf("00000000-0000-4000-8000-%012x", n.Add(1)) }
}

// seededDraw is a uniform draw in [0, n) from a fixed seed, safe for
// concurrent use: the same sequence of token requests gets the same
// lifetimes on every run.
func seededDraw() func(int64) int64 {
	var mu sync.Mutex
	r := rand.New(rand.NewPCG(18, 2026))
	return func(n int64) int64 {
		mu.Lock()
		defer mu.Unlock()
		return r.Int64N(n)
	}
}
