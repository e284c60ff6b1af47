package issuertest_test

import (
	"crypto/tls"
	"crypto/x509"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/issuer/issuertest"
)

// TestServer checks the harness itself: the URL is the issuer's base URL
// on 127.0.0.1, the client trusts the local CA and nothing else, the clock
// is fixed and moves with Advance, and IDs count.
func TestServer(t *testing.T) {
	start := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var cfg issuer.Config
	s := issuertest.NewServer(t, issuertest.Clock(start), issuertest.DeterministicIDs(),
		issuertest.WithConfig(func(c *issuer.Config) { cfg = *c }))

	if !strings.HasPrefix(s.URL, "https://127.0.0.1:") || cfg.BaseURL != s.URL || s.Issuer.BaseURL() != s.URL {
		t.Errorf("URL = %q, Config.BaseURL = %q; want the same https://127.0.0.1:port", s.URL, cfg.BaseURL)
	}
	resp, err := s.Client().Get(s.URL + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz with Client(): %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz = %d; want 200", resp.StatusCode)
	}

	// Only the CA of CACertPEM is trusted, and it is enough.
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CACertPEM()) {
		t.Fatalf("CACertPEM is not PEM")
	}
	own := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	if resp, err := own.Get(s.URL + "/healthz"); err != nil {
		t.Errorf("client trusting CACertPEM: %v", err)
	} else {
		resp.Body.Close()
	}
	other := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: x509.NewCertPool()}}}
	if _, err := other.Get(s.URL + "/healthz"); err == nil {
		t.Errorf("a client trusting nothing connected; want a certificate error")
	}

	if got := s.Now(); !got.Equal(start) {
		t.Errorf("Now() = %v; want %v", got, start)
	}
	s.Advance(90 * time.Minute)
	if got := cfg.Clock.Now(); !got.Equal(start.Add(90 * time.Minute)) {
		t.Errorf("Config.Clock.Now() after Advance = %v; want %v", got, start.Add(90*time.Minute))
	}
	if a, b := cfg.NewID(), cfg.NewID(); a >= b || !strings.HasPrefix(a, "00000000-0000-4000-8000-") {
		t.Errorf("NewID() = %q, %q; want counting GUIDs", a, b)
	}
	s.Close()
	s.Close() // a second Close, as t.Cleanup will do, is harmless
}
