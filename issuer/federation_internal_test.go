package issuer

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// flakyKeys is a keySetFetcher that fails while down is set and counts
// its fetches.
type flakyKeys struct {
	staticKeys
	mu   sync.Mutex
	down bool
}

func (f *flakyKeys) fetchKeySet(ctx context.Context, issuer string) ([]jose.JSONWebKey, error) {
	f.mu.Lock()
	down := f.down
	f.mu.Unlock()
	if down {
		f.n.Add(1)
		return nil, errors.New("connection refused")
	}
	return f.staticKeys.fetchKeySet(ctx, issuer)
}

// TestFederationKeysCache checks the cache through a counting fetcher:
// concurrent requests for one issuer share one fetch; a failed fetch is
// not cached; a key set without the kid asked for is fetched again only
// after federationRefetchAfter; the TTL ends the cache.
func TestFederationKeysCache(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	const iss = "https://idp.example"
	f := &flakyKeys{staticKeys: staticKeys{issuer: iss, keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1"}}}}
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	fk := newFederationKeys(f, clock)
	ctx := context.Background()

	var wg sync.WaitGroup
	for range 20 {
		wg.Go(func() {
			if keys, err := fk.keys(ctx, iss, keySelector{kid: "k1"}); err != nil || len(keys) != 1 {
				t.Errorf("keys(k1) = %d keys, %v; want 1", len(keys), err)
			}
		})
	}
	wg.Wait()
	if got := f.n.Load(); got != 1 {
		t.Errorf("20 concurrent lookups made %d fetches; want 1", got)
	}

	check := func(name string, sel keySelector, wantKeys int, wantFetches int64) {
		t.Helper()
		keys, err := fk.keys(ctx, iss, sel)
		if err != nil || len(keys) != wantKeys || f.n.Load() != wantFetches {
			t.Errorf("%s: %d keys, %v, %d fetches; want %d keys and %d fetches", name, len(keys), err, f.n.Load(), wantKeys, wantFetches)
		}
	}
	check("unknown kid right after a fetch", keySelector{kid: "k2"}, 0, 1)
	check("no kid: every key", keySelector{}, 1, 1)
	check("x5t equal to a kid", keySelector{x5t: "k1"}, 1, 1)
	advance(federationRefetchAfter)
	check("unknown kid 30 s later", keySelector{kid: "k2"}, 0, 2)
	check("no refetch for a kid-less token", keySelector{}, 1, 2)

	advance(federationCacheTTL)
	f.mu.Lock()
	f.down = true
	f.mu.Unlock()
	if _, err := fk.keys(ctx, iss, keySelector{kid: "k1"}); err == nil {
		t.Errorf("an expired cache and a failing issuer gave keys; want an error")
	}
	if _, err := fk.keys(ctx, iss, keySelector{kid: "k1"}); err == nil || f.n.Load() != 4 {
		t.Errorf("after a failure: %v, %d fetches; want another attempt (4 fetches)", err, f.n.Load())
	}
	f.mu.Lock()
	f.down = false
	f.mu.Unlock()
	check("issuer back", keySelector{kid: "k1"}, 1, 5)
	if _, err := fk.keys(ctx, "https://elsewhere.example", keySelector{kid: "k1"}); err == nil {
		t.Errorf("an issuer the fetcher cannot reach gave keys")
	}
}
