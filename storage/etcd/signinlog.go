package etcd

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// The sign-in log of a cluster lives beside the directory, outside the
// range the replicas watch (watchRange):
//
//	P/l/{time, 20 digits of Unix nanoseconds}-{origin}   one batch
//
// A batch holds the entries one replica recorded since its last batch
// (opaque to this package: issuer serve writes JSON lines). Keys sort by
// the time a replica recorded the batch, so the cluster's oldest batches
// are the first keys; readers follow the log by etcd revision instead
// (ReadLog), since a batch can be committed after a batch with a later
// key (another replica's clock, a slow shipper). Each batch is leased
// for its retention (one lease per replica for each twenty-fourth of it,
// so that a replica holds about 25 leases, not one a batch), and
// appending drops the oldest batches beyond a count, so the log is
// bounded in age and size.
const logDir = "/l/"

// LogBatch is one stored batch.
type LogBatch struct {
	// Key is the batch's etcd key, which orders batches by the time their
	// replica recorded them.
	Key string
	// Revision is the etcd revision that stored the batch: the order in
	// which batches were committed, which ReadLog's cursor follows.
	Revision int64
	Value    []byte
}

// AppendLog stores batch, recorded by origin (a replica's name) at at,
// kept for retention, and deletes the cluster's oldest batches beyond
// maxBatches, in one etcd transaction. That transaction commits only if
// no batch was stored since the read that chose the batches to delete;
// when another replica appended meanwhile, AppendLog reads and tries
// again, so that the bound holds however many replicas append at once.
func (s *Store) AppendLog(ctx context.Context, at time.Time, origin string, batch []byte, retention time.Duration, maxBatches int) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	lease, err := s.logLease.get(ctx, s.client, retention)
	if err != nil {
		return fmt.Errorf("%s: leasing a sign-in log batch: %w", s.where, err)
	}
	dir := s.prefix + logDir
	key := fmt.Sprintf("%s%020d-%s", dir, at.UnixNano(), origin)
	released := false // the lease was found gone and replaced
	for {
		// The keys alone, oldest first: at most maxBatches and the few
		// that racing appends added.
		resp, err := s.client.Get(ctx, dir, clientv3.WithPrefix(), clientv3.WithKeysOnly(),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
		if err != nil {
			return fmt.Errorf("%s: reading the sign-in log: %w", s.where, err)
		}
		ops := []clientv3.Op{clientv3.OpPut(key, string(batch), clientv3.WithLease(lease))}
		// A transaction holds at most maxOps operations: a longer backlog
		// (a lowered bound) is trimmed by the appends that follow.
		extra := min(len(resp.Kvs)+1-maxBatches, s.maxOps-1)
		for _, kv := range resp.Kvs {
			if len(ops) > extra {
				break
			}
			if string(kv.Key) != key { // etcd refuses a put and a delete of one key
				ops = append(ops, clientv3.OpDelete(string(kv.Key)))
			}
		}
		// No key of the log has changed since the read: a batch deleted
		// meanwhile (by its lease) only leaves the log shorter.
		unchanged := clientv3.Compare(clientv3.ModRevision(dir), "<", resp.Header.Revision+1).WithPrefix()
		txn, err := s.client.Txn(ctx).If(unchanged).Then(ops...).Commit()
		if errors.Is(err, rpctypes.ErrLeaseNotFound) && !released {
			// The lease is gone before its time (revoked, or a cluster
			// restored from a snapshot): without this, every append would
			// fail until the next lease is due, and the sign-ins of that
			// while would pile up unshipped. Take a new one, once.
			released = true
			s.logLease.forget(lease)
			if lease, err = s.logLease.get(ctx, s.client, retention); err != nil {
				return fmt.Errorf("%s: leasing a sign-in log batch: %w", s.where, err)
			}
			continue
		}
		if err != nil {
			return fmt.Errorf("%s: storing a sign-in log batch: %w", s.where, err)
		}
		if txn.Succeeded {
			return nil
		}
	}
}

