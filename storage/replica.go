package storage

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"

	"go.etcd.io/bbolt"
)

// A replica DB (Options.Replica) is a local copy of a directory whose
// authoritative copy lives in a shared store (package storage/etcd). Its file
// has this package's layout and every read method reads it as usual, so the
// token path costs what it costs on a plain file. A write method runs its
// transaction body on the local copy, records what the body changed as a
// flat list of Changes, rolls the local transaction back, and hands the
// list to the Replica, which commits it to the shared store only if nothing
// was committed there since the revision the local copy had reached
// (optimistic concurrency: the write is serialisable). The local copy then
// learns the change like any other, from the shared store (Apply). On a
// conflict the body runs again on the newer copy, so update callbacks must
// not keep state across calls (none does: they assign their results).

// ChangeKind says what a Change does.
type ChangeKind uint8

const (
	// ChangePut stores Value under Key in the bucket.
	ChangePut ChangeKind = iota + 1
	// ChangeDelete removes Key from the bucket.
	ChangeDelete
	// ChangeCreateBucket creates the bucket (Key is nil).
	ChangeCreateBucket
	// ChangeDeleteBucket removes the bucket with everything in it.
	ChangeDeleteBucket
)

// Change is one write of a transaction, in the flattened form a shared
// store keeps: the path of bucket names from the root to the bucket it
// concerns, and for ChangePut and ChangeDelete the key and value in it.
type Change struct {
	Kind   ChangeKind
	Bucket []string
	Key    []byte
	Value  []byte
}

// Replica commits the changes of a replica DB's write transactions to the
// shared store.
type Replica interface {
	// Commit applies changes atomically, provided nothing was committed
	// since revision base; otherwise it returns an error wrapping
	// ErrConflict once the local copy has caught up, and the transaction
	// runs again. When Commit returns nil, the local copy holds the change
	// (read your writes).
	Commit(ctx context.Context, base int64, changes []Change) error
}

// ErrConflict means another writer committed first: run the transaction
// again on the newer state.
var ErrConflict = errors.New("storage: conflicting write")

// maxConflicts bounds the reruns of one write: each rerun follows another
// writer's success, so reaching it means a write storm, not a livelock.
const maxConflicts = 100

// errRecorded rolls back the local transaction of a replica write once its
// changes are recorded.
var errRecorded = errors.New("storage: changes recorded")

// replicaUpdate runs fn as updateLocal would, on the local copy, and
// commits what it changed through the replica, running it again after a
// conflict.
func (db *DB) replicaUpdate(ctx context.Context, w writeKind, fn func(tx *bbolt.Tx) error) error {
	for attempt := 0; ; attempt++ {
		var (
			rec  *recorder
			base int64
		)
		err := db.boltUpdate(w, func(tx *bbolt.Tx) error {
			base = db.revision.Load()
			rec = startRecording(tx)
			defer stopRecording(tx)
			if err := fn(tx); err != nil {
				return err
			}
			if rec.err != nil {
				return rec.err
			}
			return errRecorded
		})
		if !errors.Is(err, errRecorded) {
			return err
		}
		if len(rec.changes) == 0 {
			return nil
		}
		err = db.replica.Commit(ctx, base, rec.changes)
		if !errors.Is(err, ErrConflict) || attempt >= maxConflicts {
			return err
		}
		if err := ctx.Err(); err != nil {
			return err
		}
	}
}

// Revision returns the revision of the shared store the local copy of a
// replica DB has reached (0 for a plain file).
func (db *DB) Revision() int64 { return db.revision.Load() }

// Apply writes changes committed in the shared store at revision rev to
// the local copy, in one transaction, and then records rev. Buckets on a
// change's path are created as needed; deleting what is absent is no error,
// since a bucket's deletion reaches a replica as the deletion of every key
// in it.
func (db *DB) Apply(rev int64, changes []Change) error {
	if len(changes) == 0 {
		db.revision.Store(rev)
		return nil
	}
	err := db.boltUpdate(changesKind(changes), func(tx *bbolt.Tx) error {
		if err := applyTx(tx, changes); err != nil {
			return err
		}
		return addGroupBucketsOfTx(tx, createdTenants(changes))
	})
	if err != nil {
		return fmt.Errorf("storage: applying revision %d: %w", rev, err)
	}
	db.revision.Store(rev)
	return nil
}

// changesKind is refreshTokenWrite when every change is in a refresh-token
// bucket, as the changes of the writes of refreshtokens.go are, and
// directoryWrite otherwise: changes committed by another replica count in
// the generation as the same write made here does.
func changesKind(changes []Change) writeKind {
	for _, c := range changes {
		if len(c.Bucket) == 0 || !refreshTokenBucket(c.Bucket[0]) {
			return directoryWrite
		}
	}
	return refreshTokenWrite
}

