package issuer_test

import (
	"bytes"
	"net/http"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/issuer/issuertest"
	"github.com/issuer-dev/issuer/signing"
)

// TestSignerBackends runs the token endpoint against every RS256 backend
// this build has: each token verifies against the published JWKS, the
// golden documents hold, and, since the clock, the IDs and the key are
// fixed and PKCS#1 v1.5 is deterministic, every response (signature
// included) is the same bytes as with the Go backend. (Tokens name the
// server's random port in iss, so that comparison runs with EntraIssuers.)
// /healthz names the backend. (ISSUER_TEST_SIGNER=openssl go test ./... runs every other
// end-to-end test with OpenSSL too.)
func TestSignerBackends(t *testing.T) {
	// The Go backend's answers are the reference. Every golden request is
	// sent, in TestGolden's order, since trace IDs come from one counter.
	entra := issuertest.WithConfig(func(c *issuer.Config) { c.EntraIssuers = true })
	reference := map[string][]byte{}
	ref := newWorld(t, issuertest.Signer(signing.Go), entra)
	for _, gr := range goldenRequests {
		reference[gr.file] = ref.hostless(ref.fetchGolden(t, gr).body)
	}

	for _, name := range []string{signing.Go, signing.OpenSSL} {
		t.Run(name, func(t *testing.T) {
			if name == signing.OpenSSL {
				if _, err := signing.OpenSSLBackend(); err != nil {
					t.Skipf("no OpenSSL backend in this build or on this machine: %v", err)
				}
			}
			w := newWorld(t, issuertest.Signer(name))
			if got := w.Issuer.SignerName(); got != name {
				t.Fatalf("SignerName() = %q; want %q", got, name)
			}
			if r := w.get(t, "/healthz"); r.status != http.StatusOK || !strings.Contains(string(r.body), `"signer":"`+name+`"`) {
				t.Errorf("GET /healthz = %d %s; want 200 naming signer %s", r.status, r.body, name)
			}
			e := newWorld(t, issuertest.Signer(name), entra)
			for _, gr := range goldenRequests {
				if got := e.hostless(e.fetchGolden(t, gr).body); !bytes.Equal(got, reference[gr.file]) {
					t.Errorf("%s: response differs from the Go backend's\ngot:  %s\nwant: %s", gr.file, got, reference[gr.file])
				}
			}
			var issued []string
			for _, gr := range goldenRequests {
				r := w.fetchGolden(t, gr)
				if !*update {
					doc := goldenDocument(t, r, gr.token)
					doc = bytes.ReplaceAll(doc, []byte(w.URL), []byte("https://"+goldenHost))
					doc = bytes.ReplaceAll(doc, []byte(strings.TrimPrefix(w.URL, "https://")), []byte(goldenHost))
					compareGolden(t, gr.file, doc)
				}
				if gr.token {
					var m map[string]any
					r.decode(t, &m)
					issued = append(issued, m["access_token"].(string))
				}
			}
			// Verification reads discovery and the JWKS, which take trace
			// IDs: after the golden requests.
			for _, token := range issued {
				version := 2
				if decodeSegment(t, token, 1)["ver"] == "1.0" {
					version = 1
				}
				w.verify(t, token, tenantA, version)
			}
		})
	}
}

// hostless replaces the server's random host:port in b with goldenHost.
func (w *world) hostless(b []byte) []byte {
	return bytes.ReplaceAll(b, []byte(strings.TrimPrefix(w.URL, "https://")), []byte(goldenHost))
}
