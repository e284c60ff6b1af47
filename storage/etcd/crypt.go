package etcd

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"os"
)

// MinKeyEncryptionKey is the least number of bytes a key-encryption key
// file holds (`openssl rand -base64 32` writes 45).
const MinKeyEncryptionKey = 32

// ErrWrongKey means the key-encryption key does not open what the
// directory holds: another key sealed it.
var ErrWrongKey = errors.New("the key-encryption key does not match the one this directory's signing keys were sealed with")

// ReadKeyEncryptionKey reads a key-encryption key file: at least
// MinKeyEncryptionKey bytes of anything (random bytes, base64 or hex text);
// the AES-256 key is their SHA-256, so the file's form does not matter.
func ReadKeyEncryptionKey(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("key-encryption key: %w", err)
	}
	b = bytes.TrimSpace(b)
	if len(b) < MinKeyEncryptionKey {
		return nil, fmt.Errorf("key-encryption key %s: %d bytes, want at least %d (e.g. openssl rand -base64 32 > %s)", path, len(b), MinKeyEncryptionKey, path)
	}
	return b, nil
}

// crypt seals the values of the buckets that hold private keys before they
// reach etcd, with AES-256-GCM under a key every replica is given: whoever
// reads etcd, or a snapshot of it, without that key learns no signing key
// (the model of Hydra's system secret). The etcd key is the additional
// data, so a sealed value moved to another key does not open.
type crypt struct{ aead cipher.AEAD }

func newCrypt(kek []byte) (*crypt, error) {
	if len(kek) < MinKeyEncryptionKey {
		return nil, fmt.Errorf("etcd: a key-encryption key of at least %d bytes is required", MinKeyEncryptionKey)
	}
	sum := sha256.Sum256(kek)
	block, err := aes.NewCipher(sum[:])
	if err != nil {
		return nil, err
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, err
	}
	return &crypt{aead: aead}, nil
}

// sealVersion begins every sealed value, so that another scheme can follow.
const sealVersion = "v1:"

func (c *crypt) seal(etcdKey string, plain []byte) ([]byte, error) {
	nonce := make([]byte, c.aead.NonceSize())
	if _, err := rand.Read(nonce); err != nil {
		return nil, err
	}
	out := append([]byte(sealVersion), nonce...)
	return c.aead.Seal(out, nonce, plain, []byte(etcdKey)), nil
}

func (c *crypt) open(etcdKey string, sealed []byte) ([]byte, error) {
	rest, ok := bytes.CutPrefix(sealed, []byte(sealVersion))
	if !ok || len(rest) < c.aead.NonceSize() {
		return nil, fmt.Errorf("etcd: %s is not sealed with the key-encryption key", etcdKey)
	}
	n := c.aead.NonceSize()
	plain, err := c.aead.Open(nil, rest[:n], rest[n:], []byte(etcdKey))
	if err != nil {
		return nil, fmt.Errorf("etcd: %s: %w", etcdKey, ErrWrongKey)
	}
	return plain, nil
}
