package storage

import (
	"context"
	"fmt"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/issuer-dev/issuer/tenant"
)

// CreateApplication stores a new application in its home tenant together
// with home, its service principal there, in one transaction. It fails with
// ErrExists if the appId is taken or an identifier URI conflicts with another
// application's (tenant.IdentifierURIConflict), and with ErrNotFound if the
// home tenant does not exist.
func (db *DB) CreateApplication(ctx context.Context, app tenant.Application, home tenant.ServicePrincipal) error {
	uris, err := checkNewApplication(app, home)
	if err != nil {
		return err
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		return createApplicationTx(tx, app, home, uris)
	})
}

// checkNewApplication refuses an application or home service principal
// whose key fields cannot be keys, or that do not belong together, and
// returns the application's URI keys.
func checkNewApplication(app tenant.Application, home tenant.ServicePrincipal) ([]string, error) {
	if err := checkApplication(app); err != nil {
		return nil, err
	}
	if err := checkServicePrincipal(home); err != nil {
		return nil, err
	}
	if home.AppID != app.AppID || home.TenantID != app.HomeTenantID {
		return nil, fmt.Errorf("%w: the home service principal of application %s must have appId %s and tenant %s, not %s and %s",
			tenant.ErrInvalid, app.AppID, app.AppID, app.HomeTenantID, home.AppID, home.TenantID)
	}
	return nameKeys("identifier URI", app.IdentifierURIs, uriKey)
}

// createApplicationTx writes a new application (uris are its URI keys) with
// its indexes and its home service principal.
func createApplicationTx(tx *bbolt.Tx, app tenant.Application, home tenant.ServicePrincipal, uris []string) error {
	tb, err := tenantBucketsTx(tx, app.HomeTenantID)
	if err != nil {
		return err
	}
	appHome := tx.Bucket(bucketAppHome)
	if appHome.Get([]byte(app.AppID)) != nil {
		return fmt.Errorf("application %s: %w", app.AppID, tenant.ErrExists)
	}
	if err := checkURIConflictsTx(tx, app, uris); err != nil {
		return err
	}
	if err := putRecord(tb.apps, "application", app.AppID, []byte(app.AppID), fromApplication(app)); err != nil {
		return err
	}
	if err := put(appHome, []byte(app.AppID), []byte(app.HomeTenantID)); err != nil {
		return err
	}
	byURI := tx.Bucket(bucketAppByURI)
	for _, u := range uris {
		if err := put(byURI, key(u, app.AppID), []byte{}); err != nil {
			return err
		}
	}
	return createServicePrincipalTx(tx, tb, home, uris)
}

// ListApplications lists the applications homed in a tenant, ordered by
// appId.
func (db *DB) ListApplications(ctx context.Context, tenantID string) ([]tenant.Application, error) {
	out := []tenant.Application{}
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		tb, err := tenantBucketsTx(tx, tenantID)
		if err != nil {
			return err
		}
		return tb.apps.ForEach(func(k, v []byte) error {
			var rec applicationRecord
			if err := decodeRecord(v, "application", string(k), &rec); err != nil {
				return err
			}
			out = append(out, rec.toApplication())
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// UpdateApplication applies update to the application, re-checks identifier
// URI conflicts (a new URI, or a change of sign-in audience, may clash) and
// keeps the URI index in step. update may not change the appId, the object
// id or the home tenant.
func (db *DB) UpdateApplication(ctx context.Context, appID string, update func(*tenant.Application) error) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		old, err := getApplicationTx(tx, appID)
		if err != nil {
			return err
		}
		app := fromApplication(old).toApplication() // a copy the updater may change freely
		if err := update(&app); err != nil {
			return err
		}
		if app.AppID != old.AppID || app.ID != old.ID || app.HomeTenantID != old.HomeTenantID {
			return fmt.Errorf("%w: application %s: an update may not change appId, id or homeTenantId", tenant.ErrInvalid, appID)
		}
		oldURIs, err := storedURIKeys(old)
		if err != nil {
			return err
		}
		newURIs, err := nameKeys("identifier URI", app.IdentifierURIs, uriKey)
		if err != nil {
			return err
		}
		if err := checkURIConflictsTx(tx, app, newURIs); err != nil {
			return err
		}
		byURI := tx.Bucket(bucketAppByURI)
		for _, u := range oldURIs {
			if !slices.Contains(newURIs, u) {
				if err := del(byURI, key(u, appID)); err != nil {
					return err
				}
			}
		}
		for _, u := range newURIs {
			if err := put(byURI, key(u, appID), []byte{}); err != nil {
				return err
			}
		}
		var dropped []string
		for _, u := range oldURIs {
			if !slices.Contains(newURIs, u) {
				dropped = append(dropped, u)
			}
		}
		if err := forEachSPTenantTx(tx, appID, func(tb *tenantBuckets) error {
			if err := deleteSPURIsTx(tb, appID, dropped); err != nil {
				return err
			}
			return putSPURIsTx(tb, appID, newURIs)
		}); err != nil {
			return err
		}
		tb, err := tenantBucketsTx(tx, app.HomeTenantID)
		if err != nil {
			return damaged("application %s: home tenant: %v", appID, err)
		}
		return putRecord(tb.apps, "application", appID, []byte(appID), fromApplication(app))
	})
}

