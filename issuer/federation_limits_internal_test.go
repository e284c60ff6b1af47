package issuer

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// federatedClient is a server with one confidential client whose only
// credential is a federated one for issuer, and what a test needs to
// authenticate it.
type federatedClient struct {
	srv  *Server
	auth authority
	app  tenant.Application
	key  *rsa.PrivateKey // signs the external tokens
	now  time.Time
}

const federatedAppID = "b41d9e6f-0a83-4c25-91d7-5e8a4f60b3c2"

func newFederatedClient(t testing.TB, issuer string) federatedClient {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	db, err := storage.Open(filepath.Join(t.TempDir(), "fed.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	d := tenant.NewDirectory(db, tenant.WithClock(func() time.Time { return now }))
	if _, err := d.CreateTenant(ctx, tenant.TenantSpec{Name: "Contoso"}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.RegisterApplication(ctx, "contoso.onmicrosoft.com", tenant.ApplicationSpec{DisplayName: "Workload", AppID: federatedAppID}); err != nil {
		t.Fatal(err)
	}
	if _, err := d.AddFederatedIdentityCredential(ctx, federatedAppID, tenant.FederatedIdentityCredential{Name: "idp", Issuer: issuer, Subject: "workload"}); err != nil {
		t.Fatal(err)
	}
	srv, err := New(ctx, db, Config{BaseURL: "https://issuer.test", Clock: frozenAt(now)})
	if err != nil {
		t.Fatal(err)
	}
	auth, err := srv.resolveAuthority(ctx, "contoso.onmicrosoft.com")
	if err != nil {
		t.Fatal(err)
	}
	app, err := d.GetApplication(ctx, federatedAppID)
	if err != nil {
		t.Fatal(err)
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	return federatedClient{srv: srv, auth: auth, app: app, key: key, now: now}
}

// authenticate presents an external token of issuer, signed with fc.key
// under kid "k1", as the client's assertion.
func (fc federatedClient) authenticate(ctx context.Context, issuer string) error {
	claims := map[string]any{"iss": issuer, "sub": "workload", "aud": []string{tenant.DefaultFederationAudience},
		"nbf": fc.now.Unix(), "exp": fc.now.Add(time.Hour).Unix()}
	assertion := signTestJWT(map[string]any{"alg": "RS256", "kid": "k1"}, claims, fc.key)
	req := &tokenRequest{Endpoint: 2, Tenant: "contoso.onmicrosoft.com", GrantType: grantClientCredentials,
		ClientID: federatedAppID, ClientAssertion: assertion, ClientAssertionType: clientAssertionTypeJWT}
	_, err := fc.srv.authenticateClient(ctx, fc.auth, &fc.app, req, fc.now)
	return err
}

// TestFederationFetchTimeout points a federated credential at identity
// providers that never answer: one that accepts connections and never
// completes a TLS handshake, one that never sends response headers, one
// that never finishes its body. Each fetch must end by itself (the
// fetcher's timeout, shortened here to 300 ms from federationTimeout), and
// the client gets AADSTS50166, not a hung request or a 5xx.
func TestFederationFetchTimeout(t *testing.T) {
	release := make(chan struct{})
	hang := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/body/.well-known/openid-configuration" {
			w.Header().Set("Content-Type", "application/json")
			w.Header().Set("Content-Length", "1000")
			w.WriteHeader(http.StatusOK)
			w.Write([]byte(`{"issuer":`))
			http.NewResponseController(w).Flush()
		}
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	hang.StartTLS()
	t.Cleanup(hang.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, silent
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
	})
	t.Cleanup(func() { close(release) })
	pool := x509.NewCertPool()
	pool.AddCert(hang.Certificate())

	for _, tc := range []struct{ name, issuer string }{
		{"no TLS handshake", "https://" + ln.Addr().String() + "/tenant"},
		{"no response headers", hang.URL + "/headers"},
		{"a body that never ends", hang.URL + "/body"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fc := newFederatedClient(t, tc.issuer)
			fc.srv.federation = newFederationKeys(newHTTPKeySetFetcher(func() *x509.CertPool { return pool }, 300*time.Millisecond), fc.srv.cfg.Now)
			done := make(chan error, 1)
			go func() { done <- fc.authenticate(context.Background(), tc.issuer) }()
			var err error
			select {
			case err = <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("the fetch was still running after 30 s: no timeout applies")
			}
			var e *Error
			if !errors.As(err, &e) || e.Code != CodeFederationFetch || e.Status() >= 500 {
				t.Fatalf("authenticating against an issuer that never answers = %v; want AADSTS%d", err, CodeFederationFetch)
			}
		})
	}
}

// signTestJWT signs header and claims RS256 with key.
func signTestJWT(header, claims map[string]any, key *rsa.PrivateKey) string {
	hb, _ := json.Marshal(header)
	cb, _ := json.Marshal(claims)
	input := base64.RawURLEncoding.EncodeToString(hb) + "." + base64.RawURLEncoding.EncodeToString(cb)
	d := sha256.Sum256([]byte(input))
	sig, err := rsa.SignPKCS1v15(rand.Reader, key, crypto.SHA256, d[:])
	if err != nil {
		panic(err)
	}
	return input + "." + base64.RawURLEncoding.EncodeToString(sig)
}

// frozenAt is a clock that stands at t.
func frozenAt(t time.Time) *Clock {
	c, _ := NewClock(ClockFrozen, func() time.Time { return t })
	return c
}
