package tenant

import (
	"context"
	"fmt"
)

// BulkTenant is a tenant to create together with applications homed in it.
type BulkTenant struct {
	Tenant       TenantSpec
	Applications []ApplicationSpec
}

// BulkStore is a Store that can write many new tenants and applications in
// one transaction. *storage.DB implements it.
type BulkStore interface {
	// CreateBulk stores new tenants, then new applications each with its
	// home service principal (homes[i] belongs to apps[i]), with the checks
	// of CreateTenant and CreateApplication, in one transaction: any
	// failure writes nothing.
	CreateBulk(ctx context.Context, tenants []Tenant, apps []Application, homes []ServicePrincipal) error
}

// BatchStore is a Store that can run a sequence of its calls as one
// transaction. *storage.DB implements it.
type BatchStore interface {
	// Batch runs fn; the store calls made with the context fn is given
	// are one transaction, committed when fn returns nil and rolled back
	// whole when it or any write in it fails.
	Batch(ctx context.Context, fn func(ctx context.Context) error) error
}

// Batch runs fn, whose calls of the directory (and of anything else on the
// same store, such as a consent.Manager) made with the context it is given
// are one transaction of a BatchStore: all or nothing, and one commit
// instead of one per call. Over another Store, fn runs as it is and each
// call is its own transaction.
func (d *Directory) Batch(ctx context.Context, fn func(ctx context.Context) error) error {
	if bs, ok := d.store.(BatchStore); ok {
		return bs.Batch(ctx, fn)
	}
	return fn(ctx)
}

// BulkCreate creates the tenants of batch with their applications, by the
// rules of CreateTenant and RegisterApplication, and returns them in order.
// With a BulkStore the whole batch is one transaction, so seeding a large
// directory costs a few commits instead of one per object: callers split
// large directories into batches (a thousand tenants is a few megabytes of
// pending writes). Over another Store the objects are created one by one.
func (d *Directory) BulkCreate(ctx context.Context, batch []BulkTenant) ([]Tenant, []Application, error) {
	var (
		tenants []Tenant
		apps    []Application
		homes   []ServicePrincipal
	)
	for _, bt := range batch {
		t, err := d.newTenant(bt.Tenant)
		if err != nil {
			return nil, nil, fmt.Errorf("tenant %s: %w", bt.Tenant.Name, err)
		}
		tenants = append(tenants, t)
		for _, spec := range bt.Applications {
			app, sp, err := d.newApplication(t, spec)
			if err != nil {
				return nil, nil, fmt.Errorf("application %s of tenant %s: %w", spec.DisplayName, t.DisplayName, err)
			}
			apps = append(apps, app)
			homes = append(homes, sp)
		}
	}
	ids := make([]string, len(tenants))
	for i, t := range tenants {
		ids[i] = t.ID
	}
	if bs, ok := d.store.(BulkStore); ok {
		err := d.Batch(ctx, func(ctx context.Context) error {
			if err := bs.CreateBulk(ctx, tenants, apps, homes); err != nil {
				return fmt.Errorf("creating %d tenants and %d applications: %w", len(tenants), len(apps), err)
			}
			return d.EnsureMicrosoftGraph(ctx, ids)
		})
		if err != nil {
			return nil, nil, err
		}
		return tenants, apps, nil
	}
	for _, t := range tenants {
		if err := d.store.CreateTenant(ctx, t); err != nil {
			return nil, nil, fmt.Errorf("creating tenant %s: %w", t.DisplayName, err)
		}
	}
	for i, app := range apps {
		if err := d.store.CreateApplication(ctx, app, homes[i]); err != nil {
			return nil, nil, fmt.Errorf("registering application %s: %w", app.DisplayName, err)
		}
	}
	if err := d.EnsureMicrosoftGraph(ctx, ids); err != nil {
		return nil, nil, err
	}
	return tenants, apps, nil
}