// A shared store is never migrated: Open migrates the copy's empty file,
// which Reset then replaces by the store's content, whatever schema wrote
// it. Layout changes since the shared store appeared are additive so far,
// and the copy makes up for them itself: schema 3's group sub-buckets,
// which a directory created by an older issuer lacks in its tenants (and
// which an older replica still running beside newer ones omits from the
// tenants it creates), are created in the copy by Reset for every tenant
// and by Apply for every tenant a change creates. They are empty there,
// and a write to them reaches the shared store as keys under their path,
// which every copy's applyTx places, creating the bucket on the way; so
// no replicated migration (a write of three keys per tenant, beyond one
// etcd transaction for a directory of fifty tenants) is needed.

// createdTenants returns the ids of the tenant buckets changes create.
func createdTenants(changes []Change) [][]byte {
	var ids [][]byte
	for _, c := range changes {
		if c.Kind == ChangeCreateBucket && len(c.Bucket) == 2 && c.Bucket[0] == string(bucketTenant) {
			ids = append(ids, []byte(c.Bucket[1]))
		}
	}
	return ids
}

// Reset replaces the whole local copy by snapshot, the shared store's
// content at revision rev, in one transaction: readers see the old copy or
// the new one. A replica loads its first copy with it, and loads again
// when the changes since its copy are no longer available (compaction).
func (db *DB) Reset(rev int64, snapshot []Change) error {
	err := db.boltUpdate(directoryWrite, func(tx *bbolt.Tx) error {
		var roots [][]byte
		if err := tx.ForEach(func(name []byte, _ *bbolt.Bucket) error {
			roots = append(roots, append([]byte(nil), name...))
			return nil
		}); err != nil {
			return err
		}
		for _, name := range roots {
			if err := tx.DeleteBucket(name); err != nil {
				return err
			}
		}
		if err := applyTx(tx, snapshot); err != nil {
			return err
		}
		if err := checkLayoutTx(tx, db.path); err != nil {
			return err
		}
		return addGroupBucketsTx(tx)
	})
	if err != nil {
		return fmt.Errorf("storage: loading revision %d: %w", rev, err)
	}
	db.revision.Store(rev)
	return nil
}

// Dump calls fn with every bucket (ChangeCreateBucket, parents first) and
// every key (ChangePut) of the database, from one read transaction:
// replaying them into an empty store reproduces the directory exactly,
// secrets' hashes and signing keys included.
func (db *DB) Dump(ctx context.Context, fn func(Change) error) error {
	return db.view(ctx, func(tx *bbolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bbolt.Bucket) error {
			return dumpBucket(ctx, []string{string(name)}, b, fn)
		})
	})
}

func dumpBucket(ctx context.Context, path []string, b *bbolt.Bucket, fn func(Change) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if err := fn(Change{Kind: ChangeCreateBucket, Bucket: path}); err != nil {
		return err
	}
	return b.ForEach(func(k, v []byte) error {
		if v == nil {
			child := append(path[:len(path):len(path)], string(k))
			return dumpBucket(ctx, child, b.Bucket(k), fn)
		}
		return fn(Change{Kind: ChangePut, Bucket: path, Key: clone(k), Value: clone(v)})
	})
}

func clone(b []byte) []byte { return append([]byte{}, b...) }

// applyTx writes changes to tx in order.
func applyTx(tx *bbolt.Tx, changes []Change) error {
	for _, c := range changes {
		if len(c.Bucket) == 0 {
			return fmt.Errorf("change without a bucket")
		}
		switch c.Kind {
		case ChangePut, ChangeCreateBucket:
			b, err := tx.CreateBucketIfNotExists([]byte(c.Bucket[0]))
			for _, name := range c.Bucket[1:] {
				if err != nil {
					break
				}
				b, err = b.CreateBucketIfNotExists([]byte(name))
			}
			if err != nil {
				return fmt.Errorf("bucket %q: %w", c.Bucket, err)
			}
			if c.Kind == ChangePut {
				if err := b.Put(c.Key, c.Value); err != nil {
					return fmt.Errorf("bucket %q key %q: %w", c.Bucket, c.Key, err)
				}
			}
		case ChangeDelete, ChangeDeleteBucket:
			parent, last := existingBucket(tx, c.Bucket)
			switch {
			case c.Kind == ChangeDelete && last != nil:
				if err := last.Delete(c.Key); err != nil {
					return fmt.Errorf("bucket %q key %q: %w", c.Bucket, c.Key, err)
				}
			case c.Kind == ChangeDeleteBucket && last != nil:
				name := []byte(c.Bucket[len(c.Bucket)-1])
				var err error
				if parent == nil {
					err = tx.DeleteBucket(name)
				} else {
					err = parent.DeleteBucket(name)
				}
				if err != nil {
					return fmt.Errorf("bucket %q: %w", c.Bucket, err)
				}
			}
		default:
			return fmt.Errorf("unknown change kind %d", c.Kind)
		}
	}
	return nil
}

