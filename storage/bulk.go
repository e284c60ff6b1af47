package storage

import (
	"context"
	"errors"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/issuer-dev/issuer/tenant"
)

var _ tenant.BulkStore = (*DB)(nil)

// CreateBulk stores new tenants, then new applications each with its home
// service principal (homes[i] belongs to apps[i]), in one transaction, with
// exactly the checks and index writes of CreateTenant and CreateApplication
// (it runs their transaction bodies). Any failure writes nothing (on a
// replica, a batch larger than one transaction of the shared store is
// split: see createBulkChunked). It is the
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
	err := db.createBulk(ctx, tenants, domains, apps, homes, uris)
	if db.replica != nil && errors.Is(err, ErrTooLarge) {
		return db.createBulkChunked(ctx, tenants, domains, apps, homes, uris)
	}
	return err
}

// createBulk writes checked tenants and applications in one transaction.
func (db *DB) createBulk(ctx context.Context, tenants []tenant.Tenant, domains [][]string, apps []tenant.Application, homes []tenant.ServicePrincipal, uris [][]string) error {
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

// ErrTooLarge is wrapped by a Replica's Commit when one transaction's
// changes exceed what the shared store takes at once.
var ErrTooLarge = errors.New("too large for one transaction of the shared store")

// bulkChunk is how many objects a replica's CreateBulk writes in its first
// transaction; it halves while the shared store refuses a chunk as too
// large.
const bulkChunk = 32

// createBulkChunked is CreateBulk on a replica for a batch the shared store
// refused as too large for one transaction (etcd: 128 operations):
// tenants, then applications, are written a chunk at a time, each object
// whole inside one chunk. A failure leaves the chunks before it written, as
// a series of CreateTenant and CreateApplication calls would, so such a
// batch is not all or nothing.
func (db *DB) createBulkChunked(ctx context.Context, tenants []tenant.Tenant, domains [][]string, apps []tenant.Application, homes []tenant.ServicePrincipal, uris [][]string) error {
	n := bulkChunk
	for len(tenants) > 0 || len(apps) > 0 {
		k, j := min(n, len(tenants)), 0
		if k == 0 {
			j = min(n, len(apps))
		}
		err := db.createBulk(ctx, tenants[:k], domains[:k], apps[:j], homes[:j], uris[:j])
		if errors.Is(err, ErrTooLarge) && n > 1 {
			n /= 2
			continue
		}
		if err != nil {
			return err
		}
		tenants, domains = tenants[k:], domains[k:]
		apps, homes, uris = apps[j:], homes[j:], uris[j:]
	}
	return nil
}
