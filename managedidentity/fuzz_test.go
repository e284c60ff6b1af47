package managedidentity_test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// FuzzEndpoint sends the endpoints arbitrary paths, query strings and
// headers: whatever a caller sends, the answer is JSON with a status the
// endpoints document, never a server error.
func FuzzEndpoint(f *testing.F) {
	w := newWorld(f)
	prefix := "/" + w.tenantID + "/" + w.worker.ID
	f.Add(prefix+"/msi/token", "api-version=2019-08-01&resource=api%3A%2F%2Forders", secret, "")
	f.Add(prefix+"/metadata/identity/oauth2/token", "api-version=2018-02-01&resource=api://orders&client_id="+w.worker.AppID, "", "true")
	f.Add(prefix+"/msi/token", "api-version=2019-08-01&resource=%zz&mi_res_id=/x", secret, "")
	f.Add("//msi/token", ";;&&==", "", "TRUE")
	f.Fuzz(func(t *testing.T, path, query, identityHeader, metadata string) {
		if !strings.HasPrefix(path, "/") {
			path = "/" + path
		}
		req, err := http.NewRequest(http.MethodGet, w.url, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Path, req.URL.RawPath, req.URL.RawQuery = path, "", query
		for k, v := range map[string]string{"X-IDENTITY-HEADER": identityHeader, "Metadata": metadata} {
			if v != "" && !strings.ContainsAny(v, "\r\n\x00") {
				req.Header.Set(k, v)
			}
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return // a request net/http will not send
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		switch resp.StatusCode {
		case 200, 400, 401, 404, 405:
		default:
			t.Fatalf("%s?%s: status %d: %s", path, query, resp.StatusCode, b)
		}
		if !json.Valid(b) {
			t.Fatalf("%s?%s: body %q is not JSON", path, query, b)
		}
	})
}
