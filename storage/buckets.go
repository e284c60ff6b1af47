package storage

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"go.etcd.io/bbolt"

	"github.com/issuer-dev/issuer/tenant"
)

// Root buckets of the current layout (see doc.go). Open guarantees that every
// one of them exists, so code running in a transaction may use them without a
// nil check.
var (
	bucketMeta           = []byte("meta")
	bucketKeys           = []byte("keys")
	bucketSettings       = []byte("settings")
	bucketTenants        = []byte("tenants")
	bucketTenantByDomain = []byte("tenant_by_domain")
	bucketAppHome        = []byte("app_home")
	bucketAppByURI       = []byte("app_by_uri")
	bucketAppSPs         = []byte("app_sps")
	bucketTenant         = []byte("tenant")
	bucketRefreshTokens  = []byte("refresh_tokens")
	bucketRTByFamily     = []byte("refresh_token_family")
	bucketRTByUser       = []byte("refresh_token_by_user")
)

// rootBuckets lists the root buckets Open checks for after migrating.
var rootBuckets = [][]byte{
	bucketMeta, bucketKeys, bucketSettings, bucketTenants, bucketTenantByDomain,
	bucketAppHome, bucketAppByURI, bucketAppSPs, bucketTenant,
	bucketRefreshTokens, bucketRTByFamily, bucketRTByUser,
}

// refreshTokenBucket reports whether the root bucket name is one of the
// refresh-token buckets, whose writes Generation does not count.
func refreshTokenBucket(name string) bool {
	return name == string(bucketRefreshTokens) || name == string(bucketRTByFamily) || name == string(bucketRTByUser)
}

// Sub-buckets of each tenant/<tenantID> bucket, created by CreateTenant.
var (
	bucketApplications          = []byte("applications")
	bucketServicePrincipals     = []byte("service_principals")
	bucketSPByApp               = []byte("sp_by_app")
	bucketSPByURI               = []byte("sp_by_uri")
	bucketUsers                 = []byte("users")
	bucketUserByUPN             = []byte("user_by_upn")
	bucketAppRoleAssignments    = []byte("app_role_assignments")
	bucketAssignmentByPrincipal = []byte("assignment_by_principal")
	bucketPermissionGrants      = []byte("permission_grants")
	bucketGrantByClient         = []byte("grant_by_client")
	bucketGrantByKey            = []byte("grant_by_key")
	bucketGroups                = []byte("groups")
	bucketGroupMembers          = []byte("group_members")
	bucketMemberOf              = []byte("member_of")
)

// Keys of the meta bucket.
var (
	metaSchemaVersion = []byte("schema_version")
	metaCreatedAt     = []byte("created_at")
)

// tenantBuckets holds the sub-buckets of one tenant, opened in one
// transaction. The pointers are valid only inside that transaction.
type tenantBuckets struct {
	id                    string
	apps                  *bbolt.Bucket
	sps                   *bbolt.Bucket
	spByApp               *bbolt.Bucket
	spByURI               *bbolt.Bucket
	users                 *bbolt.Bucket
	userByUPN             *bbolt.Bucket
	assignments           *bbolt.Bucket
	assignmentByPrincipal *bbolt.Bucket
	grants                *bbolt.Bucket
	grantByClient         *bbolt.Bucket
	grantByKey            *bbolt.Bucket
	groups                *bbolt.Bucket
	groupMembers          *bbolt.Bucket
	memberOf              *bbolt.Bucket
}

// subBuckets pairs each tenant sub-bucket name with its field, so that
// creating and opening a tenant use one list.
func (tb *tenantBuckets) subBuckets() []struct {
	name []byte
	b    **bbolt.Bucket
} {
	return []struct {
		name []byte
		b    **bbolt.Bucket
	}{
		{bucketApplications, &tb.apps},
		{bucketServicePrincipals, &tb.sps},
		{bucketSPByApp, &tb.spByApp},
		{bucketSPByURI, &tb.spByURI},
		{bucketUsers, &tb.users},
		{bucketUserByUPN, &tb.userByUPN},
		{bucketAppRoleAssignments, &tb.assignments},
		{bucketAssignmentByPrincipal, &tb.assignmentByPrincipal},
		{bucketPermissionGrants, &tb.grants},
		{bucketGrantByClient, &tb.grantByClient},
		{bucketGrantByKey, &tb.grantByKey},
		{bucketGroups, &tb.groups},
		{bucketGroupMembers, &tb.groupMembers},
		{bucketMemberOf, &tb.memberOf},
	}
}

