package main

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"log/slog"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/AzureAD/microsoft-authentication-library-for-go/apps/confidential"
)

// TestCredentialCommands runs the cert and federated commands as one
// scenario and compares each run with its golden file. The certificates
// are fixed files in testdata, so thumbprints are stable.
func TestCredentialCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "issuer.db")
	opts := fixed()
	mustRun(t, db, opts, "tenant", "add", "--name", "Contoso")
	mustRun(t, db, opts, "app", "add", "--tenant", "contoso.onmicrosoft.com", "--name", "Nightly Job", "--app-id", nightlyJob)
	saved := map[string]string{}
	gh := "https://token.actions.githubusercontent.com"
	steps := []struct {
		name string
		args []string
		save string // JSON field of stdout saved as {name}
	}{
		{name: "cert_add", args: []string{"app", "cert", "add", "--app", nightlyJob, "--cert", "testdata/client-cert.pem"}},
		{name: "cert_add_json", args: []string{"-o", "json", "app", "cert", "add", "--app", nightlyJob, "--cert", "testdata/client-cert-2.pem", "--display-name", "ci"}, save: "keyId"},
		{name: "cert_list", args: []string{"app", "cert", "list", "--app", nightlyJob}},
		{name: "cert_list_json", args: []string{"app", "cert", "list", "--app", nightlyJob, "-o", "json"}},
		{name: "cert_remove", args: []string{"app", "cert", "remove", "--app", nightlyJob, "--key-id", "{keyId}"}},
		{name: "federated_add", args: []string{"app", "federated", "add", "--app", nightlyJob, "--name", "main-branch", "--issuer", gh, "--subject", "repo:contoso/nightly:ref:refs/heads/main"}},
		{name: "federated_add_json", args: []string{"-o", "json", "app", "federated", "add", "--app", nightlyJob, "--name", "kubernetes",
			"--issuer", "https://oidc.prod-aks.azure.com/00000000-0000-0000-0000-000000000000/", "--subject", "system:serviceaccount:jobs:nightly",
			"--audience", "api://AzureADTokenExchangeUSGov", "--description", "the AKS job"}},
		{name: "federated_list", args: []string{"app", "federated", "list", "--app", nightlyJob}},
		{name: "federated_list_json", args: []string{"app", "federated", "list", "--app", nightlyJob, "-o", "json"}},
		{name: "federated_remove", args: []string{"app", "federated", "remove", "--app", nightlyJob, "--name", "MAIN-BRANCH"}},
		{name: "federated_app_show_json", args: []string{"-o", "json", "app", "show", nightlyJob}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			args := make([]string, len(s.args))
			for i, a := range s.args {
				for k, v := range saved {
					a = strings.ReplaceAll(a, "{"+k+"}", v)
				}
				args[i] = a
			}
			r := runCLI(t, db, opts, args...)
			if r.code != exitOK {
				t.Fatalf("issuer %s: exit %d; want 0\nstderr: %s", strings.Join(args, " "), r.code, r.stderr)
			}
			if s.save != "" {
				saved[s.save], _ = decode(t, r.stdout)[s.save].(string)
			}
			golden(t, s.name, r.transcript(dir, args))
		})
	}
}

