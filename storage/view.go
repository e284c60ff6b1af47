package storage

import (
	"context"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// View calls fn with a consent.Reader whose reads all run in one bbolt read
// transaction: the snapshot consent.Resolve gathers a token request's facts
// from. The Reader must not be used after fn returns (the transaction is
// closed then); nothing it returns refers to the transaction. The
// single-object read methods of DB are each one View around the same
// reader, so both ways of reading give the same answers.
func (db *DB) View(ctx context.Context, fn func(consent.Reader) error) error {
	return db.view(ctx, func(tx *bbolt.Tx) error { return fn(txReader{tx}) })
}

var _ consent.Viewer = (*DB)(nil)

// txReader is consent.Reader over one open read (or write) transaction.
// Its methods ignore ctx: the transaction is already open, and bbolt reads
// do not block.
type txReader struct{ tx *bbolt.Tx }

// readOne runs one reader call in its own read transaction.
func readOne[T any](ctx context.Context, db *DB, read func(r txReader) (T, error)) (T, error) {
	var out T
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		out, err = read(txReader{tx})
		return err
	})
	if err != nil {
		var zero T
		return zero, err
	}
	return out, nil
}

// GetTenant returns a tenant by ID.
func (r txReader) GetTenant(_ context.Context, id string) (tenant.Tenant, error) {
	return getTenantTx(r.tx, id)
}

// GetTenantByDomain returns the tenant owning a domain, in any case.
func (r txReader) GetTenantByDomain(_ context.Context, domain string) (tenant.Tenant, error) {
	d := domainKey(domain)
	id := r.tx.Bucket(bucketTenantByDomain).Get([]byte(d))
	if id == nil {
		return tenant.Tenant{}, fmt.Errorf("domain %s: %w", d, tenant.ErrNotFound)
	}
	t, err := getTenantTx(r.tx, string(id))
	if err != nil {
		return tenant.Tenant{}, damaged("domain %s names tenant %s: %v", d, id, err)
	}
	return t, nil
}

// GetApplication returns an application by appId.
func (r txReader) GetApplication(_ context.Context, appID string) (tenant.Application, error) {
	return getApplicationTx(r.tx, appID)
}

// FindServicePrincipal: see findServicePrincipalTx.
func (r txReader) FindServicePrincipal(_ context.Context, tenantID, name string) (tenant.ServicePrincipal, tenant.Application, error) {
	return findServicePrincipalTx(r.tx, tenantID, name)
}

// GetUser returns a user by object id.
func (r txReader) GetUser(_ context.Context, tenantID, id string) (tenant.User, error) {
	tb, err := tenantBucketsTx(r.tx, tenantID)
	if err != nil {
		return tenant.User{}, err
	}
	return getUserTx(tb, id)
}

// GetUserByUPN returns a user by user principal name, in any case.
func (r txReader) GetUserByUPN(_ context.Context, tenantID, upn string) (tenant.User, error) {
	tb, err := tenantBucketsTx(r.tx, tenantID)
	if err != nil {
		return tenant.User{}, err
	}
	k := upnKey(upn)
	id := tb.userByUPN.Get([]byte(k))
	if id == nil {
		return tenant.User{}, fmt.Errorf("user %s in tenant %s: %w", k, tenantID, tenant.ErrNotFound)
	}
	u, err := getUserTx(tb, string(id))
	if err != nil {
		return tenant.User{}, damaged("tenant %s: user_by_upn names user %s: %v", tenantID, id, err)
	}
	return u, nil
}

// AppRoleAssignmentsOf lists what one principal holds on one resource: a
// prefix scan of the principal index.
func (r txReader) AppRoleAssignmentsOf(_ context.Context, tenantID, principalID, resourceID string) ([]consent.AppRoleAssignment, error) {
	tb, err := someTenantBucketsTx(r.tx, tenantID, bucketAssignmentByPrincipal, bucketAppRoleAssignments)
	if err != nil {
		return nil, err
	}
	recs, err := assignmentsOfTx(tb, principalID, resourceID)
	if err != nil {
		return nil, err
	}
	return convert(recs, assignmentRecord.toAssignment), nil
}

