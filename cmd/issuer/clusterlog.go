package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
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
// sign-ins of every replica, merged in time order, filtered as one
// server's are. --follow reads again every followInterval from the last
// batch read.
func clusterLogs(c *cli.Context, u storeURL) error {
	if err := checkLogsArgs(c); err != nil {
		return err
	}
	st, err := openEtcd(c, u, false, nil)
	if err != nil {
		return err
	}
	defer st.Close()
	f := issuer.SignInFilter{ClientID: c.String("client"), Failed: c.Bool("failed")}
	if ref := c.String("tenant"); ref != "" {
		f.Tenant = ref
		if t, err := newDirectory(c, st.DB).ResolveTenant(c.Context, ref); err == nil {
			f.Tenant = t.ID
		}
	}
	cursor, last := "", c.Int("n")
	for {
		entries, next, err := readClusterLog(c.Context, st, cursor, f)
		if err != nil {
			return err
		}
		if last > 0 && len(entries) > last {
			entries = entries[len(entries)-last:]
		}
		if len(entries) == 0 && cursor == "" && !c.Bool("follow") && !isJSON(c) {
			fmt.Fprintln(c.App.ErrWriter, "issuer: no token requests match")
		}
		for _, e := range entries {
			if err := printSignIn(c.App.Writer, e, isJSON(c)); err != nil {
				return err
			}
		}
		if !c.Bool("follow") {
			return nil
		}
		cursor, last = next, 0
		select {
		case <-c.Context.Done():
			return nil
		case <-time.After(followInterval):
		}
	}
}

// readClusterLog reads the batches after cursor and returns the entries f
// selects, oldest first, and the cursor of the last batch read.
func readClusterLog(ctx context.Context, st *etcd.Store, cursor string, f issuer.SignInFilter) ([]issuer.SignIn, string, error) {
	batches, err := st.ReadLog(ctx, cursor)
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
		cursor = b.Key
	}
	// Batches are in time order; entries of replicas shipped in the same
	// second interleave, so order them by their own times.
	sortSignIns(out)
	return out, cursor, nil
}

func sortSignIns(es []issuer.SignIn) {
	slices.SortStableFunc(es, func(a, b issuer.SignIn) int { return a.Time.Compare(b.Time) })
}
