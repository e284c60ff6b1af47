// Package etcd keeps the issuer's directory in etcd, so that any number of
// `issuer serve` replicas and CLI commands share it.
//
// A Store is a storage.DB whose file is a local copy of the directory
// (storage's replica mode): every read, the token path included, reads that
// copy, at the cost of a plain file. A watch from a consistent snapshot
// keeps the copy current (a compacted revision reloads the snapshot). A
// write runs its transaction body on the copy and commits what it changed
// in one etcd transaction that succeeds only if the directory's commit
// marker has not moved since the revision the copy had reached; otherwise
// it waits for the copy to catch up and runs again, so every write is
// serialisable, and a refresh token redeemed on two replicas at once is
// redeemed once.
//
// Sync gives reads the guarantee of a single server: it reads the commit
// marker's revision linearizably (one round trip, shared by every request
// that arrived meanwhile) and waits until the copy has reached it, so a
// write acknowledged by any replica or command is seen by the request that
// follows. `issuer serve` calls it before each request.
//
// The values of the buckets holding private keys (signing keys, the local
// CA) are sealed with the key-encryption key (crypt.go); the key layout is
// in keys.go.
package etcd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/issuer-dev/issuer/storage"
)

// Config configures Open.
type Config struct {
	// Endpoints are etcd's client URLs or host:port pairs.
	Endpoints []string
	// Prefix is where the directory lives ("/issuer" when empty), so that
	// several directories share a cluster.
	Prefix string
	// TLS, when set, is used to reach etcd; Username and Password
	// authenticate to it when Username is set.
	TLS                *tls.Config
	Username, Password string
	// KeyEncryptionKey seals signing keys and the local CA (required).
	KeyEncryptionKey []byte
	// Create initialises an empty prefix with an empty directory; without
	// it an empty prefix is refused (a mistyped prefix writes nothing).
	Create bool
	// Timeout bounds each request to etcd: starting, a commit, a Sync.
	// When etcd has lost its quorum, requests fail after it instead of
	// hanging. Default 2s.
	Timeout time.Duration
	// Dir holds the local copy (a fresh temporary directory inside it,
	// removed by Close); default os.TempDir().
	Dir string
	// Changed, when set, is called after the local copy changed, with the
	// root buckets the change touched (e.g. "keys" after a rotation).
	Changed func(roots map[string]bool)
	// MaxTxnOps is the cluster's --max-txn-ops: the most operations one
	// transaction may hold (default 128, etcd's default). A write over it
	// is ErrTooLarge; an operator who raised etcd's limit raises this one
	// to match, and larger single writes (removing a tenant with many
	// applications) go through.
	MaxTxnOps int
}

// ErrNoDirectory means the prefix holds no directory.
var ErrNoDirectory = errors.New("no issuer directory there")

// Store is a replica of a directory kept in etcd. Its embedded *storage.DB
// implements every store interface of the issuer.
type Store struct {
	*storage.DB
	client  *clientv3.Client
	prefix  string
	crypt   *crypt
	timeout time.Duration
	maxOps  int // Config.MaxTxnOps
	changed func(map[string]bool)
	tmp     string
	where   string // for messages: etcd://endpoints/prefix

	mu       sync.Mutex
	reached  chan struct{} // closed and replaced whenever the copy advances
	watchErr error         // why the watch is down, nil while it runs

	sync coalescer

	logLease logLease // AppendLog's current lease
}

