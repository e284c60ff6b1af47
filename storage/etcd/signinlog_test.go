package etcd_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/issuer-dev/issuer/storage/etcd"
	"github.com/issuer-dev/issuer/storage/etcd/etcdtest"
	"github.com/issuer-dev/issuer/tenant"
)

// logReader opens a reader of the sign-in log at prefix, closed at the end
// of the test.
func logReader(t *testing.T, endpoints []string, prefix string) *etcd.LogReader {
	t.Helper()
	r, err := etcd.OpenLogReader(context.Background(), etcd.Config{Endpoints: endpoints, Prefix: prefix, KeyEncryptionKey: testKEK})
	if err != nil {
		t.Fatalf("etcd.OpenLogReader: %v", err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// values returns the batches' values, trimmed, joined by commas.
func values(bs []etcd.LogBatch) string {
	var out []string
	for _, b := range bs {
		out = append(out, strings.TrimSpace(string(b.Value)))
	}
	return strings.Join(out, ",")
}

// rawClient is a plain etcd client, to look at what the store wrote.
func rawClient(t *testing.T, ep string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// TestLogBatches: batches read back in time order, and the cluster keeps
// only its newest batches beyond the bound, whichever replica wrote them;
// the log stays out of the directory's copy.
func TestLogBatches(t *testing.T) {
	ep := etcdtest.Start(t)
	ctx := context.Background()
	a, b := open(t, []string{ep}, "/log"), open(t, []string{ep}, "/log")
	base := time.Unix(1_800_000_000, 0)
	for i := range 6 {
		st := a
		if i%2 == 1 {
			st = b
		}
		if err := st.AppendLog(ctx, base.Add(time.Duration(i)*time.Second), fmt.Sprintf("r%d", i%2), []byte(fmt.Sprintf("batch %d\n", i)), time.Hour, 4); err != nil {
			t.Fatal(err)
		}
	}
	all, rev, err := logReader(t, []string{ep}, "/log").ReadLog(ctx, 0)
	if err != nil {
		t.Fatal(err)
	}
	if got := values(all); got != "batch 2,batch 3,batch 4,batch 5" {
		t.Errorf("log = %v; want the newest four batches in order", got)
	}
	if rev < all[len(all)-1].Revision {
		t.Errorf("read at revision %d, before the last batch's %d", rev, all[len(all)-1].Revision)
	}
	// Each replica's batches share one lease, not one lease a batch.
	if leases, err := rawClient(t, ep).Leases(ctx); err != nil || len(leases.Leases) != 2 {
		t.Errorf("leases after six batches of two replicas: %v, %v; want 2", leases, err)
	}
	// The directory's replicas hold none of it.
	ts, err := a.ListTenants(ctx)
	if err != nil || len(ts) != 0 {
		t.Errorf("tenants %v, %v", ts, err)
	}
}

// TestReadLogFollowsRevisions: a reader following the log from a cursor
// gets every batch committed after it exactly once, a batch that arrives
// late with an older key (another replica's clock, a slow shipper)
// included; a key cursor would skip it.
func TestReadLogFollowsRevisions(t *testing.T) {
	ep := etcdtest.Start(t)
	ctx := context.Background()
	a, b := open(t, []string{ep}, "/follow"), open(t, []string{ep}, "/follow")
	r := logReader(t, []string{ep}, "/follow")
	base := time.Unix(1_800_000_000, 0)
	appendAt := func(st *etcd.Store, sec int, v string) {
		t.Helper()
		if err := st.AppendLog(ctx, base.Add(time.Duration(sec)*time.Second), "r", []byte(v+"\n"), time.Hour, 40); err != nil {
			t.Fatal(err)
		}
	}
	var cursor int64
	for _, step := range []struct {
		name   string
		append func()
		want   string
	}{
		{"first batches", func() { appendAt(a, 10, "a10"); appendAt(b, 11, "b11") }, "a10,b11"},
		{"nothing new", func() {}, ""},
		{"late, with an older key", func() { appendAt(b, 5, "b5") }, "b5"},
		{"late and on time", func() { appendAt(a, 20, "a20"); appendAt(b, 7, "b7") }, "b7,a20"},
	} {
		step.append()
		got, next, err := r.ReadLog(ctx, cursor)
		if err != nil {
			t.Fatalf("%s: %v", step.name, err)
		}
		if values(got) != step.want {
			t.Errorf("%s: read %q after revision %d; want %q", step.name, values(got), cursor, step.want)
		}
		if next < cursor {
			t.Errorf("%s: cursor went back from %d to %d", step.name, cursor, next)
		}
		cursor = next
	}
}

// TestAppendLogOneTransaction: a batch and the trimming it causes are one
// etcd transaction: the put and the deletes share a revision, so no
// reader sees the log over its bound, and no append is half done.
func TestAppendLogOneTransaction(t *testing.T) {
	ep := etcdtest.Start(t)
	ctx := context.Background()
	st := open(t, []string{ep}, "/txn")
	base := time.Unix(1_800_000_000, 0)
	for i := range 3 {
		if err := st.AppendLog(ctx, base.Add(time.Duration(i)*time.Second), "r", []byte("old"), time.Hour, 3); err != nil {
			t.Fatal(err)
		}
	}
	cli := rawClient(t, ep)
	now, err := cli.Get(ctx, "/txn/l/", clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := cli.Watch(wctx, "/txn/l/", clientv3.WithPrefix(), clientv3.WithRev(now.Header.Revision+1))
	if err := st.AppendLog(ctx, base.Add(time.Hour), "r", []byte("new"), time.Hour, 2); err != nil {
		t.Fatal(err)
	}
	// The append replaced the three old batches by itself minus two:
	// one put and two deletes, in one watch response at one revision.
	var events []*clientv3.Event
	for len(events) < 3 {
		select {
		case resp := <-w:
			events = append(events, resp.Events...)
		case <-time.After(30 * time.Second):
			t.Fatalf("%d watch events in 30s; want 3", len(events))
		}
	}
	var puts, deletes int
	for _, ev := range events {
		if ev.Kv.ModRevision != events[0].Kv.ModRevision {
			t.Errorf("event %v at revision %d, the first at %d; want one revision", ev.Type, ev.Kv.ModRevision, events[0].Kv.ModRevision)
		}
		if ev.Type == clientv3.EventTypePut {
			puts++
		} else {
			deletes++
		}
	}
	if puts != 1 || deletes != 2 {
		t.Errorf("the append was %d puts and %d deletes; want 1 and 2", puts, deletes)
	}
	got, _, err := logReader(t, []string{ep}, "/txn").ReadLog(ctx, 0)
	if err != nil || values(got) != "old,new" {
		t.Errorf("log %q, %v; want the newest old batch and the new one", values(got), err)
	}
}

// TestAppendLogBoundUnderRace: replicas appending at once never leave the
// log over its bound: an append whose view of the log is stale does not
// commit, and tries again.
func TestAppendLogBoundUnderRace(t *testing.T) {
	ep := etcdtest.Start(t)
	ctx := context.Background()
	const replicas, each, bound = 4, 10, 5
	stores := make([]*etcd.Store, replicas)
	for i := range stores {
		stores[i] = open(t, []string{ep}, "/race")
	}
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i, st := range stores {
		wg.Go(func() {
			<-start
			for j := range each {
				if err := st.AppendLog(ctx, time.Now(), fmt.Sprintf("r%d", i), []byte(fmt.Sprintf("r%d-%d", i, j)), time.Hour, bound); err != nil {
					t.Errorf("replica %d: %v", i, err)
					return
				}
			}
		})
	}
	close(start)
	wg.Wait()
	if n := countKeys(t, []string{ep}, "/race/l/"); n != bound {
		t.Errorf("the log holds %d batches after %d appends; want the bound, %d", n, replicas*each, bound)
	}
}

// TestOpenLogReader: the reader refuses what Open refuses, and resolves a
// tenant's domain to its id with the directory's index.
func TestOpenLogReader(t *testing.T) {
	ep := etcdtest.Start(t)
	ctx := context.Background()
	st := open(t, []string{ep}, "/reader")
	tn, err := tenant.NewDirectory(st).CreateTenant(ctx, tenant.TenantSpec{Name: "contoso", Domains: []string{"contoso.com"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		cfg  etcd.Config
		want error
	}{
		{"empty prefix", etcd.Config{Endpoints: []string{ep}, Prefix: "/typo", KeyEncryptionKey: testKEK}, etcd.ErrNoDirectory},
		{"wrong key-encryption key", etcd.Config{Endpoints: []string{ep}, Prefix: "/reader", KeyEncryptionKey: []byte("another key, of thirty-two bytes or more")}, etcd.ErrWrongKey},
		{"unreachable", etcd.Config{Endpoints: []string{"127.0.0.1:1"}, KeyEncryptionKey: testKEK, Timeout: 300 * time.Millisecond}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := etcd.OpenLogReader(ctx, tc.cfg)
			if err == nil {
				r.Close()
				t.Fatal("opened")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	r := logReader(t, []string{ep}, "/reader")
	for _, tc := range []struct {
		name, ref, want string
		err             error
	}{
		{"initial domain", "contoso.onmicrosoft.com", tn.ID, nil},
		{"custom domain, any case", " Contoso.COM ", tn.ID, nil},
		{"id, any case", strings.ToUpper(tn.ID), tn.ID, nil},
		{"unknown domain", "fabrikam.com", "", etcd.ErrUnknownTenant},
		{"not a tenant name", "a/b", "", tenant.ErrInvalid},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := r.TenantID(ctx, tc.ref)
			if got != tc.want || !errors.Is(err, tc.err) {
				t.Errorf("TenantID(%q) = %q, %v; want %q, %v", tc.ref, got, err, tc.want, tc.err)
			}
		})
	}
}

// TestClusterLogs: two replicas answer token requests; `issuer logs` on
// the etcd store, with no server named, shows both replicas' sign-ins,
// each naming its replica, and filters them as one server's log.
func TestClusterLogs(t *testing.T) {
	ep := etcdtest.Start(t)
	d := newDeployment(t, []string{ep}, "/logs")
	a := d.serve() // creates the directory
	dm := d.setup()
	b := d.serve()
	ctx := context.Background()
	if status, code, err := a.token(ctx, dm); err != nil || status != 200 {
		t.Fatalf("token from a: %d %d %v", status, code, err)
	}
	wrong := dm
	wrong.secret = "not-the-secret-0123456789"
	if _, code, err := b.token(ctx, wrong); err != nil || code != 7000215 {
		t.Fatalf("wrong secret at b: %d %v; want 7000215", code, err)
	}
	type entry struct {
		Replica   string `json:"replica"`
		Result    string `json:"result"`
		ErrorCode int    `json:"errorCode"`
	}
	read := func(args ...string) []entry {
		out := d.must(append([]string{"-o", "json", "logs"}, args...)...)
		var es []entry
		for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
			if line == "" {
				continue
			}
			var e entry
			if err := json.Unmarshal([]byte(line), &e); err != nil {
				t.Fatalf("logs printed %q: %v", line, err)
			}
			es = append(es, e)
		}
		return es
	}
	// Replicas ship once a second.
	var es []entry
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
		if es = read(); len(es) >= 2 {
			break
		}
	}
	if len(es) != 2 || es[0].Replica == es[1].Replica || es[0].Replica == "" || es[1].Replica == "" {
		t.Fatalf("cluster log %+v; want one entry of each replica", es)
	}
	if failed := read("--failed"); len(failed) != 1 || failed[0].ErrorCode != 7000215 || !strings.HasSuffix(failed[0].Replica, strings.TrimPrefix(b.url, "https://")) {
		t.Errorf("logs --failed = %+v; want b's refusal", failed)
	}
}

// TestAppendLogEdges: an append trims at most what one transaction may hold
// (a long backlog, after a lowered bound, goes over the appends that
// follow), and an append whose key is already stored (same replica, same
// instant) replaces that batch rather than deleting it in the same
// transaction, which etcd refuses.
func TestAppendLogEdges(t *testing.T) {
	ep := etcdtest.Start(t)
	ctx := context.Background()
	at := time.Unix(1_800_000_000, 0)
	for _, tc := range []struct {
		name             string
		maxOps, stored   int
		sameKey          bool
		bound, wantAfter int
	}{
		{"backlog beyond one transaction", 3, 6, false, 1, 5},   // one put, two deletes
		{"backlog within one transaction", 128, 6, false, 1, 1}, // one put, six deletes
		{"the same key again", 128, 1, true, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			prefix := "/edge" + fmt.Sprint(tc.maxOps, tc.stored, tc.sameKey)
			st, err := etcd.Open(ctx, etcd.Config{Endpoints: []string{ep}, Prefix: prefix, KeyEncryptionKey: testKEK,
				Create: true, Dir: t.TempDir(), MaxTxnOps: tc.maxOps})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			for i := range tc.stored {
				if err := st.AppendLog(ctx, at.Add(time.Duration(i)*time.Second), "r", []byte("old"), time.Hour, 100); err != nil {
					t.Fatal(err)
				}
			}
			next := at.Add(time.Hour)
			if tc.sameKey {
				next = at
			}
			if err := st.AppendLog(ctx, next, "r", []byte("new"), time.Hour, tc.bound); err != nil {
				t.Fatalf("append: %v", err)
			}
			if n := countKeys(t, []string{ep}, prefix+"/l/"); n != int64(tc.wantAfter) {
				t.Errorf("%d batches after the append; want %d", n, tc.wantAfter)
			}
		})
	}
}

// TestAppendLogAfterLostLease: a replica's batches share a lease for a
// while; when that lease is gone before its time (revoked here, as a
// cluster restored from a snapshot loses its leases), the next append
// takes a new one instead of failing until the next lease is due.
func TestAppendLogAfterLostLease(t *testing.T) {
	ep := etcdtest.Start(t)
	ctx := context.Background()
	st, err := etcd.Open(ctx, etcd.Config{Endpoints: []string{ep}, Prefix: "/lease", KeyEncryptionKey: testKEK, Create: true, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	at := time.Unix(1_800_000_000, 0)
	if err := st.AppendLog(ctx, at, "r", []byte("first\n"), time.Hour, 100); err != nil {
		t.Fatal(err)
	}
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	leases, err := cli.Leases(ctx)
	if err != nil || len(leases.Leases) != 1 {
		t.Fatalf("leases: %v, %v; want the log's one", leases, err)
	}
	if _, err := cli.Revoke(ctx, leases.Leases[0].ID); err != nil {
		t.Fatal(err)
	}
	if n := countKeys(t, []string{ep}, "/lease/l/"); n != 0 {
		t.Fatalf("%d batches after the revocation; want its batch gone", n)
	}
	for i, v := range []string{"second\n", "third\n"} {
		if err := st.AppendLog(ctx, at.Add(time.Duration(i+1)*time.Second), "r", []byte(v), time.Hour, 100); err != nil {
			t.Fatalf("append %d after the lease was lost: %v", i+2, err)
		}
	}
	if n := countKeys(t, []string{ep}, "/lease/l/"); n != 2 {
		t.Errorf("%d batches after the lost lease; want 2", n)
	}
}
