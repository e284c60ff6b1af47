package signing

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"runtime"
)

// Signer computes RS256 signatures (RSASSA-PKCS1-v1_5 over a SHA-256
// digest, RFC 7518 §3.3) with one private key. PKCS#1 v1.5 is
// deterministic, so every backend returns the same bytes for the same key
// and digest; tokens do not depend on the backend. A Signer is safe for
// concurrent use.
//
// Not to be confused with the package's internal jwsSigner, which holds a
// key's pre-encoded JWS headers and calls a Signer for the signature itself.
type Signer interface {
	SignRS256(digest []byte) ([]byte, error)
}

// Backend is an implementation of RS256: it prepares a Signer for a
// key once, when the key set is loaded (the hot path then only signs).
type Backend interface {
	// Name is "go" or "openssl", as `serve --signer` names it and the ready
	// line and /healthz report it.
	Name() string
	// Version describes the implementation: the Go release, or the
	// OpenSSL library's version text.
	Version() string
	NewSigner(key *rsa.PrivateKey) (Signer, error)
}

// Signer backend names, as `serve --signer` accepts them.
const (
	Auto    = "auto"
	Go      = "go"
	OpenSSL = "openssl"
)

// GoBackend is the pure Go backend: crypto/rsa. It is the default of
// issuer.Config.Signer and works in every build, with or without cgo.
func GoBackend() Backend { return goBackend{} }

type goBackend struct{}

func (goBackend) Name() string    { return Go }
func (goBackend) Version() string { return runtime.Version() }

// NewSigner precomputes the CRT values (parsed keys already carry them) and
// checks the key once, so that signing does neither.
func (goBackend) NewSigner(key *rsa.PrivateKey) (Signer, error) {
	if key == nil {
		return nil, errors.New("signing: no RSA private key")
	}
	k := *key // Precompute writes to the key; the caller's stays untouched
	k.Precompute()
	if err := k.Validate(); err != nil {
		return nil, fmt.Errorf("signing: RSA key: %w", err)
	}
	return goSigner{key: &k}, nil
}

type goSigner struct{ key *rsa.PrivateKey }

func (s goSigner) SignRS256(digest []byte) ([]byte, error) {
	// A nil random source: PKCS#1 v1.5 signing needs none (crypto/rsa still
	// blinds the private-key operation with its own randomness).
	return rsa.SignPKCS1v15(nil, s.key, crypto.SHA256, digest)
}

// Select returns the backend named by `serve --signer`: "go",
// "openssl" (an error when this build has no cgo or libcrypto cannot be
// loaded), or "auto" (or empty): OpenSSL when it loads, else Go.
func Select(name string) (Backend, error) {
	switch name {
	case Go:
		return GoBackend(), nil
	case OpenSSL:
		return OpenSSLBackend()
	case Auto, "":
		if b, err := OpenSSLBackend(); err == nil {
			return b, nil
		}
		return GoBackend(), nil
	}
	return nil, fmt.Errorf("signing: unknown signer %q: want auto, go or openssl", name)
}

// checkSigner signs a fixed digest with s and verifies the signature with
// the key's public half, so that a backend that loads but misbehaves (a
// broken libcrypto, a key it read wrongly) fails when the key is loaded
// rather than on every token.
func checkSigner(name string, s Signer, pub *rsa.PublicKey) error {
	digest := sha256.Sum256([]byte("issuer signer self-test"))
	sig, err := s.SignRS256(digest[:])
	if err != nil {
		return fmt.Errorf("signing: %s signer self-test: %w", name, err)
	}
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		return fmt.Errorf("signing: %s signer self-test: signature does not verify: %w", name, err)
	}
	return nil
}

// Queued is how many signatures per CPU should be under way at once for
// b's signers to run at full speed: 1 for a backend that signs in the
// caller's goroutine (Go), more for one whose own threads sign from a
// queue (OpenSSL) while the caller's thread does the rest of the work. A
// caller that bounds concurrent signing uses it for its default bound.
func Queued(b Backend) int {
	if q, ok := b.(interface{ queued() int }); ok {
		return q.queued()
	}
	return 1
}

// Unqueued returns a Signer that signs in the calling goroutine, one call
// per signature, where s hands signatures to threads of its own (the
// OpenSSL backend): the raw rate a benchmark compares token throughput
// with. Other signers are returned as they are.
func Unqueued(s Signer) Signer {
	if d, ok := s.(interface{ signNow([]byte) ([]byte, error) }); ok {
		return signerFunc(d.signNow)
	}
	return s
}

type signerFunc func([]byte) ([]byte, error)

func (f signerFunc) SignRS256(digest []byte) ([]byte, error) { return f(digest) }
