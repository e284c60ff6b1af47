package storage

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"go.etcd.io/bbolt"

	"github.com/issuer-dev/issuer/consent"
)

// CheckError is what Check found wrong with a database: each problem names
// the bucket and key concerned.
type CheckError struct {
	Path     string
	Problems []string
}

func (e *CheckError) Error() string {
	return fmt.Sprintf("storage: database %s has %d problems:\n  %s", e.Path, len(e.Problems), strings.Join(e.Problems, "\n  "))
}

// maxCheckProblems bounds what Check reports of a badly damaged file.
const maxCheckProblems = 1000

// Check verifies the database file in one transaction: bbolt's own
// consistency check (every page reachable or free, none freed twice, keys
// in order), then the layout of doc.go: every record decodes and is stored
// under its own id, and every index entry points at a record that names it
// back, and every record is in the indexes it belongs to. It returns a
// *CheckError listing the problems, nil for a consistent file, or another
// error when the check could not run.
//
// On a database opened for writing the check runs in a write transaction
// that it rolls back (bbolt's check is safe there alongside other
// transactions, and writes wait for it); opened ReadOnly, in a read one.
func (db *DB) Check(ctx context.Context) error {
	c := &checker{}
	run := func(tx *bbolt.Tx) (err error) {
		// A page damaged badly enough makes bbolt panic while reading it:
		// that is one more problem of the file, not a crash of the caller.
		defer func() {
			if v := recover(); v != nil {
				c.problem("reading the file panicked: %v", v)
				err = errRollback
			}
		}()
		for err := range tx.Check() {
			c.problem("bbolt: %v", err)
		}
		c.layoutTx(tx)
		return errRollback
	}
	var err error
	if db.readOnly {
		err = db.view(ctx, run)
	} else {
		err = db.update(ctx, run)
	}
	if !errors.Is(err, errRollback) {
		return err
	}
	if len(c.problems) > 0 {
		return &CheckError{Path: db.path, Problems: c.problems}
	}
	return nil
}

// errRollback ends Check's transaction without committing.
var errRollback = errors.New("rollback")

// Backup writes a consistent copy of the whole database file to w, from one
// read transaction: writes go on while it runs, and the copy is the
// database as of the transaction's start. It returns the bytes written.
func (db *DB) Backup(ctx context.Context, w io.Writer) (int64, error) {
	var n int64
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("storage: backing up %s: %w", db.path, err)
	}
	return n, nil
}

// checker collects problems.
type checker struct {
	problems []string
}

func (c *checker) problem(format string, args ...any) {
	if len(c.problems) == maxCheckProblems {
		c.problems = append(c.problems, "… and more")
	}
	if len(c.problems) > maxCheckProblems {
		return
	}
	c.problems = append(c.problems, fmt.Sprintf(format, args...))
}

// decode decodes v into rec, reporting a failure.
func (c *checker) decode(where string, k, v []byte, rec any) bool {
	if v == nil {
		c.problem("%s %q: a nested bucket where a record belongs", where, k)
		return false
	}
	if err := decodeRecord(v, where, string(k), rec); err != nil {
		c.problem("%s %q: %v", where, k, err)
		return false
	}
	return true
}

// forEach iterates a bucket, reporting an iteration error.
func (c *checker) forEach(where string, b *bbolt.Bucket, fn func(k, v []byte)) {
	if err := b.ForEach(func(k, v []byte) error { fn(k, v); return nil }); err != nil {
		c.problem("%s: %v", where, err)
	}
}

// layoutTx checks the records and indexes of doc.go.
func (c *checker) layoutTx(tx *bbolt.Tx) {
	if _, err := schemaVersionTx(tx, ""); err != nil {
		c.problem("meta: %v", err)
	}
	for _, name := range rootBuckets {
		if tx.Bucket(name) == nil {
			c.problem("root bucket %s is missing", name)
		}
	}
	if len(c.problems) > 0 {
		return // the rest assumes the root buckets
	}
	c.keysTx(tx)
	tenants := c.tenantsTx(tx)
	for id := range tenants {
		c.tenantTx(tx, id)
	}
	c.applicationIndexesTx(tx, tenants)
	c.refreshTokensTx(tx)
}

