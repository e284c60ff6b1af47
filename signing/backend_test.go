package signing

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"math/big"
	"os"
	"sync"
	"testing"
)

// testRSAKey is an RSA-2048 key made once per test binary: the backends
// are compared with crypto/rsa on the same key, whichever it is.
var testRSAKey = sync.OnceValues(func() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) })

func testKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	k, err := testRSAKey()
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// backendCase is a signer backend under test; openssl is skipped where
// the build has no cgo or the machine no libcrypto.
type backendCase struct {
	name string
	get  func() (Backend, error)
}

var backendCases = []backendCase{
	{Go, func() (Backend, error) { return GoBackend(), nil }},
	{OpenSSL, OpenSSLBackend},
}

func (bc backendCase) backend(t testing.TB) Backend {
	t.Helper()
	b, err := bc.get()
	if err != nil {
		unavailable(t, bc.name, err)
	}
	if b.Name() != bc.name {
		t.Fatalf("Name() = %q; want %q", b.Name(), bc.name)
	}
	return b
}

// unavailable ends a test whose backend does not load: a failure where
// the OpenSSL backend is required (ISSUER_TEST_SIGNER=openssl, as CI's
// second pass over these packages sets it, on a machine where .ci/run
// makes sure libcrypto is installed), else a skip (a build without cgo,
// a machine without libcrypto).
func unavailable(t testing.TB, name string, err error) {
	t.Helper()
	if os.Getenv("ISSUER_TEST_SIGNER") == OpenSSL {
		t.Fatalf("%s backend unavailable with ISSUER_TEST_SIGNER=openssl: %v", name, err)
	}
	t.Skipf("%s backend unavailable: %v", name, err)
}

// TestSignersAgree checks that every backend returns crypto/rsa's exact
// bytes, called alone or concurrently: PKCS#1 v1.5 is deterministic, so a
// token must not depend on the backend.
func TestSignersAgree(t *testing.T) {
	key := testKey(t)
	digests := [][]byte{}
	for _, msg := range []string{"", "a", "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.e30", string(bytes.Repeat([]byte{0xff}, 4096))} {
		d := sha256.Sum256([]byte(msg))
		digests = append(digests, d[:])
	}
	for _, bc := range backendCases {
		for _, callers := range []int{1, 4} {
			t.Run(fmt.Sprintf("%s/%d callers", bc.name, callers), func(t *testing.T) {
				s, err := bc.backend(t).NewSigner(key)
				if err != nil {
					t.Fatal(err)
				}
				var wg sync.WaitGroup
				for i, d := range digests {
					want, err := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d)
					if err != nil {
						t.Fatal(err)
					}
					for range callers {
						wg.Go(func() {
							got, err := s.SignRS256(d)
							if err != nil {
								t.Errorf("digest %d: %v", i, err)
								return
							}
							if !bytes.Equal(got, want) {
								t.Errorf("digest %d: signature differs from crypto/rsa's", i)
							}
						})
					}
				}
				wg.Wait()
			})
		}
	}
}

// TestSignersAgreeUnderLoad: under concurrent load the OpenSSL backend's
// threads sign digests of several keys back to back; each caller still
// gets crypto/rsa's signature of its own digest with its own key, through
// the threads or in its own goroutine.
func TestSignersAgreeUnderLoad(t *testing.T) {
	keys := []*rsa.PrivateKey{testKey(t), testKey(t), testKey(t)}
	for _, bc := range backendCases {
		t.Run(bc.name, func(t *testing.T) {
			b := bc.backend(t)
			var signers []Signer
			for _, k := range keys {
				s, err := b.NewSigner(k)
				if err != nil {
					t.Fatal(err)
				}
				signers = append(signers, s)
			}
			var wg sync.WaitGroup
			for caller := range 48 {
				wg.Go(func() {
					for i := range 4 {
						k := (caller + i) % len(keys)
						d := sha256.Sum256(fmt.Appendf(nil, "caller %d digest %d", caller, i))
						want, err := rsa.SignPKCS1v15(nil, keys[k], crypto.SHA256, d[:])
						if err != nil {
							t.Error(err)
							return
						}
						s := signers[k]
						if caller%4 == 0 {
							s = Unqueued(s)
						}
						got, err := s.SignRS256(d[:])
						if err != nil || !bytes.Equal(got, want) {
							t.Errorf("caller %d, key %d: signature differs from crypto/rsa's (err %v)", caller, k, err)
						}
					}
				})
			}
			wg.Wait()
		})
	}
}

