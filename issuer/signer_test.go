package issuer

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// fixedRSAKey is the private key of testdata/signing-key.pem.
func fixedRSAKey(t testing.TB) *rsa.PrivateKey {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "signing-key.pem"))
	if err != nil {
		t.Fatal(err)
	}
	for block, rest := pem.Decode(raw); block != nil; block, rest = pem.Decode(rest) {
		if block.Type == "RSA PRIVATE KEY" {
			k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
			if err != nil {
				t.Fatal(err)
			}
			return k
		}
	}
	t.Fatal("testdata/signing-key.pem holds no RSA PRIVATE KEY")
	return nil
}

// backendCase is a signer backend under test; openssl is skipped where
// the build has no cgo or the machine no libcrypto.
type backendCase struct {
	name string
	get  func() (SignerBackend, error)
}

var backendCases = []backendCase{
	{SignerGo, func() (SignerBackend, error) { return GoSigner(), nil }},
	{SignerOpenSSL, OpenSSLSigner},
}

func (bc backendCase) backend(t testing.TB) SignerBackend {
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
	key := fixedRSAKey(t)
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
	good := fixedRSAKey(t)
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
	_, opensslErr := OpenSSLSigner()
	auto := SignerGo
	if opensslErr == nil {
		auto = SignerOpenSSL
	}
	for _, tc := range []struct {
		name, want string
		wantErr    bool
	}{
		{name: "go", want: SignerGo},
		{name: "auto", want: auto},
		{name: "", want: auto},
		{name: "openssl", want: SignerOpenSSL, wantErr: opensslErr != nil},
		{name: "boringssl", wantErr: true},
	} {
		t.Run("name "+tc.name, func(t *testing.T) {
			b, err := SelectSigner(tc.name)
			switch {
			case tc.wantErr && err == nil:
				t.Fatalf("SelectSigner(%q) = %s; want an error", tc.name, b.Name())
			case tc.wantErr:
				return
			case err != nil:
				t.Fatalf("SelectSigner(%q): %v", tc.name, err)
			case b.Name() != tc.want:
				t.Errorf("SelectSigner(%q) = %s; want %s", tc.name, b.Name(), tc.want)
			case b.Version() == "":
				t.Errorf("SelectSigner(%q).Version() is empty", tc.name)
			}
		})
	}
}

// BenchmarkSign is one RS256 signature per backend on one goroutine: the
// raw signing rate (1e9 / ns/op per core) the token path is compared with.
func BenchmarkSign(b *testing.B) {
	key := fixedRSAKey(b)
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
