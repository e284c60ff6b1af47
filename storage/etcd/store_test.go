package etcd_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/signing"
	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/storage/etcd"
	"github.com/issuer-dev/issuer/storage/etcd/etcdtest"
	"github.com/issuer-dev/issuer/tenant"
)

func TestMain(m *testing.M) {
	etcdtest.MaybeMember()
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath)) // the issuer binary deploy_test.go built
	}
	os.Exit(code)
}

var testKEK = []byte("0123456789abcdef0123456789abcdef-test-key")

// open opens a replica of the directory at prefix on endpoints, closed at
// the end of the test.
func open(t *testing.T, endpoints []string, prefix string) *etcd.Store {
	t.Helper()
	s, err := etcd.Open(context.Background(), etcd.Config{
		Endpoints: endpoints, Prefix: prefix, KeyEncryptionKey: testKEK, Create: true, Dir: t.TempDir(),
	})
	if err != nil {
		t.Fatalf("etcd.Open: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestReplicasSeeEachOthersWrites(t *testing.T) {
	ep := etcdtest.Start(t)
	ctx := context.Background()
	a := open(t, []string{ep}, "/dir")
	b := open(t, []string{ep}, "/dir")
	da, db := tenant.NewDirectory(a), tenant.NewDirectory(b)

	tn, err := da.CreateTenant(ctx, tenant.TenantSpec{Name: "contoso"})
	if err != nil {
		t.Fatal(err)
	}
	app, err := da.RegisterApplication(ctx, tn.ID, tenant.ApplicationSpec{DisplayName: "Orders", IdentifierURIs: []string{"api://orders"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	sp, got, err := db.FindServicePrincipal(ctx, tn.ID, "api://orders")
	if err != nil {
		t.Fatalf("replica b: %v", err)
	}
	if got.AppID != app.AppID || !sp.AccountEnabled {
		t.Fatalf("replica b found %+v %+v", got, sp)
	}
	// A write through b is seen by a after Sync.
	if _, err := db.UpdateServicePrincipal(ctx, tn.ID, app.AppID, tenant.ServicePrincipalUpdate{AccountEnabled: new(false)}); err != nil {
		t.Fatal(err)
	}
	if err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	sp, _, err = da.FindServicePrincipal(ctx, tn.ID, "api://orders")
	if err != nil || sp.AccountEnabled {
		t.Fatalf("replica a after b disabled it: %+v, %v", sp, err)
	}
	// Removing the tenant deletes its bucket as one range.
	if err := db.RemoveTenant(ctx, tn.ID); err != nil {
		t.Fatal(err)
	}
	if err := a.Sync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := da.GetApplication(ctx, app.AppID); !errors.Is(err, tenant.ErrNotFound) {
		t.Fatalf("application after its tenant was removed: %v", err)
	}
	if err := a.DB.Check(ctx); err != nil {
		t.Fatalf("replica a's copy: %v", err)
	}
}

// TestConcurrentWritersConverge has replicas write at once; each write must
// land exactly once (conflicts rerun, never lose or duplicate).
func TestConcurrentWritersConverge(t *testing.T) {
	ep := etcdtest.Start(t)
	ctx := context.Background()
	stores := []*etcd.Store{open(t, []string{ep}, "/w"), open(t, []string{ep}, "/w"), open(t, []string{ep}, "/w")}
	tn, err := tenant.NewDirectory(stores[0]).CreateTenant(ctx, tenant.TenantSpec{Name: "contoso"})
	if err != nil {
		t.Fatal(err)
	}
	const perWriter = 15
	var wg sync.WaitGroup
	errs := make(chan error, len(stores)*perWriter)
	for _, s := range stores {
		wg.Go(func() {
			d := tenant.NewDirectory(s)
			// Each write is a request: it syncs first, as serve does.
			for range perWriter {
				if err := s.Sync(ctx); err != nil {
					errs <- err
				}
				if _, err := d.RegisterApplication(ctx, tn.ID, tenant.ApplicationSpec{DisplayName: "app"}); err != nil {
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	for i, s := range stores {
		if err := s.Sync(ctx); err != nil {
			t.Fatal(err)
		}
		apps, err := tenant.NewDirectory(s).ListApplications(ctx, tn.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(apps) != len(stores)*perWriter {
			t.Errorf("replica %d: %d applications, want %d", i, len(apps), len(stores)*perWriter)
		}
		if err := s.DB.Check(ctx); err != nil {
			t.Errorf("replica %d: %v", i, err)
		}
	}
}

// TestRefreshTokenRedeemedOnce redeems one refresh token on three replicas
// at once: exactly one wins, the others see a replay.
func TestRefreshTokenRedeemedOnce(t *testing.T) {
	ep := etcdtest.Start(t)
	ctx := context.Background()
	stores := []*etcd.Store{open(t, []string{ep}, "/rt"), open(t, []string{ep}, "/rt"), open(t, []string{ep}, "/rt")}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	rt := func(hash string) tenant.RefreshToken {
		return tenant.RefreshToken{Hash: hash, FamilyID: "fam", TenantID: "t", ClientAppID: "c", UserID: "u",
			IssuedDateTime: now, ExpiresDateTime: now.Add(time.Hour)}
	}
	for round := range 5 {
		first := rt("h" + string(rune('a'+round)))
		if round == 0 {
			if err := stores[0].CreateRefreshToken(ctx, first); err != nil {
				t.Fatal(err)
			}
		}
		var wg sync.WaitGroup
		results := make([]error, len(stores))
		for i, s := range stores {
			wg.Go(func() {
				if err := s.Sync(ctx); err != nil {
					results[i] = err
					return
				}
				results[i] = s.RotateRefreshToken(ctx, first.Hash, now, rt(first.Hash+"-"+string(rune('0'+i))))
			})
		}
		wg.Wait()
		won := 0
		for i, err := range results {
			switch {
			case err == nil:
				won++
			case errors.Is(err, tenant.ErrRefreshTokenReused), errors.Is(err, tenant.ErrRefreshTokenRevoked):
			default:
				t.Errorf("round %d replica %d: %v", round, i, err)
			}
		}
		if won != 1 {
			t.Fatalf("round %d: %d redemptions succeeded, want 1 (%v)", round, won, results)
		}
		break
	}
}

func TestOpenRefuses(t *testing.T) {
	ep := etcdtest.Start(t)
	ctx := context.Background()
	open(t, []string{ep}, "/exists")
	for _, tc := range []struct {
		name string
		cfg  etcd.Config
		want error
	}{
		{"empty prefix without create", etcd.Config{Endpoints: []string{ep}, Prefix: "/typo", KeyEncryptionKey: testKEK}, etcd.ErrNoDirectory},
		{"wrong key-encryption key", etcd.Config{Endpoints: []string{ep}, Prefix: "/exists", KeyEncryptionKey: []byte("another key, of thirty-two bytes or more")}, etcd.ErrWrongKey},
		{"short key-encryption key", etcd.Config{Endpoints: []string{ep}, Prefix: "/exists", KeyEncryptionKey: []byte("short")}, nil},
		{"unreachable", etcd.Config{Endpoints: []string{"127.0.0.1:1"}, KeyEncryptionKey: testKEK, Timeout: 300 * time.Millisecond}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.cfg.Dir = t.TempDir()
			s, err := etcd.Open(ctx, tc.cfg)
			if err == nil {
				s.Close()
				t.Fatal("opened")
			}
			if tc.want != nil && !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
			t.Log(err)
		})
	}
	// Nothing was written under the mistyped prefix.
	s := open(t, []string{ep}, "/exists")
	_ = s
}

var _ storage.Replica = (*etcd.Store)(nil)

// TestFirstStartOneKey: replicas starting together on an empty directory
// each make a signing key, and the cluster keeps one: every replica signs
// with it.
func TestFirstStartOneKey(t *testing.T) {
	ep := etcdtest.Start(t)
	ctx := context.Background()
	backend, err := signing.Select(signing.Go)
	if err != nil {
		t.Fatal(err)
	}
	const n = 3
	stores := make([]*etcd.Store, n)
	for i := range stores {
		stores[i] = open(t, []string{ep}, "/dir")
	}
	kids := make([]string, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range stores {
		wg.Go(func() {
			<-start
			ring, err := signing.Load(ctx, stores[i], time.Now(), backend)
			if err != nil {
				t.Errorf("replica %d: Load: %v", i, err)
				return
			}
			kids[i] = ring.KeyID()
		})
	}
	close(start)
	wg.Wait()
	for i := range stores {
		if kids[i] != kids[0] {
			t.Errorf("replica %d signs with %s, replica 0 with %s", i, kids[i], kids[0])
		}
	}
	if err := stores[0].Sync(ctx); err != nil {
		t.Fatal(err)
	}
	keys, err := stores[0].SigningKeys(ctx)
	if err != nil || len(keys) != 1 {
		t.Errorf("the cluster holds %d keys (%v); want 1", len(keys), err)
	}
}
