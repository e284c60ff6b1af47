package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"slices"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/storage/etcd"
)

// The shared sign-in log of replicas on etcd: each replica ships what its
// own log recorded, once a second, as one batch of JSON lines; `issuer
// logs` on an etcd store reads the batches of every replica. Bounds: a
// batch lives for a day, and the cluster keeps its last 40 batches, of
// every replica together, of at most 500 entries each: about 40 seconds
// of sign-ins divided among the replicas that are busy (20 with two),
// and at most 20,000 entries. It is for watching a cluster at work;
// each server's own log (issuer logs --server) keeps more.
const (
	logShipEvery     = time.Second
	logRetention     = 24 * time.Hour
	logMaxBatches    = 40
	logBatchEntries  = 500
	logFlushOnCancel = 2 * time.Second
)

// shipLogs copies iss's new sign-ins to the cluster log until ctx ends,
// then once more. A batch that cannot be stored is logged and retried with
// the next one; the local log keeps its own entries regardless.
func (r *replica) shipLogs(ctx context.Context, iss *issuer.Server, origin string, logger *slog.Logger) {
	var cursor uint64
	ship := func(ctx context.Context) {
		entries, next := iss.ReadSignIns(issuer.SignInFilter{After: cursor})
		for len(entries) > 0 {
			n := min(len(entries), logBatchEntries)
			var b bytes.Buffer
			for _, e := range entries[:n] {
				e.Replica = origin
				line, err := json.Marshal(e)
				if err != nil {
					logger.Error("encoding a sign-in for the cluster log", "error", err)
					return
				}
				b.Write(line)
				b.WriteByte('\n')
			}
			if err := r.store.AppendLog(ctx, time.Now(), origin, b.Bytes(), logRetention, logMaxBatches); err != nil {
				logger.Warn("storing sign-ins in the cluster log", "error", err)
				return
			}
			cursor = entries[n-1].Seq
			entries = entries[n:]
		}
		cursor = max(cursor, next)
	}
	t := time.NewTicker(logShipEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), logFlushOnCancel)
			ship(fctx)
			cancel()
			return
		case <-t.C:
			ship(ctx)
		}
	}
}

// clusterLogs is `issuer logs` on an etcd store without --server: the
// sign-ins of every replica, merged in time order, filtered and printed
// as one server's are. It reads the log alone (etcd.LogReader), not the
// directory; --follow reads again every followInterval what was
// committed since the last read.
func clusterLogs(c *cli.Context, u storeURL) error {
	if err := checkLogsArgs(c); err != nil {
		return err
	}
	cfg, err := etcdConfig(c, u)
	if err != nil {
		return err
	}
	r, err := etcd.OpenLogReader(c.Context, cfg)
	if err != nil {
		return err
	}
	defer r.Close()
	f := signInFilter(c, r.TenantID)
	var cursor int64
	return followEvery(c, func(first bool) error {
		entries, next, err := readClusterLog(c.Context, r, cursor, f)
		if err != nil {
			return err
		}
		cursor = next
		if n := c.Int("n"); first && n > 0 && len(entries) > n {
			entries = entries[len(entries)-n:]
		}
		return printSignIns(c, entries, first)
	})
}

// readClusterLog reads the batches committed after the revision cursor
// and returns the entries f selects, oldest first, and the revision read
// at, the next cursor.
func readClusterLog(ctx context.Context, r *etcd.LogReader, cursor int64, f issuer.SignInFilter) ([]issuer.SignIn, int64, error) {
	batches, next, err := r.ReadLog(ctx, cursor)
	if err != nil {
		return nil, cursor, err
	}
	var out []issuer.SignIn
	for _, b := range batches {
		sc := bufio.NewScanner(bytes.NewReader(b.Value))
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			var e issuer.SignIn
			if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
				continue // not a sign-in: written by something else
			}
			if f.Matches(e) {
				out = append(out, e)
			}
		}
	}
	// Batches come in the order of their replicas' clocks; the entries of
	// replicas that shipped in the same second interleave, so order them
	// by their own times.
	slices.SortStableFunc(out, func(a, b issuer.SignIn) int { return a.Time.Compare(b.Time) })
	return out, next, nil
}