// tenantBucketsTx opens the buckets of a tenant. A missing tenant is
// ErrNotFound; a tenant bucket without one of its sub-buckets is a damaged
// file.
func tenantBucketsTx(tx *bbolt.Tx, tenantID string) (*tenantBuckets, error) {
	root, err := tenantRootTx(tx, tenantID)
	if err != nil {
		return nil, err
	}
	tb := &tenantBuckets{id: tenantID}
	for _, s := range tb.subBuckets() {
		if *s.b, err = subBucket(root, tenantID, s.name); err != nil {
			return nil, err
		}
	}
	return tb, nil
}

// someTenantBucketsTx opens only the named sub-buckets of a tenant, for
// reads on the token path: opening a sub-bucket allocates, and a read needs
// two or three of the fourteen. The other fields stay nil.
func someTenantBucketsTx(tx *bbolt.Tx, tenantID string, names ...[]byte) (*tenantBuckets, error) {
	root, err := tenantRootTx(tx, tenantID)
	if err != nil {
		return nil, err
	}
	tb := &tenantBuckets{id: tenantID}
	for _, s := range tb.subBuckets() {
		if !slices.ContainsFunc(names, func(n []byte) bool { return bytes.Equal(n, s.name) }) {
			continue
		}
		if *s.b, err = subBucket(root, tenantID, s.name); err != nil {
			return nil, err
		}
	}
	return tb, nil
}

// tenantRootTx returns the nested bucket of a tenant, or an ErrNotFound
// error. With subBucket it serves the token path, which opens only the
// sub-buckets it reads (opening one costs allocations).
func tenantRootTx(tx *bbolt.Tx, tenantID string) (*bbolt.Bucket, error) {
	root := tx.Bucket(bucketTenant).Bucket([]byte(tenantID))
	if root == nil {
		return nil, fmt.Errorf("tenant %s: %w", tenantID, tenant.ErrNotFound)
	}
	recordTenantOpened(tx, tenantID)
	return root, nil
}

// subBucket opens a sub-bucket of a tenant's bucket; a missing one means a
// damaged file.
func subBucket(root *bbolt.Bucket, tenantID string, name []byte) (*bbolt.Bucket, error) {
	b := root.Bucket(name)
	if b == nil {
		return nil, damaged("tenant %s has no %s bucket", tenantID, name)
	}
	return b, nil
}

// createTenantBucketsTx creates the nested bucket of a new tenant with all
// its sub-buckets.
func createTenantBucketsTx(tx *bbolt.Tx, tenantID string) error {
	root, err := tx.Bucket(bucketTenant).CreateBucket([]byte(tenantID))
	if err != nil {
		return fmt.Errorf("storage: creating bucket of tenant %s: %w", tenantID, err)
	}
	recordBucket(tx, ChangeCreateBucket, bucketTenant, []byte(tenantID))
	recordTenantOpened(tx, tenantID)
	tb := &tenantBuckets{id: tenantID}
	for _, s := range tb.subBuckets() {
		if _, err := root.CreateBucket(s.name); err != nil {
			return fmt.Errorf("storage: creating bucket %s of tenant %s: %w", s.name, tenantID, err)
		}
		recordBucket(tx, ChangeCreateBucket, bucketTenant, []byte(tenantID), s.name)
	}
	return nil
}

// deleteTenantBucketsTx deletes the nested bucket of a tenant with
// everything in it.
func deleteTenantBucketsTx(tx *bbolt.Tx, tenantID string) error {
	if err := tx.Bucket(bucketTenant).DeleteBucket([]byte(tenantID)); err != nil {
		return fmt.Errorf("storage: deleting bucket of tenant %s: %w", tenantID, err)
	}
	recordBucket(tx, ChangeDeleteBucket, bucketTenant, []byte(tenantID))
	return nil
}

// key joins the parts of a composite key with a zero byte. Identifier URIs
// contain '/', so no printable separator would do. A trailing empty part
// makes a prefix for a range scan: key(a, b, "") = "a\x00b\x00".
func key(parts ...string) []byte {
	n := len(parts) - 1
	for _, p := range parts {
		n += len(p)
	}
	b := make([]byte, 0, max(n, 0))
	for i, p := range parts {
		if i > 0 {
			b = append(b, 0)
		}
		b = append(b, p...)
	}
	return b
}

// Name normalisation, one function per kind of name, used both when an index
// entry is written and when it is looked up.
func domainKey(d string) string { return tenant.NormalizeName(d) }
func upnKey(upn string) string  { return tenant.NormalizeName(upn) }
func uriKey(uri string) string  { return tenant.IdentifierKey(uri) }

