package issuer

import (
	"context"
	"maps"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/tenant"
)

// generationStore is a store that can tell cheaply whether anything was
// written since an earlier read (*storage.DB does; a store without the
// method is read every time). Generation returns a number that changes with
// every write transaction that may change what the caches hold, counted
// before the write call returns, so that a value read before a read
// transaction starts names a state that transaction sees at least. ok is
// false when reads under ctx must go to the store (a batch whose writes
// are not committed yet, a done context).
type generationStore interface {
	Generation(ctx context.Context) (gen uint64, ok bool)
}

// Bounds of the read caches. A full cache is emptied, not evicted from:
// real traffic asks the same few questions over and over (a daemon, its
// resource), and a client that sends ever new ones only costs itself the
// reads. Keys are names the client sent; long ones (a v1 resource= may be
// close to a megabyte) are not cached, so a cache holds at most
// maxCached times maxCacheKeyBytes of request text. Each cached facts
// holds its own copy of two applications (a few kilobytes, more with
// many certificates), which bounds the entries more than the keys do:
// the server's peak RSS is one of issue 19's targets.
const (
	maxCached        = 256
	maxCacheKeyBytes = 1024
)

// readCache keeps answers of the store read at one store generation
// (generationStore). A write to the directory moves the generation on
// (storage's leaves out refresh tokens, which nothing cached is read
// from), and the cache answers nothing read before it: a request that
// starts after a write returned reads the store again, so the
// read-after-write rule of Backend holds exactly as without the cache.
//
// Every token request reads the caches and few write them (once per
// question and generation), so reads take no lock: the cache is an atomic
// pointer to an immutable set of answers of one generation, which put
// replaces by a copy with one more answer (at most maxCached of them, so
// filling a cache copies a few tens of thousands of entries once).
//
// Cached values are shared by the requests that get them: nothing may
// change them (see the users of Server.facts and Server.tenants).
type readCache[K comparable, V any] struct {
	cur atomic.Pointer[cachedGeneration[K, V]]
	mu  sync.Mutex // serialises put
}

// cachedGeneration is what a readCache holds: answers read at generation
// gen. It is never changed once published.
type cachedGeneration[K comparable, V any] struct {
	gen    uint64
	values map[K]V
}

// get returns the value cached for k at generation gen.
func (c *readCache[K, V]) get(gen uint64, k K) (V, bool) {
	g := c.cur.Load()
	if g == nil || g.gen != gen {
		var zero V
		return zero, false
	}
	v, ok := g.values[k]
	return v, ok
}

// put caches v, read for k in a view that started after gen was read. A
// newer generation empties the cache; values read at an older one than
// the cache's are dropped (the store changed since they were read). k
// must not refer to a request's memory: its strings are kept.
func (c *readCache[K, V]) put(gen uint64, k K, v V) {
	c.mu.Lock()
	defer c.mu.Unlock()
	old := c.cur.Load()
	next := &cachedGeneration[K, V]{gen: gen}
	switch {
	case old != nil && gen < old.gen:
		return
	case old == nil || gen > old.gen || len(old.values) >= maxCached:
		next.values = map[K]V{k: v}
	default:
		next.values = make(map[K]V, len(old.values)+1)
		maps.Copy(next.values, old.values)
		next.values[k] = v
	}
	c.cur.Store(next)
}

// len is the number of answers cached (for tests).
func (c *readCache[K, V]) len() int {
	if g := c.cur.Load(); g != nil {
		return len(g.values)
	}
	return 0
}

// generation is the store's generation, when reads under ctx may be
// answered from the read caches.
func (s *Server) generation(ctx context.Context) (uint64, bool) {
	gs, ok := s.backend.(generationStore)
	if !ok {
		return 0, false
	}
	return gs.Generation(ctx)
}

// factKey is what consent.Resolve reads for a request: its answer depends
// on these names and on the directory alone (Scopes and Default are judged
// by Decide, not read).
type factKey struct {
	flow                                      consent.Flow
	tenantRef, clientAppID, resource, userRef string
}

// newFactKey is creq's key, or false when its names are too long to
// cache.
func newFactKey(creq consent.Request) (factKey, bool) {
	k := factKey{creq.Flow, creq.TenantRef, creq.ClientAppID, creq.ResourceName, creq.UserRef}
	if len(k.flow)+len(k.tenantRef)+len(k.clientAppID)+len(k.resource)+len(k.userRef) > maxCacheKeyBytes {
		return factKey{}, false
	}
	return k, true
}

// clone returns k with copies of its names, for the cache to keep: they
// may be substrings of a request body.
func (k factKey) clone() factKey {
	return factKey{k.flow, strings.Clone(k.tenantRef), strings.Clone(k.clientAppID), strings.Clone(k.resource), strings.Clone(k.userRef)}
}

// cachedResolve is consent.Resolve through Server.facts, for the app-only
// flows: the token endpoint asks the same question for every token of a
// daemon, and reading it again (a view of the store, a dozen bucket
// lookups and JSON decodings) was a quarter of what a token costs besides
// its signature. Cached facts are shared: only app-only flows use the
// cache, because their users of Facts (Server.client and the client
// authentication it calls, clientCredentials, IssueManagedIdentityToken,
// and package consent's CheckClient and Decide, which build new slices
// for roles and scopes) only read them; the methods of package tenant's
// types have value receivers. TestReadCacheValuesUnchanged checks that a
// batch of varied requests leaves every cached value as the store holds
// it.
func (s *Server) cachedResolve(ctx context.Context, creq consent.Request) (consent.Facts, error) {
	if creq.Flow.Delegated() {
		return consent.Resolve(ctx, s.backend, creq)
	}
	gen, ok := s.generation(ctx)
	if !ok {
		return consent.Resolve(ctx, s.backend, creq)
	}
	k, ok := newFactKey(creq)
	if !ok {
		return consent.Resolve(ctx, s.backend, creq)
	}
	if f, ok := s.facts.get(gen, k); ok {
		return f, nil
	}
	f, err := consent.Resolve(ctx, s.backend, creq)
	if err == nil {
		s.facts.put(gen, k.clone(), f)
	}
	return f, err
}

// cachedTenant is Directory.ResolveTenant through Server.tenants: every
// request names its tenant. The tenant is shared by the requests that get
// it; the protocol edge only reads an authority's tenant.
func (s *Server) cachedTenant(ctx context.Context, ref string) (tenant.Tenant, error) {
	gen, ok := s.generation(ctx)
	if !ok || len(ref) > maxCacheKeyBytes {
		return s.cfg.Directory.ResolveTenant(ctx, ref)
	}
	if t, ok := s.tenants.get(gen, ref); ok {
		return t, nil
	}
	t, err := s.cfg.Directory.ResolveTenant(ctx, ref)
	if err == nil {
		s.tenants.put(gen, strings.Clone(ref), t)
	}
	return t, err
}
