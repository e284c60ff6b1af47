//go:build cgo && unix && !issuer_noopenssl

package signing

// #cgo linux LDFLAGS: -ldl -lpthread
// #include <stdlib.h>
// #include "libcrypto.h"
import "C"

import (
	"crypto/rsa"
	"crypto/x509"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"unsafe"
)

// libcryptoNames are the sonames tried, in order: OpenSSL 3 first (Debian,
// Ubuntu, Fedora, Alpine), then 1.1, then the development symlink.
var libcryptoNames = []string{"libcrypto.so.3", "libcrypto.so.30", "libcrypto.so.1.1", "libcrypto.so.11", "libcrypto.so", "libcrypto.3.dylib"}

// OpenSSLBackend returns the OpenSSL backend: RS256 through the system's
// libcrypto, loaded at run time with dlopen (no OpenSSL headers or static
// linking at build time). On the machines we measured, libcrypto signs
// RSA-2048 about 2.5 times as fast as crypto/rsa, and a token costs one
// signature. It fails when no libcrypto loads; builds without cgo (or with
// the issuer_noopenssl tag) have only the Go backend.
var OpenSSLBackend = sync.OnceValues(func() (Backend, error) {
	var tried []string
	for _, name := range libcryptoNames {
		cname := C.CString(name)
		missing := C.issuer_ssl_load(cname)
		C.free(unsafe.Pointer(cname))
		if missing == nil {
			return opensslBackend{version: C.GoString(C.issuer_ssl_version())}, nil
		}
		if m := C.GoString(missing); m != name {
			return nil, fmt.Errorf("signing: %s has no %s", name, m)
		}
		tried = append(tried, name)
	}
	return nil, fmt.Errorf("signing: no OpenSSL libcrypto found (tried %s)", strings.Join(tried, ", "))
})

type opensslBackend struct{ version string }

func (opensslBackend) Name() string      { return OpenSSL }
func (b opensslBackend) Version() string { return b.version }

// NewSigner hands the key to libcrypto once; signing then passes only the
// digest across cgo.
func (opensslBackend) NewSigner(key *rsa.PrivateKey) (Signer, error) {
	if key == nil {
		return nil, errors.New("signing: no RSA private key")
	}
	if key.Size() > maxSignatureSize {
		return nil, fmt.Errorf("signing: openssl signer: RSA key of %d bits, want at most %d", key.N.BitLen(), 8*maxSignatureSize)
	}
	der := x509.MarshalPKCS1PrivateKey(key)
	p := C.issuer_ssl_key((*C.uchar)(unsafe.Pointer(&der[0])), C.long(len(der)))
	clear(der)
	if p == nil {
		return nil, errors.New("signing: openssl signer: libcrypto refused the RSA key")
	}
	k := &sslKey{p: p, size: key.Size()}
	runtime.AddCleanup(k, func(p unsafe.Pointer) { C.issuer_ssl_key_free(p) }, p)
	s := opensslSigner{key: k}
	if err := checkSigner(OpenSSL, s, &key.PublicKey); err != nil {
		return nil, err
	}
	return s, nil
}

// sslKey is a key held by libcrypto (an EVP_PKEY), freed when unreachable.
type sslKey struct {
	p    unsafe.Pointer
	size int // bytes in a signature
}

type opensslSigner struct{ key *sslKey }

// SignRS256 has the digest signed by a signing thread, or in the calling
// goroutine when it is the only one (threads.go).
func (s opensslSigner) SignRS256(digest []byte) ([]byte, error) {
	if err := checkDigest(digest); err != nil {
		return nil, err
	}
	p, err := startSignPool()
	if err != nil {
		return nil, err
	}
	return p.sign(s, digest)
}

// queued: see Queued. Each signing thread keeps a queue of this many per
// CPU, so that it signs the next while the Go side answers the last.
func (opensslBackend) queued() int { return 16 }

// signNow signs in the calling goroutine, one cgo call per signature: the
// raw rate the benchmark compares tokens with (Unqueued).
func (s opensslSigner) signNow(digest []byte) ([]byte, error) {
	if err := checkDigest(digest); err != nil {
		return nil, err
	}
	return s.signInPlace(digest)
}

// signInPlace signs a digest of the right length in the calling goroutine.
func (s opensslSigner) signInPlace(digest []byte) ([]byte, error) {
	sig := make([]byte, s.key.size)
	n := C.issuer_ssl_sign(s.key.p, (*C.uchar)(unsafe.Pointer(&digest[0])), (*C.uchar)(unsafe.Pointer(&sig[0])), C.size_t(len(sig)))
	runtime.KeepAlive(s.key)
	if int(n) != len(sig) {
		return nil, errOpenSSLSign
	}
	return sig, nil
}

func checkDigest(digest []byte) error {
	if len(digest) != digestSize {
		return fmt.Errorf("signing: digest of %d bytes, want %d", len(digest), digestSize)
	}
	return nil
}

var errOpenSSLSign = errors.New("signing: openssl: libcrypto failed to sign")