// TestCertOutputIsGraphShaped checks the keyCredential JSON: Graph's
// members, customKeyIdentifier = base64 of the SHA-1 thumbprint, and
// neither the certificate body nor any key.
func TestCertOutputIsGraphShaped(t *testing.T) {
	db := filepath.Join(t.TempDir(), "issuer.db")
	opts := fixed()
	mustRun(t, db, opts, "tenant", "add", "--name", "contoso")
	mustRun(t, db, opts, "app", "add", "--tenant", "contoso.onmicrosoft.com", "--name", "Job", "--app-id", nightlyJob)
	k := decode(t, mustRun(t, db, opts, "-o", "json", "app", "cert", "add", "--app", nightlyJob, "--cert", "testdata/client-cert.pem"))
	for _, m := range []string{"customKeyIdentifier", "displayName", "endDateTime", "keyId", "startDateTime", "type", "usage"} {
		if _, ok := k[m]; !ok {
			t.Errorf("cert add -o json: no %q in %v", m, k)
		}
	}
	if _, ok := k["key"]; ok {
		t.Errorf("cert add -o json shows the certificate body (key)")
	}
	raw, _ := os.ReadFile("testdata/client-cert.pem")
	block, _ := pem.Decode(raw)
	sum := sha1.Sum(block.Bytes)
	if k["customKeyIdentifier"] != base64.StdEncoding.EncodeToString(sum[:]) || k["type"] != "AsymmetricX509Cert" || k["usage"] != "Verify" {
		t.Errorf("cert add -o json = %v; want customKeyIdentifier = base64 SHA-1, AsymmetricX509Cert, Verify", k)
	}
	if text := mustRun(t, db, opts, "app", "cert", "list", "--app", nightlyJob); !strings.Contains(text, strings.ToUpper(hex.EncodeToString(sum[:]))) {
		t.Errorf("cert list does not show the hex thumbprint:\n%s", text)
	}
}

