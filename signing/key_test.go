package signing

import (
	"crypto/rsa"
	"testing"
	"time"
)

// fixedNow is the tests' time.
var fixedNow = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// TestNewKey checks the shape of a new key: RSA-2048, a self-signed
// certificate for it, kid = its SHA-1 thumbprint, active.
func TestNewKey(t *testing.T) {
	k, err := NewKey(fixedNow)
	if err != nil {
		t.Fatal(err)
	}
	if k.PrivateKey.N.BitLen() != 2048 {
		t.Errorf("key size = %d; want 2048", k.PrivateKey.N.BitLen())
	}
	if pub, ok := k.Certificate.PublicKey.(*rsa.PublicKey); !ok || !pub.Equal(&k.PrivateKey.PublicKey) {
		t.Errorf("certificate does not hold the key")
	}
	c := k.Certificate
	if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil || c.Subject.String() != c.Issuer.String() {
		t.Errorf("certificate is not self-signed: %v", err)
	}
	if k.KeyID != Thumbprint(k.Certificate) || len(k.KeyID) != 27 {
		t.Errorf("kid = %q; want the 27-character thumbprint %q", k.KeyID, Thumbprint(k.Certificate))
	}
	if !k.Active() || !k.CreatedDateTime.Equal(fixedNow) {
		t.Errorf("Active, CreatedDateTime = %v, %v; want true, %v", k.Active(), k.CreatedDateTime, fixedNow)
	}
	if fixedNow.Before(k.Certificate.NotBefore) || !fixedNow.Add(365*24*time.Hour).Before(k.Certificate.NotAfter) {
		t.Errorf("certificate valid %v to %v; want it to cover %v and the year after", k.Certificate.NotBefore, k.Certificate.NotAfter, fixedNow)
	}
}
