//go:build cgo && unix && !issuer_noopenssl

package signing

// #include "libcrypto.h"
import "C"

import (
	"errors"
	"fmt"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// Signing outside the Go scheduler.
//
// A signature through libcrypto is a computation of 0.3 to 0.4 ms. Made
// in a cgo call, it holds a Go thread for that long, and the Go runtime
// treats such a thread like one blocked in a system call: after 20 µs its
// monitor thread takes the processor away and wakes another thread to run
// the rest, and when the call returns, its thread has to get a processor
// back or park. A server signing on one core did that for every token: its
// threads preempted each other about once per token, and the monitor woke
// thousands of times a second.
//
// So signatures are made by threads of libcrypto.c that the Go runtime
// does not know, one per processor. SignRS256 copies the digest into a
// job slot (C memory, which the threads may read after the call returns)
// and queues it with a call that returns at once; a collector goroutine
// learns of finished jobs from a pipe that the network poller watches, and
// wakes their callers. No Go thread waits in C, and the kernel switches
// between the Go threads and a signing thread when one of them runs out
// of work, not in the middle of a token.

const (
	digestSize       = C.ISSUER_DIGEST
	maxSignatureSize = C.ISSUER_MAX_SIG
	// signSlots bounds the signatures queued at once; more callers wait
	// for a slot.
	signSlots = 256
)

// signPool is the process's signing threads and the Go side of their
// slots.
type signPool struct {
	inFlight atomic.Int64    // signatures being made, here or on the threads
	inPlace  atomic.Int64    // signatures made in their callers' goroutines
	jobs     []C.issuer_job  // C memory, shared with the threads
	free     chan int        // slots not in use
	ready    []chan struct{} // per slot: its job is done
	wake     *os.File        // read end of the threads' pipe

	// collecting guards done, the buffer deliver collects slot numbers
	// in: one buffer for the pool, where a buffer per call would be a
	// kilobyte allocated per token (cgo arguments escape to the heap).
	collecting sync.Mutex
	done       []C.int
}

// startSignPool starts the threads, one per processor, and the collector;
// they run for the life of the process, as the runtime's own threads do.
var startSignPool = sync.OnceValues(func() (*signPool, error) {
	var fds [2]int
	if err := syscall.Pipe(fds[:]); err != nil {
		return nil, fmt.Errorf("signing: openssl: pipe: %w", err)
	}
	// The read end goes to the network poller; the threads write blocking
	// (one byte per wake-up, far below the pipe's capacity).
	syscall.CloseOnExec(fds[0])
	syscall.CloseOnExec(fds[1])
	if err := syscall.SetNonblock(fds[0], true); err != nil {
		return nil, fmt.Errorf("signing: openssl: pipe: %w", err)
	}
	base := C.issuer_ssl_start(C.int(runtime.GOMAXPROCS(0)), signSlots, C.int(fds[1]))
	if base == nil {
		return nil, errors.New("signing: openssl: cannot start the signing threads")
	}
	p := &signPool{
		jobs:  unsafe.Slice(base, signSlots),
		free:  make(chan int, signSlots),
		ready: make([]chan struct{}, signSlots),
		wake:  os.NewFile(uintptr(fds[0]), "issuer-signing-threads"),
		done:  make([]C.int, signSlots),
	}
	for i := range signSlots {
		p.free <- i
		p.ready[i] = make(chan struct{}, 1)
	}
	go p.collect()
	return p, nil
})

// sign signs digest (of digestSize bytes) with s's key: on a signing
// thread, or in the calling goroutine when it is the only signature under
// way. A lone request (a test suite's, one token at a time) would
// otherwise pay two wake-ups across threads, about 0.15 ms here, for
// nothing: there is no other work for the Go thread to do while the
// signature runs.
//
// "The only one" is asked after letting the goroutines that are ready to
// run go first (runtime.Gosched: microseconds, and nothing when none
// is). Without that, a busy server on one core could fall into signing
// everything in place: the signature holds the processor, so the next
// request is read only after it, finds no signature under way and signs in
// place too. That is cheap, but it serves requests in the scheduler's
// order, not the fair gate's (issuer/signpool.go): at 64 clients, p99
// latency was 1.6 to 1.9 times p50, against 1.3 to 1.4 with the yield,
// where the requests read during it queue for the threads behind the
// gate.
func (p *signPool) sign(s opensslSigner, digest []byte) ([]byte, error) {
	defer p.inFlight.Add(-1)
	if p.inFlight.Add(1) == 1 {
		runtime.Gosched()
		if p.inFlight.Load() == 1 {
			p.inPlace.Add(1)
			return s.signInPlace(digest)
		}
	}
	key := s.key
	slot := <-p.free
	j := &p.jobs[slot]
	j.key = key.p
	copy(unsafe.Slice((*byte)(unsafe.Pointer(&j.digest[0])), digestSize), digest)
	C.issuer_ssl_submit(C.int(slot))
	// The threads wake the collector only for a batch of finished jobs
	// (libcrypto.c); a caller that is running anyway hands out what is
	// done so far, so that answers do not wait for the batch. When another
	// goroutine is handing them out already, there is nothing to add.
	if p.collecting.TryLock() {
		p.deliverLocked()
		p.collecting.Unlock()
	}
	<-p.ready[slot]
	runtime.KeepAlive(key)
	var sig []byte
	if int(j.len) == key.size {
		sig = C.GoBytes(unsafe.Pointer(&j.sig[0]), C.int(j.len))
	}
	j.key = nil
	p.free <- slot
	if sig == nil {
		return nil, errOpenSSLSign
	}
	return sig, nil
}

// collect hands finished slots to their callers, and sleeps on the pipe
// when there are none.
func (p *signPool) collect() {
	var buf [64]byte
	for {
		p.collecting.Lock()
		n := p.deliverLocked()
		p.collecting.Unlock()
		if n == 0 {
			// Armed: the threads write a byte when a batch of jobs is
			// done. The pipe's ends are both ours, so a read fails only
			// if interrupted, and collecting again is the answer to
			// that too.
			p.wake.Read(buf[:])
		}
	}
}

// deliverLocked wakes the callers of the finished jobs and returns how
// many there were; none arms the threads' wake-up of the collector. The
// caller holds p.collecting.
func (p *signPool) deliverLocked() int {
	n := int(C.issuer_ssl_collect(&p.done[0], C.int(len(p.done))))
	for _, slot := range p.done[:n] {
		p.ready[slot] <- struct{}{}
	}
	return n
}
