package issuer_test

import (
	"context"
	"crypto/x509"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/storage"
)

// TestLocalTLS checks the local TLS material across calls: created once,
// reused, re-issued from the same CA when a host is added or the server
// certificate nears expiry, and a new CA only when the CA itself does.
func TestLocalTLS(t *testing.T) {
	db, err := storage.Open(filepath.Join(t.TempDir(), "issuer.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	ctx := context.Background()
	start := time.Now()

	call := func(t *testing.T, hosts []string, now time.Time) (*x509.Certificate, *x509.Certificate) {
		t.Helper()
		cert, caPEM, err := issuer.LocalTLS(ctx, db, hosts, now)
		if err != nil {
			t.Fatalf("LocalTLS(%v, %v): %v", hosts, now, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			t.Fatalf("CA PEM does not parse: %s", caPEM)
		}
		leaf := cert.Leaf
		for _, h := range append([]string{"localhost", "127.0.0.1", "::1"}, hosts...) {
			if h == "issuer.test:8443" {
				h = "issuer.test"
			}
			if _, err := leaf.Verify(x509.VerifyOptions{DNSName: h, Roots: pool, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}); err != nil {
				t.Errorf("certificate does not verify for %s at %v: %v", h, now, err)
			}
		}
		ca, err := x509.ParseCertificate(cert.Certificate[1])
		if err != nil || !ca.IsCA {
			t.Fatalf("chain[1] is not the CA: %v", err)
		}
		return leaf, ca
	}

	leaf1, ca1 := call(t, []string{"issuer.test:8443"}, start)
	if got := ca1.NotAfter.Sub(start); got < 9*365*24*time.Hour {
		t.Errorf("CA lifetime = %v; want about 10 years", got)
	}
	if got := leaf1.NotAfter.Sub(start); got < 364*24*time.Hour {
		t.Errorf("server certificate lifetime = %v; want at least a year", got)
	}

	t.Run("reused", func(t *testing.T) {
		leaf, ca := call(t, []string{"issuer.test"}, start.Add(time.Hour))
		if !leaf.Equal(leaf1) || !ca.Equal(ca1) {
			t.Errorf("second call issued new certificates; want the stored ones")
		}
	})
	t.Run("new host re-issues from the same CA", func(t *testing.T) {
		leaf, ca := call(t, []string{"10.1.2.3"}, start.Add(2*time.Hour))
		if leaf.Equal(leaf1) || !ca.Equal(ca1) {
			t.Errorf("leaf reused = %v, CA reused = %v; want a new leaf from the same CA", leaf.Equal(leaf1), ca.Equal(ca1))
		}
		if !slices.Contains(leaf.DNSNames, "issuer.test") {
			t.Errorf("DNS names = %v; want the earlier issuer.test kept", leaf.DNSNames)
		}
	})
	t.Run("near expiry re-issues from the same CA", func(t *testing.T) {
		now := start.Add(340 * 24 * time.Hour)
		leaf, ca := call(t, nil, now)
		if !ca.Equal(ca1) || leaf.NotAfter.Sub(now) < 364*24*time.Hour {
			t.Errorf("CA reused = %v, leaf valid until %v; want the same CA and a fresh year", ca.Equal(ca1), leaf.NotAfter)
		}
	})
	t.Run("expiring CA is replaced", func(t *testing.T) {
		now := ca1.NotAfter.Add(-10 * 24 * time.Hour)
		_, ca := call(t, nil, now)
		if ca.Equal(ca1) {
			t.Errorf("CA reused 10 days before it expires; want a new one")
		}
	})
	t.Run("corrupt setting is an error", func(t *testing.T) {
		if err := db.PutSetting(ctx, "tls", []byte("{not json")); err != nil {
			t.Fatal(err)
		}
		if _, _, err := issuer.LocalTLS(ctx, db, nil, start); err == nil {
			t.Errorf("LocalTLS over a corrupt setting succeeded; want an error")
		}
	})
}
