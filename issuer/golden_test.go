package issuer_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goldenHost replaces the test server's random address in golden files.
const goldenHost = "issuer.test"

// goldenRequest is one request whose answer is kept in testdata/golden.
type goldenRequest struct {
	file   string
	method string
	path   string
	form   url.Values
	token  bool // decode the access token into header and claims
}

// goldenCorrelation is the client-request-id every golden request sends.
const goldenCorrelation = "5fc87507-4086-4e77-b415-cee677eb232e"

// goldenRequests are the documents of TestGolden; TestWireShapes checks the
// same answers against protocol.md's shapes.
var goldenRequests = []goldenRequest{
	{file: "discovery-v2-tenant.json", path: "/" + domainA + "/v2.0/.well-known/openid-configuration"},
	{file: "discovery-v1-tenant.json", path: "/" + domainA + "/.well-known/openid-configuration"},
	{file: "discovery-v2-common.json", path: "/common/v2.0/.well-known/openid-configuration"},
	{file: "discovery-v1-common.json", path: "/common/.well-known/openid-configuration"},
	{file: "discovery-v2-consumers.json", path: "/consumers/v2.0/.well-known/openid-configuration"},
	{file: "jwks-v2.json", path: "/" + tenantA + "/discovery/v2.0/keys"},
	{file: "jwks-v1.json", path: "/common/discovery/keys"},
	{file: "instance-discovery.json", path: "/common/discovery/instance?api-version=1.1&authorization_endpoint=https://" + goldenHost + "/" + domainA + "/oauth2/v2.0/authorize"},
	{file: "token-v2.json", method: http.MethodPost, path: "/" + tenantA + "/oauth2/v2.0/token", form: ccForm("scope", "api://inventory/.default openid profile offline_access"), token: true},
	{file: "token-v1.json", method: http.MethodPost, path: "/" + tenantA + "/oauth2/token", form: ccForm("resource", "api://orders"), token: true},
	{file: "token-v1-from-v2-endpoint.json", method: http.MethodPost, path: "/" + tenantA + "/oauth2/v2.0/token", form: ccForm("scope", "api://orders/.default"), token: true},
	{file: "error-7000215.json", method: http.MethodPost, path: "/" + tenantA + "/oauth2/v2.0/token", form: ccForm("scope", "api://inventory/.default", "client_secret", "wrong-secret-value-0001")},
	{file: "error-1002012.json", method: http.MethodPost, path: "/" + tenantA + "/oauth2/v2.0/token", form: ccForm("scope", "api://inventory/Inventory.Read")},
	{file: "error-501051.json", method: http.MethodPost, path: "/" + tenantA + "/oauth2/v2.0/token", form: ccForm("scope", "api://payroll/.default")},
	{file: "error-700016.json", method: http.MethodPost, path: "/" + tenantA + "/oauth2/token", form: ccForm("resource", "api://orders", "client_id", foreignID)},
	{file: "error-90002-discovery.json", path: "/nowhere.example/v2.0/.well-known/openid-configuration"},
}

// fetchGolden sends gr with the golden correlation ID.
func (w *world) fetchGolden(t *testing.T, gr goldenRequest) result {
	t.Helper()
	withCorrelation := func(r *http.Request) { r.Header.Set("client-request-id", goldenCorrelation) }
	// A real-host URL in instance discovery must name the server.
	path := strings.ReplaceAll(gr.path, "https://"+goldenHost, w.URL)
	if gr.method == http.MethodPost {
		return w.post(t, path, gr.form, withCorrelation)
	}
	req := w.request(t, http.MethodGet, path, "")
	withCorrelation(req)
	return w.do(t, req)
}

// TestGolden compares whole documents with testdata/golden: both discovery
// documents, both key sets, the instance document, decoded v1 and v2 tokens
// with their responses, and error bodies. The clock, the IDs and the signing
// key are fixed, so every byte is reproducible; `go test ./issuer -update`
// rewrites the files after an intended change.
func TestGolden(t *testing.T) {
	w := newWorld(t)
	for _, tc := range goldenRequests {
		t.Run(tc.file, func(t *testing.T) {
			r := w.fetchGolden(t, tc)
			doc := goldenDocument(t, r, tc.token)
			doc = bytes.ReplaceAll(doc, []byte(w.URL), []byte("https://"+goldenHost))
			doc = bytes.ReplaceAll(doc, []byte(strings.TrimPrefix(w.URL, "https://")), []byte(goldenHost))
			compareGolden(t, tc.file, doc)
		})
	}
}

// goldenDocument renders a response as indented JSON that keeps member
// order: status, the headers that matter, and the body, with a token
// decoded into its header and claims.
func goldenDocument(t *testing.T, r result, token bool) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteString(`{"status":`)
	json.NewEncoder(&buf).Encode(r.status)
	headers := map[string]string{}
	for _, h := range []string{"Cache-Control", "Pragma", "Expires", "Content-Type", "Access-Control-Allow-Origin", "X-Ms-Clitelem", "X-Ms-Request-Id", "Client-Request-Id", "Strict-Transport-Security", "X-Content-Type-Options", "X-Ms-Ests-Server"} {
		if v := r.header.Get(h); v != "" {
			headers[h] = v
		}
	}
	buf.WriteString(`,"headers":`)
	json.NewEncoder(&buf).Encode(headers)
	body := r.body
	if token {
		var m map[string]any
		r.decode(t, &m)
		tok := m["access_token"].(string)
		body = bytes.Replace(body, []byte(tok), []byte("<access_token>"), 1)
		buf.WriteString(`,"token_header":`)
		buf.Write(segment(t, tok, 0))
		buf.WriteString(`,"token_claims":`)
		buf.Write(segment(t, tok, 1))
	}
	buf.WriteString(`,"body":`)
	buf.Write(body)
	buf.WriteString("}")
	var out bytes.Buffer
	if err := json.Indent(&out, buf.Bytes(), "", "  "); err != nil {
		t.Fatalf("indenting %s: %v", buf.Bytes(), err)
	}
	out.WriteByte('\n')
	return out.Bytes()
}

// compareGolden compares got with testdata/golden/name, or rewrites it
// under -update.
func compareGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", "golden", name)
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test ./issuer -update to create it): %v", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs from the golden file (run go test ./issuer -update if the change is intended)\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}