// PermissionGrantsOf lists the grants of one client on one resource, of
// every consent type: a prefix scan of the client index. None is [], not
// nil.
func (r txReader) PermissionGrantsOf(_ context.Context, tenantID, clientID, resourceID string) ([]consent.PermissionGrant, error) {
	tb, err := someTenantBucketsTx(r.tx, tenantID, bucketGrantByClient, bucketPermissionGrants)
	if err != nil {
		return nil, err
	}
	out := []consent.PermissionGrant{}
	err = forEachPrefix(tb.grantByClient, key(clientID, resourceID, ""), func(id string) error {
		var rec grantRecord
		if err := getRecord(tb.grants, "permission grant", id, &rec); err != nil {
			return damaged("tenant %s: grant_by_client names grant %s: %v", tenantID, id, err)
		}
		out = append(out, rec.toGrant())
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// The DB's own read methods: one transaction each, around txReader.

// GetTenant returns a tenant by ID.
func (db *DB) GetTenant(ctx context.Context, id string) (tenant.Tenant, error) {
	return readOne(ctx, db, func(r txReader) (tenant.Tenant, error) { return r.GetTenant(ctx, id) })
}

// GetTenantByDomain returns the tenant owning a domain, in any case.
func (db *DB) GetTenantByDomain(ctx context.Context, domain string) (tenant.Tenant, error) {
	return readOne(ctx, db, func(r txReader) (tenant.Tenant, error) { return r.GetTenantByDomain(ctx, domain) })
}

// GetApplication returns an application by appId.
func (db *DB) GetApplication(ctx context.Context, appID string) (tenant.Application, error) {
	return readOne(ctx, db, func(r txReader) (tenant.Application, error) { return r.GetApplication(ctx, appID) })
}

// FindServicePrincipal resolves name to the application that has a service
// principal in tenantID, and returns both, in one read transaction. name is
// an appId (a GUID, any case) or an identifier URI (any case, a trailing
// slash tolerated: tenant.IdentifierKey).
//
// Several applications may hold the same identifier URI when they are
// single-tenant apps of different tenants; the tenant's own sp_by_uri index
// picks the one with a service principal in tenantID. This is the token
// endpoint's resource lookup: a few indexed reads, whatever the size of the
// directory.
func (db *DB) FindServicePrincipal(ctx context.Context, tenantID, name string) (tenant.ServicePrincipal, tenant.Application, error) {
	type found struct {
		sp  tenant.ServicePrincipal
		app tenant.Application
	}
	f, err := readOne(ctx, db, func(r txReader) (found, error) {
		sp, app, err := r.FindServicePrincipal(ctx, tenantID, name)
		return found{sp, app}, err
	})
	return f.sp, f.app, err
}

// GetUser returns a user by object id.
func (db *DB) GetUser(ctx context.Context, tenantID, id string) (tenant.User, error) {
	return readOne(ctx, db, func(r txReader) (tenant.User, error) { return r.GetUser(ctx, tenantID, id) })
}

// GetUserByUPN returns a user by user principal name, in any case.
func (db *DB) GetUserByUPN(ctx context.Context, tenantID, upn string) (tenant.User, error) {
	return readOne(ctx, db, func(r txReader) (tenant.User, error) { return r.GetUserByUPN(ctx, tenantID, upn) })
}

// AppRoleAssignmentsOf lists what one principal holds on one resource.
func (db *DB) AppRoleAssignmentsOf(ctx context.Context, tenantID, principalID, resourceID string) ([]consent.AppRoleAssignment, error) {
	return readOne(ctx, db, func(r txReader) ([]consent.AppRoleAssignment, error) {
		return r.AppRoleAssignmentsOf(ctx, tenantID, principalID, resourceID)
	})
}

// PermissionGrantsOf lists the grants of one client on one resource.
func (db *DB) PermissionGrantsOf(ctx context.Context, tenantID, clientID, resourceID string) ([]consent.PermissionGrant, error) {
	return readOne(ctx, db, func(r txReader) ([]consent.PermissionGrant, error) {
		return r.PermissionGrantsOf(ctx, tenantID, clientID, resourceID)
	})
}
