package bench

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"runtime"
	"time"

	"github.com/issuer-dev/issuer/signing"
)

// maxSigns bounds SignRate's loop whatever the duration; rounds is how
// many times it measures.
const (
	maxSigns = 1 << 20
	rounds   = 5
)

// SignRate measures the raw RS256 signing rate of backend b on one core:
// signatures per second of a tight loop on one OS thread, pinned to cpu
// when cpu >= 0 (Linux; elsewhere the thread is only locked), for about d.
// The loop runs in five rounds and the fastest counts, so that a burst of
// other work on the core lowers the figure less: it is the ceiling of a
// server signing on that core, which token throughput is compared with.
// The key is a fresh RSA-2048 key, as the server's are.
func SignRate(b signing.Backend, cpu int, d time.Duration) (float64, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return 0, err
	}
	bs, err := b.NewSigner(key)
	if err != nil {
		return 0, err
	}
	s := signing.Unqueued(bs) // one signature per call, as openssl speed does
	digest := sha256.Sum256([]byte("issuer bench"))
	type result struct {
		rate float64
		err  error
	}
	done := make(chan result, 1)
	go func() {
		// The thread is never unlocked: it exits with the goroutine, so its
		// affinity never reaches other goroutines.
		runtime.LockOSThread()
		if cpu >= 0 {
			if err := pinThread(cpu); err != nil {
				done <- result{err: fmt.Errorf("pinning the signing loop to CPU %d: %w", cpu, err)}
				return
			}
		}
		for range 3 { // warm caches and libcrypto's lazy state
			if _, err := s.SignRS256(digest[:]); err != nil {
				done <- result{err: err}
				return
			}
		}
		best := 0.0
		for range rounds {
			start := time.Now()
			n := 0
			for n < maxSigns/rounds {
				if _, err := s.SignRS256(digest[:]); err != nil {
					done <- result{err: err}
					return
				}
				n++
				if time.Since(start) >= d/rounds {
					break
				}
			}
			best = max(best, float64(n)/time.Since(start).Seconds())
		}
		done <- result{rate: best}
	}()
	r := <-done
	return r.rate, r.err
}
