package etcd

import (
	"context"
	"fmt"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// The sign-in log of a cluster lives beside the directory, outside the
// data area the replicas copy:
//
//	P/l/{time, 20 digits of Unix nanoseconds}-{origin}   one batch
//
// A batch holds the entries one replica recorded since its last batch
// (opaque to this package: issuer serve writes JSON lines). Keys sort by
// time, so a reader merges the replicas' logs in one range read. Each
// batch is leased for its retention (one lease per replica for each
// twenty-fourth of it, so that a replica holds about 25 leases, not one a
// batch), and appending drops the oldest batches beyond a count, so the
// log is bounded in age and size.
const logDir = "/l/"

// LogBatch is one stored batch: Key orders it, and is the cursor that
// reads what came after it.
type LogBatch struct {
	Key   string
	Value []byte
}

// AppendLog stores batch, recorded by origin (a replica's name) at at,
// kept for retention, then deletes the oldest batches of the cluster
// beyond maxBatches.
func (s *Store) AppendLog(ctx context.Context, at time.Time, origin string, batch []byte, retention time.Duration, maxBatches int) error {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	lease, err := s.logLease.get(ctx, s.client, retention)
	if err != nil {
		return fmt.Errorf("etcd: leasing a sign-in log batch: %w", err)
	}
	key := fmt.Sprintf("%s%s%020d-%s", s.prefix, logDir, at.UnixNano(), origin)
	if _, err := s.client.Put(ctx, key, string(batch), clientv3.WithLease(lease)); err != nil {
		return fmt.Errorf("etcd: storing a sign-in log batch: %w", err)
	}
	count, err := s.client.Get(ctx, s.prefix+logDir, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		return fmt.Errorf("etcd: counting the sign-in log: %w", err)
	}
	if extra := count.Count - int64(maxBatches); extra > 0 {
		old, err := s.client.Get(ctx, s.prefix+logDir, clientv3.WithPrefix(), clientv3.WithKeysOnly(),
			clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend), clientv3.WithLimit(extra))
		if err != nil {
			return fmt.Errorf("etcd: trimming the sign-in log: %w", err)
		}
		for _, kv := range old.Kvs {
			// Another replica may trim the same batch: deleting a key that
			// is gone is no error.
			if _, err := s.client.Delete(ctx, string(kv.Key)); err != nil {
				return fmt.Errorf("etcd: trimming the sign-in log: %w", err)
			}
		}
	}
	return nil
}

// logLease is the lease a replica's batches share for a while: a batch
// written during the lease's first twenty-fourth of retention outlives it
// by at least its retention.
type logLease struct {
	mu      sync.Mutex
	id      clientv3.LeaseID
	renewAt time.Time
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

// ReadLog returns the batches stored after the cursor after (a Key; ""
// for all), oldest first.
func (s *Store) ReadLog(ctx context.Context, after string) ([]LogBatch, error) {
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	from := s.prefix + logDir
	if after != "" {
		from = after + "\x00"
	}
	resp, err := s.client.Get(ctx, from, clientv3.WithRange(clientv3.GetPrefixRangeEnd(s.prefix+logDir)),
		clientv3.WithSort(clientv3.SortByKey, clientv3.SortAscend))
	if err != nil {
		return nil, fmt.Errorf("etcd: reading the sign-in log: %w", err)
	}
	out := make([]LogBatch, 0, len(resp.Kvs))
	for _, kv := range resp.Kvs {
		out = append(out, LogBatch{Key: string(kv.Key), Value: kv.Value})
	}
	return out, nil
}
