package managedidentity_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// FuzzEndpoint sends the endpoints' handler arbitrary paths, query strings,
// headers and form bodies (GET, or POST as Cloud Shell's): whatever a
// caller sends, the answer is JSON with a status the endpoints document,
// never a server error.
func FuzzEndpoint(f *testing.F) {
	w := newWorld(f)
	prefix := "/" + w.tenantID + "/" + w.worker.ID
	f.Add(prefix+"/msi/token", "api-version=2019-08-01&resource=api%3A%2F%2Forders", secret, "", false, "")
	f.Add(prefix+"/metadata/identity/oauth2/token", "api-version=2018-02-01&resource=api://orders&client_id="+w.worker.AppID, "", "true", false, "")
	f.Add(prefix+"/msi/token", "api-version=2019-08-01&resource=%zz&mi_res_id=/x", secret, "", false, "")
	f.Add(prefix+"/cloudshell/token", "", "", "true", true, "resource=api%3A%2F%2Forders")
	f.Add("//msi/token", ";;&&==", "", "TRUE", true, "%%%")
	f.Fuzz(func(t *testing.T, path, query, identityHeader, metadata string, post bool, body string) {
		// The handler itself, without a transport: whatever a request
		// line net/http would accept or not, the handler must answer it.
		r := &http.Request{Method: http.MethodGet, URL: &url.URL{Path: "/" + strings.TrimPrefix(path, "/"), RawQuery: query},
			Header: http.Header{}, Body: http.NoBody}
		if post {
			r.Method, r.Body = http.MethodPost, io.NopCloser(strings.NewReader(body))
			r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		}
		r = r.WithContext(context.Background())
		for k, v := range map[string]string{"X-IDENTITY-HEADER": identityHeader, "Metadata": metadata} {
			if v != "" {
				r.Header.Set(k, v)
			}
		}
		rec := httptest.NewRecorder()
		w.handler.ServeHTTP(rec, r)
		switch rec.Code {
		case 200, 400, 401, 404, 405:
		default:
			t.Fatalf("%q?%q: status %d: %s", path, query, rec.Code, rec.Body)
		}
		if !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%q?%q: body %q is not JSON", path, query, rec.Body)
		}
	})
}