func (c *checker) keysTx(tx *bbolt.Tx) {
	c.forEach("keys", tx.Bucket(bucketKeys), func(k, v []byte) {
		var rec keyRecord
		if !c.decode("signing key", k, v, &rec) {
			return
		}
		if rec.KeyID != string(k) {
			c.problem("signing key %q: stored as kid %q", k, rec.KeyID)
		}
		if _, err := rec.toSigningKey(); err != nil {
			c.problem("signing key %q: %v", k, err)
		}
	})
}

// tenantsTx checks the tenant records, their buckets and the domain index,
// and returns the tenants by id.
func (c *checker) tenantsTx(tx *bbolt.Tx) map[string]tenantRecord {
	tenants := map[string]tenantRecord{}
	byDomain := tx.Bucket(bucketTenantByDomain)
	c.forEach("tenants", tx.Bucket(bucketTenants), func(k, v []byte) {
		var rec tenantRecord
		if !c.decode("tenant", k, v, &rec) {
			return
		}
		if rec.ID != string(k) {
			c.problem("tenant %q: stored with id %q", k, rec.ID)
		}
		tenants[string(k)] = rec
		for _, d := range rec.Domains {
			if owner := byDomain.Get([]byte(domainKey(d))); string(owner) != string(k) {
				c.problem("tenant %s: domain %s is indexed for %q", k, d, owner)
			}
		}
		if tx.Bucket(bucketTenant).Bucket(k) == nil {
			c.problem("tenant %s: its bucket is missing", k)
		}
	})
	c.forEach("tenant_by_domain", byDomain, func(k, v []byte) {
		t, ok := tenants[string(v)]
		if !ok || !slices.ContainsFunc(t.Domains, func(d string) bool { return domainKey(d) == string(k) }) {
			c.problem("tenant_by_domain %q names tenant %q, which does not have that domain", k, v)
		}
	})
	c.forEach("tenant", tx.Bucket(bucketTenant), func(k, v []byte) {
		if _, ok := tenants[string(k)]; !ok {
			c.problem("tenant bucket %q has no tenant record", k)
		}
	})
	return tenants
}

