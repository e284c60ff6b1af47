package main

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/storage/etcd"
	"github.com/issuer-dev/issuer/storage/etcd/etcdtest"
	"github.com/issuer-dev/issuer/tenant"
)

// etcdTarget is a directory prefix in a test etcd, and the global flags
// that name it.
type etcdTarget struct {
	cfg   etcd.Config
	flags []string
}

func newEtcdTarget(t *testing.T, endpoint, prefix string) etcdTarget {
	t.Helper()
	kek := filepath.Join(t.TempDir(), "kek")
	if err := os.WriteFile(kek, []byte("a-key-encryption-key-of-the-cmd-tests\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	key, err := etcd.ReadKeyEncryptionKey(kek)
	if err != nil {
		t.Fatal(err)
	}
	return etcdTarget{
		cfg:   etcd.Config{Endpoints: []string{endpoint}, Prefix: prefix, KeyEncryptionKey: key},
		flags: []string{"--store", "etcd://" + endpoint + prefix, "--key-encryption-key-file", kek},
	}
}

// open opens a replica of the target's directory, creating it, closed at
// the end of the test.
func (tg etcdTarget) open(t *testing.T) *etcd.Store {
	t.Helper()
	cfg := tg.cfg
	cfg.Create, cfg.Dir = true, t.TempDir()
	st, err := etcd.Open(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

// waitUntil waits, with a generous deadline, until cond holds.
func waitUntil(t *testing.T, what string, cond func() bool) {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); !cond(); time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("after 30s, still waiting for %s", what)
		}
	}
}

// traceIDs returns the trace ids of the sign-ins `-o json logs` printed.
func traceIDs(t *testing.T, out string) []string {
	t.Helper()
	var ids []string
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if line == "" {
			continue
		}
		var e issuer.SignIn
		if err := json.Unmarshal([]byte(line), &e); err != nil {
			t.Fatalf("logs printed %q: %v", line, err)
		}
		ids = append(ids, e.TraceID)
	}
	return ids
}

// TestClusterLogsFollow: `logs --follow` on etcd prints every batch
// committed after its last read exactly once, one that arrives late with
// an older key (another replica's clock) included, filters by a tenant
// named by domain, and ends without error when interrupted.
func TestClusterLogsFollow(t *testing.T) {
	ep := etcdtest.Start(t)
	tg := newEtcdTarget(t, ep, "/follow")
	st := tg.open(t)
	ctx := context.Background()
	tn, err := tenant.NewDirectory(st).CreateTenant(ctx, tenant.TenantSpec{Name: "contoso"})
	if err != nil {
		t.Fatal(err)
	}
	base := time.Unix(1_800_000_000, 0).UTC()
	ship := func(sec int, trace, tenantID string) {
		t.Helper()
		at := base.Add(time.Duration(sec) * time.Second)
		line, err := json.Marshal(issuer.SignIn{Seq: uint64(sec), Time: at, TraceID: trace, Tenant: tenantID, TenantID: tenantID, Result: issuer.SignInSuccess, Status: 200, Replica: "r"})
		if err != nil {
			t.Fatal(err)
		}
		if err := st.AppendLog(ctx, at, "r", append(line, '\n'), time.Hour, logMaxBatches); err != nil {
			t.Fatal(err)
		}
	}
	ship(10, "t10", tn.ID)
	ship(11, "other-tenant", "00000000-0000-0000-0000-0000000000ff")

	out, errb := newWatchedBuffer(), newWatchedBuffer()
	fctx, interrupt := context.WithCancel(ctx)
	done := make(chan int, 1)
	args := append(append([]string{"issuer"}, tg.flags...), "-o", "json", "logs", "--follow", "--tenant", "Contoso.onmicrosoft.com")
	go func() { done <- run(fctx, args, out, errb) }()
	defer interrupt()
	waitUntil(t, "the first entry", func() bool {
		select {
		case code := <-done:
			t.Fatalf("logs --follow exited %d: %s", code, errb.String())
		default:
		}
		return strings.Contains(out.String(), "t10")
	})
	// Stored after that read, the first with a key older than every key
	// read so far.
	ship(5, "t5-late", tn.ID)
	ship(12, "t12", tn.ID)
	waitUntil(t, "the late entry and the next", func() bool {
		return strings.Contains(out.String(), "t5-late") && strings.Contains(out.String(), "t12")
	})
	interrupt()
	select {
	case code := <-done:
		if code != exitOK {
			t.Fatalf("logs --follow exited %d when interrupted; want 0\nstderr: %s", code, errb.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("logs --follow did not end in 30s after the interrupt")
	}
	if got := strings.Join(traceIDs(t, out.String()), ","); got != "t10,t5-late,t12" {
		t.Errorf("logs --follow printed %s; want t10,t5-late,t12 (each once, contoso's only)", got)
	}
}
