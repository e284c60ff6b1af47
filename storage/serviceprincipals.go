package storage

import (
	"context"
	"fmt"
	"strings"

	"go.etcd.io/bbolt"

	"github.com/issuer-dev/issuer/tenant"
)

// CreateServicePrincipal instantiates an application in sp.TenantID. It
// fails with ErrNotFound if the tenant or the application does not exist,
// and with ErrExists if the application already has a service principal
// there (or the object id is taken). Whether the application may be
// instantiated outside its home tenant is the Directory's rule, not this
// method's.
func (db *DB) CreateServicePrincipal(ctx context.Context, sp tenant.ServicePrincipal) error {
	if err := checkServicePrincipal(sp); err != nil {
		return err
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		tb, err := tenantBucketsTx(tx, sp.TenantID)
		if err != nil {
			return err
		}
		app, err := getApplicationTx(tx, sp.AppID)
		if err != nil {
			return err
		}
		uris, err := storedURIKeys(app)
		if err != nil {
			return err
		}
		return createServicePrincipalTx(tx, tb, sp, uris)
	})
}

// GetServicePrincipal returns the application's service principal in a
// tenant.
func (db *DB) GetServicePrincipal(ctx context.Context, tenantID, appID string) (tenant.ServicePrincipal, error) {
	var sp tenant.ServicePrincipal
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		tb, err := tenantBucketsTx(tx, tenantID)
		if err != nil {
			return err
		}
		sp, err = getServicePrincipalTx(tb, appID)
		return err
	})
	return sp, err
}

// ListServicePrincipals lists the service principals in a tenant, ordered by
// object id.
func (db *DB) ListServicePrincipals(ctx context.Context, tenantID string) ([]tenant.ServicePrincipal, error) {
	out := []tenant.ServicePrincipal{}
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		tb, err := tenantBucketsTx(tx, tenantID)
		if err != nil {
			return err
		}
		return tb.sps.ForEach(func(k, v []byte) error {
			var rec servicePrincipalRecord
			if err := decodeRecord(v, "service principal", string(k), &rec); err != nil {
				return err
			}
			out = append(out, rec.toServicePrincipal())
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateServicePrincipal applies update to the application's service
// principal in a tenant. update may not change the object id, appId or
// tenant.
func (db *DB) UpdateServicePrincipal(ctx context.Context, tenantID, appID string, update func(*tenant.ServicePrincipal) error) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		tb, err := tenantBucketsTx(tx, tenantID)
		if err != nil {
			return err
		}
		old, err := getServicePrincipalTx(tb, appID)
		if err != nil {
			return err
		}
		sp := old
		if err := update(&sp); err != nil {
			return err
		}
		if sp.ID != old.ID || sp.AppID != old.AppID || sp.TenantID != old.TenantID {
			return fmt.Errorf("%w: service principal %s: an update may not change id, appId or tenantId", tenant.ErrInvalid, old.ID)
		}
		return putRecord(tb.sps, "service principal", sp.ID, []byte(sp.ID), fromServicePrincipal(sp))
	})
}

// DeleteServicePrincipal removes the application's service principal in a
// tenant, its group memberships and the grants and assignments of that
// tenant naming it as client, principal or resource. The application
// itself stays.
func (db *DB) DeleteServicePrincipal(ctx context.Context, tenantID, appID string) error {
	if err := db.drainRefreshTokens(ctx, func(*bbolt.Tx) ([]tokenSet, error) {
		return []tokenSet{{prefix: key(tenantID, ""), match: clientTokens(appID)}}, nil
	}); err != nil {
		return err
	}
	if err := db.drainObjects(ctx, func(tx *bbolt.Tx) ([]directoryObject, error) {
		spID := tx.Bucket(bucketAppSPs).Get(key(appID, tenantID))
		if spID == nil {
			return nil, nil
		}
		return []directoryObject{{tenantID, string(spID), tenant.ObjectServicePrincipal}}, nil
	}); err != nil {
		return err
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		tb, err := tenantBucketsTx(tx, tenantID)
		if err != nil {
			return err
		}
		sp, err := getServicePrincipalTx(tb, appID)
		if err != nil {
			return err
		}
		app, err := getApplicationTx(tx, appID)
		if err != nil {
			return damaged("service principal %s in tenant %s: %v", sp.ID, tenantID, err)
		}
		uris, err := storedURIKeys(app)
		if err != nil {
			return err
		}
		return deleteServicePrincipalTx(tx, tb, sp, uris)
	})
}