// tenantTx checks one tenant's records and indexes.
func (c *checker) tenantTx(tx *bbolt.Tx, id string) {
	tb, err := tenantBucketsTx(tx, id)
	if err != nil {
		if tx.Bucket(bucketTenant).Bucket([]byte(id)) != nil {
			c.problem("tenant %s: %v", id, err)
		}
		return
	}
	where := func(what string) string { return "tenant " + id + ": " + what }

	c.forEach(where("applications"), tb.apps, func(k, v []byte) {
		var rec applicationRecord
		if !c.decode(where("application"), k, v, &rec) {
			return
		}
		if rec.AppID != string(k) || rec.HomeTenantID != id {
			c.problem("%s %q: stored as appId %q of tenant %q", where("application"), k, rec.AppID, rec.HomeTenantID)
		}
		if home := tx.Bucket(bucketAppHome).Get(k); string(home) != id {
			c.problem("%s %q: app_home says %q", where("application"), k, home)
		}
	})

	sps := map[string]servicePrincipalRecord{} // by appId
	c.forEach(where("service_principals"), tb.sps, func(k, v []byte) {
		var rec servicePrincipalRecord
		if !c.decode(where("service principal"), k, v, &rec) {
			return
		}
		if rec.ID != string(k) || rec.TenantID != id {
			c.problem("%s %q: stored as %q of tenant %q", where("service principal"), k, rec.ID, rec.TenantID)
		}
		sps[rec.AppID] = rec
		if spID := tb.spByApp.Get([]byte(rec.AppID)); string(spID) != string(k) {
			c.problem("%s %s: sp_by_app names %q for application %s", where("service principal"), k, spID, rec.AppID)
		}
		if spID := tx.Bucket(bucketAppSPs).Get(key(rec.AppID, id)); string(spID) != string(k) {
			c.problem("%s %s: app_sps names %q for application %s", where("service principal"), k, spID, rec.AppID)
		}
		app, err := getApplicationTx(tx, rec.AppID)
		if err != nil {
			c.problem("%s %s: application %s: %v", where("service principal"), k, rec.AppID, err)
			return
		}
		uris, err := storedURIKeys(app)
		if err != nil {
			c.problem("%v", err)
		}
		for _, u := range uris {
			if owner := tb.spByURI.Get([]byte(u)); string(owner) != rec.AppID {
				c.problem("%s: sp_by_uri names %q for %s, an identifier URI of application %s", where("service principal"), owner, u, rec.AppID)
			}
		}
	})
	c.forEach(where("sp_by_app"), tb.spByApp, func(k, v []byte) {
		if sp, ok := sps[string(k)]; !ok || sp.ID != string(v) {
			c.problem("%s %q names service principal %q, which is missing or of another application", where("sp_by_app"), k, v)
		}
	})
	c.forEach(where("sp_by_uri"), tb.spByURI, func(k, v []byte) {
		if _, ok := sps[string(v)]; !ok {
			c.problem("%s %q names application %q, which has no service principal here", where("sp_by_uri"), k, v)
			return
		}
		app, err := getApplicationTx(tx, string(v))
		if err != nil {
			return // reported with the service principal
		}
		if uris, _ := storedURIKeys(app); !slices.Contains(uris, string(k)) {
			c.problem("%s %q names application %q, which does not have that identifier URI", where("sp_by_uri"), k, v)
		}
	})

	users := map[string]bool{}
	c.forEach(where("users"), tb.users, func(k, v []byte) {
		var rec userRecord
		if !c.decode(where("user"), k, v, &rec) {
			return
		}
		if rec.ID != string(k) || rec.TenantID != id {
			c.problem("%s %q: stored as %q of tenant %q", where("user"), k, rec.ID, rec.TenantID)
		}
		users[string(k)] = true
		if uid := tb.userByUPN.Get([]byte(upnKey(rec.UserPrincipalName))); string(uid) != string(k) {
			c.problem("%s %s: user_by_upn names %q for %s", where("user"), k, uid, rec.UserPrincipalName)
		}
		if tb.sps.Get(k) != nil {
			c.problem("%s %s: a service principal has the same object id", where("user"), k)
		}
	})
	c.forEach(where("user_by_upn"), tb.userByUPN, func(k, v []byte) {
		var rec userRecord
		if raw := tb.users.Get(v); raw == nil || !decodes(raw, &rec) || upnKey(rec.UserPrincipalName) != string(k) {
			c.problem("%s %q names user %q, which is missing or has another name", where("user_by_upn"), k, v)
		}
	})
	spIDs := map[string]bool{}
	for _, sp := range sps {
		spIDs[sp.ID] = true
	}
	groups := c.groupsTx(tb, where)

	assignments := map[string]assignmentRecord{}
	c.forEach(where("app_role_assignments"), tb.assignments, func(k, v []byte) {
		var rec assignmentRecord
		if !c.decode(where("app role assignment"), k, v, &rec) {
			return
		}
		assignments[string(k)] = rec
		if rec.ID != string(k) || rec.TenantID != id {
			c.problem("%s %q: stored as %q of tenant %q", where("app role assignment"), k, rec.ID, rec.TenantID)
		}
		if !spIDs[rec.ResourceID] {
			c.problem("%s %s: resource service principal %s is missing", where("app role assignment"), k, rec.ResourceID)
		}
		if !spIDs[rec.PrincipalID] && !users[rec.PrincipalID] && !groups[rec.PrincipalID] {
			c.problem("%s %s: principal %s is missing", where("app role assignment"), k, rec.PrincipalID)
		}
		if tb.assignmentByPrincipal.Get(key(rec.PrincipalID, rec.ResourceID, rec.ID)) == nil {
			c.problem("%s %s: not in assignment_by_principal", where("app role assignment"), k)
		}
	})
	c.forEach(where("assignment_by_principal"), tb.assignmentByPrincipal, func(k, _ []byte) {
		parts := bytes.Split(k, []byte{0})
		if len(parts) != 3 {
			c.problem("%s %q: not principal, resource and id", where("assignment_by_principal"), k)
			return
		}
		if a, ok := assignments[string(parts[2])]; !ok || a.PrincipalID != string(parts[0]) || a.ResourceID != string(parts[1]) {
			c.problem("%s %q names assignment %q, which is missing or of other objects", where("assignment_by_principal"), k, parts[2])
		}
	})

	grants := map[string]grantRecord{}
	c.forEach(where("permission_grants"), tb.grants, func(k, v []byte) {
		var rec grantRecord
		if !c.decode(where("permission grant"), k, v, &rec) {
			return
		}
		grants[string(k)] = rec
		if rec.ID != string(k) || rec.TenantID != id {
			c.problem("%s %q: stored as %q of tenant %q", where("permission grant"), k, rec.ID, rec.TenantID)
		}
		if !spIDs[rec.ClientID] || !spIDs[rec.ResourceID] {
			c.problem("%s %s: client %s or resource %s service principal is missing", where("permission grant"), k, rec.ClientID, rec.ResourceID)
		}
		if rec.ConsentType == consent.Principal && !users[rec.PrincipalID] {
			c.problem("%s %s: user %s is missing", where("permission grant"), k, rec.PrincipalID)
		}
		if tb.grantByClient.Get(key(rec.ClientID, rec.ResourceID, rec.ID)) == nil {
			c.problem("%s %s: not in grant_by_client", where("permission grant"), k)
		}
		if gid := tb.grantByKey.Get(grantKey(rec.toGrant())); string(gid) != string(k) {
			c.problem("%s %s: grant_by_key names %q", where("permission grant"), k, gid)
		}
	})
	c.forEach(where("grant_by_client"), tb.grantByClient, func(k, _ []byte) {
		parts := bytes.Split(k, []byte{0})
		if len(parts) != 3 {
			c.problem("%s %q: not client, resource and id", where("grant_by_client"), k)
			return
		}
		if g, ok := grants[string(parts[2])]; !ok || g.ClientID != string(parts[0]) || g.ResourceID != string(parts[1]) {
			c.problem("%s %q names grant %q, which is missing or of other objects", where("grant_by_client"), k, parts[2])
		}
	})
	c.forEach(where("grant_by_key"), tb.grantByKey, func(k, v []byte) {
		if g, ok := grants[string(v)]; !ok || !bytes.Equal(grantKey(g.toGrant()), k) {
			c.problem("%s %q names grant %q, which is missing or has another key", where("grant_by_key"), k, v)
		}
	})
}

