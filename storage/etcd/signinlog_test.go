package etcd_test

import (
	"context"
	"encoding/json"
	"fmt"
	clientv3 "go.etcd.io/etcd/client/v3"
	"strings"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/storage/etcd/etcdtest"
)

// TestLogBatches: batches read back in time order from a cursor, and the
// cluster keeps only its newest batches beyond the bound, whichever
// replica wrote them; the log stays out of the directory's copy.
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
	all, err := b.ReadLog(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, x := range all {
		got = append(got, strings.TrimSpace(string(x.Value)))
	}
	if strings.Join(got, ",") != "batch 2,batch 3,batch 4,batch 5" {
		t.Errorf("log = %v; want the newest four batches in order", got)
	}
	rest, err := a.ReadLog(ctx, all[1].Key)
	if err != nil || len(rest) != 2 || string(rest[0].Value) != "batch 4\n" {
		t.Errorf("ReadLog after %s = %v, %v; want batches 4 and 5", all[1].Key, rest, err)
	}
	// Each replica's batches share one lease, not one lease a batch.
	cli, err := clientv3.New(clientv3.Config{Endpoints: []string{ep}, DialTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	if leases, err := cli.Leases(ctx); err != nil || len(leases.Leases) != 2 {
		t.Errorf("leases after six batches of two replicas: %v, %v; want 2", leases, err)
	}
	// The directory's replicas hold none of it.
	ts, err := a.ListTenants(ctx)
	if err != nil || len(ts) != 0 {
		t.Errorf("tenants %v, %v", ts, err)
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
