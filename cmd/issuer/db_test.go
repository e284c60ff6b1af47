package main

import (
	"bytes"
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/storage"
)

// wantFile checks that path exists with mode perm.
func wantFile(t *testing.T, path string, perm os.FileMode) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	if fi.Mode().Perm() != perm {
		t.Errorf("%s has mode %04o; want %04o", path, fi.Mode().Perm(), perm)
	}
}

// wantTenantIn opens the database file at path read-only and checks that
// it holds the tenant with that domain.
func wantTenantIn(t *testing.T, path, domain string) {
	t.Helper()
	db, err := storage.Open(path, storage.Options{ReadOnly: true})
	if err != nil {
		t.Fatalf("opening %s: %v", path, err)
	}
	defer db.Close()
	if _, err := db.GetTenantByDomain(context.Background(), domain); err != nil {
		t.Errorf("%s: tenant %s: %v", path, domain, err)
	}
}

// TestDBCommands runs db backup and db check directly on a database file.
func TestDBCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "issuer.db")
	opts := fixed()
	mustRun(t, db, opts, "tenant", "add", "--name", "contoso")
	mustRun(t, db, opts, "app", "add", "--tenant", "contoso.onmicrosoft.com", "--name", "API", "--identifier-uri", "api://orders")
	backup := filepath.Join(dir, "backup.db")
	damaged := filepath.Join(dir, "damaged.db")
	missing := filepath.Join(dir, "missing.db")
	truncated := filepath.Join(dir, "truncated.db")

	for _, tc := range []struct {
		name       string
		args       []string
		wantExit   int
		wantStdout string
		wantStderr string
	}{
		{"backup", []string{"db", "backup", backup}, exitOK, "backed up the database to " + backup, ""},
		{"backup over an existing file", []string{"db", "backup", backup}, exitError, "", "already exists; not overwriting it"},
		{"backup without a file", []string{"db", "backup"}, exitUsage, "", "missing FILE"},
		{"backup -o json", []string{"-o", "json", "db", "backup", filepath.Join(dir, "b2.db")}, exitOK, `"bytes": `, ""},
		{"check the database", []string{"db", "check"}, exitOK, db + ": consistent", ""},
		{"check the backup", []string{"db", "check", backup}, exitOK, backup + ": consistent", ""},
		{"check -o json", []string{"-o", "json", "db", "check", backup}, exitOK, `"problems": []`, ""},
		{"check a damaged file", []string{"db", "check", damaged}, exitError, damaged + ": ", "1 problem found"},
		// Nothing was checked: an error, not a problem found.
		{"check a missing file", []string{"db", "check", missing}, exitError, "", missing + ": no such database file"},
		{"check a truncated file", []string{"db", "check", truncated}, exitError, truncated + ": ", "truncated"},
		{"tenant list on a truncated file", []string{"--db", truncated, "tenant", "list"}, exitError, "", "issuer db check " + truncated + " lists the problems"},
		{"check a truncated --db", []string{"--db", truncated, "db", "check"}, exitError, truncated + ": ", "1 problem found"},
		{"check two files", []string{"db", "check", backup, damaged}, exitUsage, "", "at most one FILE"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "check a damaged file" {
				damage(t, backup, damaged)
			}
			if tc.name == "check a truncated file" {
				truncate(t, backup, truncated)
			}
			r := runCLI(t, db, opts, tc.args...)
			if r.code != tc.wantExit || !strings.Contains(r.stdout, tc.wantStdout) || !strings.Contains(r.stderr, tc.wantStderr) {
				t.Errorf("issuer %s: exit %d\n%s%s\nwant exit %d, stdout with %q, stderr with %q",
					strings.Join(tc.args, " "), r.code, r.stdout, r.stderr, tc.wantExit, tc.wantStdout, tc.wantStderr)
			}
		})
	}
	wantFile(t, backup, 0o600)
	wantTenantIn(t, backup, "contoso.onmicrosoft.com")
}

