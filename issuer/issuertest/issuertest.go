// Package issuertest runs an in-process issuer over TLS for tests, in the
// manner of net/http/httptest: a real bbolt database in a temporary
// directory, a local CA the returned client trusts, and optionally a fixed
// clock and deterministic IDs so that tokens and error bodies can be
// compared with golden files.
package issuertest

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/issuer"
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
	Issuer    *issuer.Server

	srv       *httptest.Server
	client    *http.Client
	transport *http.Transport
	caPEM     []byte
	clock     *clock
	dir       string
	removeDir bool
	closeOnce sync.Once
}

// Option configures NewServer.
type Option func(*options)

type options struct {
	clock    *clock
	ids      bool
	keys     []tenant.SigningKey
	configFn []func(*issuer.Config)
	signer   string // a --signer name; empty: $ISSUER_TEST_SIGNER, else go
}

// Clock fixes the server's clock at start; Advance moves it. The TLS
// certificates still use the real time, which is what the TLS client checks.
func Clock(start time.Time) Option {
	return func(o *options) { o.clock = &clock{base: start, fixed: true} }
}

// DeterministicIDs makes every GUID the issuer and the directory create come
// from a counter: 00000000-0000-4000-8000-000000000001, …, so that object
// ids, trace ids and token ids are the same on every run.
func DeterministicIDs() Option { return func(o *options) { o.ids = true } }

// SigningKey stores k in the key store before the issuer starts, so tests can
// sign with a fixed key (golden JWKS). Keys are stored in the order given;
// the store lists them newest first.
func SigningKey(k tenant.SigningKey) Option {
	return func(o *options) { o.keys = append(o.keys, k) }
}

// WithConfig lets the test change the issuer's Config after the defaults are
// filled (BaseURL, stores, clock, IDs) and before the server starts.
func WithConfig(f func(*issuer.Config)) Option {
	return func(o *options) { o.configFn = append(o.configFn, f) }
}

// Signer picks the RS256 backend by its `serve --signer` name: "go",
// "openssl" or "auto". Without this option the server signs with
// $ISSUER_TEST_SIGNER when it is set, so that a whole test suite can run
// against the OpenSSL backend (ISSUER_TEST_SIGNER=openssl go test ./...),
// and with the Go backend otherwise. Tokens are the same bytes either way.
func Signer(name string) Option { return func(o *options) { o.signer = name } }

// NewServer starts a server for the test and closes it when the test ends.
func NewServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	s, err := start(t.TempDir(), false, opts)
	if err != nil {
		t.Fatalf("issuertest: %v", err)
	}
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
	o := options{clock: &clock{}}
	for _, opt := range opts {
		opt(&o)
	}
	ctx := context.Background()
	db, err := storage.Open(dir+"/issuer.db", storage.Options{})
	if err != nil {
		return nil, fmt.Errorf("issuertest: opening database: %w", err)
	}
	s := &Server{DB: db, clock: o.clock, dir: dir, removeDir: removeDir}
	defer func() {
		if err != nil {
			s.Close()
		}
	}()
	newID := tenant.NewGUID
	if o.ids {
		newID = counterIDs()
	}
	s.Directory = tenant.NewDirectory(db, tenant.WithClock(s.clock.Now), tenant.WithIDs(newID))
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

	cfg := issuer.Config{
		BaseURL:   s.URL,
		Directory: s.Directory,
		Grants:    db,
		Keys:      db,
		Now:       s.clock.Now,
		NewID:     newID,
	}
	if o.signer == "" {
		o.signer = os.Getenv("ISSUER_TEST_SIGNER")
	}
	if o.signer != "" {
		if cfg.Signer, err = issuer.SelectSigner(o.signer); err != nil {
			return nil, fmt.Errorf("issuertest: %w", err)
		}
	}
	for _, f := range o.configFn {
		f(&cfg)
	}
	if s.Issuer, err = issuer.New(ctx, cfg); err != nil {
		return nil, err
	}
	s.srv.Config.Handler = s.Issuer.Handler()
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

// Client returns an HTTP client that trusts only the server's local CA.
func (s *Server) Client() *http.Client { return s.client }

// CACertPEM returns the local CA certificate, for clients configured by file
// (NODE_EXTRA_CA_CERTS, SSL_CERT_FILE).
func (s *Server) CACertPEM() []byte { return s.caPEM }

// Now returns the server's current time.
func (s *Server) Now() time.Time { return s.clock.Now() }

// Advance moves the server's clock forward by d (with or without Clock).
func (s *Server) Advance(d time.Duration) { s.clock.advance(d) }

// Close shuts the server down and closes the database. It is safe to call
// more than once.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		if s.srv != nil {
			s.srv.Close()
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

// clock is the server's time source: a fixed instant or the real time, plus
// the offset Advance added.
type clock struct {
	mu     sync.Mutex
	base   time.Time
	fixed  bool
	offset time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fixed {
		return c.base.Add(c.offset)
	}
	return time.Now().Add(c.offset)
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.offset += d
}

// counterIDs returns a GUID source counting from 1.
func counterIDs() func() string {
	var n atomic.Uint64
	return func() string { return fmt.Sprintf("00000000-0000-4000-8000-%012x", n.Add(1)) }
}
