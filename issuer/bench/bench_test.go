package bench

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/signing"
	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

func TestQuantile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]int, 100)
	for i := range hundred {
		hundred[i] = i + 1
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   float64
	}{
		{"empty", nil, 0.5, 0},
		{"one", ms(7), 0.99, 7},
		{"median of four is the second", ms(1, 2, 3, 4), 0.5, 2},
		{"p90 of 1..100", ms(hundred...), 0.90, 90},
		{"p99 of 1..100", ms(hundred...), 0.99, 99},
		{"max", ms(hundred...), 1, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := quantile(tc.sorted, tc.q); got != tc.want {
				t.Errorf("quantile(%v) = %v; want %v", tc.q, got, tc.want)
			}
		})
	}
}

// TestDrive runs fake requests: the level reports what completed in the
// window, counts failures apart, and ends by itself.
func TestDrive(t *testing.T) {
	for _, tc := range []struct {
		name        string
		concurrency int
		failEvery   int64 // 0: never
	}{
		{"one worker", 1, 0},
		{"many workers", 16, 0},
		{"failures", 4, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var n atomic.Int64
			req := func(ctx context.Context) error {
				if i := n.Add(1); tc.failEvery > 0 && i%tc.failEvery == 0 {
					return errors.New("refused")
				}
				return nil
			}
			var probes atomic.Int64
			cpu := func() (time.Duration, error) { return time.Duration(probes.Add(1)) * 3 * time.Millisecond, nil }
			// A window long enough that a loaded machine still
			// completes a few requests in it (they do nothing).
			lv := Drive(t.Context(), req, tc.concurrency, 10*time.Millisecond, 300*time.Millisecond, cpu)
			if lv.Concurrency != tc.concurrency || lv.Seconds != 0.3 {
				t.Errorf("level = %+v; want concurrency %d over 0.3 s", lv, tc.concurrency)
			}
			if probes.Load() != 2 || lv.ServerCPU != 0.01 { // 3 ms of CPU over 300 ms
				t.Errorf("server CPU probed %d times, %v cores; want 2 probes, 0.01", probes.Load(), lv.ServerCPU)
			}
			if lv.Requests == 0 || lv.Requests > int(n.Load()) {
				t.Fatalf("%d requests counted of %d sent", lv.Requests, n.Load())
			}
			if got := lv.TokensPerSec * lv.Seconds; int(got+0.5) != lv.Requests-lv.Errors {
				t.Errorf("tokens/s × window = %v; want the %d successes", got, lv.Requests-lv.Errors)
			}
			if tc.failEvery == 0 && (lv.Errors != 0 || lv.FirstError != "") {
				t.Errorf("%d errors (%s); want none", lv.Errors, lv.FirstError)
			}
			if tc.failEvery > 0 && (lv.Errors == 0 || lv.FirstError != "refused") {
				t.Errorf("%d errors, first %q; want failures counted", lv.Errors, lv.FirstError)
			}
			if !(lv.P50ms <= lv.P90ms && lv.P90ms <= lv.P99ms && lv.P99ms <= lv.MaxMs) {
				t.Errorf("p50 %v, p90 %v, p99 %v, max %v are not in order", lv.P50ms, lv.P90ms, lv.P99ms, lv.MaxMs)
			}
		})
	}
	t.Run("nothing done in the window", func(t *testing.T) {
		// Each request outlasts the 1 ms window: the level runs on until
		// the first completes, and counts it alone.
		const slow = 30 * time.Millisecond
		var sent atomic.Int64
		req := func(context.Context) error { sent.Add(1); time.Sleep(slow); return nil }
		cpu := func() (time.Duration, error) { return time.Millisecond, nil }
		lv := Drive(t.Context(), req, 2, 0, time.Millisecond, cpu)
		if lv.Requests != 1 || lv.Errors != 0 || sent.Load() != 2 {
			t.Fatalf("%d requests counted (%d errors) of %d sent; want the first of 2", lv.Requests, lv.Errors, sent.Load())
		}
		if lv.Seconds < slow.Seconds() || lv.TokensPerSec != 1/lv.Seconds {
			t.Errorf("window %v s, %v tokens/s; want at least %v s, and 1 token over it", lv.Seconds, lv.TokensPerSec, slow.Seconds())
		}
		if lv.ServerCPU != 0 || lv.TokensPerCPUSecond != 0 {
			t.Errorf("server CPU %v, tokens per CPU second %v; want none over a window run on", lv.ServerCPU, lv.TokensPerCPUSecond)
		}
	})
	t.Run("cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		cancel()
		lv := Drive(ctx, func(context.Context) error { return nil }, 2, 0, time.Hour, nil)
		if lv.Requests != 0 {
			t.Errorf("%d requests after cancellation; want 0", lv.Requests)
		}
	})
}