// findServicePrincipalTx is FindServicePrincipal's read: sp_by_app or
// sp_by_uri, then sp_by_app and service_principals of the tenant, then
// app_home and the home tenant's applications. It opens only those
// sub-buckets.
func findServicePrincipalTx(tx *bbolt.Tx, tenantID, name string) (tenant.ServicePrincipal, tenant.Application, error) {
	var (
		sp  tenant.ServicePrincipal
		app tenant.Application
	)
	notFound := func() error { return fmt.Errorf("application %q in tenant %s: %w", name, tenantID, tenant.ErrNotFound) }
	root, err := tenantRootTx(tx, tenantID)
	if err != nil {
		return sp, app, err
	}
	spByApp, err := subBucket(root, tenantID, bucketSPByApp)
	if err != nil {
		return sp, app, err
	}
	var appID []byte
	if n := strings.TrimSpace(name); tenant.IsGUID(n) {
		appID = []byte(strings.ToLower(n))
	} else if u := uriKey(name); checkKeyPart("identifier URI", u) == nil {
		spByURI, err := subBucket(root, tenantID, bucketSPByURI)
		if err != nil {
			return sp, app, err
		}
		if appID = spByURI.Get([]byte(u)); appID != nil {
			// An indexed URI must lead to a service principal.
			if spByApp.Get(appID) == nil {
				return sp, app, damaged("tenant %s: sp_by_uri names application %s for %q, which has no service principal there", tenantID, appID, name)
			}
		}
	}
	if appID == nil {
		return sp, app, notFound()
	}
	spID := spByApp.Get(appID)
	if spID == nil {
		return sp, app, notFound()
	}
	sps, err := subBucket(root, tenantID, bucketServicePrincipals)
	if err != nil {
		return sp, app, err
	}
	v := sps.Get(spID)
	if v == nil {
		return sp, app, damaged("tenant %s: sp_by_app names service principal %s, which is missing", tenantID, spID)
	}
	var rec servicePrincipalRecord
	if err := spCache.decode(v, "service principal", string(spID), &rec); err != nil {
		return sp, app, err
	}
	if app, err = getApplicationTx(tx, string(appID)); err != nil {
		return sp, app, damaged("service principal %s in tenant %s: %v", spID, tenantID, err)
	}
	return rec.toServicePrincipal(), app, nil
}

// createServicePrincipalTx writes a new service principal with its indexes:
// sp_by_app and sp_by_uri (uris are the application's URI keys) in the
// tenant, app_sps globally. Within a tenant an identifier URI names one
// application, as Entra's servicePrincipalNames are unique per tenant.
func createServicePrincipalTx(tx *bbolt.Tx, tb *tenantBuckets, sp tenant.ServicePrincipal, uris []string) error {
	if tb.spByApp.Get([]byte(sp.AppID)) != nil {
		return fmt.Errorf("service principal of application %s in tenant %s: %w", sp.AppID, tb.id, tenant.ErrExists)
	}
	if objectTypeTx(tb, sp.ID) != "" {
		return fmt.Errorf("object %s in tenant %s: %w", sp.ID, tb.id, tenant.ErrExists)
	}
	if err := putSPURIsTx(tb, sp.AppID, uris); err != nil {
		return err
	}
	if err := putRecord(tb.sps, "service principal", sp.ID, []byte(sp.ID), fromServicePrincipal(sp)); err != nil {
		return err
	}
	if err := put(tb.spByApp, []byte(sp.AppID), []byte(sp.ID)); err != nil {
		return err
	}
	return put(tx.Bucket(bucketAppSPs), key(sp.AppID, tb.id), []byte(sp.ID))
}

// putSPURIsTx points the tenant's sp_by_uri entries for uris at appID. A URI
// already naming another application there fails with ErrExists.
func putSPURIsTx(tb *tenantBuckets, appID string, uris []string) error {
	for _, u := range uris {
		owner := tb.spByURI.Get([]byte(u))
		if owner != nil && string(owner) != appID {
			return fmt.Errorf("identifier URI %s already names application %s in tenant %s: %w", u, owner, tb.id, tenant.ErrExists)
		}
		if owner == nil {
			if err := put(tb.spByURI, []byte(u), []byte(appID)); err != nil {
				return err
			}
		}
	}
	return nil
}

