//go:build cgo && unix && !issuer_noopenssl

package signing

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"fmt"
	"runtime"
	"sync"
	"testing"
)

// TestSignInPlaceOnlyAlone: a signature is made in its caller's goroutine
// when it is the only one under way, and not when other callers are ready
// to run (see signPool.sign). Without the yield before that check, eight
// callers on one processor signed all 160 signatures in place, one after
// another, in the scheduler's order; with it, none.
func TestSignInPlaceOnlyAlone(t *testing.T) {
	b, err := OpenSSLBackend()
	if err != nil {
		unavailable(t, OpenSSL, err)
	}
	key := testKey(t)
	s, err := b.NewSigner(key)
	if err != nil {
		t.Fatal(err)
	}
	pool, err := startSignPool()
	if err != nil {
		t.Fatal(err)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1))

	for _, tc := range []struct {
		name          string
		callers, each int
		// inPlace says whether the count of signatures made in place is
		// as wanted, out of all.
		inPlace func(n, all int) bool
		want    string
	}{
		{"one caller", 1, 3, func(n, all int) bool { return n == all }, "all"},
		{"eight callers at once", 8, 20, func(n, all int) bool { return n < all/2 }, "fewer than half"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := pool.inPlace.Load()
			var wg sync.WaitGroup
			for c := range tc.callers {
				wg.Go(func() {
					for i := range tc.each {
						d := sha256.Sum256(fmt.Appendf(nil, "caller %d digest %d", c, i))
						want, _ := rsa.SignPKCS1v15(nil, key, crypto.SHA256, d[:])
						got, err := s.SignRS256(d[:])
						if err != nil || !bytes.Equal(got, want) {
							t.Errorf("caller %d, digest %d: signature differs from crypto/rsa's (err %v)", c, i, err)
						}
					}
				})
			}
			wg.Wait()
			all := tc.callers * tc.each
			if n := int(pool.inPlace.Load() - before); !tc.inPlace(n, all) {
				t.Errorf("%d of %d signatures made in place; want %s", n, all, tc.want)
			}
		})
	}
}
