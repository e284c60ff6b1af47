package storage

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"go.etcd.io/bbolt"
)

// migration brings the file from the previous schema version to version.
// It runs inside Open's one read-write transaction, with no other migration
// in between, and must not touch buckets a later migration renames.
type migration struct {
	version int
	migrate func(tx *bbolt.Tx) error
}

// migrations must stay ordered by version, without gaps. The last entry's
// version is the current schema. Every entry needs a test in
// migrate_test.go that builds the previous layout by hand, runs Open, and
// checks the result.
//
// A change that only adds a JSON field with a useful zero value needs no
// migration. A new index, a renamed bucket or a changed key format does.
var migrations = []migration{
	{version: 1, migrate: initialLayoutTx},
	{version: 2, migrate: indexRefreshTokensByUserTx},
	{version: 3, migrate: addGroupBucketsTx},
}

// initialLayoutTx creates the version 1 root buckets. The names are spelled
// out here rather than taken from buckets.go so that the migration keeps
// meaning version 1 after the layout moves on.
func initialLayoutTx(tx *bbolt.Tx) error {
	for _, name := range []string{
		"meta", "keys", "settings", "tenants", "tenant_by_domain",
		"app_home", "app_by_uri", "app_sps", "tenant",
		"refresh_tokens", "refresh_token_family",
	} {
		if _, err := tx.CreateBucketIfNotExists([]byte(name)); err != nil {
			return fmt.Errorf("creating bucket %s: %w", name, err)
		}
	}
	return nil
}

// indexRefreshTokensByUserTx creates refresh_token_by_user (version 2) and
// indexes the tokens already stored, so that deleting a user, a client or a
// tenant, or changing a password, finds the tokens it revokes.
func indexRefreshTokensByUserTx(tx *bbolt.Tx) error {
	index, err := tx.CreateBucketIfNotExists([]byte("refresh_token_by_user"))
	if err != nil {
		return fmt.Errorf("creating bucket refresh_token_by_user: %w", err)
	}
	tokens := tx.Bucket([]byte("refresh_tokens"))
	if tokens == nil {
		return fmt.Errorf("bucket refresh_tokens is missing")
	}
	return tokens.ForEach(func(k, v []byte) error {
		var rec struct {
			TenantID string `json:"tenantId"`
			UserID   string `json:"userId"`
		}
		if err := decodeRecord(v, "refresh token", string(k), &rec); err != nil {
			return err
		}
		return put(index, key(rec.TenantID, rec.UserID, string(k)), []byte{})
	})
}

// groupSubBuckets are the sub-buckets of a tenant that version 3 added,
// spelled out for the same reason as initialLayoutTx's names.
var groupSubBuckets = []string{"groups", "group_members", "member_of"}

// addGroupBucketsTx gives every tenant the group sub-buckets of version 3
// (no group exists before, so they start empty).
func addGroupBucketsTx(tx *bbolt.Tx) error {
	tenants := tx.Bucket([]byte("tenant"))
	if tenants == nil {
		return fmt.Errorf("bucket tenant is missing")
	}
	var ids [][]byte
	if err := tenants.ForEachBucket(func(k []byte) error {
		ids = append(ids, clone(k))
		return nil
	}); err != nil {
		return err
	}
	return addGroupBucketsOfTx(tx, ids)
}

// addGroupBucketsOfTx creates the group sub-buckets the named tenants'
// buckets lack; a tenant without a bucket is skipped. A replica's copy
// calls it too (replica.go): a shared store is never migrated, so a
// directory that an older issuer created there lacks them.
func addGroupBucketsOfTx(tx *bbolt.Tx, tenantIDs [][]byte) error {
	tenants := tx.Bucket([]byte("tenant"))
	for _, id := range tenantIDs {
		root := tenants.Bucket(id)
		if root == nil {
			continue
		}
		for _, name := range groupSubBuckets {
			if _, err := root.CreateBucketIfNotExists([]byte(name)); err != nil {
				return fmt.Errorf("creating bucket %s of tenant %s: %w", name, id, err)
			}
		}
	}
	return nil
}

// errUpToDate rolls Open's transaction back when there is nothing to write.
var errUpToDate = errors.New("schema up to date")

// migrateTx reads the schema version, refuses a newer file, runs the later
// migrations of list in order, records the new version, and checks that
// every root bucket exists. It returns errUpToDate, after the checks, when
// it changed nothing.
func migrateTx(tx *bbolt.Tx, path string, list []migration, now time.Time) error {
	have, err := schemaVersionTx(tx, path)
	if err != nil {
		return err
	}
	latest := list[len(list)-1].version
	if have > latest {
		return newerSchemaError(path, have, latest)
	}
	if have == latest {
		if err := checkLayoutTx(tx, path); err != nil {
			return err
		}
		return errUpToDate
	}
	for _, m := range list {
		if m.version <= have {
			continue
		}
		if err := m.migrate(tx); err != nil {
			return fmt.Errorf("storage: migrating %s to schema version %d: %w", path, m.version, err)
		}
	}
	meta, err := tx.CreateBucketIfNotExists(bucketMeta)
	if err != nil {
		return fmt.Errorf("storage: migrating %s: %w", path, err)
	}
	if err := put(meta, metaSchemaVersion, []byte(strconv.Itoa(latest))); err != nil {
		return err
	}
	if meta.Get(metaCreatedAt) == nil {
		if err := put(meta, metaCreatedAt, []byte(now.UTC().Format(time.RFC3339))); err != nil {
			return err
		}
	}
	return checkLayoutTx(tx, path)
}

// checkSchemaTx is migrateTx for a read-only open: the file must already be
// at the current version.
func checkSchemaTx(tx *bbolt.Tx, path string, list []migration) error {
	have, err := schemaVersionTx(tx, path)
	if err != nil {
		return err
	}
	latest := list[len(list)-1].version
	switch {
	case have > latest:
		return newerSchemaError(path, have, latest)
	case have == 0:
		return fmt.Errorf("storage: %s is not an issuer database (no schema version); open it read-write once to create it", path)
	case have < latest:
		return fmt.Errorf("storage: database %s has schema version %d and needs migrating to %d; open it read-write once", path, have, latest)
	}
	return checkLayoutTx(tx, path)
}

// schemaVersionTx returns the recorded schema version, 0 for a file without
// one (new or empty).
func schemaVersionTx(tx *bbolt.Tx, path string) (int, error) {
	meta := tx.Bucket(bucketMeta)
	if meta == nil {
		return 0, nil
	}
	v := meta.Get(metaSchemaVersion)
	if v == nil {
		return 0, nil
	}
	n, err := strconv.Atoi(string(v))
	if err != nil || n < 1 {
		return 0, fmt.Errorf("storage: database %s has a malformed schema version %q", path, v)
	}
	return n, nil
}

func newerSchemaError(path string, have, latest int) error {
	return fmt.Errorf("database %s has schema version %d, %w (this one reads up to version %d)", path, have, ErrNewerSchema, latest)
}

// checkLayoutTx makes sure every root bucket exists, so that the rest of the
// package can use them without nil checks.
func checkLayoutTx(tx *bbolt.Tx, path string) error {
	for _, name := range rootBuckets {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("storage: damaged database %s: root bucket %s is missing", path, name)
		}
	}
	return nil
}
