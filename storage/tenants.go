package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/issuer-dev/issuer/tenant"
)

// CreateTenant stores a new tenant, indexes its domains and creates its
// nested bucket. It fails with ErrExists if the ID or any domain is taken.
func (db *DB) CreateTenant(ctx context.Context, t tenant.Tenant) error {
	domains, err := checkTenant(t)
	if err != nil {
		return err
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		return createTenantTx(tx, t, domains)
	})
}

// checkTenant refuses a tenant whose ID or domains cannot be keys and
// returns the domain keys.
func checkTenant(t tenant.Tenant) ([]string, error) {
	if err := checkKeyPart("tenant id", t.ID); err != nil {
		return nil, err
	}
	return nameKeys("domain", t.Domains, domainKey)
}

// createTenantTx writes a new tenant (domains are its domain keys): the
// record, the domain index and its nested bucket.
func createTenantTx(tx *bbolt.Tx, t tenant.Tenant, domains []string) error {
	tenants := tx.Bucket(bucketTenants)
	if tenants.Get([]byte(t.ID)) != nil || tx.Bucket(bucketTenant).Bucket([]byte(t.ID)) != nil {
		return fmt.Errorf("tenant %s: %w", t.ID, tenant.ErrExists)
	}
	byDomain := tx.Bucket(bucketTenantByDomain)
	for _, d := range domains {
		if owner := byDomain.Get([]byte(d)); owner != nil {
			return fmt.Errorf("domain %s belongs to tenant %s: %w", d, owner, tenant.ErrExists)
		}
		if err := put(byDomain, []byte(d), []byte(t.ID)); err != nil {
			return err
		}
	}
	if err := putRecord(tenants, "tenant", t.ID, []byte(t.ID), fromTenant(t)); err != nil {
		return err
	}
	return createTenantBucketsTx(tx, t.ID)
}

// ListTenants returns every tenant, ordered by ID.
func (db *DB) ListTenants(ctx context.Context) ([]tenant.Tenant, error) {
	out := []tenant.Tenant{}
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketTenants).ForEach(func(k, v []byte) error {
			var rec tenantRecord
			if err := decodeRecord(v, "tenant", string(k), &rec); err != nil {
				return err
			}
			out = append(out, rec.toTenant())
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateTenant applies update to the tenant and keeps the domain index in
// step: dropped domains leave the index, added ones join it, and a domain
// owned by another tenant fails with ErrExists. update may not change the ID.
func (db *DB) UpdateTenant(ctx context.Context, id string, update func(*tenant.Tenant) error) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		old, err := getTenantTx(tx, id)
		if err != nil {
			return err
		}
		t := fromTenant(old).toTenant() // a copy the updater may change freely
		if err := update(&t); err != nil {
			return err
		}
		if t.ID != old.ID {
			return fmt.Errorf("%w: tenant %s: an update may not change the tenant id (to %s)", tenant.ErrInvalid, id, t.ID)
		}
		oldDomains, err := nameKeys("domain", old.Domains, domainKey)
		if err != nil {
			return damaged("tenant %s: %v", id, err)
		}
		newDomains, err := nameKeys("domain", t.Domains, domainKey)
		if err != nil {
			return err
		}
		byDomain := tx.Bucket(bucketTenantByDomain)
		for _, d := range oldDomains {
			if slices.Contains(newDomains, d) || string(byDomain.Get([]byte(d))) != id {
				continue
			}
			if err := del(byDomain, []byte(d)); err != nil {
				return err
			}
		}
		for _, d := range newDomains {
			owner := byDomain.Get([]byte(d))
			if owner != nil && string(owner) != id {
				return fmt.Errorf("domain %s belongs to tenant %s: %w", d, owner, tenant.ErrExists)
			}
			if owner == nil {
				if err := put(byDomain, []byte(d), []byte(id)); err != nil {
					return err
				}
			}
		}
		return putRecord(tx.Bucket(bucketTenants), "tenant", id, []byte(id), fromTenant(t))
	})
}

