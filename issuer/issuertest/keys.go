package issuertest

import (
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
	"sync"
	"time"

	"github.com/issuer-dev/issuer/signing"
	"github.com/issuer-dev/issuer/tenant"
)

// Generating an RSA-2048 key is most of what a new server would cost (tens
// of milliseconds, against about one for httptest.NewTLSServer), yet every
// server must have a signing key of its own: a token of one test's server
// must not verify against another's JWKS. So the servers of one test process
// take their keys from a pool of 1024-bit primes: key k is the product of the
// k-th pair (i, j), i < j, in the order (0,1), (0,2), (1,2), (0,3), … . Every
// key has its own modulus, kid and certificate, and n primes make
// n·(n−1)/2 keys, so a suite of 500 servers generates 33 primes instead of
// 1,000.
//
// Keys that share a prime factor each other (a gcd of two moduli), which is
// why this pool lives in issuertest and nowhere else: these are keys of
// throwaway servers on loopback, and `issuer serve` always generates a whole
// new key (signing.NewKey).
var testKeys primePool

// primePool hands out RSA keys built from pairs of its primes. Each prime
// and each key is made once (sync.OnceValues), outside the lock, so that
// parallel tests that need new ones make different ones at the same time;
// and the pool works ahead in the background: the next key, and the next
// prime when a key uses a new one, so that most servers find theirs ready.
type primePool struct {
	mu     sync.Mutex
	keys   []func() (tenant.SigningKey, error) // by index
	primes []func() (*big.Int, error)          // by index
	next   int                                 // index of the next key
}

// publicExponent is the e of every RSA key Entra publishes (AQAB).
const publicExponent = 65537

// Key returns a signing key for a server whose clock reads now: a new
// RSA-2048 key, distinct from every key the pool returned before, and its
// certificate. The pool makes the certificate ahead too, on the real clock;
// a server whose clock is elsewhere (frozen in the past, or moved by more
// than the certificate's hour of leeway) gets one signed on its own, so
// that its key is never younger than the keys it later rotates to.
func (p *primePool) Key(now time.Time) (tenant.SigningKey, error) {
	p.mu.Lock()
	k := p.next
	p.next++
	for len(p.keys) <= k+1 {
		p.keys = append(p.keys, p.keyOnce(len(p.keys)))
	}
	key, ahead := p.keys[k], p.keys[k+1]
	p.keys[k] = nil // handed out: the pool keeps no reference to it
	p.mu.Unlock()
	go ahead() //nolint:errcheck // the server that takes it sees the error
	sk, err := key()
	if err != nil {
		return tenant.SigningKey{}, err
	}
	if now.Before(sk.CreatedDateTime) || now.Sub(sk.CreatedDateTime) > time.Hour {
		return signing.KeyFor(sk.PrivateKey, now)
	}
	return sk, nil
}

// keyOnce returns the once-function that builds key k. The caller holds mu.
func (p *primePool) keyOnce(k int) func() (tenant.SigningKey, error) {
	i, j := pairOf(k)
	for len(p.primes) <= j+1 {
		p.primes = append(p.primes, sync.OnceValues(prime))
	}
	pi, pj, after := p.primes[i], p.primes[j], p.primes[j+1]
	return sync.OnceValues(func() (tenant.SigningKey, error) {
		if i == 0 {
			// The first key of prime j: make prime j+1 meanwhile.
			go after() //nolint:errcheck // the key that uses it sees the error
		}
		a, err := pi()
		if err != nil {
			return tenant.SigningKey{}, err
		}
		b, err := pj()
		if err != nil {
			return tenant.SigningKey{}, err
		}
		key, err := keyFromPrimes(a, b)
		if err != nil {
			return tenant.SigningKey{}, err
		}
		sk, err := signing.KeyFor(key, time.Now())
		if err != nil {
			return tenant.SigningKey{}, fmt.Errorf("issuertest: %w", err)
		}
		return sk, nil
	})
}

// pairOf returns the k-th pair (i, j), i < j, ordered by j then i.
func pairOf(k int) (i, j int) {
	j = 1
	for k >= j {
		k -= j
		j++
	}
	return k, j
}

// prime returns a 1024-bit prime p with gcd(e, p−1) = 1, so that e has an
// inverse modulo p−1 in every key p is part of.
func prime() (*big.Int, error) {
	e := big.NewInt(publicExponent)
	for {
		// rand.Prime sets the top two bits, so the product of two
		// primes is exactly 2048 bits long.
		q, err := rand.Prime(rand.Reader, 1024)
		if err != nil {
			return nil, fmt.Errorf("issuertest: generating a prime for a signing key: %w", err)
		}
		if new(big.Int).Mod(new(big.Int).Sub(q, big.NewInt(1)), e).Sign() != 0 {
			return q, nil
		}
	}
}

// keyFromPrimes builds the RSA key with primes a and b and e = 65537, and
// checks it as rsa.GenerateKey's own keys are checked.
func keyFromPrimes(a, b *big.Int) (*rsa.PrivateKey, error) {
	if a.Cmp(b) == 0 {
		return nil, errors.New("issuertest: a signing key needs two distinct primes")
	}
	one := big.NewInt(1)
	phi := new(big.Int).Mul(new(big.Int).Sub(a, one), new(big.Int).Sub(b, one))
	d := new(big.Int).ModInverse(big.NewInt(publicExponent), phi)
	if d == nil {
		return nil, errors.New("issuertest: e has no inverse for these primes")
	}
	key := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: new(big.Int).Mul(a, b), E: publicExponent},
		D:         d,
		Primes:    []*big.Int{new(big.Int).Set(a), new(big.Int).Set(b)},
	}
	key.Precompute()
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("issuertest: signing key from the prime pool: %w", err)
	}
	return key, nil
}
