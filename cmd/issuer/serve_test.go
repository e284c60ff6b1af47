package main

import (
	"bytes"
	"context"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/storage"
)

// readyLine is the line `issuer serve` prints to stderr when it accepts
// connections.
var readyLine = regexp.MustCompile(`(?m)^issuer: listening on (\S+) \((.*)\)$`)

// watchedBuffer is a goroutine-safe buffer that signals when the ready line
// has been written.
type watchedBuffer struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan []string
	once  sync.Once
}

func newWatchedBuffer() *watchedBuffer { return &watchedBuffer{ready: make(chan []string, 1)} }

func (w *watchedBuffer) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	n, err := w.buf.Write(p)
	if m := readyLine.FindStringSubmatch(w.buf.String()); m != nil {
		w.once.Do(func() { w.ready <- m })
	}
	return n, err
}

func (w *watchedBuffer) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// server is an `issuer serve` running in-process.
type server struct {
	url            string // as printed on the ready line
	details        string
	stdout, stderr *watchedBuffer
	stop           context.CancelFunc
	done           chan int
}

// startServe runs `issuer --db db args…` in-process and waits for the ready
// line.
func startServe(t *testing.T, db string, args ...string) *server {
	t.Helper()
	return startServeWith(t, db, nil, args...)
}

// startServeWith is startServe with env options (a fixed clock, ids and
// randomness for the commands the server runs for clients).
func startServeWith(t *testing.T, db string, opts []option, args ...string) *server {
	t.Helper()
	return startServeArgs(t, opts, append([]string{"--db", db}, args...)...)
}

// startServeArgs is startServeWith with the store named in args
// (--store etcd://…).
func startServeArgs(t *testing.T, opts []option, args ...string) *server {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	s := &server{stdout: newWatchedBuffer(), stderr: newWatchedBuffer(), stop: cancel, done: make(chan int, 1)}
	argv := append([]string{"issuer"}, args...)
	go func() { s.done <- run(ctx, argv, s.stdout, s.stderr, opts...) }()
	select {
	case m := <-s.stderr.ready:
		s.url, s.details = m[1], m[2]
	case code := <-s.done:
		cancel()
		t.Fatalf("issuer serve exited with %d before it was ready\nstderr: %s", code, s.stderr)
	case <-time.After(30 * time.Second):
		cancel()
		t.Fatalf("issuer serve not ready after 30s\nstderr: %s", s.stderr)
	}
	t.Cleanup(func() { s.shutdown(t) })
	return s
}

// shutdown cancels the server's context (what SIGINT/SIGTERM do in main) and
// returns its exit code.
func (s *server) shutdown(t *testing.T) int {
	t.Helper()
	s.stop()
	select {
	case code := <-s.done:
		s.done <- code // later calls see the same code
		return code
	case <-time.After(15 * time.Second):
		t.Fatalf("issuer serve did not stop within 15s\nstderr: %s", s.stderr)
		return -1
	}
}

// trusting returns an http.Client that trusts only the CA in caFile.
func trusting(t *testing.T, caFile string) *http.Client {
	t.Helper()
	pem, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatalf("%s holds no PEM certificate", caFile)
	}
	return &http.Client{
		Timeout:   10 * time.Second,
		Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}},
	}
}

