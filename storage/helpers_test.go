package storage

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"go.etcd.io/bbolt"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// t0 is the fixed time of the fixtures.
var t0 = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

// Fixed ids. Tenants and applications get readable GUIDs; other objects get
// objectID(...), a GUID derived from their names.
const (
	tenantA = "aaaaaaaa-0000-4000-8000-000000000001"
	tenantB = "bbbbbbbb-0000-4000-8000-000000000002"
	tenantC = "cccccccc-0000-4000-8000-000000000003"

	appOrders  = "0a000000-0000-4000-8000-000000000001"
	appBilling = "0b000000-0000-4000-8000-000000000002"
	appClient  = "0c000000-0000-4000-8000-000000000003"
	appOther   = "0d000000-0000-4000-8000-000000000004"
)

// objectID returns a deterministic GUID for the named object.
func objectID(parts ...string) string {
	h := sha256.Sum256([]byte(fmt.Sprint(parts)))
	h[6] = h[6]&0x0f | 0x40
	h[8] = h[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

func spIDOf(tenantID, appID string) string { return objectID("sp", tenantID, appID) }

// openTest opens a fresh database in a temporary directory, closed (and
// checked with fsck) when the test ends.
func openTest(t testing.TB) *DB { return openTestFsck(t, true) }

// openTestFsck is openTest, with the final fsck optional for tests that
// damage the file on purpose.
func openTestFsck(t testing.TB, check bool) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "issuer.db"), Options{})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() {
		if check && !t.Failed() {
			fsck(t, db)
		}
		if err := db.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return db
}

// env bundles a test and its database with helpers that fail the test on
// any error.
type env struct {
	t  testing.TB
	db *DB
}

func newEnv(t testing.TB) env { return env{t: t, db: openTest(t)} }

func newTenant(id string, domains ...string) tenant.Tenant {
	return tenant.Tenant{ID: id, DisplayName: "Tenant " + id[:min(8, len(id))], Domains: domains,
		UserConsent: tenant.UserConsentAllowed, CreatedDateTime: t0}
}

func (e env) tenant(id string, domains ...string) tenant.Tenant {
	e.t.Helper()
	tn := newTenant(id, domains...)
	if err := e.db.CreateTenant(e.t.Context(), tn); err != nil {
		e.t.Fatalf("CreateTenant(%s): %v", id, err)
	}
	return tn
}

// newApp is a single-tenant application as the Directory registers one.
func newApp(appID, home string, uris ...string) tenant.Application {
	if uris == nil {
		uris = []string{}
	}
	return tenant.Application{
		ID: objectID("app", appID), AppID: appID, HomeTenantID: home, DisplayName: "App " + appID[:min(8, len(appID))],
		SignInAudience: tenant.AudienceMyOrg, IdentifierURIs: uris,
		API:      tenant.API{OAuth2PermissionScopes: []tenant.PermissionScope{}},
		AppRoles: []tenant.AppRole{}, RequiredResourceAccess: []tenant.RequiredResourceAccess{},
		PasswordCredentials: []tenant.PasswordCredential{}, KeyCredentials: []tenant.KeyCredential{},
		CreatedDateTime: t0,
	}
}

func multiTenant(a tenant.Application) tenant.Application {
	a.SignInAudience = tenant.AudienceMultipleOrgs
	return a
}

func newSP(tenantID string, app tenant.Application) tenant.ServicePrincipal {
	return tenant.ServicePrincipal{ID: spIDOf(tenantID, app.AppID), AppID: app.AppID, TenantID: tenantID,
		AppOwnerOrganizationID: app.HomeTenantID, DisplayName: app.DisplayName, AccountEnabled: true}
}

// app registers app with its home service principal and returns that.
func (e env) app(app tenant.Application) tenant.ServicePrincipal {
	e.t.Helper()
	sp := newSP(app.HomeTenantID, app)
	if err := e.db.CreateApplication(e.t.Context(), app, sp); err != nil {
		e.t.Fatalf("CreateApplication(%s): %v", app.AppID, err)
	}
	return sp
}

// sp instantiates an existing application in a tenant.
func (e env) sp(tenantID, appID string) tenant.ServicePrincipal {
	e.t.Helper()
	app, err := e.db.GetApplication(e.t.Context(), appID)
	if err != nil {
		e.t.Fatalf("GetApplication(%s): %v", appID, err)
	}
	sp := newSP(tenantID, app)
	if err := e.db.CreateServicePrincipal(e.t.Context(), sp); err != nil {
		e.t.Fatalf("CreateServicePrincipal(%s in %s): %v", appID, tenantID, err)
	}
	return sp
}