// DeleteTenant removes the tenant and everything inside it: its users,
// service principals, grants and assignments, and its domains. Applications
// homed in the tenant go too, with their service principals, grants and
// assignments in every other tenant (as DeleteApplication does). Service
// principals here of applications homed elsewhere leave the app_sps index.
// The refresh tokens of the tenant's users go too.
func (db *DB) DeleteTenant(ctx context.Context, id string) error {
	if err := db.drainRefreshTokens(ctx, func(tx *bbolt.Tx) ([]tokenSet, error) {
		return tenantTokensTx(tx, id)
	}); err != nil {
		return err
	}
	if err := db.drainHomedApplications(ctx, id); err != nil {
		return err
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		t, err := getTenantTx(tx, id)
		if err != nil {
			return err
		}
		tb, err := tenantBucketsTx(tx, id)
		if err != nil {
			return damaged("tenant %s has a record but no bucket: %v", id, err)
		}
		var homed []string
		if err := tb.apps.ForEach(func(k, _ []byte) error {
			homed = append(homed, string(k))
			return nil
		}); err != nil {
			return err
		}
		for _, appID := range homed {
			if err := deleteApplicationTx(tx, appID); err != nil {
				return err
			}
		}
		var guests []string
		if err := tb.spByApp.ForEach(func(k, _ []byte) error {
			guests = append(guests, string(k))
			return nil
		}); err != nil {
			return err
		}
		appSPs := tx.Bucket(bucketAppSPs)
		for _, appID := range guests {
			if err := del(appSPs, key(appID, id)); err != nil {
				return err
			}
		}
		byDomain := tx.Bucket(bucketTenantByDomain)
		for _, d := range t.Domains {
			k := []byte(domainKey(d))
			if string(byDomain.Get(k)) == id {
				if err := del(byDomain, k); err != nil {
					return err
				}
			}
		}
		if err := deleteRefreshTokensTx(tx, tokenSet{prefix: key(id, ""), match: anyToken}); err != nil {
			return err
		}
		if err := del(tx.Bucket(bucketTenants), []byte(id)); err != nil {
			return err
		}
		return deleteTenantBucketsTx(tx, id)
	})
}

// drainHomedApplications deletes, on a replica, the applications homed in
// tenant id, one write each, before the tenant's own write. However small,
// an application costs a shared store several operations (its records and
// index entries, its service principals in every tenant), so a tenant of
// a dozen applications could not be deleted in one etcd transaction; the
// tenant's bucket itself, users, grants and all, goes in one operation.
// Each application goes whole, as DeleteApplication deletes it (the group
// memberships of its service principals and the app role assignments
// they hold drained first); a failure
// between the writes leaves the tenant without some of its applications,
// and the deletion, retried, finishes.
func (db *DB) drainHomedApplications(ctx context.Context, id string) error {
	if !db.splitsDeletions() {
		return nil
	}
	var homed []string
	if err := db.view(ctx, func(tx *bbolt.Tx) error {
		tb, err := tenantBucketsTx(tx, id)
		if err != nil {
			return nil // the deletion's own write reports it
		}
		return tb.apps.ForEach(func(k, _ []byte) error {
			homed = append(homed, string(k))
			return nil
		})
	}); err != nil {
		return err
	}
	for _, appID := range homed {
		if err := db.drainObjects(ctx, func(tx *bbolt.Tx) ([]directoryObject, error) {
			return applicationObjectsTx(tx, appID)
		}); err != nil {
			return err
		}
		if err := db.update(ctx, func(tx *bbolt.Tx) error {
			if err := deleteApplicationTx(tx, appID); !errors.Is(err, tenant.ErrNotFound) {
				return err
			}
			return nil // deleted since the read
		}); err != nil {
			return fmt.Errorf("deleting application %s before its home tenant: %w", appID, err)
		}
	}
	return nil
}

// tenantTokensTx names the refresh tokens deleting tenant id deletes: those
// of its users, and those issued in other tenants to the applications
// homed in it.
func tenantTokensTx(tx *bbolt.Tx, id string) ([]tokenSet, error) {
	tb, err := tenantBucketsTx(tx, id)
	if err != nil {
		return nil, err
	}
	sets := []tokenSet{{prefix: key(id, ""), match: anyToken}}
	err = tb.apps.ForEach(func(appID, _ []byte) error {
		appSets, err := applicationTokensTx(tx, string(appID))
		for _, s := range appSets {
			if !bytes.Equal(s.prefix, sets[0].prefix) {
				sets = append(sets, s)
			}
		}
		return err
	})
	return sets, err
}

// getTenantTx reads a tenant record.
func getTenantTx(tx *bbolt.Tx, id string) (tenant.Tenant, error) {
	v := tx.Bucket(bucketTenants).Get([]byte(id))
	if v == nil {
		return tenant.Tenant{}, fmt.Errorf("tenant %s: %w", id, tenant.ErrNotFound)
	}
	var rec tenantRecord
	if err := tenantCache.decode(v, "tenant", id, &rec); err != nil {
		return tenant.Tenant{}, err
	}
	return rec.toTenant(), nil
}
