package storage

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"slices"

	"go.etcd.io/bbolt"

	"github.com/issuer-dev/issuer/tenant"
)

// SigningKeys returns every signing key, newest (by CreatedDateTime) first.
// The keys are global, as Entra's are: every tenant's JWKS publishes them.
// Each call parses the keys; the issuer parses once and keeps its signer.
func (db *DB) SigningKeys(ctx context.Context) ([]tenant.SigningKey, error) {
	var recs []keyRecord
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		return tx.Bucket(bucketKeys).ForEach(func(k, v []byte) error {
			var rec keyRecord
			if err := decodeRecord(v, "signing key", string(k), &rec); err != nil {
				return err
			}
			recs = append(recs, rec)
			return nil
		})
	})
	if err != nil {
		return nil, err
	}
	// Parsing (RSA key validation) happens after the read transaction ends.
	out := make([]tenant.SigningKey, 0, len(recs))
	for _, rec := range recs {
		k, err := rec.toSigningKey()
		if err != nil {
			return nil, err
		}
		out = append(out, k)
	}
	slices.SortStableFunc(out, func(a, b tenant.SigningKey) int {
		if c := b.CreatedDateTime.Compare(a.CreatedDateTime); c != 0 {
			return c
		}
		return cmp.Compare(a.KeyID, b.KeyID)
	})
	return out, nil
}

// AddSigningKey stores a new signing key. It fails with ErrExists if the kid
// is taken.
func (db *DB) AddSigningKey(ctx context.Context, k tenant.SigningKey) error {
	if err := checkKeyPart("key id", k.KeyID); err != nil {
		return err
	}
	rec, err := fromSigningKey(k)
	if err != nil {
		return err
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		keys := tx.Bucket(bucketKeys)
		if keys.Get([]byte(k.KeyID)) != nil {
			return fmt.Errorf("signing key %s: %w", k.KeyID, tenant.ErrExists)
		}
		return putRecord(keys, "signing key", k.KeyID, []byte(k.KeyID), rec)
	})
}

// AddFirstSigningKey stores k unless the store holds an active key, in one
// transaction, and reports whether it did. Servers starting on an empty
// store each make a key; on a shared store (etcd replicas) the transaction
// reruns against the other's commit and finds its key, so the cluster
// starts with one key instead of one per replica.
func (db *DB) AddFirstSigningKey(ctx context.Context, k tenant.SigningKey) (bool, error) {
	if err := checkKeyPart("key id", k.KeyID); err != nil {
		return false, err
	}
	rec, err := fromSigningKey(k)
	if err != nil {
		return false, err
	}
	added := false
	err = db.update(ctx, func(tx *bbolt.Tx) error {
		added = false
		keys := tx.Bucket(bucketKeys)
		active := false
		if err := keys.ForEach(func(id, v []byte) error {
			var r keyRecord
			if err := decodeRecord(v, "signing key", string(id), &r); err != nil {
				return err
			}
			active = active || r.RetiredDateTime.IsZero()
			return nil
		}); err != nil || active {
			return err
		}
		if keys.Get([]byte(k.KeyID)) != nil {
			return fmt.Errorf("signing key %s: %w", k.KeyID, tenant.ErrExists)
		}
		added = true
		return putRecord(keys, "signing key", k.KeyID, []byte(k.KeyID), rec)
	})
	return added && err == nil, err
}

// UpdateSigningKey applies update to a signing key (to retire it, typically).
// update may not change the kid.
func (db *DB) UpdateSigningKey(ctx context.Context, kid string, update func(*tenant.SigningKey) error) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		keys := tx.Bucket(bucketKeys)
		var rec keyRecord
		if err := getRecord(keys, "signing key", kid, &rec); err != nil {
			return err
		}
		k, err := rec.toSigningKey()
		if err != nil {
			return err
		}
		if err := update(&k); err != nil {
			return err
		}
		if k.KeyID != kid {
			return fmt.Errorf("%w: signing key %s: an update may not change the kid", tenant.ErrInvalid, kid)
		}
		if rec, err = fromSigningKey(k); err != nil {
			return err
		}
		return putRecord(keys, "signing key", kid, []byte(kid), rec)
	})
}

// DeleteSigningKey removes a signing key.
func (db *DB) DeleteSigningKey(ctx context.Context, kid string) error {
	return db.update(ctx, func(tx *bbolt.Tx) error {
		keys := tx.Bucket(bucketKeys)
		if keys.Get([]byte(kid)) == nil {
			return fmt.Errorf("signing key %s: %w", kid, tenant.ErrNotFound)
		}
		return del(keys, []byte(kid))
	})
}

// Setting returns the opaque value stored under name (the local TLS CA is
// "tls"), or an error wrapping tenant.ErrNotFound.
func (db *DB) Setting(ctx context.Context, name string) ([]byte, error) {
	var out []byte
	err := db.view(ctx, func(tx *bbolt.Tx) error {
		// A cursor tells an empty value from an absent key, which Get
		// does not promise to.
		k, v := tx.Bucket(bucketSettings).Cursor().Seek([]byte(name))
		if k == nil || !bytes.Equal(k, []byte(name)) {
			return fmt.Errorf("setting %s: %w", name, tenant.ErrNotFound)
		}
		out = append([]byte{}, v...)
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

// PutSetting stores value under name, replacing any previous value.
func (db *DB) PutSetting(ctx context.Context, name string, value []byte) error {
	if err := checkKeyPart("setting name", name); err != nil {
		return err
	}
	v := bytes.Clone(value)
	if v == nil {
		v = []byte{}
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		return put(tx.Bucket(bucketSettings), []byte(name), v)
	})
}
