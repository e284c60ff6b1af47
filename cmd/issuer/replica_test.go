package main

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/storage/etcd/etcdtest"
)

// TestServeShipsLastSignIns: a replica stopping ships the sign-ins of the
// requests it was still answering: the server stops taking requests,
// answers those it has, and only then ships its last batch, whether
// serving ended by an interrupt or by a failing listener.
func TestServeShipsLastSignIns(t *testing.T) {
	ep := etcdtest.Start(t)
	for i, tc := range []struct {
		name     string
		end      func(s *server, ln net.Listener)
		wantCode int
	}{
		{"interrupted", func(s *server, _ net.Listener) { s.stop() }, exitOK},
		{"the listener fails", func(_ *server, ln net.Listener) { ln.Close() }, exitError},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tg := newEtcdTarget(t, ep, fmt.Sprintf("/ship%d", i))
			listeners := make(chan net.Listener, 1)
			listen := func(e *env) {
				e.listen = func(addr string) (net.Listener, error) {
					ln, err := net.Listen("tcp", addr)
					if err == nil {
						select {
						case listeners <- ln: // the first: --addr's
						default:
						}
					}
					return ln, err
				}
			}
			s := startServeArgs(t, []option{listen}, append(tg.flags, "serve", "--addr", "127.0.0.1:0", "--insecure-http")...)
			ln := <-listeners

			// A token request in flight: the server has read its headers
			// and asked for its body (100 Continue), which the test
			// holds back until shutting down has begun.
			conn, err := net.Dial("tcp", ln.Addr().String())
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
			conn.SetDeadline(time.Now().Add(60 * time.Second))
			tenantID := "00000000-0000-0000-0000-00000000000" + fmt.Sprint(i)
			body := url.Values{"grant_type": {"client_credentials"}, "client_id": {"00000000-0000-0000-0000-000000000001"},
				"client_secret": {"not-a-secret"}, "scope": {"api://orders/.default"}}.Encode()
			fmt.Fprintf(conn, "POST /%s/oauth2/v2.0/token HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\nExpect: 100-continue\r\n\r\n",
				tenantID, ln.Addr(), len(body))
			br := bufio.NewReader(conn)
			if status, err := br.ReadString('\n'); err != nil || !strings.Contains(status, " 100 ") {
				t.Fatalf("status line %q, %v; want 100 Continue", status, err)
			}
			if blank, err := br.ReadString('\n'); err != nil || blank != "\r\n" {
				t.Fatalf("after 100 Continue: %q, %v", blank, err)
			}

			tc.end(s, ln)
			waitUntil(t, "the server shutting down", func() bool { return strings.Contains(s.stderr.String(), "issuer: shutting down") })
			if _, err := conn.Write([]byte(body)); err != nil {
				t.Fatal(err)
			}
			resp, err := http.ReadResponse(br, nil)
			if err != nil {
				t.Fatalf("the request in flight got no answer: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusBadRequest {
				t.Errorf("the request in flight got %d; want 400 (an unknown tenant)", resp.StatusCode)
			}
			if code := s.shutdown(t); code != tc.wantCode {
				t.Errorf("serve exited %d; want %d\nstderr: %s", code, tc.wantCode, s.stderr)
			}

			out, errb := newWatchedBuffer(), newWatchedBuffer()
			args := append(append([]string{"issuer"}, tg.flags...), "-o", "json", "logs", "--tenant", tenantID)
			if code := run(context.Background(), args, out, errb); code != exitOK {
				t.Fatalf("logs: exit %d: %s", code, errb.String())
			}
			if n := len(traceIDs(t, out.String())); n != 1 {
				t.Errorf("the cluster log holds %d sign-ins of the request in flight; want 1\n%s", n, out.String())
			}
		})
	}
}
