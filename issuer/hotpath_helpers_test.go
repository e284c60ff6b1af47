package issuer

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/issuer-dev/issuer/signing"
)

// TestIssuedAppendJSON: the token answer built by appendJSON is byte for
// byte what encoding/json writes for tokenResponseV1 and V2, and strings
// that JSON escapes are left to encoding/json.
func TestIssuedAppendJSON(t *testing.T) {
	const jwt = "eyJ0eXAiOiJKV1QifQ.eyJhdWQiOiJ4In0.c2ln-_"
	tests := []struct {
		name  string
		t     issued
		plain bool
	}{
		{"app-only", issued{token: jwt, lifetime: 3599, notBefore: 1700000000, expiresOn: 1700003900, resource: "api://orders"}, true},
		{"user flow, every member", issued{token: jwt, lifetime: 3599, notBefore: 1, expiresOn: 2, resource: "https://graph.microsoft.com",
			scope: "User.Read openid profile", refreshToken: "1.AXYA-rt", idToken: jwt, clientInfo: "eyJ1aWQiOiIxIn0"}, true},
		{"zero and negative numbers", issued{token: jwt, lifetime: 0, notBefore: -5, expiresOn: -1}, true},
		{"empty token", issued{}, true},
		{"resource with a quote", issued{token: jwt, resource: `api://a"b`}, false},
		{"resource with a backslash", issued{token: jwt, resource: `api://a\b`}, false},
		{"resource with <&>", issued{token: jwt, resource: "api://a?b=<c>&d"}, true},
		{"scope with a control character", issued{token: jwt, scope: "a\x01b"}, false},
		{"resource with U+2028", issued{token: jwt, resource: "api://a\u2028b"}, false},
		{"resource not UTF-8", issued{token: jwt, resource: "api://a\xffb"}, false},
		{"resource with DEL", issued{token: jwt, resource: "api://a\x7fb"}, false},
	}
	for _, tt := range tests {
		for _, endpoint := range []int{1, 2} {
			t.Run(fmt.Sprintf("%s/v%d", tt.name, endpoint), func(t *testing.T) {
				checkAppendJSON(t, tt.t, endpoint, tt.plain)
			})
		}
	}
}

func checkAppendJSON(t *testing.T, is issued, endpoint int, plain bool) {
	t.Helper()
	want, err := marshalJSON(is.response(endpoint))
	if err != nil {
		t.Fatal(err)
	}
	got, ok := is.appendJSON([]byte("prefix"), endpoint)
	if ok != plain {
		t.Fatalf("v%d: appendJSON ok = %v, want %v", endpoint, ok, plain)
	}
	if ok && !bytes.Equal(got, append([]byte("prefix"), want...)) {
		t.Fatalf("v%d:\nappendJSON   %s\nencoding/json %s", endpoint, got, want)
	}
}

// FuzzIssuedAppendJSON: for any strings and numbers, appendJSON either
// writes what encoding/json writes or declines.
func FuzzIssuedAppendJSON(f *testing.F) {
	f.Add("a.b.c", "", "api://orders", "", "", "", int64(3599), int64(1), int64(2), true)
	f.Add("a.b.c", "User.Read openid", "https://graph.microsoft.com/", "rt", "a.b.c", "ci", int64(-1), int64(0), int64(1<<40), false)
	f.Add("a\"b", "a\\b", "\u2028", "\x00", "\xff", "<&>", int64(0), int64(0), int64(0), true)
	f.Fuzz(func(t *testing.T, token, scope, resource, rt, idt, ci string, lifetime, nbf, exp int64, v1 bool) {
		is := issued{token: token, scope: scope, resource: resource, refreshToken: rt, idToken: idt, clientInfo: ci,
			lifetime: lifetime, notBefore: nbf, expiresOn: exp}
		endpoint := 2
		if v1 {
			endpoint = 1
		}
		want, err := marshalJSON(is.response(endpoint))
		if err != nil {
			t.Fatal(err)
		}
		got, ok := is.appendJSON(nil, endpoint)
		if ok && !bytes.Equal(got, want) {
			t.Fatalf("v%d:\nappendJSON   %s\nencoding/json %s", endpoint, got, want)
		}
		if !ok && plainJSON(token) && plainJSON(scope) && plainJSON(resource) && plainJSON(rt) && plainJSON(idt) && plainJSON(ci) {
			t.Fatal("appendJSON declined plain strings")
		}
	})
}

// guidBytesReference is guidBytes as first written, with slices: the
// oracle of FuzzGUIDBytes.
func guidBytesReference(id string) []byte {
	b, err := hex.DecodeString(strings.ReplaceAll(id, "-", ""))
	if err != nil || len(b) != 16 {
		sum := sha256.Sum256([]byte(id))
		return sum[:16]
	}
	b[0], b[1], b[2], b[3] = b[3], b[2], b[1], b[0]
	b[4], b[5] = b[5], b[4]
	b[6], b[7] = b[7], b[6]
	return b
}

// FuzzGUIDBytes: guidBytes, which the uti, aio, rh and sub claims derive
// from, reads every id as the slice-based original did.
func FuzzGUIDBytes(f *testing.F) {
	for _, id := range []string{"", "72f988bf-86f1-41af-91ab-2d7cd011db47", "72F988BF-86F1-41AF-91AB-2D7CD011DB47",
		"72f988bf86f141af91ab2d7cd011db47", "72f988bf-86f1-41af-91ab-2d7cd011db4", "72f988bf-86f1-41af-91ab-2d7cd011db477",
		"--72f988bf86f141af91ab2d7cd011db47--", "72f988bf-86f1-41af-91ab-2d7cd011dbxz", "contoso.onmicrosoft.com"} {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		got, want := guidBytes(id), guidBytesReference(id)
		if !bytes.Equal(got[:], want) {
			t.Fatalf("guidBytes(%q) = %x, want %x", id, got, want)
		}
	})
}

