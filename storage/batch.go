package storage

import (
	"context"
	"fmt"

	"go.etcd.io/bbolt"
)

// batchKey is the context key of a Batch of db: each DB's batch is its own.
type batchKey struct{ db *DB }

// batch is a read-write transaction shared by the store calls of one Batch.
type batch struct {
	tx     *bbolt.Tx
	failed error // the first write of the batch that failed
}

// Batch runs fn with a context in which every call of db made with it (or a
// context derived from it) runs in one read-write transaction, committed
// when fn returns nil and rolled back whole when fn, or any write inside
// it, fails. Applying a seed of 10,000 objects is then one commit and one
// fsync instead of 10,000, and it is applied all or nothing; reads inside
// the batch see its writes. Other goroutines' writes wait for the batch, and
// their reads see the directory as it was before it.
//
// A write that fails inside a batch may have written part of its change
// before failing, which a transaction of its own would roll back. Most
// refusals are found before anything is written (ErrExists from a create
// that callers answer by reading the existing object), and those leave the
// batch as it was; but a write that fails after changing something rolls
// the whole batch back, even when fn carries on past the error.
//
// A replica (Options.Replica) commits each write through the shared store,
// whose transactions are bounded, and a read-only database has nothing to
// commit: for those, and for a Batch inside a Batch, fn runs as it is, each
// call in its own transaction.
func (db *DB) Batch(ctx context.Context, fn func(ctx context.Context) error) error {
	if db.replica != nil || db.readOnly || ctx.Value(batchKey{db}) != nil {
		return fn(ctx)
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return db.boltUpdate(directoryWrite, func(tx *bbolt.Tx) error {
		b := &batch{tx: tx}
		if err := fn(context.WithValue(ctx, batchKey{db}, b)); err != nil {
			return err
		}
		if b.failed != nil {
			return fmt.Errorf("storage: batch rolled back: a write in it failed: %w", b.failed)
		}
		return nil
	})
}

// BatchesAreTransactions reports whether Batch runs its calls as one
// transaction: on a local file, not on a replica or a read-only database.
// A caller that writes related objects in a batch can then rely on never
// finding half of them (tenant.Directory.EnsureMicrosoftGraph does).
func (db *DB) BatchesAreTransactions() bool { return db.replica == nil && !db.readOnly }

// batchOf returns the batch ctx carries for db, or nil.
func (db *DB) batchOf(ctx context.Context) *batch {
	b, _ := ctx.Value(batchKey{db}).(*batch)
	return b
}

// update runs fn, one write of the batch, in the batch's transaction. It
// records what fn writes (the recorder replicas use) to tell a refusal
// that wrote nothing from a failure that left part of a change behind.
func (b *batch) update(fn func(tx *bbolt.Tx) error) error {
	rec := startRecording(b.tx)
	rec.wroteOnly = true
	err := fn(b.tx)
	stopRecording(b.tx)
	if err != nil && b.failed == nil && rec.wrote {
		b.failed = err
	}
	return err
}