// TestCredentialRefusals checks exit codes and messages of credential and
// key commands that must fail.
func TestCredentialRefusals(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "issuer.db")
	opts := fixed()
	mustRun(t, db, opts, "tenant", "add", "--name", "contoso")
	mustRun(t, db, opts, "app", "add", "--tenant", "contoso.onmicrosoft.com", "--name", "Job", "--app-id", nightlyJob)
	mustRun(t, db, opts, "app", "cert", "add", "--app", nightlyJob, "--cert", "testdata/client-cert.pem")
	mustRun(t, db, opts, "app", "federated", "add", "--app", nightlyJob, "--name", "main", "--issuer", "https://idp.example", "--subject", "s")

	write := func(name string, data []byte) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	ecDER, _ := x509.MarshalPKCS8PrivateKey(ec)
	keyOnly := write("key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: ecDER}))
	ecCert := write("ec.pem", selfSignedPEM(t, ec, "ec", time.Now()))
	garbage := write("garbage.cer", []byte("not a certificate"))
	existing := write("existing.pem", []byte("keep me"))

	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"cert file missing", []string{"app", "cert", "add", "--app", nightlyJob, "--cert", filepath.Join(dir, "nope.pem")}, exitError, "no such file"},
		{"PEM without a certificate", []string{"app", "cert", "add", "--app", nightlyJob, "--cert", keyOnly}, exitUsage, "no PEM CERTIFICATE"},
		{"not a certificate", []string{"app", "cert", "add", "--app", nightlyJob, "--cert", garbage}, exitUsage, "not an X.509 certificate"},
		{"ECDSA certificate", []string{"app", "cert", "add", "--app", nightlyJob, "--cert", ecCert}, exitUsage, "RSA certificates only"},
		{"certificate already registered", []string{"app", "cert", "add", "--app", nightlyJob, "--cert", "testdata/client-cert.pem"}, exitError, "already exists"},
		{"cert of unknown app", []string{"app", "cert", "add", "--app", unknownGUID, "--cert", "testdata/client-cert.pem"}, exitError, `application "` + unknownGUID + `": not found`},
		{"cert add without --cert", []string{"app", "cert", "add", "--app", nightlyJob}, exitUsage, `Required flag "cert" not set`},
		{"unknown certificate", []string{"app", "cert", "remove", "--app", nightlyJob, "--key-id", unknownGUID}, exitError, "certificate " + unknownGUID + ": not found"},
		{"cert list of unknown app", []string{"app", "cert", "list", "--app", unknownGUID}, exitError, "not found"},
		{"cert create with 0 days", []string{"app", "cert", "create", "--app", nightlyJob, "--out-cert", filepath.Join(dir, "c.pem"), "--out-key", filepath.Join(dir, "k.pem"), "--days", "0"}, exitUsage, "--days must be between"},
		{"cert create over a file", []string{"app", "cert", "create", "--app", nightlyJob, "--out-cert", existing, "--out-key", filepath.Join(dir, "k.pem")}, exitError, "already exists; not overwriting"},
		{"cert create to one file", []string{"app", "cert", "create", "--app", nightlyJob, "--out-cert", filepath.Join(dir, "x.pem"), "--out-key", filepath.Join(dir, "x.pem")}, exitUsage, "different files"},
		{"cert create for unknown app", []string{"app", "cert", "create", "--app", unknownGUID, "--out-cert", filepath.Join(dir, "c.pem"), "--out-key", filepath.Join(dir, "k.pem")}, exitError, "not found"},
		{"federated name too short", []string{"app", "federated", "add", "--app", nightlyJob, "--name", "ab", "--issuer", "https://x.example", "--subject", "s"}, exitUsage, "3 to 120"},
		{"federated http issuer", []string{"app", "federated", "add", "--app", nightlyJob, "--name", "plain", "--issuer", "http://x.example", "--subject", "s"}, exitUsage, "https URL"},
		{"federated subject with a space", []string{"app", "federated", "add", "--app", nightlyJob, "--name", "spaced", "--issuer", "https://x.example", "--subject", "s "}, exitUsage, "whitespace"},
		{"federated name taken", []string{"app", "federated", "add", "--app", nightlyJob, "--name", "Main", "--issuer", "https://y.example", "--subject", "s"}, exitError, "already exists"},
		{"federated issuer and subject taken", []string{"app", "federated", "add", "--app", nightlyJob, "--name", "again", "--issuer", "https://idp.example", "--subject", "s"}, exitError, "already exists"},
		{"federated without --subject", []string{"app", "federated", "add", "--app", nightlyJob, "--name", "x-y", "--issuer", "https://x.example"}, exitUsage, `Required flag "subject" not set`},
		{"unknown federated credential", []string{"app", "federated", "remove", "--app", nightlyJob, "--name", "nope"}, exitError, `federated credential "nope": not found`},
		{"federated list of unknown app", []string{"app", "federated", "list", "--app", unknownGUID}, exitError, "not found"},
		{"negative grace", []string{"keys", "rotate", "--grace", "-1h"}, exitUsage, "must be positive"},
		{"keys list with an argument", []string{"keys", "list", "x"}, exitUsage, "takes no arguments"},
		{"rotate every millisecond", []string{"serve", "--rotate-every", "10ms"}, exitUsage, "at least 1s"},
		{"negative user token lifetime", []string{"serve", "--user-token-lifetime", "-1h"}, exitUsage, "--user-token-lifetime must be positive"},
		{"negative rotate grace", []string{"serve", "--rotate-grace", "-1h"}, exitUsage, "must not be negative"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, db, opts, tc.args...)
			if r.code != tc.wantCode {
				t.Errorf("issuer %s: exit %d; want %d\nstderr: %s", strings.Join(tc.args, " "), r.code, tc.wantCode, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("issuer %s: stderr = %q; want it to contain %q", strings.Join(tc.args, " "), r.stderr, tc.wantErr)
			}
		})
	}
	if b, _ := os.ReadFile(existing); string(b) != "keep me" {
		t.Errorf("cert create overwrote an existing file")
	}
	for _, f := range []string{"c.pem", "k.pem", "x.pem"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			t.Errorf("a refused cert create left %s behind", f)
		}
	}
}