// DeleteApplication removes the application, its service principals in
// every tenant with their group memberships, and every grant or assignment
// naming one of them (as client, principal or resource).
func (db *DB) DeleteApplication(ctx context.Context, appID string) error {
	if err := db.drainRefreshTokens(ctx, func(tx *bbolt.Tx) ([]tokenSet, error) {
		return applicationTokensTx(tx, appID)
	}); err != nil {
		return err
	}
	if err := db.drainObjects(ctx, func(tx *bbolt.Tx) ([]directoryObject, error) {
		return applicationObjectsTx(tx, appID)
	}); err != nil {
		return err
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		return deleteApplicationTx(tx, appID)
	})
}

// getApplicationTx loads an application from its home tenant, found through
// app_home.
func getApplicationTx(tx *bbolt.Tx, appID string) (tenant.Application, error) {
	home := tx.Bucket(bucketAppHome).Get([]byte(appID))
	if home == nil {
		return tenant.Application{}, fmt.Errorf("application %s: %w", appID, tenant.ErrNotFound)
	}
	homeID := string(home)
	root, err := tenantRootTx(tx, homeID)
	if err != nil {
		return tenant.Application{}, damaged("application %s: home tenant %s: %v", appID, homeID, err)
	}
	apps, err := subBucket(root, homeID, bucketApplications)
	if err != nil {
		return tenant.Application{}, err
	}
	v := apps.Get([]byte(appID))
	if v == nil {
		return tenant.Application{}, damaged("application %s is indexed in tenant %s but not stored there", appID, homeID)
	}
	var rec applicationRecord
	if err := applicationCache.decode(v, "application", appID, &rec); err != nil {
		return tenant.Application{}, err
	}
	return rec.toApplication(), nil
}

// checkURIConflictsTx fails with ErrExists if another application holds one
// of uris (normalised keys of app's identifier URIs) and the two may not
// share it.
func checkURIConflictsTx(tx *bbolt.Tx, app tenant.Application, uris []string) error {
	byURI := tx.Bucket(bucketAppByURI)
	for _, u := range uris {
		var holders []string
		if err := forEachPrefix(byURI, key(u, ""), func(otherID string) error {
			if otherID != app.AppID {
				holders = append(holders, otherID)
			}
			return nil
		}); err != nil {
			return err
		}
		for _, otherID := range holders {
			other, err := getApplicationTx(tx, otherID)
			if err != nil {
				return damaged("identifier URI %s names application %s: %v", u, otherID, err)
			}
			if tenant.IdentifierURIConflict(app, other) {
				return fmt.Errorf("identifier URI %s is used by application %s (%s): %w", u, other.AppID, other.DisplayName, tenant.ErrExists)
			}
		}
	}
	return nil
}

// applicationTokensTx names the refresh tokens issued to appID, in every
// tenant where it has a service principal: deleting it deletes them.
func applicationTokensTx(tx *bbolt.Tx, appID string) ([]tokenSet, error) {
	var sets []tokenSet
	err := forEachSPTenantTx(tx, appID, func(tb *tenantBuckets) error {
		sets = append(sets, tokenSet{prefix: key(tb.id, ""), match: clientTokens(appID)})
		return nil
	})
	return sets, err
}

// deleteApplicationTx is DeleteApplication inside a transaction; DeleteTenant
// uses it for the applications homed in the tenant.
func deleteApplicationTx(tx *bbolt.Tx, appID string) error {
	app, err := getApplicationTx(tx, appID)
	if err != nil {
		return err
	}
	uris, err := storedURIKeys(app)
	if err != nil {
		return err
	}
	if err := forEachSPTenantTx(tx, appID, func(tb *tenantBuckets) error {
		sp, err := getServicePrincipalTx(tb, appID)
		if err != nil {
			return damaged("application %s has a service principal in tenant %s: %v", appID, tb.id, err)
		}
		return deleteServicePrincipalTx(tx, tb, sp, uris)
	}); err != nil {
		return err
	}
	tb, err := tenantBucketsTx(tx, app.HomeTenantID)
	if err != nil {
		return damaged("application %s: home tenant: %v", appID, err)
	}
	if err := del(tb.apps, []byte(appID)); err != nil {
		return err
	}
	if err := del(tx.Bucket(bucketAppHome), []byte(appID)); err != nil {
		return err
	}
	byURI := tx.Bucket(bucketAppByURI)
	for _, u := range uris {
		if err := del(byURI, key(u, appID)); err != nil {
			return err
		}
	}
	return nil
}

// forEachSPTenantTx calls fn with the buckets of every tenant where the
// application has a service principal (the app_sps index). The tenant list
// is read first, so fn may change app_sps.
func forEachSPTenantTx(tx *bbolt.Tx, appID string, fn func(tb *tenantBuckets) error) error {
	var tenants []string
	if err := forEachPrefix(tx.Bucket(bucketAppSPs), key(appID, ""), func(tenantID string) error {
		tenants = append(tenants, tenantID)
		return nil
	}); err != nil {
		return err
	}
	for _, tenantID := range tenants {
		tb, err := tenantBucketsTx(tx, tenantID)
		if err != nil {
			return damaged("application %s has a service principal in tenant %s: %v", appID, tenantID, err)
		}
		if err := fn(tb); err != nil {
			return err
		}
	}
	return nil
}

// checkApplication refuses an application whose key fields cannot be keys.
func checkApplication(app tenant.Application) error {
	if err := checkKeyPart("appId", app.AppID); err != nil {
		return err
	}
	return checkKeyPart("home tenant id", app.HomeTenantID)
}