// TenantDomainIndex is where the index entry of domain lies: its root
// bucket and key, whose value is the id of the tenant that has the
// domain. A reader of a shared store's keys that holds no copy of the
// directory (the etcd sign-in log's reader, resolving `logs --tenant
// DOMAIN`) finds a tenant with one read there.
func TenantDomainIndex(domain string) (bucket []string, key []byte) {
	return []string{string(bucketTenantByDomain)}, []byte(domainKey(domain))
}

// maxKeyPart bounds a key component well below bbolt's 32 KiB key limit.
const maxKeyPart = 1024

// checkKeyPart refuses a value that cannot be a key component: empty, too
// long, or containing the zero byte that separates composite keys.
func checkKeyPart(what, s string) error {
	switch {
	case s == "":
		return fmt.Errorf("%w: %s is empty", tenant.ErrInvalid, what)
	case len(s) > maxKeyPart:
		return fmt.Errorf("%w: %s is longer than %d bytes", tenant.ErrInvalid, what, maxKeyPart)
	case strings.IndexByte(s, 0) >= 0:
		return fmt.Errorf("%w: %s %q contains a zero byte", tenant.ErrInvalid, what, s)
	}
	return nil
}

// nameKeys normalises names with norm, checks each, and drops duplicates,
// keeping the first occurrence's order.
func nameKeys(what string, names []string, norm func(string) string) ([]string, error) {
	out := make([]string, 0, len(names))
	seen := make(map[string]bool, len(names))
	for _, n := range names {
		k := norm(n)
		if err := checkKeyPart(what, k); err != nil {
			return nil, err
		}
		if !seen[k] {
			seen[k] = true
			out = append(out, k)
		}
	}
	return out, nil
}

// forEachPrefix calls fn with the suffix of every key of b that begins with
// prefix, in key order. The suffix is copied: fn may keep it.
func forEachPrefix(b *bbolt.Bucket, prefix []byte, fn func(suffix string) error) error {
	c := b.Cursor()
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		if err := fn(string(k[len(prefix):])); err != nil {
			return err
		}
	}
	return nil
}

// getRecord decodes the JSON record stored under id into rec. Absence is
// ErrNotFound, named by kind and id.
func getRecord(b *bbolt.Bucket, kind, id string, rec any) error {
	v := b.Get([]byte(id))
	if v == nil {
		return fmt.Errorf("%s %s: %w", kind, id, tenant.ErrNotFound)
	}
	return decodeRecord(v, kind, id, rec)
}

// decodeRecord unmarshals a stored value; json.Unmarshal copies everything it
// keeps, so rec is safe to use after the transaction.
func decodeRecord(v []byte, kind, id string, rec any) error {
	if err := json.Unmarshal(v, rec); err != nil {
		return fmt.Errorf("storage: decode %s %s: %w", kind, id, err)
	}
	return nil
}

// putRecord stores rec as JSON under k.
func putRecord(b *bbolt.Bucket, kind, id string, k []byte, rec any) error {
	v, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("storage: encode %s %s: %w", kind, id, err)
	}
	if err := b.Put(k, v); err != nil {
		return fmt.Errorf("storage: write %s %s: %w", kind, id, err)
	}
	recordWrite(b, k, v)
	return nil
}

// storedURIKeys returns the URI keys of an application read from the store,
// whose URIs were checked when written.
func storedURIKeys(app tenant.Application) ([]string, error) {
	uris, err := nameKeys("identifier URI", app.IdentifierURIs, uriKey)
	if err != nil {
		return nil, damaged("application %s: %v", app.AppID, err)
	}
	return uris, nil
}

// put writes an index entry, with context on failure.
func put(b *bbolt.Bucket, k, v []byte) error {
	if err := b.Put(k, v); err != nil {
		return fmt.Errorf("storage: write %q: %w", k, err)
	}
	recordWrite(b, k, v)
	return nil
}

// del removes a key, with context on failure.
func del(b *bbolt.Bucket, k []byte) error {
	if err := b.Delete(k); err != nil {
		return fmt.Errorf("storage: delete %q: %w", k, err)
	}
	recordWrite(b, k, nil)
	return nil
}

// damaged reports an index entry that points at nothing, or a record whose
// key disagrees with its contents. It never wraps ErrNotFound: a caller
// must not mistake a damaged file for an absent object.
func damaged(format string, args ...any) error {
	return fmt.Errorf("storage: damaged database: "+format, args...)
}
