package storage

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// Options configure Open.
type Options struct {
	// Timeout is how long Open waits for the file lock; zero means one
	// second. bbolt locks the file exclusively (shared for ReadOnly), and
	// without a timeout a second Open would hang forever.
	Timeout time.Duration
	// ReadOnly opens the file with a shared lock. Write methods then fail
	// with ErrReadOnly, and a file that needs migrating is refused.
	ReadOnly bool
	// Replica makes the file a local copy of a shared store (replica.go):
	// writes are committed through it, and the file, rebuilt from the
	// shared store at every start, is written without fsync.
	Replica Replica
	// NoSync commits without fsync, for a throwaway database (issuertest's,
	// in a temporary directory): a crash of the machine may lose or tear
	// it, which nobody will read again anyway.
	NoSync bool
}

const defaultTimeout = time.Second

// fileMode is the mode of a new database file: it holds signing keys and
// password hashes.
const fileMode = 0o600

var (
	// ErrLocked means another process holds the database file, typically
	// a running `issuer serve`.
	ErrLocked = errors.New("locked by another process")
	// ErrNewerSchema means the file was written by a newer issuer whose
	// layout this binary does not know.
	ErrNewerSchema = errors.New("written by a newer issuer")
	// ErrReadOnly is returned by write methods of a DB opened ReadOnly.
	ErrReadOnly = errors.New("opened read-only")
)

// DB is the issuer's state in one bbolt file. It implements tenant.Store and
// consent.Store, plus the signing key and settings stores package issuer
// declares. It is safe for concurrent use: reads run in parallel, writes one
// at a time.
type DB struct {
	bolt     *bbolt.DB
	path     string
	readOnly bool
	replica  Replica      // nil for a plain file
	revision atomic.Int64 // of the shared store, reached by a replica's copy
	// generation counts the write transactions run on the file
	// (Generation).
	generation atomic.Uint64
	onClose    []func()
}

var (
	_ tenant.Store  = (*DB)(nil)
	_ consent.Store = (*DB)(nil)
)

// Open opens or creates the database at path (a new file gets mode 0600),
// runs pending schema migrations and creates the root buckets, in one
// transaction. A file held by another process fails with an error wrapping
// ErrLocked after opts.Timeout; a file written by a newer binary with one
// wrapping ErrNewerSchema; a file (or a link to it) owned by another user
// or open to group or other with ErrUnsafeFile; a file shorter than its
// meta page says with ErrTruncated, before bbolt maps it (see openFile).
func Open(path string, opts Options) (*DB, error) {
	timeout := opts.Timeout
	if timeout <= 0 {
		timeout = defaultTimeout
	}
	if opts.NoSync && !opts.ReadOnly && opts.Replica == nil {
		if err := createFromEmpty(path); err != nil {
			return nil, err
		}
	}
	b, err := bbolt.Open(path, fileMode, &bbolt.Options{Timeout: timeout, ReadOnly: opts.ReadOnly, OpenFile: openFile,
		NoSync: opts.NoSync || opts.Replica != nil, NoGrowSync: opts.NoSync})
	if errors.Is(err, berrors.ErrTimeout) {
		return nil, fmt.Errorf("database %s is %w (is `issuer serve` running?)", path, ErrLocked)
	}
	if errors.Is(err, ErrTruncated) || errors.Is(err, errBadMeta) || errors.Is(err, ErrUnsafeFile) {
		return nil, err // openFile's messages name the file already
	}
	if err != nil {
		return nil, fmt.Errorf("storage: open %s: %w", path, err)
	}
	if opts.ReadOnly {
		err = b.View(recoverDamage(path, func(tx *bbolt.Tx) error { return checkSchemaTx(tx, path, migrations) }))
	} else {
		err = b.Update(recoverDamage(path, func(tx *bbolt.Tx) error { return migrateTx(tx, path, migrations, time.Now()) }))
		if errors.Is(err, errUpToDate) {
			err = nil
		}
	}
	if err != nil {
		b.Close()
		return nil, err
	}
	return &DB{bolt: b, path: path, readOnly: opts.ReadOnly, replica: opts.Replica}, nil
}

