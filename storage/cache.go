package storage

import "sync"

// Decoded records of the token path, by their stored bytes.
//
// A client-credentials request reads a tenant, two service principals, two
// applications and the client's role assignments, and decoding their JSON
// was most of the cost of those reads (an application record with its
// secrets, roles and scopes takes tens of microseconds). The records a
// server reads are the same few over and over, so the decoded form is kept,
// keyed by the exact bytes it was decoded from. That makes the cache
// needless of invalidation: a changed record has other bytes and misses,
// and an entry can never be stale; the file format is untouched, and every
// read still goes to bbolt, in its transaction, so a write committed before
// a request is seen by it. Values returned from the cache share their
// slices with it: only readers that copy (the record converters, which
// copy every slice) or records without slices may use it, never an
// updater that edits a record in place.
//
// Each kind holds at most recordCacheBytes of keys (about 1,500 application
// records), dropped all at once when full: a test suite's working set fits,
// and a directory of 100,000 applications read at random only costs the
// decoding it cost before.

const recordCacheBytes = 1 << 20

type recordCache[R any] struct {
	mu    sync.RWMutex
	byRaw map[string]R
	size  int // bytes of keys
}

var (
	tenantCache      recordCache[tenantRecord]
	applicationCache recordCache[applicationRecord]
	spCache          recordCache[servicePrincipalRecord]
	assignmentCache  recordCache[assignmentRecord]
)

// decode is decodeRecord through the cache. rec must be a zero value, as
// decodeRecord's callers pass.
func (c *recordCache[R]) decode(v []byte, kind, id string, rec *R) error {
	c.mu.RLock()
	r, ok := c.byRaw[string(v)]
	c.mu.RUnlock()
	if ok {
		*rec = r
		return nil
	}
	if err := decodeRecord(v, kind, id, rec); err != nil {
		return err
	}
	if len(v) > recordCacheBytes/64 {
		return nil // an unusually large record is not worth the room
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.byRaw[string(v)]; ok {
		return nil
	}
	if c.byRaw == nil || c.size+len(v) > recordCacheBytes {
		c.byRaw, c.size = map[string]R{}, 0
	}
	c.byRaw[string(v)] = *rec
	c.size += len(v)
	return nil
}