// groupsTx checks a tenant's groups and the two membership indexes, which
// must hold the same memberships, each of a group and an object of the
// tenant of the type recorded; it returns the tenant's group ids.
func (c *checker) groupsTx(tb *tenantBuckets, where func(string) string) map[string]bool {
	groups := map[string]bool{}
	c.forEach(where("groups"), tb.groups, func(k, v []byte) {
		// An undecodable group is reported once, not again by every
		// membership of it.
		groups[string(k)] = true
		var rec groupRecord
		if !c.decode(where("group"), k, v, &rec) {
			return
		}
		if rec.ID != string(k) || rec.TenantID != tb.id {
			c.problem("%s %q: stored as %q of tenant %q", where("group"), k, rec.ID, rec.TenantID)
		}
		if tb.users.Get(k) != nil || tb.sps.Get(k) != nil {
			c.problem("%s %s: a user or service principal has the same object id", where("group"), k)
		}
	})
	c.forEach(where("group_members"), tb.groupMembers, func(k, v []byte) {
		parts := bytes.Split(k, []byte{0})
		if len(parts) != 2 {
			c.problem("%s %q: not group and member", where("group_members"), k)
			return
		}
		group, member := string(parts[0]), string(parts[1])
		if !groups[group] {
			c.problem("%s %q: group %s is missing", where("group_members"), k, group)
		}
		if t := objectTypeTx(tb, member); t == "" || t != string(v) {
			c.problem("%s %q: member %s is missing or not a %q", where("group_members"), k, member, v)
		}
		if tb.memberOf.Get(key(member, group)) == nil {
			c.problem("%s %q: not in member_of", where("group_members"), k)
		}
	})
	c.forEach(where("member_of"), tb.memberOf, func(k, _ []byte) {
		parts := bytes.Split(k, []byte{0})
		if len(parts) != 2 {
			c.problem("%s %q: not member and group", where("member_of"), k)
			return
		}
		if tb.groupMembers.Get(key(string(parts[1]), string(parts[0]))) == nil {
			c.problem("%s %q: not in group_members", where("member_of"), k)
		}
	})
	return groups
}

