package signing

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"math/big"
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
		t.Skipf("%s backend unavailable: %v", bc.name, err)
	}
	if b.Name() != bc.name {
		t.Fatalf("Name() = %q; want %q", b.Name(), bc.name)
	}
	return b
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

// BenchmarkSign is one RS256 signature per backend on one goroutine: the
// raw signing rate (1e9 / ns/op per core) the token path is compared with.
func BenchmarkSign(b *testing.B) {
	key := testKey(b)
	digest := sha256.Sum256([]byte("benchmark"))
	for _, bc := range backendCases {
		b.Run(bc.name, func(b *testing.B) {
			s, err := bc.backend(b).NewSigner(key)
			if err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.SignRS256(digest[:]); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
