package storage

import (
	"context"
	"errors"
	"strings"
	"testing"

	"go.etcd.io/bbolt"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// TestDamagedData writes undecodable records and dangling index entries by
// hand and checks that every method reading them returns an error saying so:
// no panic, and never ErrNotFound (a damaged file is not an absent object).
func TestDamagedData(t *testing.T) {
	garbage := []byte("{not json")
	inTenant := func(bucket []byte, k string, v []byte) func(tx *bbolt.Tx) error {
		return func(tx *bbolt.Tx) error {
			return tx.Bucket(bucketTenant).Bucket([]byte(tenantA)).Bucket(bucket).Put([]byte(k), v)
		}
	}
	inRoot := func(bucket []byte, k []byte, v []byte) func(tx *bbolt.Tx) error {
		return func(tx *bbolt.Tx) error { return tx.Bucket(bucket).Put(k, v) }
	}
	role := objectID("role")
	type fixture struct {
		orders, client tenant.ServicePrincipal
		alice          tenant.User
		assignment     consent.AppRoleAssignment
		grant          consent.PermissionGrant
	}

	for _, tc := range []struct {
		name    string
		damage  func(f fixture) func(tx *bbolt.Tx) error
		call    func(ctx context.Context, db *DB, f fixture) error
		wantMsg string
	}{
		{"tenant record / GetTenant", func(f fixture) func(*bbolt.Tx) error { return inRoot(bucketTenants, []byte(tenantA), garbage) },
			func(ctx context.Context, db *DB, f fixture) error { _, err := db.GetTenant(ctx, tenantA); return err }, "decode tenant"},
		{"tenant record / ListTenants", func(f fixture) func(*bbolt.Tx) error { return inRoot(bucketTenants, []byte(tenantA), garbage) },
			func(ctx context.Context, db *DB, f fixture) error { _, err := db.ListTenants(ctx); return err }, "decode tenant"},
		{"tenant record / DeleteTenant", func(f fixture) func(*bbolt.Tx) error { return inRoot(bucketTenants, []byte(tenantA), garbage) },
			func(ctx context.Context, db *DB, f fixture) error { return db.DeleteTenant(ctx, tenantA) }, "decode tenant"},
		{"application record / GetApplication", func(f fixture) func(*bbolt.Tx) error { return inTenant(bucketApplications, appOrders, garbage) },
			func(ctx context.Context, db *DB, f fixture) error {
				_, err := db.GetApplication(ctx, appOrders)
				return err
			}, "decode application"},
		{"application record / FindServicePrincipal", func(f fixture) func(*bbolt.Tx) error { return inTenant(bucketApplications, appOrders, garbage) },
			func(ctx context.Context, db *DB, f fixture) error {
				_, _, err := db.FindServicePrincipal(ctx, tenantA, "api://orders")
				return err
			}, "decode application"},
		{"application record / ListApplications", func(f fixture) func(*bbolt.Tx) error { return inTenant(bucketApplications, appOrders, garbage) },
			func(ctx context.Context, db *DB, f fixture) error {
				_, err := db.ListApplications(ctx, tenantA)
				return err
			}, "decode application"},
		{"application record / UpdateApplication", func(f fixture) func(*bbolt.Tx) error { return inTenant(bucketApplications, appOrders, garbage) },
			func(ctx context.Context, db *DB, f fixture) error {
				return db.UpdateApplication(ctx, appOrders, func(*tenant.Application) error { return nil })
			}, "decode application"},
		{"application record / DeleteTenant", func(f fixture) func(*bbolt.Tx) error { return inTenant(bucketApplications, appOrders, garbage) },
			func(ctx context.Context, db *DB, f fixture) error { return db.DeleteTenant(ctx, tenantA) }, "decode application"},
		{"application record / URI conflict check", func(f fixture) func(*bbolt.Tx) error { return inTenant(bucketApplications, appOrders, garbage) },
			func(ctx context.Context, db *DB, f fixture) error {
				app := newApp(appOther, tenantA, "api://orders")
				return db.CreateApplication(ctx, app, newSP(tenantA, app))
			}, "decode application"},
		{"service principal record / GetServicePrincipal", func(f fixture) func(*bbolt.Tx) error {
			return inTenant(bucketServicePrincipals, f.orders.ID, garbage)
		}, func(ctx context.Context, db *DB, f fixture) error {
			_, err := db.GetServicePrincipal(ctx, tenantA, appOrders)
			return err
		}, "decode service principal"},
		{"service principal record / FindServicePrincipal", func(f fixture) func(*bbolt.Tx) error {
			return inTenant(bucketServicePrincipals, f.orders.ID, garbage)
		}, func(ctx context.Context, db *DB, f fixture) error {
			_, _, err := db.FindServicePrincipal(ctx, tenantA, appOrders)
			return err
		}, "decode service principal"},
		{"service principal record / ListServicePrincipals", func(f fixture) func(*bbolt.Tx) error {
			return inTenant(bucketServicePrincipals, f.orders.ID, garbage)
		}, func(ctx context.Context, db *DB, f fixture) error {
			_, err := db.ListServicePrincipals(ctx, tenantA)
			return err
		}, "decode service principal"},
		{"user record / GetUserByUPN", func(f fixture) func(*bbolt.Tx) error { return inTenant(bucketUsers, f.alice.ID, garbage) },
			func(ctx context.Context, db *DB, f fixture) error {
				_, err := db.GetUserByUPN(ctx, tenantA, "alice@contoso.onmicrosoft.com")
				return err
			}, "decode user"},
		{"user record / ListUsers", func(f fixture) func(*bbolt.Tx) error { return inTenant(bucketUsers, f.alice.ID, garbage) },
			func(ctx context.Context, db *DB, f fixture) error { _, err := db.ListUsers(ctx, tenantA); return err }, "decode user"},
		{"user record / DeleteUser", func(f fixture) func(*bbolt.Tx) error { return inTenant(bucketUsers, f.alice.ID, garbage) },
			func(ctx context.Context, db *DB, f fixture) error { return db.DeleteUser(ctx, tenantA, f.alice.ID) }, "decode user"},
		{"assignment record / AppRoleAssignmentsOf", func(f fixture) func(*bbolt.Tx) error {
			return inTenant(bucketAppRoleAssignments, f.assignment.ID, garbage)
		}, func(ctx context.Context, db *DB, f fixture) error {
			_, err := db.AppRoleAssignmentsOf(ctx, tenantA, f.client.ID, f.orders.ID)
			return err
		}, "decode app role assignment"},
		{"assignment record / cascade of DeleteServicePrincipal", func(f fixture) func(*bbolt.Tx) error {
			return inTenant(bucketAppRoleAssignments, f.assignment.ID, garbage)
		}, func(ctx context.Context, db *DB, f fixture) error {
			return db.DeleteServicePrincipal(ctx, tenantA, appClient)
		}, "decode app role assignment"},
		{"assignment record / ListAppRoleAssignments", func(f fixture) func(*bbolt.Tx) error {
			return inTenant(bucketAppRoleAssignments, f.assignment.ID, garbage)
		}, func(ctx context.Context, db *DB, f fixture) error {
			_, err := db.ListAppRoleAssignments(ctx, tenantA)
			return err
		}, "decode app role assignment"},
		{"grant record / PermissionGrantsOf", func(f fixture) func(*bbolt.Tx) error { return inTenant(bucketPermissionGrants, f.grant.ID, garbage) },
			func(ctx context.Context, db *DB, f fixture) error {
				_, err := db.PermissionGrantsOf(ctx, tenantA, f.client.ID, f.orders.ID)
				return err
			}, "decode permission grant"},
		{"grant record / PutPermissionGrant merge", func(f fixture) func(*bbolt.Tx) error { return inTenant(bucketPermissionGrants, f.grant.ID, garbage) },
			func(ctx context.Context, db *DB, f fixture) error {
				_, err := db.PutPermissionGrant(ctx, f.grant, nil)
				return err
			}, "decode permission grant"},
		{"grant record / cascade of DeleteUser", func(f fixture) func(*bbolt.Tx) error { return inTenant(bucketPermissionGrants, f.grant.ID, garbage) },
			func(ctx context.Context, db *DB, f fixture) error { return db.DeleteUser(ctx, tenantA, f.alice.ID) }, "decode permission grant"},
		{"signing key JSON / SigningKeys", func(f fixture) func(*bbolt.Tx) error { return inRoot(bucketKeys, []byte("kid"), garbage) },
			func(ctx context.Context, db *DB, f fixture) error { _, err := db.SigningKeys(ctx); return err }, "decode signing key"},
		{"signing key DER / SigningKeys", func(f fixture) func(*bbolt.Tx) error {
			return inRoot(bucketKeys, []byte("kid"), []byte(`{"kid":"kid","privateKeyPkcs8":"AAAA","certificate":"AAAA"}`))
		}, func(ctx context.Context, db *DB, f fixture) error { _, err := db.SigningKeys(ctx); return err }, "decode signing key"},
		{"signing key DER / UpdateSigningKey", func(f fixture) func(*bbolt.Tx) error {
			return inRoot(bucketKeys, []byte("kid"), []byte(`{"kid":"kid","privateKeyPkcs8":"AAAA","certificate":"AAAA"}`))
		}, func(ctx context.Context, db *DB, f fixture) error {
			return db.UpdateSigningKey(ctx, "kid", func(*tenant.SigningKey) error { return nil })
		}, "decode signing key"},
		{"app_home names a missing tenant", func(f fixture) func(*bbolt.Tx) error {
			return inRoot(bucketAppHome, []byte(appOrders), []byte(tenantC))
		}, func(ctx context.Context, db *DB, f fixture) error {
			_, err := db.GetApplication(ctx, appOrders)
			return err
		}, "damaged"},
		{"app_home names a tenant without the app", func(f fixture) func(*bbolt.Tx) error {
			return inRoot(bucketAppHome, []byte(appOther), []byte(tenantA))
		}, func(ctx context.Context, db *DB, f fixture) error {
			_, err := db.GetApplication(ctx, appOther)
			return err
		}, "damaged"},
		{"sp_by_app names a missing SP", func(f fixture) func(*bbolt.Tx) error {
			return inTenant(bucketSPByApp, appOrders, []byte(objectID("gone")))
		}, func(ctx context.Context, db *DB, f fixture) error {
			_, _, err := db.FindServicePrincipal(ctx, tenantA, "API://orders/")
			return err
		}, "damaged"},
		{"sp_by_uri names an app without SP", func(f fixture) func(*bbolt.Tx) error {
			return inTenant(bucketSPByURI, "api://ghost", []byte(appOther))
		}, func(ctx context.Context, db *DB, f fixture) error {
			_, _, err := db.FindServicePrincipal(ctx, tenantA, "api://ghost")
			return err
		}, "damaged"},
		{"tenant_by_domain names a missing tenant", func(f fixture) func(*bbolt.Tx) error {
			return inRoot(bucketTenantByDomain, []byte("ghost.com"), []byte(tenantC))
		}, func(ctx context.Context, db *DB, f fixture) error {
			_, err := db.GetTenantByDomain(ctx, "ghost.com")
			return err
		}, "damaged"},
		{"user_by_upn names a missing user", func(f fixture) func(*bbolt.Tx) error {
			return inTenant(bucketUserByUPN, "ghost@contoso.onmicrosoft.com", []byte(objectID("gone")))
		}, func(ctx context.Context, db *DB, f fixture) error {
			_, err := db.GetUserByUPN(ctx, tenantA, "ghost@contoso.onmicrosoft.com")
			return err
		}, "damaged"},
		{"assignment_by_principal names a missing assignment", func(f fixture) func(*bbolt.Tx) error {
			return inTenant(bucketAssignmentByPrincipal, string(key(f.client.ID, f.orders.ID, objectID("gone"))), []byte{})
		}, func(ctx context.Context, db *DB, f fixture) error {
			_, err := db.AppRoleAssignmentsOf(ctx, tenantA, f.client.ID, f.orders.ID)
			return err
		}, "damaged"},
		{"grant_by_client names a missing grant", func(f fixture) func(*bbolt.Tx) error {
			return inTenant(bucketGrantByClient, string(key(f.client.ID, f.orders.ID, objectID("gone"))), []byte{})
		}, func(ctx context.Context, db *DB, f fixture) error {
			_, err := db.PermissionGrantsOf(ctx, tenantA, f.client.ID, f.orders.ID)
			return err
		}, "damaged"},
		{"tenant bucket without a sub-bucket", func(f fixture) func(*bbolt.Tx) error {
			return func(tx *bbolt.Tx) error {
				return tx.Bucket(bucketTenant).Bucket([]byte(tenantA)).DeleteBucket(bucketUsers)
			}
		}, func(ctx context.Context, db *DB, f fixture) error {
			_, err := db.GetUser(ctx, tenantA, f.alice.ID)
			return err
		}, "damaged"},
		{"tenant record without a bucket", func(f fixture) func(*bbolt.Tx) error {
			return func(tx *bbolt.Tx) error {
				return tx.Bucket(bucketTenant).DeleteBucket([]byte(tenantA))
			}
		}, func(ctx context.Context, db *DB, f fixture) error { return db.DeleteTenant(ctx, tenantA) }, "damaged"},
		{"app_sps names a tenant without the SP", func(f fixture) func(*bbolt.Tx) error {
			return inRoot(bucketAppSPs, key(appOrders, tenantB), []byte(objectID("gone")))
		}, func(ctx context.Context, db *DB, f fixture) error { return db.DeleteApplication(ctx, appOrders) }, "damaged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := env{t: t, db: openTestFsck(t, false)}
			ctx := t.Context()
			e.tenant(tenantA, "contoso.onmicrosoft.com")
			e.tenant(tenantB, "fabrikam.onmicrosoft.com")
			var f fixture
			f.orders = e.app(newApp(appOrders, tenantA, "api://orders"))
			f.client = e.app(newApp(appClient, tenantA))
			f.alice = e.user(tenantA, "alice@contoso.onmicrosoft.com")
			f.assignment = e.assign(tenantA, f.client.ID, consent.PrincipalServicePrincipal, f.orders.ID, role)
			f.grant = e.grant(tenantA, f.client.ID, f.orders.ID, consent.Principal, f.alice.ID, "read")
			if err := e.db.bolt.Update(tc.damage(f)); err != nil {
				t.Fatalf("damaging the file: %v", err)
			}
			err := tc.call(ctx, e.db, f)
			if err == nil {
				t.Fatalf("got success; want an error containing %q", tc.wantMsg)
			}
			if !strings.Contains(err.Error(), tc.wantMsg) {
				t.Errorf("got %v; want an error containing %q", err, tc.wantMsg)
			}
			if errors.Is(err, tenant.ErrNotFound) {
				t.Errorf("got %v, which wraps ErrNotFound; a damaged file must not look like an absent object", err)
			}
		})
	}
}