// TestIsFormContentType: the exact value every client sends is a form
// without parsing; anything else is parsed as before.
func TestIsFormContentType(t *testing.T) {
	tests := []struct {
		name, ct string
		want     bool
	}{
		{"exact", "application/x-www-form-urlencoded", true},
		{"upper case", "Application/X-WWW-Form-Urlencoded", true},
		{"with charset", "application/x-www-form-urlencoded; charset=utf-8", true},
		{"spaces", " application/x-www-form-urlencoded ", true},
		{"empty", "", false},
		{"json", "application/json", false},
		{"prefix", "application/x-www-form-urlencoded-not", false},
		{"malformed parameter", "application/x-www-form-urlencoded; =", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isFormContentType(tt.ct); got != tt.want {
				t.Fatalf("isFormContentType(%q) = %v, want %v", tt.ct, got, tt.want)
			}
		})
	}
}

// TestReadAll: the body read is the whole body, whatever Content-Length
// announced, and the limit's error comes through.
func TestReadAll(t *testing.T) {
	body := strings.Repeat("grant_type=client_credentials&", 40) // 1,200 bytes
	tests := []struct {
		name      string
		body      string
		announced int64
		limit     int64
	}{
		{"announced exactly", body, int64(len(body)), maxTokenRequestBytes},
		{"announced less", body, 10, maxTokenRequestBytes},
		{"announced more", body, int64(len(body)) * 3, maxTokenRequestBytes},
		{"not announced", body, -1, maxTokenRequestBytes},
		{"zero announced", body, 0, maxTokenRequestBytes},
		{"over the limit", body, int64(len(body)), 1000},
		{"empty", "", 0, maxTokenRequestBytes},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/", strings.NewReader(tt.body))
			w := httptest.NewRecorder()
			got, err := readAll(http.MaxBytesReader(w, io.NopCloser(iotest.HalfReader(r.Body)), tt.limit), tt.announced)
			want, wantErr := io.ReadAll(http.MaxBytesReader(w, io.NopCloser(strings.NewReader(tt.body)), tt.limit))
			if (err == nil) != (wantErr == nil) {
				t.Fatalf("readAll error %v, io.ReadAll %v", err, wantErr)
			}
			var tooLarge *http.MaxBytesError
			if wantErr != nil && !errors.As(err, &tooLarge) {
				t.Fatalf("readAll error %v, want an *http.MaxBytesError", err)
			}
			if err == nil && !bytes.Equal(got, want) {
				t.Fatalf("readAll read %d bytes, io.ReadAll %d", len(got), len(want))
			}
		})
	}
}

// TestTokenFormRefusals: the form's refusals that the token path's fast
// paths (readAll, repeatsAny, isFormContentType) pass through.
func TestTokenFormRefusals(t *testing.T) {
	f := newHotFixture(t, signing.GoBackend())
	tests := []struct {
		name   string
		body   string
		status int
		code   int
		desc   string
	}{
		{"client_id twice", f.body + "&client_id=" + f.daemon.AppID, http.StatusBadRequest, CodeMalformedRequest,
			"The request contains the parameter 'client_id' more than once."},
		{"scope and client_id twice: the first of singleValued is named", f.body + "&scope=x&client_id=y", http.StatusBadRequest, CodeMalformedRequest,
			"The request contains the parameter 'client_id' more than once."},
		{"an unread parameter twice is ignored", f.body + "&x-client-SKU=a&x-client-SKU=b", http.StatusOK, 0, ""},
		{"over the size limit", f.body + "&pad=" + strings.Repeat("a", maxTokenRequestBytes), http.StatusRequestEntityTooLarge, CodeMalformedRequest,
			"The request body exceeds 1048576 bytes."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, answer := f.post(t, tt.body)
			if status != tt.status {
				t.Fatalf("status %d, want %d: %v", status, tt.status, answer)
			}
			if tt.code == 0 {
				return
			}
			codes, _ := answer["error_codes"].([]any)
			desc, _ := answer["error_description"].(string)
			if len(codes) != 1 || codes[0] != float64(tt.code) || !strings.Contains(desc, tt.desc) {
				t.Fatalf("answer %v, want AADSTS%d with %q", answer, tt.code, tt.desc)
			}
		})
	}
}

// TestBodyError: a body over the limit is HTTP 413, any other failure to
// read it AADSTS9002313 with the cause kept for the log.
func TestBodyError(t *testing.T) {
	tests := []struct {
		name   string
		err    error
		status int
		desc   string
	}{
		{"over the limit", &http.MaxBytesError{Limit: maxTokenRequestBytes}, http.StatusRequestEntityTooLarge, "The request body exceeds 1048576 bytes."},
		{"cut short", io.ErrUnexpectedEOF, http.StatusBadRequest, "The request body could not be read."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := bodyError(tt.err)
			if e.Code != CodeMalformedRequest || e.Status() != tt.status || !strings.Contains(e.Error(), tt.desc) {
				t.Fatalf("bodyError = AADSTS%d, HTTP %d, %q; want AADSTS%d, HTTP %d, %q", e.Code, e.Status(), e.Error(), CodeMalformedRequest, tt.status, tt.desc)
			}
			if tt.status == http.StatusBadRequest && !errors.Is(e, tt.err) {
				t.Fatalf("bodyError lost its cause %v", tt.err)
			}
		})
	}
}
