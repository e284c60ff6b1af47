package etcd_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/issuer-dev/issuer/storage/etcd/etcdtest"
	"github.com/issuer-dev/issuer/tenant"
)

// TestBulkSplitsLargeSeeds seeds more than one etcd transaction takes (128
// operations): the bulk path splits it into chunks of whole objects, and a
// fresh replica finds every tenant and application, in a consistent copy.
func TestBulkSplitsLargeSeeds(t *testing.T) {
	ep := etcdtest.Start(t)
	ctx := context.Background()
	s := open(t, []string{ep}, "/bulk")
	var batch []tenant.BulkTenant
	for i := range 40 {
		bt := tenant.BulkTenant{Tenant: tenant.TenantSpec{Name: fmt.Sprintf("t%02d", i)}}
		for j := range 5 {
			bt.Applications = append(bt.Applications, tenant.ApplicationSpec{
				DisplayName: fmt.Sprintf("app %d", j), IdentifierURIs: []string{fmt.Sprintf("api://t%02d/app%d", i, j)},
			})
		}
		batch = append(batch, bt)
	}
	if _, _, err := tenant.NewDirectory(s).BulkCreate(ctx, batch); err != nil {
		t.Fatalf("BulkCreate: %v", err)
	}
	fresh := open(t, []string{ep}, "/bulk")
	d := tenant.NewDirectory(fresh)
	tenants, err := d.ListTenants(ctx)
	if err != nil || len(tenants) != 40 {
		t.Fatalf("a fresh replica lists %d tenants (%v), want 40", len(tenants), err)
	}
	for _, tn := range tenants {
		apps, err := d.ListApplications(ctx, tn.ID)
		if err != nil || len(apps) != 5 {
			t.Fatalf("tenant %s: %d applications (%v), want 5", tn.DisplayName, len(apps), err)
		}
	}
	if err := fresh.DB.Check(ctx); err != nil {
		t.Fatal(err)
	}
}