// existingBucket returns the bucket at path and its parent (nil for a root
// bucket); last is nil when the bucket does not exist.
func existingBucket(tx *bbolt.Tx, path []string) (parent, last *bbolt.Bucket) {
	last = tx.Bucket([]byte(path[0]))
	for _, name := range path[1:] {
		if last == nil {
			return nil, nil
		}
		parent, last = last, last.Bucket([]byte(name))
	}
	return parent, last
}

// recorder collects the changes of one write transaction of a replica DB.
// The write helpers (put, putRecord, del, and the tenant bucket helpers)
// report to it; it finds the path of the bucket they wrote to among the
// buckets the transaction opened. bbolt hands out one *Bucket per name and
// write transaction, so pointer equality identifies a bucket.
type recorder struct {
	tx      *bbolt.Tx
	tenants []string // tenant buckets the transaction opened
	changes []Change
	err     error
	// wroteOnly: only whether anything was written matters (a batch
	// telling a refusal from a half-done write), not what: naming each
	// write's bucket costs a scan of the tenants opened, which a seed of
	// thousands of tenants in one write would pay for every write.
	wroteOnly bool
	wrote     bool
}

var (
	recorders sync.Map     // *bbolt.Tx → *recorder
	recording atomic.Int64 // how many recorders exist: skips the map lookup of plain files
)

func startRecording(tx *bbolt.Tx) *recorder {
	r := &recorder{tx: tx}
	recorders.Store(tx, r)
	recording.Add(1)
	return r
}

func stopRecording(tx *bbolt.Tx) {
	recorders.Delete(tx)
	recording.Add(-1)
}

// recorderOf returns the recorder of tx, or nil when it records nothing.
func recorderOf(tx *bbolt.Tx) *recorder {
	if recording.Load() == 0 {
		return nil
	}
	r, _ := recorders.Load(tx)
	rec, _ := r.(*recorder)
	return rec
}

// recordWrite reports a put (value non-nil) or a delete of k in b.
func recordWrite(b *bbolt.Bucket, k, v []byte) {
	r := recorderOf(b.Tx())
	if r == nil {
		return
	}
	if r.wroteOnly {
		r.wrote = true
		return
	}
	path := r.pathOf(b)
	if path == nil {
		r.err = fmt.Errorf("storage: internal error: write to a bucket the replica cannot name (key %q)", k)
		return
	}
	c := Change{Kind: ChangeDelete, Bucket: path, Key: clone(k)}
	if v != nil {
		c.Kind, c.Value = ChangePut, clone(v)
	}
	r.changes = append(r.changes, c)
}

// recordTenantOpened notes that tx opened the bucket of tenant id, so that
// writes to its sub-buckets can be named.
func recordTenantOpened(tx *bbolt.Tx, id string) {
	if r := recorderOf(tx); r != nil && !r.wroteOnly {
		r.tenants = append(r.tenants, id)
	}
}

// recordBucket reports the creation or deletion of a bucket.
func recordBucket(tx *bbolt.Tx, kind ChangeKind, path ...[]byte) {
	if r := recorderOf(tx); r != nil {
		if r.wroteOnly {
			r.wrote = true
			return
		}
		p := make([]string, len(path))
		for i, n := range path {
			p[i] = string(n)
		}
		r.changes = append(r.changes, Change{Kind: kind, Bucket: p})
	}
}

// pathOf names b: a root bucket, or a sub-bucket of a tenant the
// transaction opened.
func (r *recorder) pathOf(b *bbolt.Bucket) []string {
	for _, name := range rootBuckets {
		if r.tx.Bucket(name) == b {
			return []string{string(name)}
		}
	}
	var tb tenantBuckets
	for _, id := range r.tenants {
		root := r.tx.Bucket(bucketTenant).Bucket([]byte(id))
		if root == nil {
			continue
		}
		for _, s := range tb.subBuckets() {
			if root.Bucket(s.name) == b {
				return []string{string(bucketTenant), id, string(s.name)}
			}
		}
	}
	return nil
}

// UpdateSetting replaces the setting name with what update returns from
// its current value (nil when absent), in one transaction: a
// compare-and-swap. Replicas of a shared store elect one of them for a
// task of the whole cluster with it (the scheduled key rotation). An error
// from update writes nothing and is returned.
func (db *DB) UpdateSetting(ctx context.Context, name string, update func(old []byte) ([]byte, error)) error {
	if err := checkKeyPart("setting name", name); err != nil {
		return err
	}
	return db.update(ctx, func(tx *bbolt.Tx) error {
		b := tx.Bucket(bucketSettings)
		var old []byte
		if v := b.Get([]byte(name)); v != nil {
			old = clone(v)
		}
		v, err := update(old)
		if err != nil {
			return err
		}
		return put(b, []byte(name), append([]byte{}, v...))
	})
}