// applicationIndexesTx checks the global application indexes: app_home,
// app_by_uri and app_sps.
func (c *checker) applicationIndexesTx(tx *bbolt.Tx, tenants map[string]tenantRecord) {
	c.forEach("app_home", tx.Bucket(bucketAppHome), func(k, v []byte) {
		app, err := getApplicationTx(tx, string(k))
		if err != nil {
			c.problem("app_home %q: %v", k, err)
			return
		}
		uris, err := storedURIKeys(app)
		if err != nil {
			c.problem("%v", err)
		}
		for _, u := range uris {
			if tx.Bucket(bucketAppByURI).Get(key(u, app.AppID)) == nil {
				c.problem("application %s: identifier URI %s is not in app_by_uri", app.AppID, u)
			}
		}
	})
	c.forEach("app_by_uri", tx.Bucket(bucketAppByURI), func(k, _ []byte) {
		i := bytes.LastIndexByte(k, 0)
		if i < 0 {
			c.problem("app_by_uri %q: not uri and appId", k)
			return
		}
		uri, appID := string(k[:i]), string(k[i+1:])
		app, err := getApplicationTx(tx, appID)
		if err != nil {
			c.problem("app_by_uri %q: %v", k, err)
			return
		}
		if uris, _ := storedURIKeys(app); !slices.Contains(uris, uri) {
			c.problem("app_by_uri %q: application %s does not have that identifier URI", k, appID)
		}
	})
	c.forEach("app_sps", tx.Bucket(bucketAppSPs), func(k, v []byte) {
		i := bytes.IndexByte(k, 0)
		if i < 0 {
			c.problem("app_sps %q: not appId and tenant", k)
			return
		}
		appID, tenantID := string(k[:i]), string(k[i+1:])
		if _, ok := tenants[tenantID]; !ok {
			c.problem("app_sps %q: tenant %s is missing", k, tenantID)
			return
		}
		tb, err := tenantBucketsTx(tx, tenantID)
		if err != nil {
			return // reported with the tenant
		}
		if spID := tb.spByApp.Get([]byte(appID)); string(spID) != string(v) {
			c.problem("app_sps %q names service principal %q; the tenant's sp_by_app says %q", k, v, spID)
		}
		if tx.Bucket(bucketAppHome).Get([]byte(appID)) == nil {
			c.problem("app_sps %q: application %s is missing", k, appID)
		}
	})
}

// refreshTokensTx checks that refresh tokens and their family and user
// indexes agree.
func (c *checker) refreshTokensTx(tx *bbolt.Tx) {
	families := tx.Bucket(bucketRTByFamily)
	users := tx.Bucket(bucketRTByUser)
	tokens := tx.Bucket(bucketRefreshTokens)
	c.forEach("refresh_tokens", tokens, func(k, v []byte) {
		var rec refreshTokenRecord
		if !c.decode("refresh token", k, v, &rec) {
			return
		}
		if families.Get(key(rec.FamilyID, string(k))) == nil {
			c.problem("refresh token %q: not in refresh_token_family %s", k, rec.FamilyID)
		}
		if users.Get(key(rec.TenantID, rec.UserID, string(k))) == nil {
			c.problem("refresh token %q: not in refresh_token_by_user under tenant %s, user %s", k, rec.TenantID, rec.UserID)
		}
	})
	c.forEach("refresh_token_by_user", users, func(k, _ []byte) {
		parts := bytes.Split(k, []byte{0})
		if len(parts) != 3 {
			c.problem("refresh_token_by_user %q: not tenant, user and hash", k)
			return
		}
		var rec refreshTokenRecord
		if v := tokens.Get(parts[2]); v == nil || !decodes(v, &rec) || rec.TenantID != string(parts[0]) || rec.UserID != string(parts[1]) {
			c.problem("refresh_token_by_user %q names a token that is missing or of another user", k)
		}
	})
	c.forEach("refresh_token_family", families, func(k, entry []byte) {
		i := bytes.IndexByte(k, 0)
		if i < 0 {
			c.problem("refresh_token_family %q: not family and hash", k)
			return
		}
		var rec refreshTokenRecord
		if v := tokens.Get(k[i+1:]); v == nil || !decodes(v, &rec) || rec.FamilyID != string(k[:i]) {
			c.problem("refresh_token_family %q names a token that is missing or of another family", k)
			return
		}
		// An empty entry was written before entries held the expiry; pruning
		// reads its record instead.
		if expires, ok := familyEntryExpiry(entry); len(entry) > 0 && (!ok || !expires.Equal(rec.ExpiresDateTime)) {
			c.problem("refresh_token_family %q holds an expiry other than its token's %s", k, rec.ExpiresDateTime.Format(time.RFC3339Nano))
		}
	})
}

// decodes reports whether a stored record decodes into rec.
func decodes(v []byte, rec any) bool { return decodeRecord(v, "", "", rec) == nil }
