package issuer

import (
	"fmt"
	"testing"
	"time"
)

// TestExpiring: values expire, take is one-time, update reaches only live
// values, and a full table drops the expired first, then the oldest.
func TestExpiring(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	e := newExpiring[int]()
	e.put("a", 1, now, now.Add(time.Minute))
	if v, ok, expired := e.get("a", now); !ok || expired || v != 1 {
		t.Errorf("get live = %d, %v, %v", v, ok, expired)
	}
	if _, ok, expired := e.get("a", now.Add(time.Minute)); ok || !expired {
		t.Errorf("get at expiry = %v, %v; want expired", ok, expired)
	}
	if e.update("a", now.Add(2*time.Minute), func(v *int) { *v = 9 }) {
		t.Error("update of an expired value reported a change")
	}
	if !e.update("a", now, func(v *int) { *v = 2 }) {
		t.Error("update of a live value failed")
	}
	if v, ok, _ := e.take("a", now); !ok || v != 2 {
		t.Errorf("take = %d, %v", v, ok)
	}
	if _, ok, expired := e.take("a", now); ok || expired {
		t.Error("a value was taken twice")
	}
	if _, ok, _ := e.get("missing", now); ok {
		t.Error("get of a missing key")
	}

	full := newExpiring[int]()
	for i := range maxFlowEntries {
		full.put(fmt.Sprint(i), i, now, now.Add(time.Duration(i+1)*time.Second))
	}
	full.put("new", -1, now, now.Add(time.Hour))
	if _, ok, _ := full.get("0", now); ok {
		t.Error("the entry closest to expiry survived a put into a full table")
	}
	if _, ok, _ := full.get("new", now); !ok || len(full.entries) != maxFlowEntries {
		t.Errorf("full table: new entry %v, %d entries; want it kept and %d entries", ok, len(full.entries), maxFlowEntries)
	}
	full.put("later", -2, now.Add(time.Duration(maxFlowEntries/2)*time.Second), now.Add(time.Hour))
	if n := len(full.entries); n > maxFlowEntries/2+3 {
		t.Errorf("a put into a full table kept %d entries; want the expired ones pruned", n)
	}
}

// TestCheckVerifier: RFC 7636 appendix B's example, plain, and refusals.
func TestCheckVerifier(t *testing.T) {
	const verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
	const s256 = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
	for _, tc := range []struct {
		name              string
		challenge, method string
		verifier          string
		ok                bool
	}{
		{"S256", s256, "S256", verifier, true},
		{"S256 wrong verifier", s256, "S256", verifier[:42] + "A", false},
		{"plain", verifier, "plain", verifier, true},
		{"plain by default", verifier, "", verifier, true},
		{"no verifier", s256, "S256", "", false},
		{"short verifier", s256, "S256", "abc", false},
		{"no challenge", "", "", "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := checkVerifier(authCode{challenge: tc.challenge, method: tc.method}, tc.verifier)
			if (err == nil) != tc.ok {
				t.Errorf("checkVerifier = %v; want ok %v", err, tc.ok)
			}
		})
	}
}