// recoverDamage turns a panic of bbolt while fn reads the file into an
// error: bbolt panics on a page that does not identify itself (a torn or
// overwritten file), and Open must refuse such a file, not crash the
// program. bbolt rolls the transaction back on the way out.
func recoverDamage(path string, fn func(tx *bbolt.Tx) error) func(tx *bbolt.Tx) error {
	return func(tx *bbolt.Tx) (err error) {
		defer func() {
			if v := recover(); v != nil {
				err = fmt.Errorf("storage: %w database %s: %v (restore a backup)", ErrDamaged, path, v)
			}
		}()
		return fn(tx)
	}
}

// OnClose has Close call fn before it closes the file: a replica's
// owner stops feeding the copy there.
func (db *DB) OnClose(fn func()) { db.onClose = append(db.onClose, fn) }

// Close releases the file and its lock.
func (db *DB) Close() error {
	for _, fn := range db.onClose {
		fn()
	}
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("storage: close %s: %w", db.path, err)
	}
	return nil
}

// Path returns the file the database was opened from.
func (db *DB) Path() string { return db.path }

// view runs fn in a read-only transaction, or in the transaction of the
// Batch ctx carries. Every public read method makes exactly one call to
// view.
func (db *DB) view(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if b := db.batchOf(ctx); b != nil {
		return fn(b.tx)
	}
	return db.bolt.View(fn)
}

// update runs fn in a read-write transaction, or in the transaction of
// the Batch ctx carries; an error from fn rolls it back (the batch, whole).
// Every public write method makes exactly one call to update or
// updateRefreshTokens, but for the deletions of a refresh-token holder on
// a replica, which delete its tokens in writes of their own first
// (drainRefreshTokens).
func (db *DB) update(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	return db.write(ctx, directoryWrite, fn)
}

// updateRefreshTokens is update for a write that changes the refresh-token
// buckets and nothing else (refreshtokens.go): it leaves the generation
// where it is.
func (db *DB) updateRefreshTokens(ctx context.Context, fn func(tx *bbolt.Tx) error) error {
	return db.write(ctx, refreshTokenWrite, fn)
}

func (db *DB) write(ctx context.Context, w writeKind, fn func(tx *bbolt.Tx) error) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if db.readOnly {
		return fmt.Errorf("database %s is %w", db.path, ErrReadOnly)
	}
	if db.replica != nil {
		return db.replicaUpdate(ctx, w, fn)
	}
	if b := db.batchOf(ctx); b != nil {
		return b.update(fn)
	}
	return db.boltUpdate(w, fn)
}

// writeKind says whether a write transaction counts in the generation.
type writeKind bool

const (
	directoryWrite    writeKind = true  // may change anything
	refreshTokenWrite writeKind = false // changes the refresh-token buckets alone
)

// boltUpdate runs fn in a bbolt read-write transaction and then, for a
// directoryWrite, counts it in the generation, committed or not: every
// write transaction on the file goes through here.
func (db *DB) boltUpdate(w writeKind, fn func(tx *bbolt.Tx) error) error {
	err := db.bolt.Update(fn)
	if w == directoryWrite {
		db.generation.Add(1)
	}
	return err
}

// Generation lets a reader that keeps what it read (the issuer's cache of
// token request facts) tell cheaply whether anything may have changed
// since: it returns a number that grows with every write transaction on
// the file but those that change refresh tokens alone, counted after the
// transaction ends and before the write call returns. Refresh tokens are
// left out because redeeming one writes (rotation, last use), and a server
// issuing user tokens beside app-only ones would otherwise empty the read
// caches of the app-only flows at every redemption; nothing cached is read
// from those buckets. A value read before a read transaction starts
// therefore names a state that transaction sees at least. It counts the
// local file's transactions, so a replica's changes arriving from the
// shared store (Apply, Reset) count too (package etcd's
// TestGenerationFollowsTheWatch and TestGenerationFollowsAReload check
// both, TestGenerationSkipsRefreshTokens the exception). ok is false when
// ctx carries a Batch, whose reads see writes not yet committed (and
// perhaps never), or when ctx is done (every read fails then).
func (db *DB) Generation(ctx context.Context) (gen uint64, ok bool) {
	if ctx.Err() != nil || db.batchOf(ctx) != nil {
		return 0, false
	}
	return db.generation.Load(), true
}
