package main

import (
	"bufio"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestServeLimits checks the HTTP limits of `issuer serve` itself, with
// its timeouts configured short: clients that stall before or during a
// request are disconnected, and oversized requests are refused with 431
// (headers, from net/http) or 413 (body, in Entra's error shape). Nothing
// is timed: a connection must end by the server's doing, within a bound
// far above the configured timeouts.
func TestServeLimits(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "issuer.db")
	srv := startServe(t, db, "serve", "--addr", "127.0.0.1:0", "--read-header-timeout", "1s", "--read-timeout", "2s")
	addr := strings.TrimPrefix(srv.url, "https://")
	caPEM, err := os.ReadFile(filepath.Join(dir, caFileName))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	dialTLS := func(t *testing.T) net.Conn {
		t.Helper()
		c, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: pool, NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		return c
	}
	const form = "grant_type=client_credentials&client_id=x&client_secret=y&scope=api%3A%2F%2Fx%2F.default"

	t.Run("stalled connections are closed", func(t *testing.T) {
		for _, tc := range []struct {
			name string
			open func(t *testing.T) net.Conn
		}{
			{"no TLS handshake", func(t *testing.T) net.Conn {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { c.Close() })
				return c
			}},
			{"half a header", func(t *testing.T) net.Conn {
				c := dialTLS(t)
				io.WriteString(c, "POST /common/oauth2/v2.0/token HTTP/1.1\r\nHost: "+addr+"\r\nContent-Type: applic")
				return c
			}},
			{"headers and half a body", func(t *testing.T) net.Conn {
				c := dialTLS(t)
				io.WriteString(c, "POST /common/oauth2/v2.0/token HTTP/1.1\r\nHost: "+addr+
					"\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n"+form[:20])
				return c
			}},
			{"idle after the headers of a GET", func(t *testing.T) net.Conn {
				c := dialTLS(t)
				io.WriteString(c, "GET /healthz HTTP/1.1\r\nHost: "+addr+"\r\n")
				return c
			}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				t.Parallel()
				c := tc.open(t)
				// The bound is ours; the server's timeouts are 1 s and 2 s.
				c.SetReadDeadline(time.Now().Add(30 * time.Second))
				var got []byte
				buf := make([]byte, 4096)
				for {
					n, err := c.Read(buf)
					got = append(got, buf[:n]...)
					if err == nil {
						continue
					}
					if errors.Is(err, os.ErrDeadlineExceeded) {
						t.Fatalf("the server kept the connection open for 30 s; want it closed after its timeout")
					}
					break // closed by the server (EOF, reset, or a TLS alert)
				}
				if len(got) > 0 {
					resp, err := http.ReadResponse(bufio.NewReader(strings.NewReader(string(got))), nil)
					if err == nil && resp.StatusCode >= 500 {
						t.Errorf("answered %d before closing; want no 5xx", resp.StatusCode)
					}
				}
			})
		}
	})

	client := trusting(t, filepath.Join(dir, caFileName))
	for _, tc := range []struct {
		name       string
		body       string
		header     http.Header
		wantStatus int
		wantCode   string // in the body, for Entra-shaped refusals
	}{
		{"headers over 64 KiB", form, http.Header{"X-Pad": {strings.Repeat("a", 128<<10)}}, http.StatusRequestHeaderFieldsTooLarge, ""},
		{"body over 1 MiB", form + "&pad=" + strings.Repeat("a", 1<<20), nil, http.StatusRequestEntityTooLarge, "9002313"},
		{"65 scopes", "grant_type=client_credentials&scope=" + url.QueryEscape(strings.Repeat("api://x/.default ", 65)), nil, http.StatusBadRequest, "70011"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, err := http.NewRequest(http.MethodPost, srv.url+"/common/oauth2/v2.0/token", strings.NewReader(tc.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			for k, v := range tc.header {
				req.Header[k] = v
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.wantStatus || !strings.Contains(string(body), tc.wantCode) {
				t.Errorf("status %d %.200s; want %d with %s", resp.StatusCode, body, tc.wantStatus, tc.wantCode)
			}
		})
	}

	// The server still serves after all that.
	resp, err := client.Get(srv.url + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz after the limits: %v %v", resp, err)
	}
	resp.Body.Close()
}

// TestServeLimitFlags: the timeouts must be positive durations.
func TestServeLimitFlags(t *testing.T) {
	db := filepath.Join(t.TempDir(), "issuer.db")
	for _, args := range [][]string{
		{"serve", "--read-header-timeout", "0s"},
		{"serve", "--read-timeout", "-1s"},
		{"serve", "--read-header-timeout", "soon"},
	} {
		if r := runCLI(t, db, fixed(), args...); r.code != exitUsage {
			t.Errorf("issuer %s: exit %d %s; want 2", strings.Join(args, " "), r.code, r.stderr)
		}
	}
}
