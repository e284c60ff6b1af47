package storage

import (
	"context"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/issuer-dev/issuer/tenant"
)

var _ tenant.BulkStore = (*DB)(nil)

// CreateBulk stores new tenants, then new applications each with its home
// service principal (homes[i] belongs to apps[i]), in one transaction, with
// exactly the checks and index writes of CreateTenant and CreateApplication
// (it runs their transaction bodies). Any failure writes nothing. It is the
// seeding path of large directories (tenant.Directory.BulkCreate): one
// commit, one fsync, for a whole batch instead of one per object.
func (db *DB) CreateBulk(ctx context.Context, tenants []tenant.Tenant, apps []tenant.Application, homes []tenant.ServicePrincipal) error {
	if len(homes) != len(apps) {
		return fmt.Errorf("%w: %d applications but %d home service principals", tenant.ErrInvalid, len(apps), len(homes))
	}
	domains := make([][]string, len(tenants))
	for i, t := range tenants {
		var err error
		if domains[i], err = checkTenant(t); err != nil {
			return err
		}
	}
	uris := make([][]string, len(apps))
	for i, app := range apps {
		var err error
		if uris[i], err = checkNewApplication(app, homes[i]); err != nil {
			return err
		}
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		for i, t := range tenants {
			if err := createTenantTx(tx, t, domains[i]); err != nil {
				return err
			}
		}
		for i, app := range apps {
			if err := ctx.Err(); err != nil {
				return err
			}
			if err := createApplicationTx(tx, app, homes[i], uris[i]); err != nil {
				return err
			}
		}
		return nil
	})
}