func newUser(tenantID, upn string) tenant.User {
	return tenant.User{ID: objectID("user", tenantID, upn), TenantID: tenantID, UserPrincipalName: upn,
		DisplayName: upn, AccountEnabled: true, CreatedDateTime: t0, PasswordHash: "$argon2id$v=19$m=19456,t=2,p=1$c2FsdA$aGFzaA"}
}

func (e env) user(tenantID, upn string) tenant.User {
	e.t.Helper()
	u := newUser(tenantID, upn)
	if err := e.db.CreateUser(e.t.Context(), u); err != nil {
		e.t.Fatalf("CreateUser(%s): %v", upn, err)
	}
	return u
}

func newAssignment(tenantID, principalID, principalType, resourceID, roleID string) consent.AppRoleAssignment {
	return consent.AppRoleAssignment{ID: objectID("assignment", tenantID, principalID, resourceID, roleID),
		TenantID: tenantID, AppRoleID: roleID, PrincipalID: principalID, PrincipalType: principalType,
		PrincipalDisplayName: "principal", ResourceID: resourceID, ResourceDisplayName: "resource", CreatedDateTime: t0}
}

func (e env) assign(tenantID, principalID, principalType, resourceID, roleID string) consent.AppRoleAssignment {
	e.t.Helper()
	a := newAssignment(tenantID, principalID, principalType, resourceID, roleID)
	if err := e.db.CreateAppRoleAssignment(e.t.Context(), a); err != nil {
		e.t.Fatalf("CreateAppRoleAssignment: %v", err)
	}
	return a
}

func newGrant(tenantID, clientID, resourceID, consentType, principalID, scope string) consent.PermissionGrant {
	return consent.PermissionGrant{ID: objectID("grant", tenantID, clientID, resourceID, consentType, principalID),
		TenantID: tenantID, ClientID: clientID, ConsentType: consentType, PrincipalID: principalID,
		ResourceID: resourceID, Scope: scope}
}

func (e env) grant(tenantID, clientID, resourceID, consentType, principalID, scope string) consent.PermissionGrant {
	e.t.Helper()
	g, err := e.db.PutPermissionGrant(e.t.Context(), newGrant(tenantID, clientID, resourceID, consentType, principalID, scope), nil)
	if err != nil {
		e.t.Fatalf("PutPermissionGrant: %v", err)
	}
	return g
}

// wantErr checks err against a sentinel; want nil means success.
func wantErr(t testing.TB, what string, err, want error) {
	t.Helper()
	switch {
	case want == nil && err != nil:
		t.Errorf("%s: got error %v; want success", what, err)
	case want != nil && !errors.Is(err, want):
		t.Errorf("%s: got error %v; want %v", what, err, want)
	}
}

