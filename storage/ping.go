package storage

import (
	"context"
	"errors"

	"go.etcd.io/bbolt"
)

// Ping reports whether the database answers: it is open and its layout is
// there. `issuer serve` answers /healthz with it, so that a harness waiting
// for readiness sees a closed or damaged database as not ready.
func (db *DB) Ping(ctx context.Context) error {
	return db.view(ctx, func(tx *bbolt.Tx) error {
		if tx.Bucket(bucketMeta) == nil {
			return errors.New("storage: the meta bucket is missing")
		}
		return nil
	})
}
