package issuer_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/issuer/issuertest"
	"github.com/issuer-dev/issuer/tenant"
)

// faultyStore fails the way a broken database would: an error for one
// resource lookup (in its read views, where consent.Resolve reads), a panic
// for one domain.
type faultyStore struct {
	issuer.Backend
}

// faultyReader is the Reader of faultyStore's views.
type faultyReader struct {
	consent.Reader
}

const internalCause = "disk on fire SECRET-CAUSE"

func (f faultyStore) View(ctx context.Context, fn func(consent.Reader) error) error {
	return f.Backend.View(ctx, func(r consent.Reader) error { return fn(faultyReader{r}) })
}

func (f faultyReader) FindServicePrincipal(ctx context.Context, tenantID, name string) (tenant.ServicePrincipal, tenant.Application, error) {
	if name == "api://broken" {
		return tenant.ServicePrincipal{}, tenant.Application{}, errors.New(internalCause)
	}
	return f.Reader.FindServicePrincipal(ctx, tenantID, name)
}

func (f faultyStore) GetTenantByDomain(ctx context.Context, domain string) (tenant.Tenant, error) {
	if domain == "panic.example" {
		panic(internalCause)
	}
	return f.Backend.GetTenantByDomain(ctx, domain)
}

// syncBuffer is a log sink safe for the server's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// TestServerErrors checks that internal failures and panics become
// AADSTS50000 server_error 500 without leaking their cause, and that the
// cause is logged under the trace ID.
func TestServerErrors(t *testing.T) {
	var logs syncBuffer
	w := newWorld(t, issuertest.WrapBackend(func(b issuer.Backend) issuer.Backend { return faultyStore{b} }),
		issuertest.WithConfig(func(c *issuer.Config) { c.Logger = slog.New(slog.NewJSONHandler(&logs, nil)) }))
	for _, tc := range []struct {
		name, method, path string
		param, value       string
	}{
		{"store error", http.MethodPost, "/" + tenantA + "/oauth2/v2.0/token", "scope", "api://broken/.default"},
		{"panic in the token endpoint", http.MethodPost, "/panic.example/oauth2/token", "resource", "api://orders"},
		{"panic in discovery", http.MethodGet, "/panic.example/v2.0/.well-known/openid-configuration", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var r result
			if tc.method == http.MethodPost {
				r = w.post(t, tc.path, ccForm(tc.param, tc.value))
			} else {
				r = w.get(t, tc.path)
			}
			e := checkErrorShape(t, r, 50000)
			if r.status != http.StatusInternalServerError || e.Error != "server_error" {
				t.Errorf("status, error = %d %s; want 500 server_error", r.status, e.Error)
			}
			if bytes.Contains(r.body, []byte("SECRET-CAUSE")) || bytes.Contains(r.body, []byte("panic")) {
				t.Errorf("body leaks the internal cause: %s", r.body)
			}
			var logged bool
			for _, line := range strings.Split(logs.String(), "\n") {
				if strings.Contains(line, e.TraceID) && strings.Contains(line, "SECRET-CAUSE") {
					logged = true
				}
			}
			if !logged {
				t.Errorf("no log line with trace ID %s and the cause; log:\n%s", e.TraceID, logs.String())
			}
		})
	}
}

// TestNoSecretsInLogs checks that neither client secrets nor tokens reach
// the log, on success or refusal.
func TestNoSecretsInLogs(t *testing.T) {
	var logs syncBuffer
	w := newWorld(t, issuertest.WithConfig(func(c *issuer.Config) {
		c.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}))
	ok := w.post(t, "/"+tenantA+"/oauth2/v2.0/token", ccForm("scope", "api://inventory/.default"))
	var m map[string]any
	ok.decode(t, &m)
	const wrong = "wrong-secret-value-0001"
	w.post(t, "/"+tenantA+"/oauth2/v2.0/token", ccForm("scope", "api://inventory/.default", "client_secret", wrong))
	out := logs.String()
	if !strings.Contains(out, "token issued") || !strings.Contains(out, "7000215") {
		t.Fatalf("log lacks the outcomes:\n%s", out)
	}
	for _, s := range []string{clientSecret, wrong, m["access_token"].(string), strings.Split(m["access_token"].(string), ".")[2]} {
		if strings.Contains(out, s) {
			t.Errorf("log contains %.20q…:\n%s", s, out)
		}
	}
}