// Open connects to etcd, loads a snapshot of the directory at Prefix into a
// local copy and starts the watch that keeps it current. A cluster that
// does not answer within Timeout, an empty prefix without Create, keys
// that are not a directory, and a key-encryption key other than the one
// the directory was sealed with are errors; nothing is written then.
func Open(ctx context.Context, cfg Config) (*Store, error) {
	s, err := connect(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.start(ctx, cfg); err != nil {
		s.client.Close()
		if s.tmp != "" {
			os.RemoveAll(s.tmp)
		}
		return nil, err
	}
	return s, nil
}

// connect makes the client; etcd is not asked anything yet.
func connect(cfg Config) (*Store, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, errors.New("etcd: no endpoint")
	}
	cr, err := newCrypt(cfg.KeyEncryptionKey)
	if err != nil {
		return nil, err
	}
	prefix := strings.TrimRight(cfg.Prefix, "/")
	if prefix == "" {
		prefix = "/issuer"
	}
	timeout := cfg.Timeout
	if timeout <= 0 {
		timeout = 2 * time.Second
	}
	maxOps := cfg.MaxTxnOps
	if maxOps <= 0 {
		maxOps = defaultMaxTxnOps
	}
	s := &Store{
		prefix: prefix, crypt: cr, timeout: timeout, changed: cfg.Changed, maxOps: maxOps,
		where:   "etcd://" + strings.Join(cfg.Endpoints, ",") + prefix,
		reached: make(chan struct{}),
	}
	s.client, err = clientv3.New(clientv3.Config{
		Endpoints:            cfg.Endpoints,
		DialTimeout:          timeout,
		DialKeepAliveTime:    timeout,
		DialKeepAliveTimeout: timeout,
		TLS:                  cfg.TLS,
		Username:             cfg.Username,
		Password:             cfg.Password,
		Logger:               zap.NewNop(),
		// etcd refuses requests over 1.5 MiB: a commit is checked against
		// maxRequestBytes first, with a clear error.
		MaxCallSendMsgSize: 2 << 20,
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", s.where, err)
	}
	return s, nil
}

// Import copies the directory src holds, whole (secrets' hashes, signing
// keys and the local CA included), to the empty prefix cfg names: `issuer
// db copy`. A directory larger than one etcd transaction is written in
// several, and the commit marker and key check, which make the prefix a
// directory, come last: a copy that stops halfway leaves keys that Open
// refuses (not an issuer directory), never half a directory. It returns
// how many keys it wrote.
func Import(ctx context.Context, cfg Config, src *storage.DB) (int, error) {
	s, err := connect(cfg)
	if err != nil {
		return 0, err
	}
	defer s.client.Close()
	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	resp, err := s.client.Get(tctx, s.prefix+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	cancel()
	if err != nil {
		return 0, fmt.Errorf("%s does not answer: %w", s.where, err)
	}
	if resp.Count != 0 {
		return 0, fmt.Errorf("%s is not empty (%d keys): copy into a new prefix, or delete this one first (etcdctl del --prefix %s/)", s.where, resp.Count, s.prefix)
	}
	var changes []storage.Change
	if err := src.Dump(ctx, func(c storage.Change) error {
		changes = append(changes, c)
		return nil
	}); err != nil {
		return 0, err
	}
	ops, err := s.ops(changes)
	if err != nil {
		return 0, err
	}
	sealed, err := s.crypt.seal(s.prefix+kekKey, []byte(kekCheck))
	if err != nil {
		return 0, err
	}
	marker := clientv3.Compare(clientv3.CreateRevision(s.prefix+commitKey), "=", 0)
	for len(ops) > 0 {
		n, size := 0, 0
		for n < len(ops) && n < s.maxOps-1 && size+opsSize(ops[n:n+1]) <= maxRequestBytes {
			size += opsSize(ops[n : n+1])
			n++
		}
		if n == 0 {
			return 0, fmt.Errorf("%s: one value of %d bytes is %w", s.where, opsSize(ops[:1]), ErrTooLarge)
		}
		if err := s.txn(ctx, marker, ops[:n]); err != nil {
			return 0, err
		}
		ops = ops[n:]
	}
	last := []clientv3.Op{clientv3.OpPut(s.prefix+kekKey, string(sealed)), clientv3.OpPut(s.prefix+commitKey, "")}
	if err := s.txn(ctx, marker, last); err != nil {
		return 0, err
	}
	return len(changes), nil
}

// txn runs ops if cmp holds; that it does not is an error (someone else
// wrote the prefix meanwhile).
func (s *Store) txn(ctx context.Context, cmp clientv3.Cmp, ops []clientv3.Op) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.client.Txn(ctx).If(cmp).Then(ops...).Commit()
	if err != nil {
		return fmt.Errorf("%s: %w", s.where, err)
	}
	if !resp.Succeeded {
		return fmt.Errorf("%s: another process wrote a directory there during the copy", s.where)
	}
	return nil
}

func (s *Store) start(ctx context.Context, cfg Config) error {
	if err := s.initialise(ctx, cfg.Create); err != nil {
		return err
	}
	var err error
	if s.tmp, err = os.MkdirTemp(cfg.Dir, "issuer-etcd-"); err != nil {
		return fmt.Errorf("etcd: local copy: %w", err)
	}
	s.DB, err = storage.Open(filepath.Join(s.tmp, "replica.db"), storage.Options{Replica: s})
	if err != nil {
		return err
	}
	rev, err := s.load(ctx)
	if err != nil {
		s.DB.Close()
		return err
	}
	wctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go s.watch(wctx, rev, done)
	// Whoever holds only the *storage.DB closes the whole replica.
	s.DB.OnClose(func() {
		cancel()
		<-done
		s.client.Close()
		os.RemoveAll(s.tmp)
	})
	return nil
}

// initialise checks that the prefix holds a directory sealed with our key,
// or with create writes an empty one there (the layout of a new file, in one
// transaction that succeeds only on an empty prefix).
func (s *Store) initialise(ctx context.Context, create bool) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.client.Get(ctx, s.prefix+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return fmt.Errorf("%s does not answer: %w", s.where, err)
	}
	if resp.Count == 0 {
		if !create {
			return fmt.Errorf("%s: %w (a wrong prefix? `issuer serve` or `issuer db copy` creates one)", s.where, ErrNoDirectory)
		}
		ok, err := s.createEmpty(ctx)
		if err != nil {
			return err
		}
		if ok {
			return nil
		}
	}
	return s.checkDirectory(ctx)
}

