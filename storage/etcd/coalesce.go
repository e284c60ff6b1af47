package etcd

import (
	"context"
	"sync"
)

// coalescer shares one linearizable read among the callers that arrive
// while none is under way, so that a burst of token requests costs etcd a
// request per round trip, not one each. A caller never takes the answer of
// a read that began before it arrived: that read could miss a write
// acknowledged just before the caller's request, so it waits for the next
// round (etcd's own ReadIndex batching works the same way).
type coalescer struct {
	mu      sync.Mutex
	next    *round // the round that will start next; callers join it
	running bool
}

type round struct {
	done chan struct{}
	rev  int64
	err  error
}

// do returns the result of a call of read that started after do was called.
func (c *coalescer) do(ctx context.Context, read func(context.Context) (int64, error)) (int64, error) {
	c.mu.Lock()
	if c.next == nil {
		c.next = &round{done: make(chan struct{})}
	}
	r := c.next
	if !c.running {
		c.running = true
		go c.run(read)
	}
	c.mu.Unlock()
	select {
	case <-r.done:
		return r.rev, r.err
	case <-ctx.Done():
		return 0, ctx.Err()
	}
}

// run starts rounds while callers wait for one. A round's read has its own
// deadline (the store's timeout), not a caller's, since it serves many.
func (c *coalescer) run(read func(context.Context) (int64, error)) {
	c.mu.Lock()
	for c.next != nil {
		r := c.next
		c.next = nil
		c.mu.Unlock()
		r.rev, r.err = read(context.Background())
		close(r.done)
		c.mu.Lock()
	}
	c.running = false
	c.mu.Unlock()
}