// selfSignedPEM returns a PEM certificate for key, valid a year from now.
func selfSignedPEM(t *testing.T, key crypto.Signer, cn string, now time.Time) []byte {
	t.Helper()
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(now.UnixNano()), Subject: pkix.Name{CommonName: cn},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// kidPattern matches a signing key's kid (27 base64url characters) where
// the CLI prints one.
var kidPattern = regexp.MustCompile(`(^|[\s"])([A-Za-z0-9_-]{27})([\s",;]|$)`)

// maskKids replaces each distinct kid by <kid1---…>, <kid2---…>, … (27
// characters, as a kid) in order of first appearance: signing keys are
// random, their dates are not.
func maskKids(s string, seen map[string]string) string {
	return kidPattern.ReplaceAllStringFunc(s, func(m string) string {
		sub := kidPattern.FindStringSubmatch(m)
		name, ok := seen[sub[2]]
		if !ok {
			name = fmt.Sprintf("<kid%d>", len(seen)+1)
			name = name[:len(name)-1] + strings.Repeat("-", 27-len(name)) + ">" // keeps columns aligned
			seen[sub[2]] = name
		}
		return sub[1] + name + sub[3]
	})
}

// TestKeysCommands rotates the signing keys through the CLI and compares
// the output, kids masked, with golden files.
func TestKeysCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "issuer.db")
	now := testClock
	opts := append(fixed(), func(e *env) { e.now = func() time.Time { return now } })
	seen := map[string]string{}
	steps := []struct {
		name    string
		args    []string
		advance time.Duration
	}{
		{"keys_list_empty", []string{"keys", "list"}, 0},
		{"keys_rotate_first", []string{"keys", "rotate"}, 0},
		{"keys_rotate", []string{"keys", "rotate", "--grace", "2h"}, time.Hour},
		{"keys_list", []string{"keys", "list"}, time.Hour},
		{"keys_list_json", []string{"-o", "json", "keys", "list"}, 2 * time.Hour},
		{"keys_rotate_json", []string{"-o", "json", "keys", "rotate", "--grace", "1d"}, 0},
	}
	for _, s := range steps {
		now = now.Add(s.advance)
		r := runCLI(t, db, opts, s.args...)
		if r.code != exitOK {
			t.Fatalf("issuer %s: exit %d\nstderr: %s", strings.Join(s.args, " "), r.code, r.stderr)
		}
		r.stdout, r.stderr = maskKids(r.stdout, seen), maskKids(r.stderr, seen)
		golden(t, s.name, r.transcript(dir, s.args))
	}
	var keys []keyView
	if err := json.Unmarshal([]byte(runCLI(t, db, opts, "-o", "json", "keys", "list").stdout), &keys); err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || keys[0].Status != keyActive || keys[1].Status != keyRetired {
		t.Errorf("keys after three rotations = %+v; want active and retired, the expired first key deleted", keys)
	}
}

// TestCertCreateAndServe creates a certificate with `app cert create`,
// serves, and gets a token with MSAL Go's certificate credential from the
// files written: the whole path a user takes.
func TestCertCreateAndServe(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "issuer.db")
	opts := fixed()
	mustRun(t, db, opts, "tenant", "add", "--name", "contoso")
	mustRun(t, db, opts, "app", "add", "--tenant", "contoso.onmicrosoft.com", "--name", "Orders", "--identifier-uri", "api://orders", "--token-version", "2", "--app-id", ordersAPI)
	mustRun(t, db, opts, "app", "add", "--tenant", "contoso.onmicrosoft.com", "--name", "Job", "--app-id", nightlyJob)
	certFile, keyFile := filepath.Join(dir, "job.pem"), filepath.Join(dir, "job.key")
	// The certificate must be valid at the real time the server checks.
	real := []option{func(e *env) { e.now = time.Now }}
	r := runCLI(t, db, append(fixed(), real...), "-o", "json", "app", "cert", "create", "--app", nightlyJob, "--out-cert", certFile, "--out-key", keyFile, "--days", "30")
	if r.code != exitOK {
		t.Fatalf("cert create: exit %d\n%s", r.code, r.stderr)
	}
	created := decode(t, r.stdout)
	if fi, err := os.Stat(keyFile); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("key file %v, %v; want mode 0600", fi, err)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		t.Fatalf("the written files are not a key pair: %v", err)
	}
	sum := sha1.Sum(pair.Certificate[0])
	if created["customKeyIdentifier"] != base64.StdEncoding.EncodeToString(sum[:]) || created["displayName"] != "CN=Job" {
		t.Errorf("registered %v; want the written certificate (CN=Job)", created)
	}
	if d := pair.Leaf.NotAfter.Sub(pair.Leaf.NotBefore); d != 30*24*time.Hour {
		t.Errorf("certificate validity %v; want 30 days", d)
	}
	if strings.Contains(string(mustRun(t, db, opts, "-o", "json", "app", "show", nightlyJob)), "PRIVATE") {
		t.Errorf("app show mentions a private key")
	}

	srv := startServe(t, db, "serve", "--addr", "127.0.0.1:0")
	client := trusting(t, filepath.Join(dir, caFileName))
	cred, err := confidential.NewCredFromCert([]*x509.Certificate{pair.Leaf}, pair.PrivateKey)
	if err != nil {
		t.Fatal(err)
	}
	app, err := confidential.New(srv.url+"/contoso.onmicrosoft.com", nightlyJob, cred,
		confidential.WithHTTPClient(client), confidential.WithInstanceDiscovery(false))
	if err != nil {
		t.Fatal(err)
	}
	res, err := app.AcquireTokenByCredential(context.Background(), []string{"api://orders/.default"})
	if err != nil {
		t.Fatalf("AcquireTokenByCredential: %v", err)
	}
	var claims map[string]any
	unmarshalSegment(t, strings.Split(res.AccessToken, ".")[1], &claims)
	if claims["azpacr"] != "2" || claims["azp"] != nightlyJob {
		t.Errorf("azpacr, azp = %v, %v; want 2, %s", claims["azpacr"], claims["azp"], nightlyJob)
	}
}