// checkDirectory refuses a prefix whose keys are not a directory, or were
// sealed with another key.
func (s *Store) checkDirectory(ctx context.Context) error {
	resp, err := s.client.Get(ctx, s.prefix+kekKey)
	if err != nil {
		return fmt.Errorf("%s does not answer: %w", s.where, err)
	}
	if len(resp.Kvs) == 0 {
		return fmt.Errorf("%s holds keys that are not an issuer directory (a wrong prefix?)", s.where)
	}
	if _, err := s.crypt.open(s.prefix+kekKey, resp.Kvs[0].Value); err != nil {
		return fmt.Errorf("%s: %w", s.where, ErrWrongKey)
	}
	return nil
}

// kekCheck is the text sealed at P/c/kek.
const kekCheck = "issuer key-encryption key check"

// createEmpty writes the layout of a new database to the empty prefix; it
// reports false when another process was faster.
func (s *Store) createEmpty(ctx context.Context) (bool, error) {
	tmp, err := os.MkdirTemp("", "issuer-etcd-new-")
	if err != nil {
		return false, err
	}
	defer os.RemoveAll(tmp)
	empty, err := storage.Open(filepath.Join(tmp, "new.db"), storage.Options{})
	if err != nil {
		return false, err
	}
	defer empty.Close()
	var changes []storage.Change
	if err := empty.Dump(ctx, func(c storage.Change) error {
		changes = append(changes, c)
		return nil
	}); err != nil {
		return false, err
	}
	ops, err := s.ops(changes)
	if err != nil {
		return false, err
	}
	sealed, err := s.crypt.seal(s.prefix+kekKey, []byte(kekCheck))
	if err != nil {
		return false, err
	}
	ops = append(ops, clientv3.OpPut(s.prefix+kekKey, string(sealed)), clientv3.OpPut(s.prefix+commitKey, ""))
	resp, err := s.client.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(s.prefix+commitKey), "=", 0)).
		Then(ops...).Commit()
	if err != nil {
		return false, fmt.Errorf("%s: creating the directory: %w", s.where, err)
	}
	return resp.Succeeded, nil
}

// loadPage is how many keys one request of a snapshot load reads.
const loadPage = 2000

// load reads the whole directory at one revision, page by page, and makes
// it the local copy.
func (s *Store) load(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*s.timeout)
	defer cancel()
	start, end := s.prefix+dataDir, clientv3.GetPrefixRangeEnd(s.prefix+dataDir)
	var (
		rev     int64
		changes []storage.Change
	)
	for {
		opts := []clientv3.OpOption{clientv3.WithRange(end), clientv3.WithLimit(loadPage)}
		if rev != 0 {
			opts = append(opts, clientv3.WithRev(rev))
		}
		resp, err := s.client.Get(ctx, start, opts...)
		if err != nil {
			return 0, fmt.Errorf("%s: reading the directory: %w", s.where, err)
		}
		if rev == 0 {
			rev = resp.Header.Revision
		}
		for _, kv := range resp.Kvs {
			c, ok, err := s.changeOf(kv.Key, kv.Value, false)
			if err != nil {
				return 0, err
			}
			if ok {
				changes = append(changes, c)
			}
		}
		if !resp.More || len(resp.Kvs) == 0 {
			break
		}
		start = string(resp.Kvs[len(resp.Kvs)-1].Key) + "\x00"
	}
	if err := s.DB.Reset(rev, changes); err != nil {
		return 0, fmt.Errorf("%s: %w", s.where, err)
	}
	return rev, nil
}

