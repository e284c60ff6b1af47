package storage

import (
	"fmt"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/tenant"
)

// BenchmarkFindServicePrincipal resolves resources in a directory of 1,000
// tenants. Every tenant registers its own single-tenant "api://orders" (the
// worst case for a global URI index: 1,000 applications share the URI) and
// has a service principal of one multi-tenant API. The lookup must not grow
// with the directory.
func BenchmarkFindServicePrincipal(b *testing.B) {
	const tenants = 1000
	e := env{t: b, db: openTestFsck(b, false)}
	e.db.bolt.NoSync = true // setup speed only; lookups are reads
	tenantID := func(i int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", i, i) }
	appID := func(i int) string { return fmt.Sprintf("%08x-0001-4000-8000-%012x", i, i) }
	const shared = "0f000000-0000-4000-8000-00000000ffff"
	for i := range tenants {
		e.tenant(tenantID(i), fmt.Sprintf("t%d.onmicrosoft.com", i))
		if i == 0 {
			e.app(multiTenant(newApp(shared, tenantID(0), "api://shared-api")))
		} else {
			e.sp(tenantID(i), shared)
		}
		e.app(newApp(appID(i), tenantID(i), "api://orders"))
	}
	e.db.bolt.NoSync = false
	probe := tenants / 2

	for _, bc := range []struct {
		name, tenantID, query, wantApp string
	}{
		{"appId", tenantID(probe), appID(probe), appID(probe)},
		{"URI shared by 1000 single-tenant apps", tenantID(probe), "API://orders/", appID(probe)},
		{"URI of a multi-tenant app", tenantID(probe), "api://shared-api", shared},
	} {
		b.Run(bc.name, func(b *testing.B) {
			ctx := b.Context()
			for b.Loop() {
				_, app, err := e.db.FindServicePrincipal(ctx, bc.tenantID, bc.query)
				if err != nil || app.AppID != bc.wantApp {
					b.Fatalf("FindServicePrincipal(%s) = %s, %v; want %s", bc.query, app.AppID, err, bc.wantApp)
				}
			}
		})
	}
	b.Run("parallel", func(b *testing.B) {
		ctx := b.Context()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				if _, _, err := e.db.FindServicePrincipal(ctx, tenantID(probe), "api://orders"); err != nil {
					b.Error(err)
					return
				}
			}
		})
	})
}

// BenchmarkRenewRefreshToken redeems a refresh token, the Entra way (the
// presented token stays valid), in families of growing size: a daemon
// that refreshes every hour for the 90 days of a token's life builds a
// family of 2,160. A redemption must not grow with its family.
func BenchmarkRenewRefreshToken(b *testing.B) {
	for _, size := range []int{1, 100, 2000} {
		b.Run(fmt.Sprintf("family=%d", size), func(b *testing.B) {
			db := openTestFsck(b, false)
			db.bolt.NoSync = true
			ctx := b.Context()
			rt := newRefreshToken("h0", "family")
			rt.ExpiresDateTime = t0.Add(90 * 24 * time.Hour)
			if err := db.CreateRefreshToken(ctx, rt); err != nil {
				b.Fatal(err)
			}
			next := func(i int) tenant.RefreshToken {
				n := rt
				n.Hash = fmt.Sprint("h", i)
				return n
			}
			for i := 1; i < size; i++ {
				if err := db.RenewRefreshToken(ctx, "h0", t0, next(i)); err != nil {
					b.Fatal(err)
				}
			}
			i := size
			for b.Loop() {
				if err := db.RenewRefreshToken(ctx, "h0", t0, next(i)); err != nil {
					b.Fatal(err)
				}
				i++
			}
		})
	}
}