// TestServeDemo is the README's run command end to end: `serve --demo` on an
// empty database, the printed request (the curl command's form, through a
// client trusting issuer-ca.pem) gets a v2 token that verifies against the
// server's JWKS; a cancelled context stops the server cleanly; a restart
// keeps the CA and says the demo already exists.
func TestServeDemo(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "issuer.db")
	srv := startServe(t, db, "-o", "json", "serve", "--addr", "127.0.0.1:0", "--demo")

	caFile := filepath.Join(dir, caFileName)
	if !strings.Contains(srv.details, "ca: "+caFile) || !strings.Contains(srv.details, "db: "+db) {
		t.Errorf("ready line details %q; want ca: %s and db: %s", srv.details, caFile, db)
	}
	if fi, err := os.Stat(caFile); err != nil || fi.Mode().Perm() != 0o644 {
		t.Errorf("CA file %s: %v, %v; want mode 0644", caFile, fi, err)
	}
	if !strings.HasPrefix(srv.url, "https://127.0.0.1:") || strings.HasSuffix(srv.url, ":0") {
		t.Errorf("listening on %q; want https://127.0.0.1:<real port>", srv.url)
	}
	var demo demoSummary
	if err := json.Unmarshal([]byte(srv.stdout.String()), &demo); err != nil {
		t.Fatalf("demo output is not JSON: %v\n%s", err, srv.stdout)
	}
	if !demo.Created || demo.ClientSecret == "" || demo.TokenEndpoint != srv.url+"/"+demo.TenantID+"/oauth2/v2.0/token" {
		t.Errorf("demo summary %+v; want a new demo with a secret and the v2 token endpoint of %s", demo, srv.url)
	}
	for _, want := range []string{"--cacert " + shellQuote(caFile), "client_id=" + demo.DaemonAppID, "client_secret=" + demo.ClientSecret, "scope=api://demo-api/.default", demo.TokenEndpoint} {
		if !strings.Contains(demo.Curl, want) {
			t.Errorf("curl command lacks %q:\n%s", want, demo.Curl)
		}
	}

	client := trusting(t, caFile)
	resp, err := client.PostForm(demo.TokenEndpoint, url.Values{
		"grant_type":    {"client_credentials"},
		"client_id":     {demo.DaemonAppID},
		"client_secret": {demo.ClientSecret},
		"scope":         {"api://demo-api/.default"},
	})
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		TokenType   string `json:"token_type"`
		ExpiresIn   any    `json:"expires_in"`
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || body.TokenType != "Bearer" || body.AccessToken == "" {
		t.Fatalf("token response: status %d, %+v, %v; want 200 with a Bearer token", resp.StatusCode, body, err)
	}
	claims := verifyJWT(t, client, srv.url+"/"+demo.TenantID+"/discovery/v2.0/keys", body.AccessToken)
	for k, want := range map[string]string{"aud": demo.APIAppID, "azp": demo.DaemonAppID, "tid": demo.TenantID, "ver": "2.0"} {
		if got, _ := claims[k].(string); got != want {
			t.Errorf("claim %s = %v; want %q", k, claims[k], want)
		}
	}

	if code := srv.shutdown(t); code != exitOK {
		t.Fatalf("exit %d after shutdown; want 0\nstderr: %s", code, srv.stderr)
	}
	// The database is closed: another process may open it now.
	if d, err := storage.Open(db, storage.Options{Timeout: 100 * time.Millisecond}); err != nil {
		t.Fatalf("database still locked after shutdown: %v", err)
	} else {
		d.Close()
	}

	ca1, _ := os.ReadFile(caFile)
	again := startServe(t, db, "serve", "--addr", "127.0.0.1:0", "--demo")
	out := again.stdout.String()
	for _, want := range []string{"already exists", "app secret add --app " + demo.DaemonAppID, "client_secret=<SECRET>", demo.TenantID} {
		if !strings.Contains(out, want) {
			t.Errorf("second --demo output lacks %q:\n%s", want, out)
		}
	}
	if ca2, _ := os.ReadFile(caFile); !bytes.Equal(ca1, ca2) {
		t.Error("the CA certificate changed across restarts; want the same trust")
	}
	if code := again.shutdown(t); code != exitOK {
		t.Fatalf("exit %d after shutdown; want 0\nstderr: %s", code, again.stderr)
	}
}

// TestServeInsecureHTTP: --insecure-http serves plain HTTP and writes no CA;
// the URLs it publishes (issuers, endpoints) are the http:// ones clients
// really use, and the demo's request goes there.
func TestServeInsecureHTTP(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "issuer.db")
	srv := startServe(t, db, "serve", "--addr", "127.0.0.1:0", "--insecure-http", "--demo", "-o", "json")
	if !strings.HasPrefix(srv.url, "http://127.0.0.1:") {
		t.Errorf("listening on %q; want http://127.0.0.1:<port>", srv.url)
	}
	if _, err := os.Stat(filepath.Join(dir, caFileName)); !os.IsNotExist(err) {
		t.Errorf("CA file written with --insecure-http (stat: %v)", err)
	}
	var demo demoSummary
	if err := json.Unmarshal([]byte(srv.stdout.String()), &demo); err != nil {
		t.Fatalf("demo output is not JSON: %v\n%s", err, srv.stdout)
	}
	if !strings.HasPrefix(demo.TokenEndpoint, srv.url+"/") || strings.Contains(demo.Curl, "--cacert") {
		t.Errorf("demo token endpoint %q, curl %q; want plain HTTP at %s and no --cacert", demo.TokenEndpoint, demo.Curl, srv.url)
	}
	resp, err := http.PostForm(demo.TokenEndpoint, url.Values{
		"grant_type": {"client_credentials"}, "client_id": {demo.DaemonAppID},
		"client_secret": {demo.ClientSecret}, "scope": {demo.Scope},
	})
	if err != nil {
		t.Fatal(err)
	}
	var body struct {
		AccessToken string `json:"access_token"`
	}
	err = json.NewDecoder(resp.Body).Decode(&body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusOK || body.AccessToken == "" {
		t.Fatalf("token over plain HTTP: status %d, %v; want 200 with a token", resp.StatusCode, err)
	}
	var claims map[string]any
	unmarshalSegment(t, strings.Split(body.AccessToken, ".")[1], &claims)
	if iss, _ := claims["iss"].(string); !strings.HasPrefix(iss, srv.url+"/") {
		t.Errorf("iss = %q; want it under the http base URL %s", iss, srv.url)
	}
	resp, err = http.Get(srv.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz: %d; want 200", resp.StatusCode)
	}
	if code := srv.shutdown(t); code != exitOK {
		t.Fatalf("exit %d; want 0\nstderr: %s", code, srv.stderr)
	}
}