// watch keeps the local copy current from revision rev on, until ctx ends.
// A compacted revision reloads the snapshot; a broken watch starts again
// from the last revision applied.
func (s *Store) watch(ctx context.Context, rev int64, done chan struct{}) {
	defer close(done)
	for ctx.Err() == nil {
		wctx, cancel := context.WithCancel(clientv3.WithRequireLeader(ctx))
		key, end := s.watchRange()
		ch := s.client.Watch(wctx, key, clientv3.WithRange(end), clientv3.WithRev(rev+1))
		for resp := range ch {
			if resp.CompactRevision != 0 {
				break
			}
			if err := resp.Err(); err != nil {
				s.setWatchErr(err)
				break
			}
			if err := s.apply(resp.Events); err != nil {
				s.setWatchErr(err)
				break
			}
			if n := len(resp.Events); n > 0 {
				rev = resp.Events[n-1].Kv.ModRevision
			}
		}
		cancel()
		if ctx.Err() != nil {
			return
		}
		// Compacted, broken, or the leader lost: reload, which also tells
		// whether the cluster answers again.
		if r, err := s.load(ctx); err != nil {
			s.setWatchErr(err)
			select {
			case <-ctx.Done():
			case <-time.After(s.timeout / 4):
			}
		} else {
			rev = r
			s.advance(nil)
		}
	}
}

// apply writes the events of one watch response to the local copy.
func (s *Store) apply(events []*clientv3.Event) error {
	if len(events) == 0 {
		return nil
	}
	var changes []storage.Change
	roots := map[string]bool{}
	for _, ev := range events {
		c, ok, err := s.changeOf(ev.Kv.Key, ev.Kv.Value, ev.Type == clientv3.EventTypeDelete)
		if err != nil {
			return err
		}
		if ok {
			changes = append(changes, c)
			roots[c.Bucket[0]] = true
		}
	}
	rev := events[len(events)-1].Kv.ModRevision
	if err := s.DB.Apply(rev, changes); err != nil {
		return err
	}
	s.advance(roots)
	return nil
}

// advance wakes whoever waits for the copy to reach a revision.
func (s *Store) advance(roots map[string]bool) {
	s.mu.Lock()
	close(s.reached)
	s.reached = make(chan struct{})
	s.watchErr = nil
	s.mu.Unlock()
	if s.changed != nil && (roots == nil || len(roots) > 0) {
		s.changed(roots)
	}
}

func (s *Store) setWatchErr(err error) {
	s.mu.Lock()
	s.watchErr = err
	s.mu.Unlock()
}

// waitFor returns once the local copy has reached rev.
func (s *Store) waitFor(ctx context.Context, rev int64) error {
	for {
		s.mu.Lock()
		ch := s.reached
		s.mu.Unlock()
		if s.DB.Revision() >= rev {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			s.mu.Lock()
			werr := s.watchErr
			s.mu.Unlock()
			if werr != nil {
				return fmt.Errorf("%s: the local copy is behind (revision %d of %d): %w", s.where, s.DB.Revision(), rev, werr)
			}
			return fmt.Errorf("%s: the local copy is behind (revision %d of %d): %w", s.where, s.DB.Revision(), rev, ctx.Err())
		}
	}
}

// Sync returns once the local copy holds every write committed before it
// was called: one linearizable read of the commit marker, shared by all
// callers that arrived while none was under way, then a wait for the watch.
// It fails after the store's Timeout when etcd cannot answer (no quorum).
func (s *Store) Sync(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	rev, err := s.sync.do(ctx, s.readCommitRevision)
	if err != nil {
		return err
	}
	return s.waitFor(ctx, rev)
}

// readCommitRevision reads the revision of the directory's last write,
// linearizably (etcd's default: the read goes through the leader's quorum).
func (s *Store) readCommitRevision(ctx context.Context) (int64, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.client.Get(ctx, s.prefix+commitKey)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", s.where, err)
	}
	if len(resp.Kvs) == 0 {
		return 0, fmt.Errorf("%s: %w (deleted while in use?)", s.where, ErrNoDirectory)
	}
	return resp.Kvs[0].ModRevision, nil
}

