package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/storage"
)

// FuzzAdminHandler sends arbitrary Authorization headers, content types
// and bodies to the remote admin endpoint of a server over a real
// database: nothing may panic; a request without the bearer token is
// always a 401; every answer is 200 with an admin response (exit code 0 to
// 3) or a JSON refusal (400, 401, 413, 415); and the server creates no file
// for a client over HTTPS (what a command writes is returned in the
// answer); and bench, which connects where the client says, never runs.
func FuzzAdminHandler(f *testing.F) {
	dir := f.TempDir()
	db, err := storage.Open(filepath.Join(dir, "fuzz.db"), storage.Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	clock, err := issuer.NewClock(issuer.ClockReal, nil)
	if err != nil {
		f.Fatal(err)
	}
	iss, err := issuer.New(context.Background(), db, issuer.Config{BaseURL: "https://issuer.test", Clock: clock})
	if err != nil {
		f.Fatal(err)
	}
	st := newServerState(db, clock, iss, defaultEnv(), slog.New(slog.DiscardHandler))
	const token = "fuzz-admin-token-0123456789abcdef"
	authorized := bearerAuth(token)
	h := adminHandler(st, "https", authorized)
	out := filepath.Join(dir, "out")
	// bench, however spelled, never runs in the server: nothing connects
	// to the address the seeds give it.
	trap, hits := connectionTrap(f)
	for _, seed := range []struct{ auth, ctype, body string }{
		{"Bearer " + token, "application/json", `{"args":["tenant","list"]}`},
		{"Bearer " + token, "application/json", `{"args":["tenant","add","--name","fuzz"]}`},
		{"Bearer " + token, "application/json", `{"args":["db","backup","` + out + `"]}`},
		{"Bearer " + token, "application/json", `{"args":["db","check"]}`},
		{"Bearer " + token, "application/json", `{"args":["app","cert","create","--app","x","--out-cert","` + out + `","--out-key","k"]}`},
		{"Bearer " + token, "application/json", `{"args":["serve"]}`},
		{"Bearer " + token, "application/json", `{"args":["--","bench","--url","` + trap + `","--ca","/etc/hostname","--duration","1s"]}`},
		{"Bearer " + token, "application/json", `{"args":["-o","json","--","bench","--url=` + trap + `"]}`},
		{"Bearer " + token, "application/json", `{"args":["--","db","check","/etc/passwd"]}`},
		{"Bearer " + token, "application/json", `{"args":["apply","-f","s.json"],"files":{"s.json":"e30="}}`},
		{"Bearer " + token, "application/json; charset=utf-8", `{"args":["--help"]}`},
		{"Bearer " + token, "text/plain", `{"args":["tenant","list"]}`},
		{"Bearer " + token, "application/json", `{"args":["tenant","list"],"dir":"relative"}`},
		{"bearer  " + token + " ", "application/json", `{"args":[]}`},
		{"Bearer wrong", "application/json", `{"args":["tenant","list"]}`},
		{"Basic " + token, "application/json", `{"args":["tenant","list"]}`},
		{"", "application/json", `{"args":["tenant","list"]}`},
	} {
		f.Add(seed.auth, seed.ctype, []byte(seed.body))
	}
	f.Fuzz(func(t *testing.T, auth, ctype string, body []byte) {
		r := httptest.NewRequest(http.MethodPost, "https://issuer.test"+adminPath, bytes.NewReader(body))
		r.Header.Set("Authorization", auth)
		r.Header.Set("Content-Type", ctype)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		if authorized(r) != nil && rec.Code != http.StatusUnauthorized {
			t.Fatalf("Authorization %q: status %d; want 401", auth, rec.Code)
		}
		switch rec.Code {
		case http.StatusOK:
			var res adminResponse
			if err := json.Unmarshal(rec.Body.Bytes(), &res); err != nil || res.ExitCode < exitOK || res.ExitCode > exitLocked {
				t.Fatalf("200 with %q (%v); want an admin response with an exit code of 0 to 3", rec.Body, err)
			}
		case http.StatusBadRequest, http.StatusUnauthorized, http.StatusRequestEntityTooLarge, http.StatusUnsupportedMediaType:
			var e adminError
			if err := json.Unmarshal(rec.Body.Bytes(), &e); err != nil || e.Error == "" {
				t.Fatalf("%d with %q; want a JSON refusal", rec.Code, rec.Body)
			}
		default:
			t.Fatalf("status %d for %q", rec.Code, body)
		}
		if _, err := os.Lstat(out); err == nil {
			t.Fatalf("the server created %s for an HTTPS client", out)
		}
		if n := hits.Load(); n != 0 {
			t.Fatalf("%q: a command opened %d connections to the address it named", body, n)
		}
	})
}
