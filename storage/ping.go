package storage

import (
	"context"

	"go.etcd.io/bbolt"
)

// Ping reports whether the database answers: it is open and its layout is
// there. `issuer serve` answers /healthz with it, so that a harness waiting
// for readiness sees a closed or damaged database as not ready.
func (db *DB) Ping(ctx context.Context) error {
	return db.view(ctx, func(tx *bbolt.Tx) error { return checkLayoutTx(tx, db.path) })
}