// damage copies the database src to dst with every page after bbolt's
// two meta pages overwritten.
func damage(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	page := os.Getpagesize()
	for i := 2 * page; i < len(data); i++ {
		data[i] = 0xa5
	}
	if err := os.WriteFile(dst, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// truncate copies the database src to dst cut to 80% of its length, as a
// copy interrupted or a full disk leaves it.
func truncate(t *testing.T, src, dst string) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data[:len(data)*8/10], 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestDBLive backs up and checks the database of a running server, through
// the admin socket and over HTTPS, and checks where files a command writes
// end up: over HTTPS the server returns them and creates nothing itself.
func TestDBLive(t *testing.T) {
	dir := shortTempDir(t)
	db := filepath.Join(dir, "issuer.db")
	tokenFile := filepath.Join(dir, "admin-token")
	const token = "0123456789abcdef0123456789abcdef"
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServeWith(t, db, fixed(), "serve", "--addr", "127.0.0.1:0", "--admin-token-file", tokenFile)
	ca := filepath.Join(dir, caFileName)
	unused := filepath.Join(t.TempDir(), "unused.db")
	remote := func(args ...string) []string {
		return append([]string{"--server", srv.url, "--admin-token-file", tokenFile, "--ca-file", ca}, args...)
	}
	mustRun(t, db, nil, "tenant", "add", "--name", "contoso")
	app := decode(t, mustRun(t, db, nil, "-o", "json", "app", "add", "--tenant", "contoso.onmicrosoft.com", "--name", "Daemon"))["appId"].(string)

	out := t.TempDir()
	for _, tc := range []struct {
		name       string
		db         string
		args       []string
		wantExit   int
		wantStderr string
		wantFiles  map[string]os.FileMode
	}{
		{"backup over the socket", db, []string{"db", "backup", filepath.Join(out, "socket.db")}, exitOK, "",
			map[string]os.FileMode{"socket.db": 0o600}},
		{"backup over HTTPS", unused, remote("db", "backup", filepath.Join(out, "https.db")), exitOK, "",
			map[string]os.FileMode{"https.db": 0o600}},
		{"backup over HTTPS onto an existing file", unused, remote("db", "backup", filepath.Join(out, "https.db")), exitError, "already exists", nil},
		{"check over the socket", db, []string{"db", "check"}, exitOK, "", nil},
		{"check over HTTPS", unused, remote("db", "check"), exitOK, "", nil},
		{"check the live file directly", unused, []string{"db", "check", db}, exitLocked, "run issuer --db", nil},
		{"cert create over HTTPS", unused, remote("app", "cert", "create", "--app", app,
			"--out-cert", filepath.Join(out, "daemon.pem"), "--out-key", filepath.Join(out, "daemon.key")), exitOK, "",
			map[string]os.FileMode{"daemon.pem": 0o644, "daemon.key": 0o600}},
		{"cert create over the socket", db, []string{"app", "cert", "create", "--app", app,
			"--out-cert", filepath.Join(out, "s.pem"), "--out-key", filepath.Join(out, "s.key")}, exitOK, "",
			map[string]os.FileMode{"s.pem": 0o644, "s.key": 0o600}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, tc.db, nil, tc.args...)
			if r.code != tc.wantExit || !strings.Contains(r.stderr, tc.wantStderr) {
				t.Fatalf("issuer %s: exit %d\n%s%s\nwant exit %d, stderr with %q", strings.Join(tc.args, " "), r.code, r.stdout, r.stderr, tc.wantExit, tc.wantStderr)
			}
			for name, mode := range tc.wantFiles {
				wantFile(t, filepath.Join(out, name), mode)
			}
		})
	}
	for _, f := range []string{"socket.db", "https.db"} {
		if r := runCLI(t, unused, nil, "db", "check", filepath.Join(out, f)); r.code != exitOK {
			t.Errorf("db check %s: exit %d %s", f, r.code, r.stderr)
		}
		wantTenantIn(t, filepath.Join(out, f), "contoso.onmicrosoft.com")
	}
	keyMatchesCert(t, filepath.Join(out, "daemon.key"), filepath.Join(out, "daemon.pem"))

	// Raw requests, as another client could send them: the server creates
	// no file for an HTTPS client (it returns them) and opens none.
	client := trusting(t, ca)
	post := func(args ...string) adminResponse {
		t.Helper()
		body, _ := json.Marshal(adminRequest{Args: args, Dir: out})
		req, _ := http.NewRequest(http.MethodPost, srv.url+adminPath, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var res adminResponse
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
			t.Fatal(err)
		}
		return res
	}
	target := filepath.Join(out, "written-by-server.key")
	res := post("app", "cert", "create", "--app", app, "--out-cert", "relative.pem", "--out-key", target)
	if res.ExitCode != exitOK || len(res.Files) != 2 {
		t.Fatalf("cert create over HTTPS: exit %d, %d files returned\n%s", res.ExitCode, len(res.Files), res.Stderr)
	}
	if _, err := os.Lstat(target); !os.IsNotExist(err) {
		t.Errorf("the server created %s for an HTTPS client (%v); it must return the file instead", target, err)
	}
	if res := post("db", "check", "/etc/passwd"); res.ExitCode != exitUsage || !strings.Contains(res.Stderr, "cannot run through the admin channel") {
		t.Errorf("db check FILE sent to the server: exit %d %q; want 2 and a refusal", res.ExitCode, res.Stderr)
	}
}

// keyMatchesCert checks that the private key file holds the key of the
// certificate file.
func keyMatchesCert(t *testing.T, keyFile, certFile string) {
	t.Helper()
	kb, _ := pem.Decode(mustRead(t, keyFile))
	cb, _ := pem.Decode(mustRead(t, certFile))
	if kb == nil || cb == nil {
		t.Fatalf("%s or %s is not PEM", keyFile, certFile)
	}
	key, err := x509.ParsePKCS8PrivateKey(kb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(cb.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey, ok := key.(*rsa.PrivateKey)
	if !ok || !rsaKey.PublicKey.Equal(cert.PublicKey) {
		t.Errorf("%s does not hold the key of %s", keyFile, certFile)
	}
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestWriteReturnedFiles: a client writes only the files its command line
// named, whatever a server returns, and never over an existing file.
func TestWriteReturnedFiles(t *testing.T) {
	dir := t.TempDir()
	asked := filepath.Join(dir, "asked.db")
	other := filepath.Join(dir, "other")
	existing := filepath.Join(dir, "existing")
	if err := os.WriteFile(existing, []byte("keep"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name    string
		files   []adminFile
		wantErr string
		written []string
	}{
		{"the named file", []adminFile{{Name: asked, Mode: 0o600, Data: []byte("x")}}, "", []string{asked}},
		{"a file not named", []adminFile{{Name: asked + "2", Mode: 0o600}, {Name: other, Mode: 0o644}}, "did not name", nil},
		{"an existing file", []adminFile{{Name: existing, Mode: 0o600, Data: []byte("new")}}, "exists", nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := writeReturnedFiles([]string{asked, asked + "2", existing}, tc.files)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("writeReturnedFiles = %v; want an error with %q", err, tc.wantErr)
			}
			for _, f := range tc.written {
				wantFile(t, f, 0o600)
			}
			if _, err := os.Stat(other); !os.IsNotExist(err) {
				t.Errorf("%s was written", other)
			}
			if b, _ := os.ReadFile(existing); string(b) != "keep" {
				t.Errorf("an existing file was overwritten: %q", b)
			}
		})
	}
}
