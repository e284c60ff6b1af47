package issuer

import (
	"bytes"
	"container/heap"
	"context"
	"io"
	"net"
	"net/http"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/julienschmidt/httprouter"
)

// Fair latency under overload.
//
// A token costs one RSA-2048 signature (0.3 to 0.7 ms of CPU) and little
// else, so with 64 clients on one or two cores most requests wait, and the
// order in which they are served decides the tail latency. Left to itself
// that order is nearly last-come-first-served: the Go runtime's network
// poller hands the goroutines of all connections that became readable
// since its last poll to the scheduler as a batch, in reverse order (its
// list is a stack), and a busy server polls about once per batch. A client
// whose request arrived first in a batch is served last, and with keep-alive
// clients in a closed loop the positions alternate: latencies spread evenly
// from almost nothing to twice the mean, and p99 is about twice p50. A FIFO
// queue in front of the signature (a semaphore or a worker pool fed by a
// channel) does not change that: requests reach it in the order the
// scheduler runs them, which is already the reversed one. We measured it:
// the same spread, with or without such a pool.
//
// So the order is rebuilt from the connections. Server.ConnContext records,
// for each connection, when it was accepted and when its last response was
// written; for a keep-alive client the next request follows its previous
// response, so that time is the request's place in line (for anyone else
// it is the connection that has waited longest, which is fair too). The
// token endpoints pass through fairGate: at most `slots` requests compute
// tokens at once, and when all slots are taken the others wait and are let
// in earliest place first. The body is read before the request takes a
// place, so a client that sends slowly holds no slot. Without ConnContext
// (a handler mounted elsewhere) the time the handler started stands in,
// which is the runtime's order again.
//
// The gated work is CPU work: reads from the memory-mapped database, the
// policy, the signature (or a password hash). A backend that signs on
// threads of its own (OpenSSL) needs signatures queued for them while the
// Go side answers the ones just made: its default is signing.Queued slots
// a CPU. Otherwise the default is a slot a CPU, which keeps the processors
// busy. A request that finds a free slot takes it at once: the gate costs
// an uncontended mutex.

// fairGate admits at most slots holders at a time, the earliest place in
// line first.
type fairGate struct {
	slots int
	mu    sync.Mutex
	busy  int
	queue waiters
	seq   uint64
}

// newFairGate returns a gate of n slots: 0 means queued (signing.Queued)
// per CPU, and a negative n no gate (nil).
func newFairGate(n, queued int) *fairGate {
	if n < 0 {
		return nil
	}
	if n == 0 {
		n = runtime.GOMAXPROCS(0) * max(queued, 1)
	}
	return &fairGate{slots: n}
}

type waiter struct {
	place int64 // unix nanoseconds
	seq   uint64
	ready chan struct{}
}

// waiters is a min-heap by place, then registration order.
type waiters []*waiter

func (q waiters) Len() int { return len(q) }
func (q waiters) Less(i, j int) bool {
	return q[i].place < q[j].place || q[i].place == q[j].place && q[i].seq < q[j].seq
}
func (q waiters) Swap(i, j int) { q[i], q[j] = q[j], q[i] }
func (q *waiters) Push(x any)   { *q = append(*q, x.(*waiter)) }
func (q *waiters) Pop() any {
	old := *q
	w := old[len(old)-1]
	old[len(old)-1] = nil
	*q = old[:len(old)-1]
	return w
}

// enter waits for a slot in order of place and returns the function that
// gives it back.
func (g *fairGate) enter(place int64) (leave func()) {
	g.mu.Lock()
	if g.busy < g.slots && g.queue.Len() == 0 {
		g.busy++
		g.mu.Unlock()
		return g.leave
	}
	g.seq++
	w := &waiter{place: place, seq: g.seq, ready: make(chan struct{})}
	heap.Push(&g.queue, w)
	g.mu.Unlock()
	<-w.ready
	return g.leave
}

func (g *fairGate) leave() {
	g.mu.Lock()
	g.busy--
	g.admitLocked()
	g.mu.Unlock()
}

func (g *fairGate) admitLocked() {
	for g.busy < g.slots && g.queue.Len() > 0 {
		w := heap.Pop(&g.queue).(*waiter)
		g.busy++
		close(w.ready)
	}
}

// connState is what the gate knows of a connection.
type connState struct {
	last atomic.Int64 // unix nanoseconds: accepted, then each response written
}

type connStateKey struct{}

// ConnContext is for http.Server.ConnContext: it records when each
// connection was accepted and, through Handler, when each of its responses
// was written, which gives token requests their place in line (see
// fairGate). Without it the server works the same, in the Go runtime's
// order.
func (s *Server) ConnContext(ctx context.Context, _ net.Conn) context.Context {
	cs := &connState{}
	cs.last.Store(time.Now().UnixNano())
	return context.WithValue(ctx, connStateKey{}, cs)
}

// markDone records the end of a response on the request's connection.
func markDone(r *http.Request) {
	if cs, ok := r.Context().Value(connStateKey{}).(*connState); ok {
		cs.last.Store(time.Now().UnixNano())
	}
}

// placeInLine is when the request's connection last finished a response
// (or was accepted), else now.
func placeInLine(r *http.Request) int64 {
	if cs, ok := r.Context().Value(connStateKey{}).(*connState); ok {
		return cs.last.Load()
	}
	return time.Now().UnixNano()
}

// fairly wraps a token handler: it reads the body (at most
// maxTokenRequestBytes and one more byte, so the handler still sees an
// oversized body as one), then runs the handler in a slot of the gate.
func (s *Server) fairly(h httprouter.Handle) httprouter.Handle {
	if s.gate == nil {
		return h
	}
	return func(w http.ResponseWriter, r *http.Request, ps httprouter.Params) {
		place := placeInLine(r)
		body, err := readAll(io.LimitReader(r.Body, maxTokenRequestBytes+1), r.ContentLength)
		r.Body = &prereadBody{Reader: bytes.NewReader(body), body: body, err: err, orig: r.Body}
		defer s.gate.enter(place)()
		h(w, r, ps)
	}
}

// prereadBody replays a body read in advance, then the error that ended
// the read, if any.
type prereadBody struct {
	*bytes.Reader
	body []byte // all of it, for readTokenForm
	err  error
	orig io.ReadCloser
}

// whole returns the body, when it was read to its end within the token
// endpoint's limit and nothing has read it since.
func (b *prereadBody) whole() ([]byte, bool) {
	ok := b.err == nil && len(b.body) <= maxTokenRequestBytes && b.Len() == len(b.body)
	return b.body, ok
}

func (b *prereadBody) Read(p []byte) (int, error) {
	n, err := b.Reader.Read(p)
	if err == io.EOF && b.err != nil {
		err = b.err
	}
	return n, err
}

func (b *prereadBody) Close() error { return b.orig.Close() }