// TestQueued: the OpenSSL backend's threads want signatures queued, the Go
// backend signs in the caller's goroutine.
func TestQueued(t *testing.T) {
	for _, tc := range []struct {
		bc   backendCase
		want int
	}{
		{backendCases[0], 1},
		{backendCases[1], 16},
	} {
		t.Run(tc.bc.name, func(t *testing.T) {
			if got := Queued(tc.bc.backend(t)); got != tc.want {
				t.Errorf("Queued = %d; want %d", got, tc.want)
			}
		})
	}
}

// TestSignerRefusals: a backend refuses keys it cannot use when the key
// set is loaded, not when a token is signed.
func TestSignerRefusals(t *testing.T) {
	good := testKey(t)
	broken := *good
	broken.D = new(big.Int).Add(good.D, big.NewInt(2)) // wrong private exponent
	broken.Precomputed = rsa.PrecomputedValues{}
	for _, bc := range backendCases {
		for _, tc := range []struct {
			name string
			key  *rsa.PrivateKey
		}{
			{"nil key", nil},
			{"inconsistent key", &broken},
		} {
			t.Run(bc.name+"/"+tc.name, func(t *testing.T) {
				if _, err := bc.backend(t).NewSigner(tc.key); err == nil {
					t.Error("NewSigner succeeded; want an error")
				}
			})
		}
		t.Run(bc.name+"/digest of the wrong length", func(t *testing.T) {
			s, err := bc.backend(t).NewSigner(good)
			if err != nil {
				t.Fatal(err)
			}
			for _, signer := range []Signer{s, Unqueued(s)} {
				for _, d := range [][]byte{nil, make([]byte, 31), make([]byte, 64)} {
					if _, err := signer.SignRS256(d); err == nil {
						t.Errorf("signing a %d-byte digest succeeded; want an error", len(d))
					}
				}
			}
		})
	}
}

// TestSelectSigner checks `serve --signer` names.
func TestSelectSigner(t *testing.T) {
	_, opensslErr := OpenSSLBackend()
	auto := Go
	if opensslErr == nil {
		auto = OpenSSL
	}
	for _, tc := range []struct {
		name, want string
		wantErr    bool
	}{
		{name: "go", want: Go},
		{name: "auto", want: auto},
		{name: "", want: auto},
		{name: "openssl", want: OpenSSL, wantErr: opensslErr != nil},
		{name: "boringssl", wantErr: true},
	} {
		t.Run("name "+tc.name, func(t *testing.T) {
			b, err := Select(tc.name)
			switch {
			case tc.wantErr && err == nil:
				t.Fatalf("Select(%q) = %s; want an error", tc.name, b.Name())
			case tc.wantErr:
				return
			case err != nil:
				t.Fatalf("Select(%q): %v", tc.name, err)
			case b.Name() != tc.want:
				t.Errorf("Select(%q) = %s; want %s", tc.name, b.Name(), tc.want)
			case b.Version() == "":
				t.Errorf("Select(%q).Version() is empty", tc.name)
			}
		})
	}
}

// BenchmarkSign is one RS256 signature per backend on one goroutine, one
// call per signature: the raw signing rate (1e9 / ns/op per core) the
// token path is compared with. The parallel variant signs as the token
// path does (through the OpenSSL backend's threads).
func BenchmarkSign(b *testing.B) {
	key := testKey(b)
	digest := sha256.Sum256([]byte("benchmark"))
	for _, bc := range backendCases {
		b.Run(bc.name, func(b *testing.B) {
			s, err := bc.backend(b).NewSigner(key)
			if err != nil {
				b.Fatal(err)
			}
			s = Unqueued(s)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.SignRS256(digest[:]); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run(bc.name+"/parallel", func(b *testing.B) {
			s, err := bc.backend(b).NewSigner(key)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.SetParallelism(16)
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := s.SignRS256(digest[:]); err != nil {
						b.Error(err)
						return
					}
				}
			})
		})
	}
}
