package issuer

import (
	"crypto/rsa"
	"runtime"
)

// Fair signing under overload.
//
// A token costs one RSA-2048 signature, 0.3 to 0.7 ms of CPU, and almost
// nothing else. With 64 clients on a core or two, the signatures of
// many requests are ready to run at once, and who runs next is up to the Go
// scheduler: goroutines woken by the network poller wait on the global run
// queue, which a busy P looks at only every 61st schedule, while the local
// queue and its runnext slot favour the most recently woken. With the
// OpenSSL backend it is worse: a goroutine inside a cgo call loses its P
// after 20 µs, the next goroutine enters libcrypto too, and soon dozens of
// threads share the cores, each signature finishing late. Some requests are
// then served far behind their turn and the tail latency grows.
//
// So signatures go through a gate that admits at most GOMAXPROCS at a
// time, in arrival order: a buffered channel used as a semaphore. A
// goroutine blocked sending on a full channel waits in the channel's FIFO
// queue, and a released slot goes to the longest waiter, which is made
// runnable next. The signature runs on the request's goroutine, so the gate
// costs no hand-off to a worker, only an uncontended channel operation
// (tens of nanoseconds) when the server is not saturated. Everything else
// a request does (TLS, parsing, reads) is a small fraction of the
// signature and stays outside.

// gatedBackend makes Signers whose SignRS256 passes through a FIFO gate
// shared by all of them (keys are rotated; the gate stays).
type gatedBackend struct {
	SignerBackend
	gate chan struct{}
}

// gated wraps b so that at most n signatures run at once, in arrival order;
// n = 0 means GOMAXPROCS, and n < 0 means no gate (b itself).
func gated(b SignerBackend, n int) SignerBackend {
	if n < 0 {
		return b
	}
	if n == 0 {
		n = runtime.GOMAXPROCS(0)
	}
	return gatedBackend{SignerBackend: b, gate: make(chan struct{}, n)}
}

func (g gatedBackend) NewSigner(key *rsa.PrivateKey) (Signer, error) {
	s, err := g.SignerBackend.NewSigner(key)
	if err != nil {
		return nil, err
	}
	return gatedSigner{Signer: s, gate: g.gate}, nil
}

type gatedSigner struct {
	Signer
	gate chan struct{}
}

func (s gatedSigner) SignRS256(digest []byte) ([]byte, error) {
	s.gate <- struct{}{}
	defer func() { <-s.gate }()
	return s.Signer.SignRS256(digest)
}
