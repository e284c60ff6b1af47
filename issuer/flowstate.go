package issuer

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"sync"
	"time"
)

// The interactive flows hold short-lived state: authorization codes (10
// minutes, one use), device codes (15 minutes), the sign-in flows a
// browser is in the middle of, and browser sessions (single sign-on). It
// lives in the server's memory, never in the database, and every value is
// found by the SHA-256 of the secret the client or browser holds, so that
// nothing in memory (a core dump, a debugger) can be replayed. A restart
// forgets it all, which Entra's clients survive: they sign the user in
// again. Several replicas behind one name would each hold their own, so a
// browser flow must reach the same replica throughout (sticky sessions).

// Lifetimes of interactive state, Entra's where it documents them.
const (
	// authCodeLifetime: "Authorization codes are short lived, typically
	// they expire after about 10 minutes" (v2 auth code flow docs).
	authCodeLifetime = 10 * time.Minute
	// deviceCodeLifetime is expires_in of the device authorization
	// response, 900 seconds in Entra's documented example.
	deviceCodeLifetime = 15 * time.Minute
	// deviceCodeInterval is the polling interval Entra answers (5 s).
	deviceCodeInterval = 5 * time.Second
	// flowLifetime bounds how long a browser may stay on the sign-in and
	// consent pages of one request.
	flowLifetime = 30 * time.Minute
	// sessionLifetime bounds the single sign-on session. Entra's is
	// longer (rolling, up to 90 days); a day keeps a test machine's
	// sessions from outliving the test run that made them.
	sessionLifetime = 24 * time.Hour
	// maxFlowEntries bounds each table: a client cannot grow the server's
	// memory without bound by starting flows it never finishes.
	maxFlowEntries = 10000
)

// secretBytes is the entropy of every code, session and CSRF token: 256
// bits, so a hash is useless to anyone who reads it.
const secretBytes = 32

// newSecret returns a random base64url string of secretBytes bytes.
func newSecret(r io.Reader) (string, error) {
	b := make([]byte, secretBytes)
	if _, err := io.ReadFull(r, b); err != nil {
		return "", fmt.Errorf("issuer: generating a secret: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(b), nil
}

// secretHash is the key a secret is stored under: its hex SHA-256.
func secretHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// equalSecret compares two secrets in constant time.
func equalSecret(a, b string) bool { return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1 }

// expiring is a table of values that expire, keyed by secret hash.
type expiring[T any] struct {
	mu      sync.Mutex
	entries map[string]entry[T]
}

type entry[T any] struct {
	value   T
	expires time.Time
}

func newExpiring[T any]() *expiring[T] { return &expiring[T]{entries: map[string]entry[T]{}} }

// put stores v under key until expires. When the table is full it first
// drops what has expired; if it is still full, the entry closest to
// expiry goes.
func (e *expiring[T]) put(key string, v T, now, expires time.Time) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.entries) >= maxFlowEntries {
		e.pruneLocked(now)
	}
	if len(e.entries) >= maxFlowEntries {
		oldest, when := "", time.Time{}
		for k, en := range e.entries {
			if oldest == "" || en.expires.Before(when) {
				oldest, when = k, en.expires
			}
		}
		delete(e.entries, oldest)
	}
	e.entries[key] = entry[T]{value: v, expires: expires}
}

func (e *expiring[T]) pruneLocked(now time.Time) {
	for k, en := range e.entries {
		if !now.Before(en.expires) {
			delete(e.entries, k)
		}
	}
}

// get returns the value under key. expired is true (and ok false) for a
// value whose time has passed; it is kept so that a late poll can be told
// it expired rather than that it never existed.
func (e *expiring[T]) get(key string, now time.Time) (v T, ok, expired bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	en, found := e.entries[key]
	switch {
	case !found:
		return v, false, false
	case !now.Before(en.expires):
		return en.value, false, true
	}
	return en.value, true, false
}

// update runs fn on the live value under key, in the table's lock, and
// stores what fn leaves. It reports whether a live value was there.
func (e *expiring[T]) update(key string, now time.Time, fn func(*T)) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	en, found := e.entries[key]
	if !found || !now.Before(en.expires) {
		return false
	}
	fn(&en.value)
	e.entries[key] = en
	return true
}

// take removes and returns the value under key: a one-time use. A value
// already taken is reported as used (the caller can tell a replay).
func (e *expiring[T]) take(key string, now time.Time) (v T, ok, expired bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	en, found := e.entries[key]
	if !found {
		return v, false, false
	}
	delete(e.entries, key)
	if !now.Before(en.expires) {
		return en.value, false, true
	}
	return en.value, true, false
}

// remove deletes key.
func (e *expiring[T]) remove(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.entries, key)
}
