package issuertest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"testing"
	"time"
)

func TestPairOf(t *testing.T) {
	tests := []struct {
		name string
		k    int
		i, j int
	}{
		{"first key", 0, 0, 1},
		{"second prime's first key", 1, 0, 2},
		{"second prime's last key", 2, 1, 2},
		{"third prime's first key", 3, 0, 3},
		{"third prime's last key", 5, 2, 3},
		{"key 500", 500, 500 - 496, 32},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if i, j := pairOf(tt.k); i != tt.i || j != tt.j {
				t.Errorf("pairOf(%d) = (%d, %d), want (%d, %d)", tt.k, i, j, tt.i, tt.j)
			}
		})
	}
}

// TestPoolKeysAreDistinctAndSign checks that the pool's keys are what a
// signer needs: RSA-2048, e = 65537, each with its own modulus and kid, and
// that a signature with one verifies with its public key and with no other.
func TestPoolKeysAreDistinctAndSign(t *testing.T) {
	var pool primePool
	digest := sha256.Sum256([]byte("header.payload"))
	var keys []*rsa.PrivateKey
	kids := map[string]bool{}
	for range 6 { // every pair of primes 0..3
		sk, err := pool.Key(time.Now())
		if err != nil {
			t.Fatal(err)
		}
		k := sk.PrivateKey
		if k.N.BitLen() != 2048 || k.E != publicExponent {
			t.Fatalf("key has %d bits and e = %d, want 2048 and %d", k.N.BitLen(), k.E, publicExponent)
		}
		for n, prev := range keys {
			if prev.N.Cmp(k.N) == 0 {
				t.Fatalf("key %d has the modulus of key %d", len(keys), n)
			}
		}
		if kids[sk.KeyID] {
			t.Fatalf("kid %s handed out twice", sk.KeyID)
		}
		kids[sk.KeyID] = true
		keys = append(keys, k)
	}
	sig, err := rsa.SignPKCS1v15(rand.Reader, keys[5], crypto.SHA256, digest[:])
	if err != nil {
		t.Fatal(err)
	}
	for n, k := range keys {
		err := rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, digest[:], sig)
		if (err == nil) != (n == 5) {
			t.Errorf("signature of key 5 verified with key %d: %v", n, err)
		}
	}
}

// TestPoolKeyDatedOnTheServerClock checks that a key's certificate and
// creation time follow the server's clock, made ahead or not.
func TestPoolKeyDatedOnTheServerClock(t *testing.T) {
	var pool primePool
	tests := []struct {
		name string
		now  time.Time
	}{
		{"real clock", time.Now()},
		{"frozen in the past", time.Date(2024, 2, 29, 12, 0, 0, 0, time.UTC)},
		{"moved a day ahead", time.Now().Add(24 * time.Hour)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sk, err := pool.Key(tt.now)
			if err != nil {
				t.Fatal(err)
			}
			if d := tt.now.Sub(sk.CreatedDateTime); d < 0 || d > time.Hour {
				t.Errorf("key created at %v for a server at %v", sk.CreatedDateTime, tt.now)
			}
			if c := sk.Certificate; tt.now.Before(c.NotBefore) || tt.now.After(c.NotAfter) {
				t.Errorf("certificate valid %v to %v, not at %v", c.NotBefore, c.NotAfter, tt.now)
			}
			c := sk.Certificate
			if !sk.PrivateKey.PublicKey.Equal(c.PublicKey) {
				t.Error("certificate is for another key")
			}
			if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
				t.Errorf("certificate is not self-signed by the key: %v", err)
			}
		})
	}
}

func TestKeyFromPrimesRefusesOnePrimeTwice(t *testing.T) {
	p, err := prime()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := keyFromPrimes(p, p); err == nil {
		t.Fatal("a key of p·p was made")
	}
}