// jwksKids fetches a key set and lists its kids.
func jwksKids(t *testing.T, client *http.Client, u string) []string {
	t.Helper()
	resp, err := client.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set struct {
		Keys []struct{ Kid string } `json:"keys"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range set.Keys {
		out = append(out, k.Kid)
	}
	return out
}

// TestServeRotateEvery: with --rotate-every the JWKS gains a new key on
// schedule, the retired one stays published, and the server stops cleanly.
func TestServeRotateEvery(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "issuer.db")
	srv := startServe(t, db, "serve", "--addr", "127.0.0.1:0", "--rotate-every", "1s", "--rotate-grace", "1h")
	client := trusting(t, filepath.Join(dir, caFileName))
	first := jwksKids(t, client, srv.url+"/common/discovery/keys")
	if len(first) != 1 {
		t.Fatalf("kids at start = %v; want 1", first)
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		kids := jwksKids(t, client, srv.url+"/common/discovery/keys")
		if len(kids) >= 2 {
			if kids[len(kids)-1] != first[0] {
				t.Errorf("kids after a rotation = %v; want the first key %s still published, last", kids, first[0])
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no rotation after 15s; kids = %v\nstderr: %s", kids, srv.stderr)
		}
		time.Sleep(100 * time.Millisecond)
	}
	if code := srv.shutdown(t); code != exitOK {
		t.Fatalf("exit %d\nstderr: %s", code, srv.stderr)
	}
	if !strings.Contains(srv.stderr.String(), "signing key rotated") {
		t.Errorf("stderr does not log the rotation:\n%s", srv.stderr)
	}
}

// servedSerial dials addr with a fresh connection and returns the serial
// of the certificate served.
func servedSerial(t *testing.T, addr string, roots *x509.CertPool) string {
	t.Helper()
	conn, err := tls.Dial("tcp", addr, &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	return conn.ConnectionState().PeerCertificates[0].SerialNumber.String()
}

// TestServeTLSReload replaces --tls-cert/--tls-key while serving: new
// connections get the new certificate; a broken replacement is logged and
// the last good one kept.
func TestServeTLSReload(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "issuer.db")
	certFile, keyFile := filepath.Join(dir, "tls.pem"), filepath.Join(dir, "tls.key")
	roots := x509.NewCertPool()
	writePair := func(serialTime time.Time) string {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		certPEM := selfSignedPEM(t, k, "issuer.test", serialTime)
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		block, _ := pem.Decode(certPEM)
		c, _ := x509.ParseCertificate(block.Bytes)
		roots.AddCert(c)
		// Key first, then the certificate, as a renewal tool might; the
		// reloader tolerates the moment in between.
		if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(certFile, certPEM, 0o644); err != nil {
			t.Fatal(err)
		}
		return c.SerialNumber.String()
	}
	first := writePair(time.Now())
	srv := startServe(t, db, "serve", "--addr", "127.0.0.1:0", "--tls-cert", certFile, "--tls-key", keyFile)
	addr := strings.TrimPrefix(srv.url, "https://")
	if got := servedSerial(t, addr, roots); got != first {
		t.Fatalf("served serial %s; want %s", got, first)
	}
	second := writePair(time.Now().Add(time.Minute))
	waitForSerial := func(want string) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second)
		for servedSerial(t, addr, roots) != want {
			if time.Now().After(deadline) {
				t.Fatalf("still serving the old certificate after 10s; want serial %s\nstderr: %s", want, srv.stderr)
			}
			time.Sleep(200 * time.Millisecond)
		}
	}
	waitForSerial(second)

	// A broken certificate file: logged, and the last good one served.
	// (A reload may already have been refused while the pair was half
	// written: count the reports.)
	const refused = "TLS certificate not reloaded"
	before := strings.Count(srv.stderr.String(), refused)
	if err := os.WriteFile(certFile, []byte("-----BEGIN CERTIFICATE-----\ngarbage\n-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for strings.Count(srv.stderr.String(), refused) == before {
		if time.Now().After(deadline) {
			t.Fatalf("a broken certificate file was not reported\nstderr: %s", srv.stderr)
		}
		if got := servedSerial(t, addr, roots); got != second {
			t.Fatalf("served %s after a broken replacement; want the last good %s", got, second)
		}
		time.Sleep(200 * time.Millisecond)
	}
	third := writePair(time.Now().Add(2 * time.Minute))
	waitForSerial(third)
	if code := srv.shutdown(t); code != exitOK {
		t.Fatalf("exit %d\nstderr: %s", code, srv.stderr)
	}
}

// TestCertReloaderThrottle: the files are looked at most once per second.
func TestCertReloaderThrottle(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "c.pem"), filepath.Join(dir, "k.pem")
	write := func(n int64) {
		k, _ := rsa.GenerateKey(rand.Reader, 2048)
		der, _ := x509.MarshalPKCS8PrivateKey(k)
		os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), 0o600)
		os.WriteFile(certFile, selfSignedPEM(t, k, "t", time.Unix(n, 0)), 0o644)
	}
	write(1)
	r, err := newCertReloader(certFile, keyFile, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	now := time.Unix(1000, 0)
	r.now = func() time.Time { return now }
	r.checked = now
	serial := func() int64 {
		c, _ := r.GetCertificate(nil)
		leaf, _ := x509.ParseCertificate(c.Certificate[0])
		return leaf.SerialNumber.Int64() / int64(time.Second) // selfSignedPEM's serial is the time in ns
	}
	write(2)
	if got := serial(); got != 1 {
		t.Errorf("within a second of the last look: serial %d; want the old 1", got)
	}
	now = now.Add(time.Second)
	if got := serial(); got != 2 {
		t.Errorf("a second later: serial %d; want the new 2", got)
	}
	if _, err := newCertReloader(filepath.Join(dir, "missing.pem"), keyFile, nil); err == nil {
		t.Errorf("newCertReloader with a missing file succeeded")
	}
}

// TestFederationRoots checks the --federation-ca files.
func TestFederationRoots(t *testing.T) {
	dir := t.TempDir()
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	good := filepath.Join(dir, "ca.pem")
	os.WriteFile(good, selfSignedPEM(t, k, "ca", time.Now()), 0o644)
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("nothing"), 0o644)
	roots, err := federationRoots(nil, []string{good})
	if err != nil {
		t.Fatalf("a PEM CA file: %v", err)
	}
	// The pool, made on the first fetch, trusts the file's CA.
	pool := roots()
	pemBytes, _ := os.ReadFile(good)
	block, _ := pem.Decode(pemBytes)
	ca, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ca.Verify(x509.VerifyOptions{Roots: pool}); err != nil {
		t.Errorf("the --federation-ca certificate is not trusted: %v", err)
	}
	if again := roots(); again != pool {
		t.Error("the pool was made twice; want once")
	}
	for _, files := range [][]string{{bad}, {filepath.Join(dir, "missing.pem")}} {
		if _, err := federationRoots(nil, files); err == nil {
			t.Errorf("federationRoots(%v) succeeded; want an error", files)
		}
	}
}
