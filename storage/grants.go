package storage

import (
	"bytes"
	"context"
	"fmt"

	"go.etcd.io/bbolt"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// CreateAppRoleAssignment stores an assignment in a.TenantID. It fails with
// ErrExists when the id is taken or the principal already holds that role of
// that resource, and with ErrNotFound when the tenant, the resource service
// principal or the principal (a service principal, user or group of the tenant) is
// missing: cascading deletes rely on assignments naming existing objects.
func (db *DB) CreateAppRoleAssignment(ctx context.Context, a consent.AppRoleAssignment) error {
	for _, p := range []struct{ what, v string }{
		{"assignment id", a.ID}, {"assignment tenant id", a.TenantID},
		{"assignment principal id", a.PrincipalID}, {"assignment resource id", a.ResourceID},
	} {
		if err := checkKeyPart(p.what, p.v); err != nil {
			return err
		}
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		tb, err := tenantBucketsTx(tx, a.TenantID)
		if err != nil {
			return err
		}
		if tb.assignments.Get([]byte(a.ID)) != nil {
			return fmt.Errorf("app role assignment %s: %w", a.ID, tenant.ErrExists)
		}
		if tb.sps.Get([]byte(a.ResourceID)) == nil {
			return fmt.Errorf("resource service principal %s in tenant %s: %w", a.ResourceID, a.TenantID, tenant.ErrNotFound)
		}
		if err := checkPrincipalTx(tb, a.PrincipalID, a.PrincipalType); err != nil {
			return err
		}
		held, err := assignmentsOfTx(tb, a.PrincipalID, a.ResourceID)
		if err != nil {
			return err
		}
		for _, h := range held {
			if h.AppRoleID == a.AppRoleID {
				return fmt.Errorf("app role %s of resource %s for principal %s (assignment %s): %w",
					a.AppRoleID, a.ResourceID, a.PrincipalID, h.ID, tenant.ErrExists)
			}
		}
		if err := putRecord(tb.assignments, "app role assignment", a.ID, []byte(a.ID), fromAssignment(a)); err != nil {
			return err
		}
		return put(tb.assignmentByPrincipal, key(a.PrincipalID, a.ResourceID, a.ID), []byte{})
	})
}

// DeleteAppRoleAssignment removes an assignment.
func (db *DB) DeleteAppRoleAssignment(ctx context.Context, tenantID, id string) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		tb, err := tenantBucketsTx(tx, tenantID)
		if err != nil {
			return err
		}
		var rec assignmentRecord
		if err := getRecord(tb.assignments, "app role assignment", id, &rec); err != nil {
			return err
		}
		return deleteAssignmentTx(tb, rec)
	})
}

// ListAppRoleAssignments lists a tenant's assignments, ordered by id.
func (db *DB) ListAppRoleAssignments(ctx context.Context, tenantID string) ([]consent.AppRoleAssignment, error) {
	return listTenant(ctx, db, tenantID, assignmentRecord.toAssignment, func(tb *tenantBuckets) ([]assignmentRecord, error) {
		return recordsTx[assignmentRecord](tb.assignments, "app role assignment")
	})
}