// TestServeBinarySIGTERM builds the binary and stops it with SIGTERM, the way
// a process manager does: main's signal handling must end in a clean exit.
func TestServeBinarySIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	if runtime.GOOS == "windows" {
		t.Skip("no SIGTERM on Windows")
	}
	dir := t.TempDir()
	bin := issuerBinary(t)
	cmd := exec.Command(bin, "--db", filepath.Join(dir, "issuer.db"), "serve", "--addr", "127.0.0.1:0")
	stderr := newWatchedBuffer()
	cmd.Stdout, cmd.Stderr = new(bytes.Buffer), stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	select {
	case <-stderr.ready:
	case err := <-exited:
		t.Fatalf("issuer serve exited before it was ready: %v\nstderr: %s", err, stderr)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("issuer serve not ready after 30s\nstderr: %s", stderr)
	}
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Errorf("after SIGTERM: %v; want exit 0\nstderr: %s", err, stderr)
		}
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("issuer serve ignored SIGTERM for 15s\nstderr: %s", stderr)
	}
}

// verifyJWT checks an RS256 token's signature against the JWKS at jwksURL,
// as a relying party would, and returns its claims.
func verifyJWT(t *testing.T, client *http.Client, jwksURL, token string) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("token has %d parts; want 3", len(parts))
	}
	var header struct{ Alg, Kid string }
	var claims map[string]any
	unmarshalSegment(t, parts[0], &header)
	unmarshalSegment(t, parts[1], &claims)
	if header.Alg != "RS256" || header.Kid == "" {
		t.Fatalf("token header %+v; want alg RS256 and a kid", header)
	}
	resp, err := client.Get(jwksURL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var jwks struct {
		Keys []struct{ Kid, N, E string } `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&jwks); err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	for _, k := range jwks.Keys {
		if k.Kid != header.Kid {
			continue
		}
		n, _ := base64.RawURLEncoding.DecodeString(k.N)
		e, _ := base64.RawURLEncoding.DecodeString(k.E)
		pub := &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
		sig, _ := base64.RawURLEncoding.DecodeString(parts[2])
		digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
		if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
			t.Fatalf("token signature does not verify with key %s: %v", k.Kid, err)
		}
		return claims
	}
	t.Fatalf("kid %s not in the JWKS at %s", header.Kid, jwksURL)
	return nil
}

func unmarshalSegment(t *testing.T, seg string, v any) {
	t.Helper()
	b, err := base64.RawURLEncoding.DecodeString(seg)
	if err == nil {
		err = json.Unmarshal(b, v)
	}
	if err != nil {
		t.Fatalf("token segment %q: %v", seg, err)
	}
}

// TestServePlantedFiles: files another user (or a careless operator) put
// where serve writes. A link at issuer-ca.pem is replaced, not followed; a
// database file that is not private to this user is refused before any
// key is written into it.
func TestServePlantedFiles(t *testing.T) {
	t.Run("link at the CA certificate", func(t *testing.T) {
		dir := shortTempDir(t)
		target := filepath.Join(t.TempDir(), "precious")
		if err := os.WriteFile(target, []byte("precious"), 0o600); err != nil {
			t.Fatal(err)
		}
		ca := filepath.Join(dir, caFileName)
		if err := os.Symlink(target, ca); err != nil {
			t.Fatal(err)
		}
		srv := startServe(t, filepath.Join(dir, "issuer.db"), "serve", "--addr", "127.0.0.1:0")
		if b, _ := os.ReadFile(target); string(b) != "precious" {
			t.Errorf("the link's target was overwritten: %q", b)
		}
		wantFile(t, target, 0o600)
		fi, err := os.Lstat(ca)
		if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
			t.Fatalf("%s: %v, %v; want a regular file with mode 0644", ca, fi, err)
		}
		if _, err := trusting(t, ca).Get(srv.url + "/common/discovery/keys"); err != nil {
			t.Errorf("the written CA does not verify the server: %v", err)
		}
		entries, _ := os.ReadDir(dir)
		for _, e := range entries {
			if strings.Contains(e.Name(), ".tmp-") {
				t.Errorf("temporary file %s left behind", e.Name())
			}
		}
	})
	for _, tc := range []struct {
		name    string
		prepare func(t *testing.T, db string)
		want    string
	}{
		{"world-readable empty database", func(t *testing.T, db string) {
			if err := os.WriteFile(db, nil, 0o644); err != nil {
				t.Fatal(err)
			}
			os.Chmod(db, 0o644)
		}, "mode 0644 lets group or other read it"},
		{"another user's empty database", func(t *testing.T, db string) {
			if err := os.WriteFile(db, nil, 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chown(db, 65534, 65534); err != nil {
				t.Fatalf("chown (the test needs root to plant another user's file): %v", err)
			}
		}, "belongs to uid 65534"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(shortTempDir(t), "issuer.db")
			tc.prepare(t, db)
			r := runCLI(t, db, nil, "serve", "--addr", "127.0.0.1:0")
			if r.code != exitError || !strings.Contains(r.stderr, tc.want) {
				t.Errorf("serve: exit %d, %q; want 1 with %q", r.code, r.stderr, tc.want)
			}
			if fi, _ := os.Stat(db); fi == nil || fi.Size() != 0 {
				t.Errorf("the refused file was written to: %v", fi)
			}
		})
	}
}

// TestServeInsecureRemoteAdmin: remote admin over plain HTTP on an address
// the network reaches sends the bearer token in clear text: refused unless
// --insecure-remote-admin says so; on loopback it is allowed.
func TestServeInsecureRemoteAdmin(t *testing.T) {
	dir := shortTempDir(t)
	tokenFile := filepath.Join(dir, "admin-token")
	if err := os.WriteFile(tokenFile, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		args    []string
		refused bool
	}{
		{"wildcard address", []string{"--addr", "0.0.0.0:0"}, true},
		{"IPv6 wildcard", []string{"--addr", "[::]:0"}, true},
		{"a host name", []string{"--addr", "issuer.test:0"}, true},
		{"wildcard with --insecure-remote-admin", []string{"--addr", "0.0.0.0:0", "--insecure-remote-admin"}, false},
		{"loopback", []string{"--addr", "127.0.0.1:0"}, false},
		{"localhost", []string{"--addr", "localhost:0"}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := filepath.Join(shortTempDir(t), "issuer.db")
			args := append([]string{"serve", "--insecure-http", "--admin-token-file", tokenFile}, tc.args...)
			if !tc.refused {
				srv := startServe(t, db, args...)
				if code := srv.shutdown(t); code != exitOK {
					t.Errorf("shutdown: exit %d", code)
				}
				return
			}
			r := runCLI(t, db, nil, args...)
			if r.code != exitUsage || !strings.Contains(r.stderr, "clear text") || !strings.Contains(r.stderr, "--insecure-remote-admin") {
				t.Errorf("serve %v: exit %d, %q; want a usage error", args, r.code, r.stderr)
			}
			if _, err := os.Stat(db); err == nil {
				t.Error("the refused serve created the database")
			}
		})
	}
}

// TestServeRefreshTokenReuseFlag: the flag takes allow or revoke-family
// (TestNoSecretsAnywhere sees revoke-family refuse a replay, the issuer
// package's tests both behaviours); anything else is a usage error.
func TestServeRefreshTokenReuseFlag(t *testing.T) {
	for _, tc := range []struct {
		value string
		ok    bool
	}{
		{"allow", true}, {"revoke-family", true}, {"revoke", false}, {"", false},
	} {
		t.Run(tc.value, func(t *testing.T) {
			db := filepath.Join(shortTempDir(t), "issuer.db")
			args := []string{"serve", "--addr", "127.0.0.1:0", "--refresh-token-reuse", tc.value}
			if tc.ok {
				startServe(t, db, args...)
				return
			}
			if r := runCLI(t, db, nil, args...); r.code != exitUsage || !strings.Contains(r.stderr, "refresh-token-reuse") {
				t.Errorf("serve --refresh-token-reuse %q: exit %d, %q; want a usage error", tc.value, r.code, r.stderr)
			}
		})
	}
}

// TestServeBusyPort: serve on an address another process holds fails
// clearly (not with a line that reads like the ready line) and before the
// database, its CA or its socket are created.
func TestServeBusyPort(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer busy.Close()
	dir := t.TempDir()
	db := filepath.Join(dir, "issuer.db")
	r := runCLI(t, db, fixed(), "serve", "--addr", busy.Addr().String())
	if r.code != exitError || !strings.Contains(r.stderr, "already in use") || strings.Contains(r.stderr, "listening on") {
		t.Errorf("serve on a busy port: exit %d, %q; want 1 saying the address is in use", r.code, r.stderr)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("serve on a busy port left %v; want nothing created", entries)
	}
}

// TestServeCAFilePerDatabase: two databases in one directory each publish
// their own CA file, named after the database, so serving the second
// leaves the first server's clients working; a database whose name maps to
// the CA file a running server publishes is refused rather than replacing
// it.
func TestServeCAFilePerDatabase(t *testing.T) {
	dir := t.TempDir()
	orders := startServe(t, filepath.Join(dir, "orders.db"), "serve", "--addr", "127.0.0.1:0")
	billing := startServe(t, filepath.Join(dir, "billing.db"), "serve", "--addr", "127.0.0.1:0")
	for _, tc := range []struct {
		name, ca string
		srv      *server
	}{
		{"orders", filepath.Join(dir, "orders-ca.pem"), orders},
		{"billing", filepath.Join(dir, "billing-ca.pem"), billing},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(tc.srv.details, "ca: "+tc.ca) {
				t.Errorf("ready line %q; want ca: %s", tc.srv.details, tc.ca)
			}
			resp, err := trusting(t, tc.ca).Get(tc.srv.url + "/healthz")
			if err != nil {
				t.Fatalf("healthz trusting %s: %v", tc.ca, err)
			}
			resp.Body.Close()
		})
	}
	a, _ := os.ReadFile(filepath.Join(dir, "orders-ca.pem"))
	b, _ := os.ReadFile(filepath.Join(dir, "billing-ca.pem"))
	if bytes.Equal(a, b) {
		t.Error("the two databases publish the same CA; want one each")
	}
	// "orders" (no .db) would publish orders-ca.pem too.
	r := runCLI(t, filepath.Join(dir, "orders"), fixed(), "serve", "--addr", "127.0.0.1:0")
	if r.code != exitError || !strings.Contains(r.stderr, "orders-ca.pem is the CA of") {
		t.Errorf("serving a database whose CA file a running server publishes: exit %d, %q; want 1", r.code, r.stderr)
	}
	if got, _ := os.ReadFile(filepath.Join(dir, "orders-ca.pem")); !bytes.Equal(got, a) {
		t.Error("orders-ca.pem was replaced while its server runs")
	}
}

// TestServeLogLevel: --log-level decides what reaches standard error. A
// token issued and the access line of each request are debug; a refusal is
// info; warn keeps neither.
func TestServeLogLevel(t *testing.T) {
	tests := []struct {
		name        string
		args        []string
		wantIssued  bool // "token issued" and the access line
		wantRefusal bool // "request refused"
	}{
		{"default (info)", nil, false, true},
		{"debug", []string{"--log-level", "debug"}, true, true},
		{"warn", []string{"--log-level", "warn"}, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			db := filepath.Join(dir, "issuer.db")
			srv := startServe(t, db, append([]string{"-o", "json", "serve", "--addr", "127.0.0.1:0", "--demo"}, tt.args...)...)
			var demo demoSummary
			if err := json.Unmarshal([]byte(srv.stdout.String()), &demo); err != nil {
				t.Fatalf("demo output is not JSON: %v\n%s", err, srv.stdout)
			}
			client := trusting(t, filepath.Join(dir, caFileName))
			for _, secret := range []string{demo.ClientSecret, "a-wrong-secret-value-0001"} {
				resp, err := client.PostForm(demo.TokenEndpoint, url.Values{"grant_type": {"client_credentials"},
					"client_id": {demo.DaemonAppID}, "client_secret": {secret}, "scope": {"api://demo-api/.default"}})
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
			}
			if code := srv.shutdown(t); code != exitOK {
				t.Fatalf("exit %d", code)
			}
			log := srv.stderr.String()
			if got := strings.Contains(log, `msg="token issued"`) && strings.Contains(log, "msg=request "); got != tt.wantIssued {
				t.Errorf("token issued and access lines logged: %v, want %v\n%s", got, tt.wantIssued, log)
			}
			if got := strings.Contains(log, `msg="request refused"`) && strings.Contains(log, "7000215"); got != tt.wantRefusal {
				t.Errorf("refusal logged: %v, want %v\n%s", got, tt.wantRefusal, log)
			}
		})
	}
}
