package etcd_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"go.etcd.io/etcd/server/v3/embed"

	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/storage/etcd"
	"github.com/issuer-dev/issuer/storage/etcd/etcdtest"
	"github.com/issuer-dev/issuer/tenant"
)

// TestTransactionLimit: removing an application instantiated in many
// tenants is one write of more operations than etcd's default
// --max-txn-ops (its service principal in each, several operations
// apiece). With the default it is refused as ErrTooLarge and nothing is
// written; with etcd's limit and MaxTxnOps raised together, it goes
// through. (Removing a tenant of many applications no longer is one
// write: conformance's DeleteTenantOfManyApplications.)
func TestTransactionLimit(t *testing.T) {
	for _, tc := range []struct {
		name    string
		maxOps  int // etcd's and the store's; 0: the defaults
		wantErr error
	}{
		{"etcd's default limit refuses the write", 0, storage.ErrTooLarge},
		{"a raised limit takes it", 1024, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ep := etcdtest.StartWith(t, func(c *embed.Config) {
				if tc.maxOps > 0 {
					c.MaxTxnOps = uint(tc.maxOps)
				}
			})
			ctx := context.Background()
			s, err := etcd.Open(ctx, etcd.Config{Endpoints: []string{ep}, Prefix: "/limit", KeyEncryptionKey: testKEK,
				Create: true, Dir: t.TempDir(), MaxTxnOps: tc.maxOps})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			dir := tenant.NewDirectory(s)
			home, err := dir.CreateTenant(ctx, tenant.TenantSpec{Name: "home"})
			if err != nil {
				t.Fatal(err)
			}
			app, err := dir.RegisterApplication(ctx, home.ID, tenant.ApplicationSpec{DisplayName: "everywhere", MultiTenant: true})
			if err != nil {
				t.Fatal(err)
			}
			for i := range 60 {
				other, err := dir.CreateTenant(ctx, tenant.TenantSpec{Name: fmt.Sprintf("guest%d", i)})
				if err != nil {
					t.Fatal(err)
				}
				if _, err := dir.AddServicePrincipal(ctx, other.ID, app.AppID); err != nil {
					t.Fatal(err)
				}
			}
			err = dir.RemoveApplication(ctx, app.AppID)
			if !errors.Is(err, tc.wantErr) {
				t.Fatalf("RemoveApplication = %v; want %v", err, tc.wantErr)
			}
			_, gerr := s.GetApplication(ctx, app.AppID)
			if tc.wantErr != nil && gerr != nil {
				t.Errorf("the refused removal removed the application: %v", gerr)
			}
			if tc.wantErr == nil && !errors.Is(gerr, tenant.ErrNotFound) {
				t.Errorf("after the removal: %v; want ErrNotFound", gerr)
			}
		})
	}
}