func TestSignRate(t *testing.T) {
	backends := []struct {
		name string
		cpu  int
	}{{signing.Go, -1}, {signing.Go, AllowedCPUs()[0]}, {signing.OpenSSL, -1}}
	for _, bc := range backends {
		t.Run(fmt.Sprintf("%s on CPU %d", bc.name, bc.cpu), func(t *testing.T) {
			b, err := signing.Select(bc.name)
			if err != nil {
				t.Skipf("%s: %v", bc.name, err)
			}
			rate, err := SignRate(b, bc.cpu, 20*time.Millisecond)
			if err != nil {
				t.Fatal(err)
			}
			if rate <= 0 {
				t.Errorf("rate = %v; want signatures", rate)
			}
		})
	}
}

func TestTarget(t *testing.T) {
	full := Target{Tenant: "contoso.onmicrosoft.com", ClientID: "c", ClientSecret: "s e/cret", Scope: "api://x/.default"}
	for _, tc := range []struct {
		name string
		t    Target
		want error
	}{
		{"complete", full, nil},
		{"no secret", Target{Tenant: "t", ClientID: "c", Scope: "s"}, tenant.ErrInvalid},
		{"blank tenant", Target{Tenant: " ", ClientID: "c", ClientSecret: "s", Scope: "s"}, tenant.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.t.Check(); !errors.Is(err, tc.want) {
				t.Errorf("Check() = %v; want %v", err, tc.want)
			}
		})
	}
	form, err := url.ParseQuery(full.Form())
	if err != nil {
		t.Fatal(err)
	}
	if form.Get("grant_type") != "client_credentials" || form.Get("client_secret") != full.ClientSecret || form.Get("scope") != full.Scope {
		t.Errorf("Form() = %v", form)
	}
}

func TestAscendingGUIDs(t *testing.T) {
	next := ascendingGUIDs(time.Date(2026, 11, 22, 6, 0, 0, 123, time.UTC))
	prev := ""
	for i := range 5000 {
		id := next()
		if !tenant.IsGUID(id) || id[14] != '4' || id[19] != '8' {
			t.Fatalf("id %d = %q; want a version-4-shaped GUID", i, id)
		}
		if id <= prev {
			t.Fatalf("id %d = %q does not ascend after %q", i, id, prev)
		}
		prev = id
	}
}

// TestSeedDirectory seeds a small directory through the bulk path and
// finds its objects as the token endpoint does.
func TestSeedDirectory(t *testing.T) {
	for _, tc := range []struct{ tenants, apps int }{{3, 4}, {seedBatch + 2, 1}, {0, 10}} {
		t.Run(fmt.Sprintf("%d x %d", tc.tenants, tc.apps), func(t *testing.T) {
			db, err := storage.Open(filepath.Join(t.TempDir(), "seed.db"), storage.Options{})
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			dir := tenant.NewDirectory(db)
			st, err := SeedDirectory(t.Context(), dir, tc.tenants, tc.apps)
			if err != nil {
				t.Fatalf("SeedDirectory: %v", err)
			}
			if st.Tenants != tc.tenants || st.Applications != tc.tenants*tc.apps {
				t.Errorf("SeedDirectory = %+v", st)
			}
			ts, err := dir.ListTenants(t.Context())
			if err != nil || len(ts) != tc.tenants {
				t.Fatalf("%d tenants, %v; want %d", len(ts), err, tc.tenants)
			}
			if tc.tenants < 2 {
				return
			}
			apps, err := dir.ListApplications(t.Context(), "seed000001.onmicrosoft.com")
			if err != nil || len(apps) != tc.apps {
				t.Fatalf("seed000001 has %d applications, %v; want %d", len(apps), err, tc.apps)
			}
			for _, a := range apps {
				if len(a.IdentifierURIs) == 0 {
					continue
				}
				if _, app, err := dir.FindServicePrincipal(t.Context(), a.HomeTenantID, a.IdentifierURIs[0]); err != nil || app.AppID != a.AppID {
					t.Errorf("FindServicePrincipal(%s) = %s, %v; want %s", a.IdentifierURIs[0], app.AppID, err, a.AppID)
				}
			}
		})
	}
}