// logLease is the lease a replica's batches share for a while: a batch
// written during the lease's first twenty-fourth of retention outlives it
// by at least its retention.
type logLease struct {
	mu      sync.Mutex
	id      clientv3.LeaseID
	renewAt time.Time
}

// forget drops id, if it is still the lease in use, so that the next get
// grants another.
func (l *logLease) forget(id clientv3.LeaseID) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.id == id {
		l.id = 0
	}
}

func (l *logLease) get(ctx context.Context, c *clientv3.Client, retention time.Duration) (clientv3.LeaseID, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.id != 0 && time.Now().Before(l.renewAt) {
		return l.id, nil
	}
	step := retention / 24
	g, err := c.Grant(ctx, max(int64((retention+step)/time.Second), 1))
	if err != nil {
		return 0, err
	}
	l.id, l.renewAt = g.ID, time.Now().Add(step)
	return l.id, nil
}

// LogReader reads a cluster's sign-in log, and no more: unlike Open, it
// loads no copy of the directory and starts no watch, so that `issuer
// logs` costs one connection and a read of the log.
type LogReader struct {
	s *Store // connected, without a local copy: only its client and names are used
}

// OpenLogReader connects to etcd and checks that cfg's prefix holds a
// directory sealed with cfg's key-encryption key, as Open does (so that a
// mistyped prefix is ErrNoDirectory, not an empty log). Create, Changed, Dir and
// MaxTxnOps are not used.
func OpenLogReader(ctx context.Context, cfg Config) (*LogReader, error) {
	s, err := connect(cfg)
	if err != nil {
		return nil, err
	}
	if err := s.initialise(ctx, false); err != nil {
		s.client.Close()
		return nil, err
	}
	return &LogReader{s: s}, nil
}

// Close closes the connection.
func (r *LogReader) Close() error { return r.s.client.Close() }

// ReadLog returns the batches committed after revision after (0 for
// all), in the order of their keys, and the revision they were read at:
// the cursor of the next call. Following the log by revision rather than
// by key delivers every batch committed after the cursor exactly once,
// a batch that came late with an older key included.
func (r *LogReader) ReadLog(ctx context.Context, after int64) ([]LogBatch, int64, error) {
	ctx, cancel := context.WithTimeout(ctx, r.s.timeout)
	defer cancel()
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend)}
	if after > 0 {
		opts = append(opts, clientv3.WithMinModRev(after+1))
	}
	// etcd's default read is linearizable: every batch committed before
	// the read began has a revision at most the header's.
	resp, err := r.s.client.Get(ctx, r.s.prefix+logDir, opts...)
	if err != nil {
		return nil, after, fmt.Errorf("%s: reading the sign-in log: %w", r.s.where, err)
	}
	out := make([]LogBatch, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out = append(out, LogBatch{Key: string(kv.Key), Revision: kv.ModRevision, Value: kv.Value})
	}
	return out, resp.Header.Revision, nil
}

// ErrUnknownTenant means TenantID found no tenant by that name.
var ErrUnknownTenant = errors.New("no tenant has that domain")

// TenantID resolves ref, a tenant id or domain, to the tenant's id with
// one read of the directory's domain index, for a filter of the log by
// tenant: an id is returned as it is (lowercased), a domain not in the
// index is ErrUnknownTenant.
func (r *LogReader) TenantID(ctx context.Context, ref string) (string, error) {
	id, domain, err := tenant.ParseTenantRef(ref)
	if err != nil || id != "" {
		return id, err
	}
	bucket, k := storage.TenantDomainIndex(domain)
	key, err := r.s.dataKey(bucket, k)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(ctx, r.s.timeout)
	defer cancel()
	resp, err := r.s.client.Get(ctx, key)
	if err != nil {
		return "", fmt.Errorf("%s: reading the tenants' domains: %w", r.s.where, err)
	}
	if len(resp.Kvs) == 0 {
		return "", fmt.Errorf("%s: %w", domain, ErrUnknownTenant)
	}
	return string(resp.Kvs[0].Value), nil
}
