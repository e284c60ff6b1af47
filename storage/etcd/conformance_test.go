package etcd_test

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/issuer-dev/issuer/conformance"
	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/storage/etcd"
	"github.com/issuer-dev/issuer/storage/etcd/etcdtest"
)

var _ issuer.Backend = (*etcd.Store)(nil)

// TestConformance runs the backend contract's suite against a real etcd,
// each test under a prefix of its own. After each test, a second replica
// loads the directory from etcd afresh and its copy must pass Check: what
// etcd holds is whole, not only what the writing replica saw.
func TestConformance(t *testing.T) {
	ep := etcdtest.Start(t)
	var n atomic.Int64
	conformance.Run(t, func(t *testing.T) issuer.Backend {
		prefix := fmt.Sprintf("/conformance/%d", n.Add(1))
		s := open(t, []string{ep}, prefix)
		t.Cleanup(func() {
			fresh, err := etcd.Open(context.Background(), etcd.Config{Endpoints: []string{ep}, Prefix: prefix, KeyEncryptionKey: testKEK, Dir: t.TempDir()})
			if err != nil {
				t.Errorf("a fresh replica: %v", err)
				return
			}
			defer fresh.Close()
			if err := fresh.DB.Check(context.Background()); err != nil {
				t.Errorf("Check of a fresh replica after the test: %v", err)
			}
		})
		return s
	})
}