// PutPermissionGrant creates g or, when a grant exists for the same
// (client, resource, consent type, principal), calls merge on a copy of it
// inside the same transaction and stores the result under the existing id.
// A nil merge replaces the existing grant's scope with g.Scope. merge may
// not change the key fields. Creating fails with ErrNotFound when the client
// or resource service principal, or the user of a Principal grant, is
// missing.
func (db *DB) PutPermissionGrant(ctx context.Context, g consent.PermissionGrant, merge func(existing *consent.PermissionGrant) error) (consent.PermissionGrant, error) {
	if err := checkGrant(g); err != nil {
		return consent.PermissionGrant{}, err
	}
	var out consent.PermissionGrant
	err := db.update(ctx, func(tx *bbolt.Tx) error {
		tb, err := tenantBucketsTx(tx, g.TenantID)
		if err != nil {
			return err
		}
		gk := grantKey(g)
		if id := tb.grantByKey.Get(gk); id != nil {
			var rec grantRecord
			if err := getRecord(tb.grants, "permission grant", string(id), &rec); err != nil {
				return damaged("tenant %s: grant_by_key names grant %s: %v", g.TenantID, id, err)
			}
			existing := rec.toGrant()
			merged := existing
			if merge == nil {
				merged.Scope = g.Scope
			} else if err := merge(&merged); err != nil {
				return err
			}
			if merged.ID != existing.ID || merged.TenantID != existing.TenantID || merged.ClientID != existing.ClientID ||
				merged.ResourceID != existing.ResourceID || merged.ConsentType != existing.ConsentType || merged.PrincipalID != existing.PrincipalID {
				return fmt.Errorf("%w: permission grant %s: a merge may only change the scope", tenant.ErrInvalid, existing.ID)
			}
			out = merged
			return putRecord(tb.grants, "permission grant", merged.ID, []byte(merged.ID), fromGrant(merged))
		}
		if tb.grants.Get([]byte(g.ID)) != nil {
			return fmt.Errorf("permission grant %s: %w", g.ID, tenant.ErrExists)
		}
		if tb.sps.Get([]byte(g.ClientID)) == nil {
			return fmt.Errorf("client service principal %s in tenant %s: %w", g.ClientID, g.TenantID, tenant.ErrNotFound)
		}
		if tb.sps.Get([]byte(g.ResourceID)) == nil {
			return fmt.Errorf("resource service principal %s in tenant %s: %w", g.ResourceID, g.TenantID, tenant.ErrNotFound)
		}
		if g.ConsentType == consent.Principal && tb.users.Get([]byte(g.PrincipalID)) == nil {
			return fmt.Errorf("user %s in tenant %s: %w", g.PrincipalID, g.TenantID, tenant.ErrNotFound)
		}
		if err := putRecord(tb.grants, "permission grant", g.ID, []byte(g.ID), fromGrant(g)); err != nil {
			return err
		}
		if err := put(tb.grantByClient, key(g.ClientID, g.ResourceID, g.ID), []byte{}); err != nil {
			return err
		}
		out = g
		return put(tb.grantByKey, gk, []byte(g.ID))
	})
	if err != nil {
		return consent.PermissionGrant{}, err
	}
	return out, nil
}

// DeletePermissionGrant removes a grant.
func (db *DB) DeletePermissionGrant(ctx context.Context, tenantID, id string) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		tb, err := tenantBucketsTx(tx, tenantID)
		if err != nil {
			return err
		}
		var rec grantRecord
		if err := getRecord(tb.grants, "permission grant", id, &rec); err != nil {
			return err
		}
		return deleteGrantTx(tb, rec)
	})
}

// ListPermissionGrants lists a tenant's grants, ordered by id.
func (db *DB) ListPermissionGrants(ctx context.Context, tenantID string) ([]consent.PermissionGrant, error) {
	return listTenant(ctx, db, tenantID, grantRecord.toGrant, func(tb *tenantBuckets) ([]grantRecord, error) {
		return recordsTx[grantRecord](tb.grants, "permission grant")
	})
}

// grantKey is the natural key of a grant: one grant per (client, resource,
// consent type, principal); the principal is empty for AllPrincipals.
func grantKey(g consent.PermissionGrant) []byte {
	return key(g.ClientID, g.ResourceID, g.ConsentType, g.PrincipalID)
}

// checkGrant refuses a grant that could not be indexed, or whose consent
// type and principal disagree.
func checkGrant(g consent.PermissionGrant) error {
	for _, p := range []struct{ what, v string }{
		{"grant id", g.ID}, {"grant tenant id", g.TenantID},
		{"grant client id", g.ClientID}, {"grant resource id", g.ResourceID},
	} {
		if err := checkKeyPart(p.what, p.v); err != nil {
			return err
		}
	}
	switch g.ConsentType {
	case consent.AllPrincipals:
		if g.PrincipalID != "" {
			return fmt.Errorf("%w: grant %s: an AllPrincipals grant has no principal (got %s)", tenant.ErrInvalid, g.ID, g.PrincipalID)
		}
	case consent.Principal:
		return checkKeyPart("grant principal id", g.PrincipalID)
	default:
		return fmt.Errorf("%w: grant %s: consent type must be %s or %s, not %q",
			tenant.ErrInvalid, g.ID, consent.AllPrincipals, consent.Principal, g.ConsentType)
	}
	return nil
}

// checkPrincipalTx checks that an assignment's principal exists in the
// tenant: a user for principal type User, a service principal for
// ServicePrincipal, a group for Group (a role assigned to a group reaches
// its direct members), a user or service principal when the type is empty.
func checkPrincipalTx(tb *tenantBuckets, id, principalType string) error {
	// consent's principal types are spelled as tenant's object types.
	var ok bool
	switch objectType := objectTypeTx(tb, id); principalType {
	case "":
		ok = objectType == tenant.ObjectUser || objectType == tenant.ObjectServicePrincipal
	default:
		ok = objectType == principalType
	}
	if !ok {
		what := "principal"
		if principalType != "" {
			what = principalType
		}
		return fmt.Errorf("%s %s in tenant %s: %w", what, id, tb.id, tenant.ErrNotFound)
	}
	return nil
}

