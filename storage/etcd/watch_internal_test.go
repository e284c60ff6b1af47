package etcd

import (
	"context"
	"strings"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"

	"github.com/issuer-dev/issuer/storage/etcd/etcdtest"
	"github.com/issuer-dev/issuer/tenant"
)

// TestWatchLeavesOutTheLog: what a replica's watch follows (watchRange)
// carries the directory's writes and the commit marker, and none of the
// sign-in log's batches, which every replica ships once a second.
func TestWatchLeavesOutTheLog(t *testing.T) {
	ep := etcdtest.Start(t)
	ctx := context.Background()
	s, err := Open(ctx, Config{Endpoints: []string{ep}, Prefix: "/w", KeyEncryptionKey: []byte("0123456789abcdef0123456789abcdef-test-key"), Create: true, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	key, end := s.watchRange()
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w := s.client.Watch(wctx, key, clientv3.WithRange(end), clientv3.WithRev(s.DB.Revision()+1))
	if err := s.AppendLog(ctx, time.Now(), "r", []byte("{}\n"), time.Hour, 40); err != nil {
		t.Fatal(err)
	}
	if _, err := tenant.NewDirectory(s).CreateTenant(ctx, tenant.TenantSpec{Name: "contoso"}); err != nil {
		t.Fatal(err)
	}
	// Events come in revision order: once the tenant's commit marker has
	// come, the batch stored before it would have come too.
	var data int
	for done := false; !done; {
		select {
		case resp := <-w:
			for _, ev := range resp.Events {
				k := string(ev.Kv.Key)
				switch {
				case strings.HasPrefix(k, "/w"+logDir):
					t.Errorf("the watch carried the log batch %s", k)
				case k == "/w"+commitKey:
					done = true
				case strings.HasPrefix(k, "/w"+dataDir):
					data++
				}
			}
		case <-time.After(30 * time.Second):
			t.Fatal("no commit marker on the watch in 30s")
		}
	}
	if data == 0 {
		t.Error("the watch carried none of the tenant's keys")
	}
}