// Ping reports whether the store can serve: etcd answers a linearizable
// read, the local copy has caught up, and its layout is whole.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.Sync(ctx); err != nil {
		return err
	}
	return s.DB.Ping(ctx)
}

// Where names the store, as etcd://endpoints/prefix.
func (s *Store) Where() string { return s.where }

// Close stops the watch, closes the connection and removes the local copy
// (as s.DB.Close does).
func (s *Store) Close() error { return s.DB.Close() }

// Limits of one etcd request with etcd's default server settings
// (--max-txn-ops 128, --max-request-bytes 1.5 MiB), with room for the
// commit marker and the request's framing.
const (
	defaultMaxTxnOps = 128
	maxRequestBytes  = 1<<20 + 1<<19 - 64<<10
)

// ErrTooLarge means one write holds more than etcd takes in a transaction;
// it is storage's, so that the bulk path splits its writes.
var ErrTooLarge = storage.ErrTooLarge

// ops turns changes into etcd operations, sealing private values.
func (s *Store) ops(changes []storage.Change) ([]clientv3.Op, error) {
	ops := make([]clientv3.Op, 0, len(changes)+1)
	for _, c := range changes {
		var (
			k   string
			err error
		)
		if c.Kind == storage.ChangePut || c.Kind == storage.ChangeDelete {
			k, err = s.dataKey(c.Bucket, c.Key)
		} else {
			k, err = s.bucketPrefix(c.Bucket)
		}
		if err != nil {
			return nil, err
		}
		switch c.Kind {
		case storage.ChangePut:
			v := c.Value
			if sealedBucket(c.Bucket) {
				if v, err = s.crypt.seal(k, v); err != nil {
					return nil, err
				}
			}
			ops = append(ops, clientv3.OpPut(k, string(v)))
		case storage.ChangeCreateBucket:
			ops = append(ops, clientv3.OpPut(k, ""))
		case storage.ChangeDelete:
			ops = append(ops, clientv3.OpDelete(k))
		case storage.ChangeDeleteBucket:
			ops = append(ops, clientv3.OpDelete(k, clientv3.WithPrefix()))
		}
	}
	return ops, nil
}

// opsSize estimates the bytes of a request carrying ops.
func opsSize(ops []clientv3.Op) int {
	n := 0
	for _, op := range ops {
		n += len(op.KeyBytes()) + len(op.ValueBytes()) + 16
	}
	return n
}

// Commit implements storage.Replica: one etcd transaction that applies
// changes and moves the commit marker, if the marker has not moved since
// base. It returns once the local copy holds the outcome.
func (s *Store) Commit(ctx context.Context, base int64, changes []storage.Change) error {
	ops, err := s.ops(changes)
	if err != nil {
		return err
	}
	if len(ops)+1 > s.maxOps || opsSize(ops) > maxRequestBytes {
		return fmt.Errorf("%s: a write of %d changes (%d bytes) is %w (at most %d operations and %d bytes; raise etcd's --max-txn-ops and --etcd-max-txn-ops together for larger writes)",
			s.where, len(ops), opsSize(ops), ErrTooLarge, s.maxOps-1, maxRequestBytes)
	}
	ops = append(ops, clientv3.OpPut(s.prefix+commitKey, ""))
	marker := s.prefix + commitKey
	// Only the request has the store's deadline: once etcd has answered,
	// the write is decided, and the wait for the local copy must not turn
	// a committed write into an error. That wait can be long: applying
	// needs a write transaction of the copy, which a long read view holds
	// back when the file must grow, as it holds back a write to a file.
	tctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	resp, err := s.client.Txn(tctx).
		If(clientv3.Compare(clientv3.ModRevision(marker), "<", base+1)).
		Then(ops...).
		Else(clientv3.OpGet(marker)).
		Commit()
	if err != nil {
		return fmt.Errorf("%s: commit: %w", s.where, err)
	}
	if resp.Succeeded {
		return s.waitFor(ctx, resp.Header.Revision)
	}
	rev := resp.Header.Revision
	if r := resp.Responses[0].GetResponseRange(); r != nil && len(r.Kvs) > 0 {
		rev = r.Kvs[0].ModRevision
	}
	if err := s.waitFor(ctx, rev); err != nil {
		return err
	}
	return storage.ErrConflict
}
