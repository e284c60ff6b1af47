package issuer

import (
	"context"
	"strings"
	"sync"

	"github.com/issuer-dev/issuer/consent"
)

// generationStore is a store that can tell cheaply whether anything was
// written since an earlier read (*storage.DB does; a store without the
// method is read every time). Generation returns a number that changes with
// every write transaction, counted before the write call returns, so that a
// value read before a read transaction starts names a state that
// transaction sees at least. ok is false when reads under ctx must go to
// the store (a batch whose writes are not committed yet, a done context).
type generationStore interface {
	Generation(ctx context.Context) (gen uint64, ok bool)
}

// Bounds of the facts cache. A full cache is emptied, not evicted from:
// real traffic asks the same few questions over and over (a daemon, its
// resource), and a client that sends ever new ones only costs itself the
// reads. Keys are names the client sent; long ones (a v1 resource= may be
// close to a megabyte) are not cached, so the cache holds at most
// maxCachedFacts times maxFactKeyBytes of request text.
const (
	maxCachedFacts  = 1024
	maxFactKeyBytes = 1024
)

// factKey is what consent.Resolve reads for a request: its answer depends
// on these names and on the directory alone (Scopes and Default are judged
// by Decide, not read).
type factKey struct {
	flow                                      consent.Flow
	tenantRef, clientAppID, resource, userRef string
}

func newFactKey(creq consent.Request) (factKey, bool) {
	k := factKey{creq.Flow, creq.TenantRef, creq.ClientAppID, creq.ResourceName, creq.UserRef}
	if len(k.flow)+len(k.tenantRef)+len(k.clientAppID)+len(k.resource)+len(k.userRef) > maxFactKeyBytes {
		return factKey{}, false
	}
	return k, true
}

// factCache keeps the consent.Facts of recent requests, all read at one
// store generation: the token endpoint asks the same question for every
// token of a daemon, and reading it again (a view of the store, a dozen
// bucket lookups and JSON decodings) is most of what a token costs besides
// its signature. A write anywhere in the store moves the generation on and
// empties the cache at the next read, so a request that starts after a
// write returned reads the store again: the read-after-write rule of
// Backend holds exactly as without the cache.
//
// Cached facts are shared by the requests that get them: nothing may
// change them. Only app-only flows use the cache; their users of Facts
// (Server.client, clientCredentials, IssueManagedIdentityToken, and
// package consent's CheckClient and Decide) only read them.
type factCache struct {
	mu    sync.Mutex
	gen   uint64
	facts map[factKey]consent.Facts
}

// get returns the facts cached for k at generation gen.
func (c *factCache) get(gen uint64, k factKey) (consent.Facts, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.gen != gen {
		return consent.Facts{}, false
	}
	f, ok := c.facts[k]
	return f, ok
}

// put caches f, read for k in a view that started after gen was read. A
// newer generation empties the cache; facts read at an older one than the
// cache's are dropped (the store changed since they were read).
func (c *factCache) put(gen uint64, k factKey, f consent.Facts) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case gen < c.gen:
		return
	case gen > c.gen || c.facts == nil || len(c.facts) >= maxCachedFacts:
		c.gen, c.facts = gen, make(map[factKey]consent.Facts)
	}
	// The names may be substrings of a request body: keep copies, not the
	// body.
	k = factKey{k.flow, strings.Clone(k.tenantRef), strings.Clone(k.clientAppID), strings.Clone(k.resource), strings.Clone(k.userRef)}
	c.facts[k] = f
}

// cachedResolve is consent.Resolve through the cache, for the app-only
// flows whose users only read the facts (see factCache).
func (s *Server) cachedResolve(ctx context.Context, creq consent.Request) (consent.Facts, error) {
	gs, ok := s.backend.(generationStore)
	if !ok || creq.Flow.Delegated() {
		return consent.Resolve(ctx, s.backend, creq)
	}
	k, ok := newFactKey(creq)
	if !ok {
		return consent.Resolve(ctx, s.backend, creq)
	}
	gen, ok := gs.Generation(ctx)
	if !ok {
		return consent.Resolve(ctx, s.backend, creq)
	}
	if f, ok := s.facts.get(gen, k); ok {
		return f, nil
	}
	f, err := consent.Resolve(ctx, s.backend, creq)
	if err == nil {
		s.facts.put(gen, k, f)
	}
	return f, err
}