// fsck checks every index of the database against the records, and every
// grant and assignment against the objects it names. It reads the file
// directly, independently of the code under test.
func fsck(t testing.TB, db *DB) {
	t.Helper()
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	decode := func(v []byte, rec any) bool {
		if err := json.Unmarshal(v, rec); err != nil {
			bad("undecodable record %q: %v", v, err)
			return false
		}
		return true
	}
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		for _, name := range rootBuckets {
			if tx.Bucket(name) == nil {
				bad("root bucket %s missing", name)
				return nil
			}
		}
		appHome := tx.Bucket(bucketAppHome)
		byURI := tx.Bucket(bucketAppByURI)
		appSPs := tx.Bucket(bucketAppSPs)
		byDomain := tx.Bucket(bucketTenantByDomain)
		apps := map[string]applicationRecord{}

		tx.Bucket(bucketTenants).ForEach(func(k, v []byte) error {
			var rec tenantRecord
			if !decode(v, &rec) {
				return nil
			}
			if rec.ID != string(k) {
				bad("tenant key %s holds tenant %s", k, rec.ID)
			}
			if tx.Bucket(bucketTenant).Bucket(k) == nil {
				bad("tenant %s has no bucket", k)
			}
			for _, d := range rec.Domains {
				if got := byDomain.Get([]byte(domainKey(d))); string(got) != rec.ID {
					bad("tenant_by_domain[%s] = %q; want %s", d, got, rec.ID)
				}
			}
			return nil
		})
		byDomain.ForEach(func(k, v []byte) error {
			var rec tenantRecord
			if tv := tx.Bucket(bucketTenants).Get(v); tv == nil || !decode(tv, &rec) {
				bad("tenant_by_domain[%s] names missing tenant %s", k, v)
			} else if !slices.ContainsFunc(rec.Domains, func(d string) bool { return domainKey(d) == string(k) }) {
				bad("tenant_by_domain[%s] names tenant %s, which lacks the domain", k, v)
			}
			return nil
		})

		tx.Bucket(bucketTenant).ForEachBucket(func(tid []byte) error {
			tenantID := string(tid)
			if tx.Bucket(bucketTenants).Get(tid) == nil {
				bad("bucket of tenant %s has no record", tid)
			}
			tb, err := tenantBucketsTx(tx, tenantID)
			if err != nil {
				bad("%v", err)
				return nil
			}
			tb.apps.ForEach(func(k, v []byte) error {
				var rec applicationRecord
				if !decode(v, &rec) {
					return nil
				}
				apps[rec.AppID] = rec
				if rec.AppID != string(k) || rec.HomeTenantID != tenantID {
					bad("tenant %s application key %s holds %s homed in %s", tenantID, k, rec.AppID, rec.HomeTenantID)
				}
				if got := appHome.Get(k); string(got) != tenantID {
					bad("app_home[%s] = %q; want %s", k, got, tenantID)
				}
				for _, u := range rec.IdentifierURIs {
					if byURI.Get(key(uriKey(u), rec.AppID)) == nil {
						bad("app_by_uri lacks %s for %s", u, rec.AppID)
					}
				}
				return nil
			})
			return nil
		})
		appHome.ForEach(func(k, v []byte) error {
			if rec, ok := apps[string(k)]; !ok || rec.HomeTenantID != string(v) {
				bad("app_home[%s] = %s, but the application is not stored there", k, v)
			}
			return nil
		})
		byURI.ForEach(func(k, _ []byte) error {
			i := bytes.LastIndexByte(k, 0)
			if i < 0 {
				bad("app_by_uri key %q has no separator", k)
				return nil
			}
			u, appID := string(k[:i]), string(k[i+1:])
			rec, ok := apps[appID]
			if !ok || !slices.ContainsFunc(rec.IdentifierURIs, func(x string) bool { return uriKey(x) == u }) {
				bad("app_by_uri has %s for %s, which does not hold it", u, appID)
			}
			return nil
		})

		tx.Bucket(bucketTenant).ForEachBucket(func(tid []byte) error {
			tenantID := string(tid)
			tb, err := tenantBucketsTx(tx, tenantID)
			if err != nil {
				return nil
			}
			sps := map[string]servicePrincipalRecord{}
			tb.sps.ForEach(func(k, v []byte) error {
				var rec servicePrincipalRecord
				if !decode(v, &rec) {
					return nil
				}
				sps[rec.ID] = rec
				if rec.ID != string(k) || rec.TenantID != tenantID {
					bad("tenant %s service principal key %s holds %s of tenant %s", tenantID, k, rec.ID, rec.TenantID)
				}
				if got := tb.spByApp.Get([]byte(rec.AppID)); string(got) != rec.ID {
					bad("tenant %s sp_by_app[%s] = %q; want %s", tenantID, rec.AppID, got, rec.ID)
				}
				if got := appSPs.Get(key(rec.AppID, tenantID)); string(got) != rec.ID {
					bad("app_sps[%s,%s] = %q; want %s", rec.AppID, tenantID, got, rec.ID)
				}
				app, ok := apps[rec.AppID]
				if !ok {
					bad("tenant %s service principal %s of missing application %s", tenantID, rec.ID, rec.AppID)
				}
				for _, u := range app.IdentifierURIs {
					if got := tb.spByURI.Get([]byte(uriKey(u))); string(got) != rec.AppID {
						bad("tenant %s sp_by_uri[%s] = %q; want %s", tenantID, u, got, rec.AppID)
					}
				}
				return nil
			})
			tb.spByApp.ForEach(func(k, v []byte) error {
				if sp, ok := sps[string(v)]; !ok || sp.AppID != string(k) {
					bad("tenant %s sp_by_app[%s] = %s, which is not its service principal", tenantID, k, v)
				}
				return nil
			})
			tb.spByURI.ForEach(func(k, v []byte) error {
				app, ok := apps[string(v)]
				if tb.spByApp.Get(v) == nil || !ok ||
					!slices.ContainsFunc(app.IdentifierURIs, func(x string) bool { return uriKey(x) == string(k) }) {
					bad("tenant %s sp_by_uri[%s] = %s, which has no service principal here or not that URI", tenantID, k, v)
				}
				return nil
			})

			users := map[string]userRecord{}
			tb.users.ForEach(func(k, v []byte) error {
				var rec userRecord
				if !decode(v, &rec) {
					return nil
				}
				users[rec.ID] = rec
				if rec.ID != string(k) || rec.TenantID != tenantID {
					bad("tenant %s user key %s holds %s of %s", tenantID, k, rec.ID, rec.TenantID)
				}
				if got := tb.userByUPN.Get([]byte(upnKey(rec.UserPrincipalName))); string(got) != rec.ID {
					bad("tenant %s user_by_upn[%s] = %q; want %s", tenantID, rec.UserPrincipalName, got, rec.ID)
				}
				return nil
			})
			tb.userByUPN.ForEach(func(k, v []byte) error {
				if u, ok := users[string(v)]; !ok || upnKey(u.UserPrincipalName) != string(k) {
					bad("tenant %s user_by_upn[%s] = %s, which does not have that UPN", tenantID, k, v)
				}
				return nil
			})
			isPrincipal := func(id string) bool {
				_, sp := sps[id]
				_, u := users[id]
				return sp || u || tb.groups.Get([]byte(id)) != nil
			}
			tb.groupMembers.ForEach(func(k, v []byte) error {
				group, member, ok := bytes.Cut(k, []byte{0})
				if !ok || tb.groups.Get(group) == nil || !isPrincipal(string(member)) {
					bad("tenant %s group_members %q names a missing group or member", tenantID, k)
				}
				if tb.memberOf.Get(key(string(member), string(group))) == nil {
					bad("tenant %s group_members %q has no member_of entry", tenantID, k)
				}
				return nil
			})
			tb.memberOf.ForEach(func(k, _ []byte) error {
				member, group, _ := bytes.Cut(k, []byte{0})
				if tb.groupMembers.Get(key(string(group), string(member))) == nil {
					bad("tenant %s member_of %q has no group_members entry", tenantID, k)
				}
				return nil
			})

			assignments := map[string]assignmentRecord{}
			tb.assignments.ForEach(func(k, v []byte) error {
				var rec assignmentRecord
				if !decode(v, &rec) {
					return nil
				}
				assignments[rec.ID] = rec
				if rec.ID != string(k) || rec.TenantID != tenantID {
					bad("tenant %s assignment key %s holds %s of %s", tenantID, k, rec.ID, rec.TenantID)
				}
				if tb.assignmentByPrincipal.Get(key(rec.PrincipalID, rec.ResourceID, rec.ID)) == nil {
					bad("tenant %s assignment %s is not indexed", tenantID, rec.ID)
				}
				if _, ok := sps[rec.ResourceID]; !ok {
					bad("tenant %s assignment %s names missing resource %s", tenantID, rec.ID, rec.ResourceID)
				}
				if !isPrincipal(rec.PrincipalID) {
					bad("tenant %s assignment %s names missing principal %s", tenantID, rec.ID, rec.PrincipalID)
				}
				return nil
			})
			tb.assignmentByPrincipal.ForEach(func(k, _ []byte) error {
				parts := bytes.Split(k, []byte{0})
				if len(parts) != 3 {
					bad("tenant %s assignment_by_principal key %q malformed", tenantID, k)
					return nil
				}
				a, ok := assignments[string(parts[2])]
				if !ok || a.PrincipalID != string(parts[0]) || a.ResourceID != string(parts[1]) {
					bad("tenant %s assignment_by_principal %q names no such assignment", tenantID, k)
				}
				return nil
			})

			grants := map[string]grantRecord{}
			tb.grants.ForEach(func(k, v []byte) error {
				var rec grantRecord
				if !decode(v, &rec) {
					return nil
				}
				grants[rec.ID] = rec
				if rec.ID != string(k) || rec.TenantID != tenantID {
					bad("tenant %s grant key %s holds %s of %s", tenantID, k, rec.ID, rec.TenantID)
				}
				if tb.grantByClient.Get(key(rec.ClientID, rec.ResourceID, rec.ID)) == nil {
					bad("tenant %s grant %s missing from grant_by_client", tenantID, rec.ID)
				}
				if got := tb.grantByKey.Get(grantKey(rec.toGrant())); string(got) != rec.ID {
					bad("tenant %s grant_by_key for grant %s = %q", tenantID, rec.ID, got)
				}
				_, client := sps[rec.ClientID]
				_, resource := sps[rec.ResourceID]
				if !client || !resource {
					bad("tenant %s grant %s names a missing service principal", tenantID, rec.ID)
				}
				if _, ok := users[rec.PrincipalID]; rec.ConsentType == consent.Principal && !ok {
					bad("tenant %s grant %s names missing user %s", tenantID, rec.ID, rec.PrincipalID)
				}
				return nil
			})
			tb.grantByClient.ForEach(func(k, _ []byte) error {
				parts := bytes.Split(k, []byte{0})
				if len(parts) != 3 {
					bad("tenant %s grant_by_client key %q malformed", tenantID, k)
					return nil
				}
				g, ok := grants[string(parts[2])]
				if !ok || g.ClientID != string(parts[0]) || g.ResourceID != string(parts[1]) {
					bad("tenant %s grant_by_client %q names no such grant", tenantID, k)
				}
				return nil
			})
			tb.grantByKey.ForEach(func(k, v []byte) error {
				if g, ok := grants[string(v)]; !ok || !bytes.Equal(grantKey(g.toGrant()), k) {
					bad("tenant %s grant_by_key %q = %s names no such grant", tenantID, k, v)
				}
				return nil
			})
			return nil
		})

		appSPs.ForEach(func(k, v []byte) error {
			appID, tenantID, ok := bytes.Cut(k, []byte{0})
			if !ok {
				bad("app_sps key %q malformed", k)
				return nil
			}
			tb, err := tenantBucketsTx(tx, string(tenantID))
			if err != nil {
				bad("app_sps[%s,%s] names a missing tenant", appID, tenantID)
				return nil
			}
			var rec servicePrincipalRecord
			if sv := tb.sps.Get(v); sv == nil || !decode(sv, &rec) || rec.AppID != string(appID) {
				bad("app_sps[%s,%s] = %s, which is not a service principal of the app", appID, tenantID, v)
			}
			return nil
		})

		rts := tx.Bucket(bucketRefreshTokens)
		rtFamily := tx.Bucket(bucketRTByFamily)
		rts.ForEach(func(k, v []byte) error {
			var rec refreshTokenRecord
			if !decode(v, &rec) {
				return nil
			}
			if rtFamily.Get(key(rec.FamilyID, string(k))) == nil {
				bad("refresh token %s of family %s is not indexed", k, rec.FamilyID)
			}
			return nil
		})
		rtFamily.ForEach(func(k, _ []byte) error {
			family, hash, ok := bytes.Cut(k, []byte{0})
			if !ok {
				bad("refresh_token_family key %q malformed", k)
				return nil
			}
			var rec refreshTokenRecord
			if v := rts.Get(hash); v == nil || !decode(v, &rec) || rec.FamilyID != string(family) {
				bad("refresh_token_family %q names no token of the family", k)
			}
			return nil
		})
		return nil
	})
	if err != nil {
		t.Errorf("fsck: %v", err)
	}
	for _, p := range problems {
		t.Errorf("fsck: %s", p)
	}
	// DB.Check, which `issuer db check` runs, must agree: every test's
	// final state is a consistent file.
	if err := db.Check(context.Background()); err != nil {
		t.Errorf("Check of a file fsck finds consistent: %v", err)
	}
}

// countKeys returns the number of keys in a root bucket, or in a tenant's
// sub-bucket when tenantID is set.
func countKeys(t testing.TB, db *DB, tenantID string, bucket []byte) int {
	t.Helper()
	n := 0
	err := db.bolt.View(func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucket)
		if tenantID != "" {
			tb := tx.Bucket(bucketTenant).Bucket([]byte(tenantID))
			if tb == nil {
				return nil
			}
			b = tb.Bucket(bucket)
		}
		if b == nil {
			return fmt.Errorf("bucket %s missing", bucket)
		}
		return b.ForEach(func(_, _ []byte) error { n++; return nil })
	})
	if err != nil {
		t.Fatalf("countKeys(%s): %v", bucket, err)
	}
	return n
}