// assignmentsOfTx reads a principal's assignments on a resource through the
// principal index.
func assignmentsOfTx(tb *tenantBuckets, principalID, resourceID string) ([]assignmentRecord, error) {
	var out []assignmentRecord
	err := forEachPrefix(tb.assignmentByPrincipal, key(principalID, resourceID, ""), func(id string) error {
		var rec assignmentRecord
		v := tb.assignments.Get([]byte(id))
		if v == nil {
			return damaged("tenant %s: assignment_by_principal names assignment %s, which is missing", tb.id, id)
		}
		if err := assignmentCache.decode(v, "app role assignment", id, &rec); err != nil {
			return damaged("tenant %s: assignment_by_principal names assignment %s: %v", tb.id, id, err)
		}
		out = append(out, rec)
		return nil
	})
	return out, err
}

// deleteAssignmentTx removes an assignment and its index entry.
func deleteAssignmentTx(tb *tenantBuckets, rec assignmentRecord) error {
	if err := del(tb.assignments, []byte(rec.ID)); err != nil {
		return err
	}
	return del(tb.assignmentByPrincipal, key(rec.PrincipalID, rec.ResourceID, rec.ID))
}

// deleteHeldAssignmentsTx removes at most limit of the app role
// assignments that principal id holds, found through
// assignment_by_principal (a drain's write, drainObjects), and reports
// whether it holds more.
func deleteHeldAssignmentsTx(tb *tenantBuckets, id string, limit int) (more bool, err error) {
	prefix := key(id, "")
	var ids []string
	c := tb.assignmentByPrincipal.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if len(ids) == limit {
			more = true
			break
		}
		ids = append(ids, string(k[bytes.LastIndexByte(k, 0)+1:]))
	}
	for _, aid := range ids {
		var rec assignmentRecord
		if err := getRecord(tb.assignments, "app role assignment", aid, &rec); err != nil {
			return false, err
		}
		if err := deleteAssignmentTx(tb, rec); err != nil {
			return false, err
		}
	}
	return more, nil
}

// deleteAssignmentsTx removes the tenant's assignments that match.
func deleteAssignmentsTx(tb *tenantBuckets, match func(assignmentRecord) bool) error {
	return deleteMatchingTx(tb, tb.assignments, "app role assignment", match, deleteAssignmentTx)
}

// deleteGrantTx removes a grant and its index entries.
func deleteGrantTx(tb *tenantBuckets, rec grantRecord) error {
	if err := del(tb.grants, []byte(rec.ID)); err != nil {
		return err
	}
	if err := del(tb.grantByClient, key(rec.ClientID, rec.ResourceID, rec.ID)); err != nil {
		return err
	}
	gk := grantKey(rec.toGrant())
	if string(tb.grantByKey.Get(gk)) == rec.ID {
		return del(tb.grantByKey, gk)
	}
	return nil
}

// deleteGrantsTx removes the tenant's grants that match.
func deleteGrantsTx(tb *tenantBuckets, match func(grantRecord) bool) error {
	return deleteMatchingTx(tb, tb.grants, "permission grant", match, deleteGrantTx)
}

// deleteMatchingTx removes, with remove, the records of b that match. It
// reads every record of the bucket first: deletes are rare, an index per
// direction would be one more thing to keep consistent, and bbolt forbids
// deleting from a bucket while iterating over it.
func deleteMatchingTx[R any](tb *tenantBuckets, b *bbolt.Bucket, kind string, match func(R) bool, remove func(*tenantBuckets, R) error) error {
	recs, err := recordsTx[R](b, kind)
	if err != nil {
		return err
	}
	for _, rec := range recs {
		if match(rec) {
			if err := remove(tb, rec); err != nil {
				return err
			}
		}
	}
	return nil
}

// listTenant runs read over a tenant's buckets in one read transaction and
// converts the records it returns with to. A missing tenant is ErrNotFound;
// an empty list is [], not nil, as Graph shows it.
func listTenant[R, T any](ctx context.Context, db *DB, tenantID string, to func(R) T, read func(tb *tenantBuckets) ([]R, error)) ([]T, error) {
	var recs []R
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		tb, err := tenantBucketsTx(tx, tenantID)
		if err != nil {
			return err
		}
		recs, err = read(tb)
		return err
	})
	if err != nil {
		return nil, err
	}
	return convert(recs, to), nil
}

// recordsTx decodes every record of b, in key order; kind names them in
// errors.
func recordsTx[R any](b *bbolt.Bucket, kind string) ([]R, error) {
	var out []R
	err := b.ForEach(func(k, v []byte) error {
		var rec R
		if err := decodeRecord(v, kind, string(k), &rec); err != nil {
			return err
		}
		out = append(out, rec)
		return nil
	})
	return out, err
}
