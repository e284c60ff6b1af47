package main

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/storage/etcd"
)

// replica is what `issuer serve` adds on an etcd store: every request
// syncs with etcd first (issuer.Config.Sync), and the signing keys are
// reloaded when another replica or a command changed them.
type replica struct {
	store *etcd.Store
	// clock, when frozen or offset, is shared with the other replicas
	// (issuer.Clock.Share): sync reloads it.
	clock *issuer.Clock

	mu     sync.Mutex
	iss    *issuer.Server
	logger *slog.Logger
	want   uint64        // changes of the keys seen by the watch
	have   uint64        // the last of them loaded into the server
	kick   chan struct{} // wakes the reloader
	loaded chan struct{} // closed and replaced after each reload
	// cancel ends the shipper and the key reloader serving started, and
	// done counts them until they have ended.
	cancel context.CancelFunc
	done   sync.WaitGroup
}

// openReplica opens the replica a server runs on, creating the directory
// in an empty prefix, and sets o to use it.
func openReplica(c *cli.Context, u storeURL, o *serveOptions) (*storage.DB, error) {
	r := &replica{kick: make(chan struct{}, 1), loaded: make(chan struct{})}
	st, err := openEtcd(c, u, true, r.changed)
	if err != nil {
		return nil, err
	}
	r.store = st
	wd, err := os.Getwd()
	if err != nil {
		st.Close()
		return nil, err
	}
	o.replica, o.storeName, o.caDir = r, st.Where(), wd
	return st.DB, nil
}

// changed is the store's Changed hook, called by its watch: the reload
// runs elsewhere, since reloading may write (a first key) and a write
// waits for the watch.
func (r *replica) changed(roots map[string]bool) {
	if roots != nil && !roots["keys"] {
		return
	}
	r.mu.Lock()
	r.want++
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// serving starts reloading iss's keys on change, and shipping its
// sign-ins to the cluster log under the name origin, until stop. ctx
// gives them its values, not its end: the server's context ends when
// shutting down begins, and the shipper must outlive the requests still
// being answered.
func (r *replica) serving(ctx context.Context, iss *issuer.Server, origin string, logger *slog.Logger) {
	r.mu.Lock()
	r.iss, r.logger = iss, logger
	r.mu.Unlock()
	ctx, r.cancel = context.WithCancel(context.WithoutCancel(ctx))
	r.done.Add(2)
	go func() {
		defer r.done.Done()
		r.shipLogs(ctx, iss, origin, logger)
	}()
	go func() {
		defer r.done.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case <-r.kick:
				if ctx.Err() != nil { // stopping: a reload would only fail
					return
				}
			}
			r.mu.Lock()
			want := r.want
			r.mu.Unlock()
			if err := iss.ReloadKeys(ctx); err != nil {
				logger.Error("reloading the signing keys changed in etcd", "error", err)
				continue
			}
			r.mu.Lock()
			r.have = want
			close(r.loaded)
			r.loaded = make(chan struct{})
			r.mu.Unlock()
		}
	}()
}

// stop ends what serving started and returns when it has: the keys are
// no longer reloaded, and the shipper ships what the server recorded
// since its last batch. serve calls it once the server has stopped taking
// requests and answered those it had (so that their sign-ins are in that
// last batch), before the store closes, however serving ended.
func (r *replica) stop() {
	if r.cancel == nil {
		return // not serving
	}
	r.cancel()
	r.done.Wait()
}

// sync is the server's Config.Sync: etcd's writes up to now are in the
// local copy, and a change of the signing keys among them is loaded, so
// that a key another replica signs with is in this replica's JWKS.
func (r *replica) sync(ctx context.Context) error {
	if err := r.store.Sync(ctx); err != nil {
		return err
	}
	if r.clock != nil {
		if err := r.clock.Reload(ctx); err != nil {
			return err
		}
	}
	for {
		r.mu.Lock()
		done, ch, running := r.have >= r.want, r.loaded, r.iss != nil
		r.mu.Unlock()
		if done || !running {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// syncing has h run after a sync, for remote admin commands.
func (r *replica) syncing(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if err := r.sync(req.Context()); err != nil {
			http.Error(w, "the directory is not available: "+err.Error(), http.StatusServiceUnavailable)
			return
		}
		h.ServeHTTP(w, req)
	})
}

// rotationSetting records the last scheduled rotation of a cluster.
const rotationSetting = "key-rotation"

// errNotDue means another replica already made the scheduled rotation.
var errNotDue = errors.New("rotation not due")

// claimRotation elects this replica for a scheduled rotation at now: one
// transaction (a compare-and-swap) moves the cluster's last rotation to
// now unless another replica did less than nine tenths of a period ago, so
// that replicas, whatever the phase of their timers, rotate once a period
// between them (a tenth of slack for timers that fire late).
func (r *replica) claimRotation(ctx context.Context, now time.Time, every time.Duration) (bool, error) {
	err := r.store.UpdateSetting(ctx, rotationSetting, func(old []byte) ([]byte, error) {
		if last, err := time.Parse(time.RFC3339Nano, string(old)); err == nil && now.Sub(last) < every*9/10 {
			return nil, errNotDue
		}
		return []byte(now.UTC().Format(time.RFC3339Nano)), nil
	})
	if errors.Is(err, errNotDue) {
		return false, nil
	}
	return err == nil, err
}
