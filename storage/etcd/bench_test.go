package etcd_test

import (
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/issuer/bench"
	"github.com/issuer-dev/issuer/storage/etcd/etcdtest"
)

// TestBenchReplicaOnEtcd runs `issuer bench --etcd` against a real etcd:
// the bbolt server and a replica on etcd are measured at the same levels,
// and a revocation written through etcd is refused by another replica.
// Only that each figure is measured is checked, never its value.
func TestBenchReplicaOnEtcd(t *testing.T) {
	ep := etcdtest.Start(t)
	d := newDeployment(t, []string{ep}, "/unused")
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ISSUER_STORE=") {
			env = append(env, kv)
		}
	}
	r := d.runEnv(env, "bench", "-o", "json", "--duration", "1s", "--concurrency", "1,2", "--sign-time", "100ms", "--etcd", "etcd://"+ep+"/bench")
	if r.code != 0 {
		t.Fatalf("exit %d\nstderr: %s", r.code, r.stderr)
	}
	var rep bench.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("-o json printed %q: %v", r.stdout, err)
	}
	e := rep.Etcd
	if e == nil || !strings.HasPrefix(e.Store, "etcd://"+ep+"/bench/issuer-bench-") {
		t.Fatalf("etcd report %+v; want one under /bench", e)
	}
	if len(e.Levels) != 2 || e.ColdStartMs <= 0 || e.RatioToBolt <= 0 || e.RevocationPolls < 1 || e.RevocationToRefusalMs < 0 {
		t.Errorf("etcd report %+v; want two levels, a cold start, a ratio and a revocation time", e)
	}
	for _, l := range e.Levels {
		if l.TokensPerSec <= 0 || l.Errors != 0 {
			t.Errorf("etcd level %+v; want tokens and no errors", l)
		}
	}
	if n := countKeys(t, []string{ep}, "/bench/"); n == 0 {
		t.Error("nothing was copied under /bench/")
	}
}