// deleteSPURIsTx removes the tenant's sp_by_uri entries for uris that name
// appID.
func deleteSPURIsTx(tb *tenantBuckets, appID string, uris []string) error {
	for _, u := range uris {
		if string(tb.spByURI.Get([]byte(u))) == appID {
			if err := del(tb.spByURI, []byte(u)); err != nil {
				return err
			}
		}
	}
	return nil
}

// getServicePrincipalTx returns the application's service principal in the
// tenant of tb.
func getServicePrincipalTx(tb *tenantBuckets, appID string) (tenant.ServicePrincipal, error) {
	id := tb.spByApp.Get([]byte(appID))
	if id == nil {
		return tenant.ServicePrincipal{}, fmt.Errorf("service principal of application %s in tenant %s: %w", appID, tb.id, tenant.ErrNotFound)
	}
	v := tb.sps.Get(id)
	if v == nil {
		return tenant.ServicePrincipal{}, damaged("tenant %s: sp_by_app names service principal %s, which is missing", tb.id, id)
	}
	var rec servicePrincipalRecord
	if err := spCache.decode(v, "service principal", string(id), &rec); err != nil {
		return tenant.ServicePrincipal{}, err
	}
	return rec.toServicePrincipal(), nil
}

// deleteServicePrincipalTx removes a service principal, its index entries
// (uris are its application's URI keys), its group memberships, the grants
// and assignments of its tenant that name it, and the refresh tokens its application holds as a
// client there (DeleteApplication comes through here for every tenant).
func deleteServicePrincipalTx(tx *bbolt.Tx, tb *tenantBuckets, sp tenant.ServicePrincipal, uris []string) error {
	if err := del(tb.sps, []byte(sp.ID)); err != nil {
		return err
	}
	if err := deleteSPURIsTx(tb, sp.AppID, uris); err != nil {
		return err
	}
	if string(tb.spByApp.Get([]byte(sp.AppID))) == sp.ID {
		if err := del(tb.spByApp, []byte(sp.AppID)); err != nil {
			return err
		}
	}
	if err := del(tx.Bucket(bucketAppSPs), key(sp.AppID, tb.id)); err != nil {
		return err
	}
	if err := deleteMembershipsTx(tb, sp.ID, -1); err != nil {
		return err
	}
	if err := deleteAssignmentsTx(tb, func(a assignmentRecord) bool {
		return a.PrincipalID == sp.ID || a.ResourceID == sp.ID
	}); err != nil {
		return err
	}
	if err := deleteRefreshTokensTx(tx, tokenSet{prefix: key(tb.id, ""), match: clientTokens(sp.AppID)}); err != nil {
		return err
	}
	return deleteGrantsTx(tb, func(g grantRecord) bool {
		return g.ClientID == sp.ID || g.ResourceID == sp.ID || g.PrincipalID == sp.ID
	})
}

// checkServicePrincipal refuses a service principal whose key fields cannot
// be keys.
func checkServicePrincipal(sp tenant.ServicePrincipal) error {
	if err := checkKeyPart("service principal id", sp.ID); err != nil {
		return err
	}
	if err := checkKeyPart("service principal appId", sp.AppID); err != nil {
		return err
	}
	return checkKeyPart("service principal tenant id", sp.TenantID)
}

// TenantsWithoutServicePrincipal returns the ids of the tenants that have
// no service principal of application appID, in one read transaction of
// index keys, no record decoded: the check of a start over a directory of
// 10,000 tenants (tenant.Directory.EnsureMicrosoftGraph) costs
// milliseconds, where reading each tenant's Graph service principal cost a
// fifth of a second and 50 MB of garbage.
func (db *DB) TenantsWithoutServicePrincipal(ctx context.Context, appID string) ([]string, error) {
	var out []string
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		tenants := tx.Bucket(bucketTenant)
		return tenants.ForEachBucket(func(k []byte) error {
			byApp, err := subBucket(tenants.Bucket(k), string(k), bucketSPByApp)
			if err != nil {
				return err
			}
			if byApp.Get([]byte(appID)) == nil {
				out = append(out, string(k))
			}
			return nil
		})
	})
	return out, err
}
