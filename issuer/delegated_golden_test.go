package issuer_test

import (
	"bytes"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// TestDelegatedGolden compares the answers of the user flows with
// testdata/golden: the response, the access token's header and claims, and
// the id_token's, for the password grant (v2 and v1), the on-behalf-of
// grant (v2 and v1) and the refresh_token grant, plus two user-flow error
// bodies. The clock, IDs and signing key are fixed; refresh tokens, which are
// random, show as <refresh_token>. `go test ./issuer -update` rewrites the
// files.
func TestDelegatedGolden(t *testing.T) {
	w := newDelegatedWorld(t)
	const correlation = "5fc87507-4086-4e77-b415-cee677eb232e"
	withCorrelation := func(r *http.Request) { r.Header.Set("client-request-id", correlation) }
	v2 := "/" + tenantA + "/oauth2/v2.0/token"
	v1 := "/" + tenantA + "/oauth2/token"
	ada := w.adaToken(t)
	var refresh string
	for _, tc := range []struct {
		file string
		path string
		form func() url.Values
	}{
		{"password-v2.json", v2, func() url.Values { return pwForm() }},
		{"password-v1.json", v1, func() url.Values {
			return pwForm("client_id", middleID, "client_secret", middleSecret, "resource", "api://orders", "scope", "openid", "client_info", "")
		}},
		{"obo-v2.json", v2, func() url.Values { return oboForm(ada) }},
		{"obo-v1.json", v1, func() url.Values { return oboForm(ada, "scope", "", "resource", "api://orders", "client_info", "") }},
		{"refresh-v2.json", v2, func() url.Values { return rtForm(refresh) }},
		{"error-65001.json", v2, func() url.Values { return oboForm(ada, "scope", "api://downstream/Data.Write") }},
		{"error-50034.json", v2, func() url.Values { return pwForm("username", "zed@contoso.onmicrosoft.com") }},
	} {
		t.Run(tc.file, func(t *testing.T) {
			r := w.post(t, tc.path, tc.form(), withCorrelation)
			if tc.file == "password-v2.json" {
				var m map[string]any
				r.decode(t, &m)
				refresh = m["refresh_token"].(string)
			}
			doc := goldenUserDocument(t, r)
			doc = bytes.ReplaceAll(doc, []byte(w.URL), []byte("https://"+goldenHost))
			compareGolden(t, tc.file, doc)
		})
	}
}

// goldenUserDocument renders a user flow's answer as indented JSON in
// member order: status, headers, the access token and id_token decoded, and
// the body with the tokens replaced by placeholders.
func goldenUserDocument(t *testing.T, r result) []byte {
	t.Helper()
	var buf bytes.Buffer
	buf.WriteString(`{"status":`)
	json.NewEncoder(&buf).Encode(r.status)
	headers := map[string]string{}
	for _, h := range []string{"Cache-Control", "Pragma", "Expires", "Content-Type", "X-Ms-Clitelem", "X-Ms-Request-Id", "Client-Request-Id"} {
		if v := r.header.Get(h); v != "" {
			headers[h] = v
		}
	}
	buf.WriteString(`,"headers":`)
	json.NewEncoder(&buf).Encode(headers)
	body := r.body
	var m map[string]any
	r.decode(t, &m)
	for _, name := range []string{"access_token", "id_token"} {
		tok, ok := m[name].(string)
		if !ok {
			continue
		}
		body = bytes.Replace(body, []byte(`"`+tok+`"`), []byte(`"<`+name+`>"`), 1)
		prefix := strings.TrimSuffix(name, "_token")
		buf.WriteString(`,"` + prefix + `_header":`)
		buf.Write(segment(t, tok, 0))
		buf.WriteString(`,"` + prefix + `_claims":`)
		buf.Write(segment(t, tok, 1))
	}
	if rt, ok := m["refresh_token"].(string); ok {
		body = bytes.Replace(body, []byte(`"`+rt+`"`), []byte(`"<refresh_token>"`), 1)
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
