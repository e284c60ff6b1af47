package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"
	"unicode/utf8"
)

// tokenResult is a token endpoint's answer, read in full.
type tokenResult struct {
	status int
	code   int            // the AADSTS code of a refusal
	claims map[string]any // of a token
}

// clientToken asks for an app-only v2 token.
func clientToken(t *testing.T, client *http.Client, endpoint, clientID, secret, scope string) tokenResult {
	t.Helper()
	resp, err := client.PostForm(endpoint, url.Values{
		"grant_type": {"client_credentials"}, "client_id": {clientID}, "client_secret": {secret}, "scope": {scope},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		ErrorCodes  []int  `json:"error_codes"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatalf("token response: %v", err)
	}
	r := tokenResult{status: resp.StatusCode}
	if len(body.ErrorCodes) > 0 {
		r.code = body.ErrorCodes[0]
	}
	if body.AccessToken != "" {
		unmarshalSegment(t, strings.Split(body.AccessToken, ".")[1], &r.claims)
	}
	return r
}

func (r tokenResult) roles() []string {
	var out []string
	if rs, ok := r.claims["roles"].([]any); ok {
		for _, v := range rs {
			out = append(out, v.(string))
		}
	}
	slices.Sort(out)
	return out
}

// shortTempDir is a temporary directory with a short path: Unix socket
// paths are limited to about 100 bytes, and test names make t.TempDir long.
func shortTempDir(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "iss")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	return dir
}

// TestLiveAdministration is the "done when": while `issuer serve`
// holds the database, the commands of a setup, run as another shell would
// (in-process runs with the same --db), go through the admin socket, print
// exactly what they print on a database of their own, and take effect on
// the next token request. `issuer logs --failed` then says why each refusal
// happened, and no log holds the client secret.
func TestLiveAdministration(t *testing.T) {
	dir := shortTempDir(t)
	db := filepath.Join(dir, "issuer.db")
	srv := startServeWith(t, db, fixed(), "serve", "--addr", "127.0.0.1:0")
	sock := db + socketSuffix
	if !strings.Contains(srv.details, "admin: "+sock) {
		t.Errorf("ready line details %q; want admin: %s", srv.details, sock)
	}
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Type() != os.ModeSocket || fi.Mode().Perm() != 0o600 {
		t.Fatalf("admin socket %s: %v, %v; want a socket with mode 0600", sock, fi, err)
	}

	direct := filepath.Join(t.TempDir(), "direct.db")
	directOpts := fixed()
	client := trusting(t, filepath.Join(dir, caFileName))
	endpoint := srv.url + "/" + contosoTenant + "/oauth2/v2.0/token"
	var secret string
	steps := []struct {
		name      string
		args      []string
		wantExit  int
		wantToken tokenResult // status 0: no token request after the step
	}{
		{"tenant add", []string{"tenant", "add", "--name", "Contoso", "--id", contosoTenant}, exitOK, tokenResult{}},
		{"app add API", []string{"app", "add", "--tenant", contosoTenant, "--name", "Orders API", "--identifier-uri", "api://orders", "--token-version", "2", "--app-id", apiApp}, exitOK, tokenResult{}},
		{"app role add", []string{"app", "role", "add", "--app", apiApp, "--value", "Orders.Read"}, exitOK, tokenResult{}},
		{"app add daemon", []string{"app", "add", "--tenant", contosoTenant, "--name", "Daemon", "--app-id", daemonApp}, exitOK, tokenResult{status: 401, code: 7000215}},
		{"app secret add", []string{"-o", "json", "app", "secret", "add", "--app", daemonApp}, exitOK, tokenResult{status: 200}},
		{"sp update", []string{"sp", "update", "--tenant", contosoTenant, "--app", apiApp, "--assignment-required=true"}, exitOK, tokenResult{status: 400, code: 501051}},
		{"app permission add", []string{"app", "permission", "add", "--app", daemonApp, "--resource", "api://orders", "--role", "Orders.Read"}, exitOK, tokenResult{status: 400, code: 501051}},
		{"consent grant", []string{"consent", "grant", "--tenant", "contoso.onmicrosoft.com", "--client", daemonApp, "--admin"}, exitOK, tokenResult{status: 200}},
		{"consent list", []string{"consent", "list", "--tenant", contosoTenant}, exitOK, tokenResult{}},
		{"unknown tenant", []string{"tenant", "show", "nosuch.com"}, exitError, tokenResult{}},
		{"invalid value", []string{"app", "add", "--tenant", contosoTenant, "--name", "x", "--identifier-uri", "not a uri"}, exitUsage, tokenResult{}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			got := runCLI(t, db, nil, s.args...)
			want := runCLI(t, direct, directOpts, s.args...)
			if got != want || got.code != s.wantExit {
				t.Fatalf("issuer %s through the server:\n%+v\ndirectly:\n%+v\nwant the same, exit %d", strings.Join(s.args, " "), got, want, s.wantExit)
			}
			if s.name == "app secret add" {
				secret = decode(t, got.stdout)["secretText"].(string)
			}
			if s.wantToken.status == 0 {
				return
			}
			presented := secret
			if presented == "" {
				presented = "no-secret-yet-000000"
			}
			tok := clientToken(t, client, endpoint, daemonApp, presented, "api://orders/.default")
			if tok.status != s.wantToken.status || tok.code != s.wantToken.code {
				t.Errorf("token after %s: %d AADSTS%d; want %d AADSTS%d", s.name, tok.status, tok.code, s.wantToken.status, s.wantToken.code)
			}
			if s.name == "consent grant" && !slices.Equal(tok.roles(), []string{"Orders.Read"}) {
				t.Errorf("roles after consent = %v; want [Orders.Read]", tok.roles())
			}
		})
	}

	// The sign-in log, read through the socket: one line per refusal with
	// its reason; the policy engine's facts for 501051.
	r := runCLI(t, db, nil, "logs", "--failed")
	if r.code != exitOK || strings.Count(r.stdout, "FAILED") != 3 {
		t.Fatalf("logs --failed: exit %d\n%s%s; want three refusals", r.code, r.stdout, r.stderr)
	}
	for _, want := range []string{"AADSTS7000215 invalid_client", "AADSTS501051 invalid_client", "    client_not_assigned: "} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("logs --failed lacks %q:\n%s", want, r.stdout)
		}
	}
	js := runCLI(t, db, nil, "-o", "json", "logs")
	lines := strings.Split(strings.TrimSpace(js.stdout), "\n")
	if js.code != exitOK || len(lines) != 5 {
		t.Errorf("-o json logs: exit %d, %d lines; want 5 JSON lines\n%s", js.code, len(lines), js.stdout)
	}
	for _, l := range lines {
		var e map[string]any
		if err := json.Unmarshal([]byte(l), &e); err != nil || e["traceId"] == nil {
			t.Errorf("not a sign-in JSON line: %q (%v)", l, err)
		}
	}
	if secret == "" {
		t.Fatal("no secret was added")
	}
	for what, text := range map[string]string{"logs": r.stdout + js.stdout, "the server's log": srv.stderr.String()} {
		if strings.Contains(text, secret) {
			t.Errorf("%s holds the client secret", what)
		}
	}
	if !strings.Contains(srv.stderr.String(), `msg="admin command" command="app secret add" channel=socket exit_code=0`) {
		t.Errorf("the server did not log the forwarded command by name:\n%s", srv.stderr)
	}

	// Commands that need the server refuse to run without one.
	if r := runCLI(t, direct, directOpts, "logs"); r.code != exitError || !strings.Contains(r.stderr, "need a running server") {
		t.Errorf("logs without a server: exit %d, %q; want 1 and a hint", r.code, r.stderr)
	}
}

// TestAdminSocketLifecycle: a stale socket does not stop direct use and is
// replaced when a server starts; the server removes its socket when it
// stops; a file in the way costs live administration, not the server.
func TestAdminSocketLifecycle(t *testing.T) {
	dir := shortTempDir(t)
	db := filepath.Join(dir, "issuer.db")
	sock := db + socketSuffix
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	if r := runCLI(t, db, fixed(), "tenant", "add", "--name", "contoso"); r.code != exitOK {
		t.Fatalf("with a stale socket and no server: exit %d %s; want the database opened directly", r.code, r.stderr)
	}

	srv := startServe(t, db, "serve", "--addr", "127.0.0.1:0")
	if fi, err := os.Stat(sock); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket after start: %v, %v; want mode 0600", fi, err)
	}
	if r := runCLI(t, db, nil, "tenant", "list"); r.code != exitOK || !strings.Contains(r.stdout, "contoso.onmicrosoft.com") {
		t.Fatalf("tenant list through the replaced socket: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	// Exit code 3 says no server answers; one does, so this is 1.
	if r := runCLI(t, db, nil, "serve", "--addr", "127.0.0.1:0"); r.code != exitError || !strings.Contains(r.stderr, "already served by a running issuer") {
		t.Errorf("a second serve: exit %d, %q; want 1, naming the running server", r.code, r.stderr)
	}
	// The same address: refused before the database is looked at.
	if r := runCLI(t, db, nil, "serve", "--addr", strings.TrimPrefix(srv.url, "https://")); r.code != exitError || !strings.Contains(r.stderr, "already in use") {
		t.Errorf("a second serve on the same port: exit %d, %q; want 1, saying the address is in use", r.code, r.stderr)
	}
	if code := srv.shutdown(t); code != exitOK {
		t.Fatalf("shutdown: exit %d\n%s", code, srv.stderr)
	}
	if _, err := os.Lstat(sock); !os.IsNotExist(err) {
		t.Errorf("socket after shutdown: %v; want it removed", err)
	}
	if r := runCLI(t, db, fixed(), "tenant", "list"); r.code != exitOK {
		t.Errorf("after shutdown: exit %d %s; want the database opened directly", r.code, r.stderr)
	}

	// A regular file where the socket goes.
	if err := os.WriteFile(sock, []byte("not a socket"), 0o600); err != nil {
		t.Fatal(err)
	}
	r := runCLI(t, db, nil, "serve", "--addr", "127.0.0.1:0")
	if r.code != exitError || !strings.Contains(r.stderr, sock) || !strings.Contains(r.stderr, "must own the admin socket") {
		t.Errorf("serve with a file at the socket path: exit %d, %q; want 1 naming the socket", r.code, r.stderr)
	}
	if b, _ := os.ReadFile(sock); string(b) != "not a socket" {
		t.Error("the server replaced a regular file at the socket path")
	}
}

// TestPlantedAdminSocket: another local user (uid 65534, started by this
// root test) runs a server whose socket sits where ours belongs, in a
// shared sticky directory like /tmp. Commands on that path must not be
// sent to it: they fail naming the other user, whether they would have
// carried a password or only listed tenants, and nothing reaches its log.
func TestPlantedAdminSocket(t *testing.T) {
	const nobody = 65534
	dir := shortTempDir(t)
	if err := os.Chmod(dir, 0o1777); err != nil {
		t.Fatal(err)
	}
	// The other user's copy of the binary: ours sits in a private
	// directory it may not enter.
	bin := filepath.Join(dir, "their-issuer")
	data, err := os.ReadFile(issuerBinary(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(bin, data, 0o755); err != nil {
		t.Fatal(err)
	}
	db := filepath.Join(dir, "issuer.db")
	sock := db + socketSuffix
	// The server's output goes to a file (read when it has stopped), not
	// to a buffer its copying goroutine would write while the test reads.
	logFile, err := os.Create(filepath.Join(t.TempDir(), "their-log"))
	if err != nil {
		t.Fatal(err)
	}
	defer logFile.Close()
	cmd := exec.Command(bin, "--db", db, "serve", "--addr", "127.0.0.1:0")
	cmd.Dir, cmd.Env = dir, []string{"HOME=" + dir, "PATH=/usr/bin:/bin"}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	stop := func() string {
		cmd.Process.Kill()
		cmd.Wait()
		b, _ := os.ReadFile(logFile.Name())
		return string(b)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: nobody, Gid: nobody}}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting a server as uid %d (the test runs as root to plant another user's socket): %v", nobody, err)
	}
	t.Cleanup(func() { stop() })
	deadline := time.Now().Add(30 * time.Second)
	for {
		if fi, err := os.Stat(sock); err == nil && fi.Mode().Type() == os.ModeSocket {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the other user's server did not open %s\n%s", sock, stop())
		}
		time.Sleep(50 * time.Millisecond)
	}

	for _, tc := range []struct {
		name string
		args []string
	}{
		{"tenant list", []string{"tenant", "list"}},
		{"user add with a password", []string{"user", "add", "--tenant", "contoso.onmicrosoft.com", "--upn", "bob@contoso.onmicrosoft.com", "--password", "Secret-pass-1"}},
		{"db check", []string{"db", "check"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, db, nil, tc.args...)
			if r.code != exitError || !strings.Contains(r.stderr, "served by another user") || !strings.Contains(r.stderr, "uid 65534") {
				t.Errorf("issuer %s: exit %d\n%s%s\nwant 1, refusing the socket of uid 65534", strings.Join(tc.args, " "), r.code, r.stdout, r.stderr)
			}
		})
	}
	if log := stop(); strings.Contains(log, "Secret-pass-1") || strings.Contains(log, "user add") {
		t.Errorf("the other user's server saw a command:\n%s", log)
	}
}

// TestRemoteAdmin: `serve --admin-token-file` takes commands over HTTPS
// from clients with the token, and refuses others with 401; without the
// flag the path is unknown (404).
func TestRemoteAdmin(t *testing.T) {
	dir := shortTempDir(t)
	db := filepath.Join(dir, "issuer.db")
	tokenFile := filepath.Join(dir, "admin-token")
	const token = "0123456789abcdef0123456789abcdef"
	if err := os.WriteFile(tokenFile, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	wrongFile := filepath.Join(dir, "wrong-token")
	os.WriteFile(wrongFile, []byte("fedcba9876543210fedcba9876543210"), 0o600)
	srv := startServe(t, db, "serve", "--addr", "127.0.0.1:0", "--admin-token-file", tokenFile)
	ca := filepath.Join(dir, caFileName)
	endpoint := srv.url + adminPath
	if !strings.Contains(srv.details, "remote admin: "+endpoint) {
		t.Errorf("ready line details %q; want remote admin: %s", srv.details, endpoint)
	}
	unused := filepath.Join(t.TempDir(), "unused.db")
	remote := func(args ...string) []string {
		return append([]string{"--server", srv.url, "--admin-token-file", tokenFile, "--ca-file", ca}, args...)
	}

	r := runCLI(t, unused, nil, remote("tenant", "add", "--name", "Remote")...)
	if r.code != exitOK || !strings.Contains(r.stdout, "remote.onmicrosoft.com") {
		t.Fatalf("tenant add over HTTPS: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	mustRun(t, unused, nil, remote("app", "add", "--tenant", "remote.onmicrosoft.com", "--name", "API", "--identifier-uri", "api://remote", "--app-id", apiApp)...)
	mustRun(t, unused, nil, remote("app", "add", "--tenant", "remote.onmicrosoft.com", "--name", "Daemon", "--app-id", daemonApp)...)
	secret := decode(t, mustRun(t, unused, nil, remote("-o", "json", "app", "secret", "add", "--app", daemonApp)...))["secretText"].(string)
	if tok := clientToken(t, trusting(t, ca), srv.url+"/remote.onmicrosoft.com/oauth2/v2.0/token", daemonApp, secret, "api://remote/.default"); tok.status != 200 {
		t.Errorf("token after remote administration: %d AADSTS%d; want 200", tok.status, tok.code)
	}
	if _, err := os.Stat(unused); !os.IsNotExist(err) {
		t.Errorf("--server opened the local database (%v)", err)
	}
	t.Run("environment", func(t *testing.T) {
		t.Setenv("ISSUER_SERVER", srv.url)
		t.Setenv("ISSUER_ADMIN_TOKEN_FILE", tokenFile)
		t.Setenv("ISSUER_CA_FILE", ca)
		if r := runCLI(t, unused, nil, "tenant", "show", "remote.onmicrosoft.com"); r.code != exitOK {
			t.Errorf("with ISSUER_SERVER, ISSUER_ADMIN_TOKEN_FILE, ISSUER_CA_FILE: exit %d %s", r.code, r.stderr)
		}
	})

	for _, tc := range []struct {
		name     string
		args     []string
		wantExit int
		wantErr  string
	}{
		{"wrong token", []string{"--server", srv.url, "--admin-token-file", wrongFile, "--ca-file", ca, "tenant", "list"}, exitError, "401 unauthorized"},
		{"no token file", []string{"--server", srv.url, "--ca-file", ca, "tenant", "list"}, exitUsage, "--server needs --admin-token-file"},
		{"missing token file", []string{"--server", srv.url, "--admin-token-file", filepath.Join(dir, "nope"), "tenant", "list"}, exitError, "admin token file"},
		{"untrusted certificate", []string{"--server", srv.url, "--admin-token-file", tokenFile, "tenant", "list"}, exitError, "certificate"},
		{"plain http to another host", []string{"--server", "http://issuer.example.com", "--admin-token-file", tokenFile, "tenant", "list"}, exitUsage, "http:// only to a loopback address"},
		{"not a URL", []string{"--server", "issuer.example.com", "--admin-token-file", tokenFile, "tenant", "list"}, exitUsage, "want the server's base URL"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, unused, nil, tc.args...)
			if r.code != tc.wantExit || !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d containing %q", r.code, r.stderr, tc.wantExit, tc.wantErr)
			}
		})
	}

	client := trusting(t, ca)
	body := `{"args":["tenant","list"]}`
	for _, tc := range []struct {
		name, method, auth string
		wantStatus         int
		wantError          string
	}{
		{"no Authorization header", http.MethodPost, "", 401, "unauthorized"},
		{"Basic credentials", http.MethodPost, "Basic " + token, 401, "unauthorized"},
		{"wrong token", http.MethodPost, "Bearer " + token + "x", 401, "unauthorized"},
		{"GET", http.MethodGet, "Bearer " + token, 405, "method_not_allowed"},
		{"right token", http.MethodPost, "Bearer " + token, 200, ""},
	} {
		t.Run("HTTP "+tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, endpoint, strings.NewReader(body))
			req.Header.Set("Content-Type", "application/json")
			if tc.auth != "" {
				req.Header.Set("Authorization", tc.auth)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var e adminError
			json.NewDecoder(resp.Body).Decode(&e)
			if resp.StatusCode != tc.wantStatus || e.Error != tc.wantError {
				t.Errorf("%s %s: %d %q; want %d %q", tc.method, adminPath, resp.StatusCode, e.Error, tc.wantStatus, tc.wantError)
			}
		})
	}
	if strings.Contains(srv.stderr.String(), token) || strings.Contains(srv.stderr.String(), "fedcba98") {
		t.Error("the server's log holds a bearer token")
	}
	if !strings.Contains(srv.stderr.String(), `reason="wrong bearer token"`) {
		t.Errorf("refusals are not logged with their reason:\n%s", srv.stderr)
	}

	// Without --admin-token-file the path is not an endpoint.
	off := startServe(t, filepath.Join(t.TempDir(), "off.db"), "serve", "--addr", "127.0.0.1:0", "--insecure-http")
	resp, err := http.Post(off.url+adminPath, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("POST %s without --admin-token-file: %d; want 404", adminPath, resp.StatusCode)
	}
}

// TestServeAdminTokenFile: serve checks its token file before opening
// anything.
func TestServeAdminTokenFile(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string, mode os.FileMode) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(content), mode); err != nil {
			t.Fatal(err)
		}
		os.Chmod(p, mode)
		return p
	}
	for _, tc := range []struct {
		name     string
		file     string
		wantExit int
		wantErr  string
	}{
		{"missing", filepath.Join(dir, "nope"), exitError, "no such file"},
		{"empty", write("empty", "\n", 0o600), exitError, "is empty"},
		{"short", write("short", "abc", 0o600), exitUsage, "use at least 16"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, filepath.Join(dir, tc.name+".db"), fixed(), "serve", "--addr", "127.0.0.1:0", "--admin-token-file", tc.file)
			if r.code != tc.wantExit || !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want %d containing %q", r.code, r.stderr, tc.wantExit, tc.wantErr)
			}
		})
	}
	// Readable by others: a warning (container secrets are mounted so).
	open := write("open", "0123456789abcdef0123", 0o644)
	srv := startServe(t, filepath.Join(shortTempDir(t), "issuer.db"), "serve", "--addr", "127.0.0.1:0", "--admin-token-file", open)
	if !strings.Contains(srv.stderr.String(), "readable by other users") {
		t.Errorf("no warning for a token file with mode 0644:\n%s", srv.stderr)
	}
}

// socketClient is an HTTP client of the admin socket.
func socketClient(sock string) *http.Client {
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		DialContext: func(ctx context.Context, _, _ string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "unix", sock)
		},
	}}
}

// TestAdminRequests: what the admin endpoint refuses, on the socket.
func TestAdminRequests(t *testing.T) {
	dir := shortTempDir(t)
	db := filepath.Join(dir, "issuer.db")
	startServe(t, db, "serve", "--addr", "127.0.0.1:0")
	client := socketClient(db + socketSuffix)
	for _, tc := range []struct {
		name, method, contentType, body string
		wantStatus                      int
		wantError                       string // adminError.Error
		wantExit                        int    // when 200
		wantStderr                      string
	}{
		{"serve", http.MethodPost, "application/json", `{"args":["serve","--addr","127.0.0.1:0"]}`, 200, "", exitUsage, "serve cannot run through the admin channel"},
		{"serve after a global flag", http.MethodPost, "application/json", `{"args":["-o","json","serve"]}`, 200, "", exitUsage, "cannot run through the admin channel"},
		{"bench", http.MethodPost, "application/json", `{"args":["bench","--duration","1s"]}`, 200, "", exitUsage, "bench cannot run through the admin channel"},
		{"follow", http.MethodPost, "application/json", `{"args":["logs","--follow"]}`, 200, "", exitUsage, "--follow is driven by the client"},
		{"a certificate not sent", http.MethodPost, "application/json", `{"args":["app","cert","add","--app","00000000-0000-4000-8000-000000000001","--cert","/etc/ssl/certs/ca-certificates.crt"]}`, 200, "", exitError, "did not send this file"},
		{"a file not sent", http.MethodPost, "application/json", `{"args":["apply","-f","/etc/passwd"]}`, 200, "", exitError, "did not send this file"},
		{"usage error", http.MethodPost, "application/json", `{"args":["tenant","add"]}`, 200, "", exitUsage, `Required flag "name" not set`},
		{"no command", http.MethodPost, "application/json", `{"args":[]}`, 200, "", exitOK, ""},
		{"unknown field", http.MethodPost, "application/json", `{"args":["tenant","list"],"cwd":"/"}`, 400, "invalid_request", 0, ""},
		{"two objects", http.MethodPost, "application/json", `{"args":[]} {}`, 400, "invalid_request", 0, ""},
		{"not JSON", http.MethodPost, "application/json", `tenant list`, 400, "invalid_request", 0, ""},
		{"wrong content type", http.MethodPost, "text/plain", `{"args":["tenant","list"]}`, 415, "invalid_request", 0, ""},
		{"too large", http.MethodPost, "application/json", `{"args":["` + strings.Repeat("a", maxAdminRequestBytes) + `"]}`, 413, "invalid_request", 0, ""},
		{"GET", http.MethodGet, "", ``, 405, "method_not_allowed", 0, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, "http://issuer-admin"+adminPath, strings.NewReader(tc.body))
			if tc.contentType != "" {
				req.Header.Set("Content-Type", tc.contentType)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			raw, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tc.wantStatus {
				t.Fatalf("status %d %s; want %d", resp.StatusCode, raw, tc.wantStatus)
			}
			if tc.wantStatus != 200 {
				var e adminError
				if json.Unmarshal(raw, &e); e.Error != tc.wantError {
					t.Errorf("error %q; want %q", e.Error, tc.wantError)
				}
				return
			}
			var res adminResponse
			if err := json.Unmarshal(raw, &res); err != nil || res.ExitCode != tc.wantExit || !strings.Contains(res.Stderr, tc.wantStderr) {
				t.Errorf("answer %+v (%v); want exit %d, stderr containing %q", res, err, tc.wantExit, tc.wantStderr)
			}
		})
	}
	resp, err := client.Get("http://issuer-admin/elsewhere")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /elsewhere on the socket: %d; want 404", resp.StatusCode)
	}
}

// TestClockControl: a frozen server's clock moves only when told, so a test
// expires a secret at once; a real clock refuses to move; the clock
// commands need a server.
func TestClockControl(t *testing.T) {
	dir := shortTempDir(t)
	db := filepath.Join(dir, "issuer.db")
	if r := runCLI(t, db, fixed(), "clock", "show"); r.code != exitError || !strings.Contains(r.stderr, "clock commands need a running server") {
		t.Errorf("clock show without a server: exit %d, %q; want 1 and a hint", r.code, r.stderr)
	}
	srv := startServeWith(t, db, fixed(), "serve", "--addr", "127.0.0.1:0", "--clock", "frozen", "--signer", "go")
	if !strings.Contains(srv.details, "clock: frozen") {
		t.Errorf("ready line details %q; want clock: frozen", srv.details)
	}
	mustRun(t, db, nil, "tenant", "add", "--name", "Contoso", "--id", contosoTenant)
	mustRun(t, db, nil, "app", "add", "--tenant", contosoTenant, "--name", "API", "--identifier-uri", "api://orders", "--app-id", apiApp)
	mustRun(t, db, nil, "app", "add", "--tenant", contosoTenant, "--name", "Daemon", "--app-id", daemonApp)
	secret := decode(t, mustRun(t, db, nil, "-o", "json", "app", "secret", "add", "--app", daemonApp, "--expires", "1h"))["secretText"].(string)

	client := trusting(t, filepath.Join(dir, caFileName))
	endpoint := srv.url + "/" + contosoTenant + "/oauth2/v2.0/token"
	token := func() tokenResult {
		return clientToken(t, client, endpoint, daemonApp, secret, "api://orders/.default")
	}
	steps := []struct {
		args       []string
		wantNow    string
		wantStatus int
		wantCode   int
	}{
		{[]string{"clock", "show"}, "2026-01-02T03:04:05Z", 200, 0},
		{[]string{"clock", "advance", "2h"}, "2026-01-02T05:04:05Z", 401, 7000222},
		{[]string{"clock", "set", "2026-01-02T03:30:00Z"}, "2026-01-02T03:30:00Z", 200, 0},
		{[]string{"clock", "advance", "-30m"}, "2026-01-02T03:00:00Z", 401, 7000222}, // before the secret's start
		{[]string{"clock", "advance", "1d"}, "2026-01-03T03:00:00Z", 401, 7000222},
	}
	for _, s := range steps {
		out := mustRun(t, db, nil, s.args...)
		if want := "now:  " + s.wantNow + "\n"; !strings.HasSuffix(out, want) || !strings.HasPrefix(out, "mode: frozen\n") {
			t.Errorf("issuer %s:\n%s; want mode frozen and %s", strings.Join(s.args, " "), out, want)
		}
		tok := token()
		if tok.status != s.wantStatus || tok.code != s.wantCode {
			t.Errorf("token after %s: %d AADSTS%d; want %d AADSTS%d", strings.Join(s.args, " "), tok.status, tok.code, s.wantStatus, s.wantCode)
		}
		if tok.status == 200 {
			if iat, _ := tok.claims["iat"].(float64); int64(iat) != mustTime(t, s.wantNow).Add(-5*time.Minute).Unix() {
				t.Errorf("iat %v; want the server clock minus 5 minutes", tok.claims["iat"])
			}
		}
	}
	resp, err := client.Get(srv.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	hb, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if want := `{"status":"ok","signer":"go","clock":{"mode":"frozen","now":"2026-01-03T03:00:00Z"}}`; string(hb) != want {
		t.Errorf("/healthz = %s; want %s", hb, want)
	}
	if r := runCLI(t, db, nil, "logs", "--failed", "--client", daemonApp); strings.Count(r.stdout, "AADSTS7000222") != 3 {
		t.Errorf("logs --failed --client: %s; want the three expired-secret refusals", r.stdout)
	}
	for _, tc := range []struct {
		args     []string
		wantExit int
	}{
		{[]string{"clock", "set", "yesterday"}, exitUsage},
		{[]string{"clock", "advance", "10x"}, exitUsage},
		{[]string{"clock", "advance"}, exitUsage},
	} {
		if r := runCLI(t, db, nil, tc.args...); r.code != tc.wantExit {
			t.Errorf("issuer %s: exit %d %s; want %d", strings.Join(tc.args, " "), r.code, r.stderr, tc.wantExit)
		}
	}

	realDB := filepath.Join(shortTempDir(t), "issuer.db")
	startServe(t, realDB, "serve", "--addr", "127.0.0.1:0")
	if r := runCLI(t, realDB, nil, "clock", "advance", "1h"); r.code != exitError || !strings.Contains(r.stderr, "--clock frozen") {
		t.Errorf("advancing a real clock: exit %d, %q; want 1 and a hint", r.code, r.stderr)
	}
	if r := runCLI(t, realDB, nil, "-o", "json", "clock", "show"); r.code != exitOK || decode(t, r.stdout)["mode"] != "real" {
		t.Errorf("clock show on a real clock: exit %d %s", r.code, r.stdout)
	}
}

func mustTime(t *testing.T, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

// TestLogsFollow: --follow prints new sign-ins as they happen, until
// interrupted, and then exits 0.
func TestLogsFollow(t *testing.T) {
	dir := shortTempDir(t)
	db := filepath.Join(dir, "issuer.db")
	srv := startServe(t, db, "serve", "--addr", "127.0.0.1:0")
	client := trusting(t, filepath.Join(dir, caFileName))
	ask := func(tenantRef string) {
		clientToken(t, client, srv.url+"/"+tenantRef+"/oauth2/v2.0/token", daemonApp, "some-secret-value-0001", "api://x/.default")
	}
	ask("before.example.com")

	ctx, cancel := context.WithCancel(context.Background())
	out, errOut := newWatchedBuffer(), newWatchedBuffer()
	done := make(chan int, 1)
	go func() { done <- run(ctx, []string{"issuer", "--db", db, "logs", "--follow", "--failed"}, out, errOut) }()
	waitFor := func(what string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(out.String(), what) {
			if time.Now().After(deadline) {
				t.Fatalf("logs --follow did not print %q within 10s:\n%s%s", what, out, errOut)
			}
			time.Sleep(20 * time.Millisecond)
		}
	}
	waitFor("tenant=before.example.com")
	ask("after.example.com")
	waitFor("tenant=after.example.com")
	cancel()
	select {
	case code := <-done:
		if code != exitOK {
			t.Errorf("logs --follow after interrupt: exit %d; want 0\n%s", code, errOut)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("logs --follow did not stop when interrupted")
	}
	if n := strings.Count(out.String(), "FAILED"); n != 2 {
		t.Errorf("logs --follow printed %d entries; want each of the 2 once:\n%s", n, out)
	}
}

// TestSeedCommands: apply twice changes nothing the second time, through
// the socket too (the client sends the file); export then apply into an
// empty database gives tokens with the same claims.
func TestSeedCommands(t *testing.T) {
	seed := filepath.Join("..", "..", "testdata", "seed", "example.json")
	db := filepath.Join(t.TempDir(), "issuer.db")
	first := runCLI(t, db, fixed(), "apply", "-f", seed)
	if first.code != exitOK || !strings.HasPrefix(first.stdout, "applied "+seed+": 39 created, 1 updated, 0 unchanged\n") {
		t.Fatalf("first apply: exit %d\n%s%s", first.code, first.stdout, first.stderr)
	}
	second := runCLI(t, db, fixed(), "-o", "json", "apply", "-f", seed)
	var res map[string]map[string]int
	if err := json.Unmarshal([]byte(second.stdout), &res); err != nil || second.code != exitOK {
		t.Fatalf("second apply: exit %d, %v\n%s%s", second.code, err, second.stdout, second.stderr)
	}
	for kind, c := range res {
		if c["created"] != 0 || c["updated"] != 0 {
			t.Errorf("second apply changed %s: %v", kind, c)
		}
	}

	raw, err := os.ReadFile(seed)
	if err != nil {
		t.Fatal(err)
	}
	stdin := func(e *env) { e.stdin = bytes.NewReader(raw) }
	if r := runCLI(t, db, append(fixed(), stdin), "apply", "-f", "-"); r.code != exitOK || !strings.Contains(r.stdout, "0 created, 0 updated, 40 unchanged") {
		t.Errorf("apply -f - (stdin): exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	bad := filepath.Join(t.TempDir(), "bad.json")
	os.WriteFile(bad, []byte("{\"tenants\": [\n  {\"name\": \"x\", \"colour\": \"blue\"}]}"), 0o600)
	if r := runCLI(t, db, fixed(), "apply", "-f", bad); r.code != exitError || !strings.HasPrefix(r.stderr, "issuer: "+bad+`:2: tenants[0]: unknown field "colour"`) {
		t.Errorf("apply with an unknown field: exit %d, %q; want file:line, path and field", r.code, r.stderr)
	}
	if r := runCLI(t, db, fixed(), "apply", "-f", filepath.Join(t.TempDir(), "nope.json")); r.code != exitError {
		t.Errorf("apply of a missing file: exit %d; want 1", r.code)
	}

	// Serve the seeded database; apply again through the socket, with the
	// seed file read by the client.
	dir := shortTempDir(t)
	served := filepath.Join(dir, "issuer.db")
	base := "https://issuer.test:8443"
	srv := startServe(t, served, "serve", "--addr", "127.0.0.1:0", "--base-url", base, "--seed", seed)
	if !strings.Contains(srv.stderr.String(), "issuer: applied "+seed+": 39 created, 1 updated, 0 unchanged") {
		t.Errorf("serve --seed did not report the apply:\n%s", srv.stderr)
	}
	if r := runCLI(t, served, nil, "apply", "-f", seed); r.code != exitOK || !strings.Contains(r.stdout, ": 0 created, 0 updated, 40 unchanged") {
		t.Errorf("apply through the socket: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	exported := runCLI(t, served, nil, "export")
	if exported.code != exitOK || strings.Contains(exported.stdout, "nightly-job-secret-value-0001") || strings.Contains(exported.stdout, "alice-password") {
		t.Fatalf("export: exit %d, or it holds a secret\n%s%s", exported.code, exported.stdout, exported.stderr)
	}
	if r := runCLI(t, served, nil, "export", "--tenant", "nosuch.com"); r.code != exitError || !strings.Contains(r.stderr, `tenant "nosuch.com": not found`) {
		t.Errorf("export --tenant nosuch.com: exit %d %q", r.code, r.stderr)
	}
	before := seedTokens(t, srv.url, filepath.Join(dir, caFileName))

	// Apply the export, with the secrets put back, into an empty database.
	var doc map[string]any
	if err := json.Unmarshal([]byte(exported.stdout), &doc); err != nil {
		t.Fatal(err)
	}
	for _, tn := range doc["tenants"].([]any) {
		apps, _ := tn.(map[string]any)["applications"].([]any)
		for _, a := range apps {
			app := a.(map[string]any)
			for appID, secret := range seedSecrets {
				if app["appId"] == appID {
					app["secrets"] = []any{map[string]any{"value": secret}}
				}
			}
		}
	}
	withSecrets, _ := json.Marshal(doc)
	dir2 := shortTempDir(t)
	exportFile := filepath.Join(dir2, "export.json")
	os.WriteFile(exportFile, withSecrets, 0o600)
	srv.shutdown(t)
	srv2 := startServe(t, filepath.Join(dir2, "issuer.db"), "serve", "--addr", "127.0.0.1:0", "--base-url", base, "--seed", exportFile)
	after := seedTokens(t, srv2.url, filepath.Join(dir2, caFileName))
	for name, want := range before {
		got := after[name]
		if len(want) == 0 || len(got) != len(want) {
			t.Errorf("%s: claims %v after export → apply; want %v", name, got, want)
			continue
		}
		for k, v := range want {
			if b, _ := json.Marshal(v); string(b) != mustJSON(got[k]) {
				t.Errorf("%s: claim %s = %v after export → apply; want %v", name, k, got[k], v)
			}
		}
	}
}

// seedSecrets are the known secrets of the example seed, by appId.
var seedSecrets = map[string]string{
	"0000a002-0000-4000-8000-000000000002": "nightly-job-secret-value-0001",
	"0000a004-0000-4000-8000-000000000004": "partner-secret-value-0001",
}

// seedTokens gets a token for the example seed's API as each client with a
// known secret, and returns the claims that are not per-request (iat, nbf,
// exp, uti, aio, rh are).
func seedTokens(t *testing.T, serverURL, caFile string) map[string]map[string]any {
	t.Helper()
	client := trusting(t, caFile)
	out := map[string]map[string]any{}
	for appID, secret := range seedSecrets {
		tok := clientToken(t, client, serverURL+"/contoso.onmicrosoft.com/oauth2/v2.0/token", appID, secret, "api://orders/.default")
		if tok.status != 200 {
			t.Fatalf("token for %s: %d AADSTS%d", appID, tok.status, tok.code)
		}
		for _, k := range []string{"iat", "nbf", "exp", "uti", "aio", "rh"} {
			delete(tok.claims, k)
		}
		out[appID] = tok.claims
	}
	return out
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// FuzzAdminRequest: the admin request decoder never panics, and what it
// accepts keeps its promises (limits, UTF-8, no NUL) and encodes back to an
// equal request.
func FuzzAdminRequest(f *testing.F) {
	for _, s := range []string{
		`{"args":["tenant","list"]}`,
		`{"args":["apply","-f","seed.json"],"files":{"seed.json":"e30="}}`,
		`{"args":[]}`, `{}`, `null`, `[]`, `{"args":["a\u0000b"]}`, `{"files":{"":"AA=="}}`,
		`{"args":["x"]} trailing`, `{"args":"tenant list"}`, `{"Args":["tenant"]}`, "{\"args\":[\"\xff\"]}",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := decodeAdminRequest(bytes.NewReader(data))
		if err != nil {
			return
		}
		if len(req.Args) > maxAdminArgs || len(req.Files) > maxAdminFiles {
			t.Fatalf("accepted %d args, %d files", len(req.Args), len(req.Files))
		}
		for _, a := range req.Args {
			if strings.ContainsRune(a, 0) || !utf8.ValidString(a) {
				t.Fatalf("accepted argument %q", a)
			}
		}
		again, err := json.Marshal(req)
		if err != nil {
			t.Fatal(err)
		}
		back, err := decodeAdminRequest(bytes.NewReader(again))
		if err != nil || !slices.Equal(back.Args, req.Args) || len(back.Files) != len(req.Files) {
			t.Fatalf("re-encoded request %s decodes to %+v, %v", again, back, err)
		}
	})
}
