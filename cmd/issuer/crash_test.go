package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// crashCycles is how many times TestCrashConsistency kills the server.
const crashCycles = 100

// crashClient is what the test knows was acknowledged about one client
// application: each field is set once the CLI exited 0 for it.
type crashClient struct {
	appID, name           string
	added, permission     bool
	secret, secretKeyID   string
	consented             bool
	tenantID, tenantName  string
	tenantAdded, userDone bool
}

// crashStep is one CLI command of a cycle and what its success
// acknowledges.
type crashStep struct {
	name string
	args []string
	ack  func(r result)
}

// TestCrashConsistency runs the real binary's `serve` on a database and,
// for crashCycles cycles: starts it, checks that it serves what was
// acknowledged so far (a token with the consented role), sends admin
// writes through the CLI (which forwards them over the admin socket), and
// SIGKILLs the server at a random point of that sequence, often while a
// write is in flight. After each kill it checks, on the file, that bbolt's
// and the directory's consistency checks pass (issuer db check), that
// every write the CLI acknowledged (exit 0) is there, and that nothing is
// half there: an application always has its home service principal, an
// acknowledged secret verifies. Every tenth cycle also takes a hot backup
// while the server runs, which must check clean.
//
// The random points come from a seed, logged; ISSUER_CRASH_SEED replays
// one. ISSUER_CRASH_RUNS=N runs the whole test N times in a row, each with
// a seed of its own, stopping at the first failure (the README's reliability
// section runs it 50 times):
//
//	ISSUER_CRASH_RUNS=50 go test -run TestCrashConsistency -timeout 6h ./cmd/issuer
func TestCrashConsistency(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary 100 times")
	}
	bin := issuerBinary(t)
	runs := 1
	if s := os.Getenv("ISSUER_CRASH_RUNS"); s != "" {
		var err error
		if runs, err = strconv.Atoi(s); err != nil || runs < 1 {
			t.Fatalf("ISSUER_CRASH_RUNS=%q: want a positive number", s)
		}
	}
	seed := uint64(time.Now().UnixNano())
	if s := os.Getenv("ISSUER_CRASH_SEED"); s != "" {
		var err error
		if seed, err = strconv.ParseUint(s, 10, 64); err != nil {
			t.Fatalf("ISSUER_CRASH_SEED=%q: %v", s, err)
		}
	}
	for run := range runs {
		start := time.Now()
		ok := t.Run(fmt.Sprintf("run %d", run+1), func(t *testing.T) { crashConsistency(t, bin, seed+uint64(run)) })
		t.Logf("run %d of %d: ok=%v in %s", run+1, runs, ok, time.Since(start).Round(time.Second))
		if !ok {
			return
		}
	}
}

// crashConsistency is one run of TestCrashConsistency with seed.
func crashConsistency(t *testing.T, bin string, seed uint64) {
	t.Logf("seed %d (replay with ISSUER_CRASH_SEED=%d)", seed, seed)
	rng := rand.New(rand.NewPCG(seed, seed>>1|1))
	guid := func() string {
		return fmt.Sprintf("%08x-%04x-4%03x-8%03x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff, rng.Uint32()&0xfff, rng.Uint64()&0xffffffffffff)
	}

	dir := shortTempDir(t)
	db := filepath.Join(dir, "issuer.db")
	ctx := context.Background()
	cli := func(args ...string) result {
		var out, errOut bytes.Buffer
		code := run(ctx, append([]string{"issuer", "--db", db}, args...), &out, &errOut)
		return result{code: code, stdout: out.String(), stderr: errOut.String()}
	}
	const home, apiURI, role = "crash.onmicrosoft.com", "api://crash", "Crash.Read"
	// The fixed part of the directory, written before any server runs.
	for _, args := range [][]string{
		{"tenant", "add", "--name", "crash"},
		{"app", "add", "--tenant", home, "--name", "Crash API", "--identifier-uri", apiURI, "--token-version", "2"},
		{"app", "role", "add", "--app", "", "--value", role},
	} {
		if args[1] == "role" {
			apps := decodeList(t, cli("-o", "json", "app", "list", "--tenant", home).stdout)
			args[4] = apps[0]["appId"].(string)
		}
		if r := cli(args...); r.code != exitOK {
			t.Fatalf("issuer %v: exit %d %s", args, r.code, r.stderr)
		}
	}

	var clients []*crashClient
	killedDuring := map[string]int{}
	for cycle := range crashCycles {
		srv := startBinary(t, bin, dir, db)
		checkServed(t, srv, clients, home, apiURI, role)

		c := &crashClient{appID: guid(), name: fmt.Sprintf("client-%d", cycle), tenantID: guid(), tenantName: fmt.Sprintf("t%d", cycle)}
		clients = append(clients, c)
		backup := ""
		if cycle%10 == 9 {
			backup = filepath.Join(dir, fmt.Sprintf("backup-%d.db", cycle))
		}
		steps := []crashStep{
			{"app add", []string{"app", "add", "--tenant", home, "--name", c.name, "--app-id", c.appID}, func(result) { c.added = true }},
			{"app secret add", []string{"-o", "json", "app", "secret", "add", "--app", c.appID}, func(r result) {
				m := decode(t, r.stdout)
				c.secret, c.secretKeyID = m["secretText"].(string), m["keyId"].(string)
			}},
			{"app permission add", []string{"app", "permission", "add", "--app", c.appID, "--resource", apiURI, "--role", role}, func(result) { c.permission = true }},
			{"consent grant", []string{"consent", "grant", "--tenant", home, "--client", c.appID, "--admin"}, func(result) { c.consented = true }},
			{"tenant add", []string{"tenant", "add", "--name", c.tenantName, "--id", c.tenantID}, func(result) { c.tenantAdded = true }},
			{"user add", []string{"user", "add", "--tenant", c.tenantID, "--upn", "u@" + c.tenantName + ".onmicrosoft.com", "--password", "crash-password-0001"}, func(result) { c.userDone = true }},
		}
		if backup != "" {
			// A hot backup between two writes of the sequence.
			steps = slices.Insert(steps, 3, crashStep{"db backup", []string{"db", "backup", backup}, func(result) {}})
		}

		// The kill: when step killAt starts, after up to 3 ms; killAt
		// == len(steps) kills the server idle, after the sequence.
		killAt, delay := rng.IntN(len(steps)+1), time.Duration(rng.IntN(3000))*time.Microsecond
		var killed atomic.Bool
		var once sync.Once
		kill := func() {
			once.Do(func() {
				go func() {
					time.Sleep(delay)
					killed.Store(true)
					srv.cmd.Process.Signal(syscall.SIGKILL)
				}()
			})
		}
		for i, s := range steps {
			if i == killAt {
				kill()
			}
			if killed.Load() {
				break
			}
			if r := cli(s.args...); r.code == exitOK {
				s.ack(r)
			} else if !killed.Load() {
				t.Fatalf("cycle %d: issuer %v failed with the server up: exit %d %s", cycle, s.args, r.code, r.stderr)
			} else {
				killedDuring[s.name]++
			}
		}
		kill()
		srv.wait(t)
		verifyAcknowledged(t, cycle, db, clients, home, apiURI)
		if backup != "" {
			if _, err := os.Stat(backup); err == nil {
				if r := cli("db", "check", backup); r.code != exitOK {
					t.Fatalf("cycle %d: the hot backup does not check clean: %s%s", cycle, r.stdout, r.stderr)
				}
			}
		}
	}
	t.Logf("%d kills; in flight during: %v", crashCycles, killedDuring)
}

// binaryServer is `issuer serve` running as a separate process.
type binaryServer struct {
	dir    string
	cmd    *exec.Cmd
	url    string
	stderr *watchedBuffer
	exited chan error
}

// startBinary starts the binary's serve on db, in dir, and waits for its
// ready line.
func startBinary(t *testing.T, bin, dir, db string) *binaryServer {
	t.Helper()
	cmd := exec.Command(bin, "--db", db, "serve", "--addr", "127.0.0.1:0")
	cmd.Dir = dir
	s := &binaryServer{dir: dir, cmd: cmd, stderr: newWatchedBuffer(), exited: make(chan error, 1)}
	cmd.Stdout, cmd.Stderr = new(bytes.Buffer), s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { s.exited <- cmd.Wait() }()
	select {
	case m := <-s.stderr.ready:
		s.url = m[1]
	case err := <-s.exited:
		t.Fatalf("issuer serve exited before it was ready: %v\nstderr: %s", err, s.stderr)
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("issuer serve not ready after 30s\nstderr: %s", s.stderr)
	}
	t.Cleanup(func() { cmd.Process.Kill() })
	return s
}

// wait waits for the killed process to be gone, so that its lock is free.
func (s *binaryServer) wait(t *testing.T) {
	t.Helper()
	select {
	case <-s.exited:
	case <-time.After(30 * time.Second):
		t.Fatalf("issuer serve still running 30s after SIGKILL")
	}
}

// checkServed asks the restarted server for a token for every client
// whose setup was acknowledged in full: each must get one, with the role.
func checkServed(t *testing.T, srv *binaryServer, clients []*crashClient, home, apiURI, role string) {
	t.Helper()
	client := trusting(t, filepath.Join(srv.dir, caFileName))
	for _, c := range clients {
		if !c.added || c.secret == "" || !c.permission || !c.consented {
			continue
		}
		tok := clientToken(t, client, srv.url+"/"+home+"/oauth2/v2.0/token", c.appID, c.secret, apiURI+"/.default")
		if tok.status != 200 || !slices.Equal(tok.roles(), []string{role}) {
			t.Fatalf("after a restart, %s gets %d AADSTS%d roles %v; want a token with %s", c.name, tok.status, tok.code, tok.roles(), role)
		}
	}
	client.CloseIdleConnections()
}

// verifyAcknowledged opens the killed server's database as the next start
// would, runs the consistency check, and checks every acknowledged write.
func verifyAcknowledged(t *testing.T, cycle int, path string, clients []*crashClient, home, apiURI string) {
	t.Helper()
	ctx := context.Background()
	db, err := storage.Open(path, storage.Options{Timeout: 5 * time.Second})
	if err != nil {
		t.Fatalf("cycle %d: reopening after SIGKILL: %v", cycle, err)
	}
	defer db.Close()
	if err := db.Check(ctx); err != nil {
		t.Fatalf("cycle %d: after SIGKILL: %v", cycle, err)
	}
	dir := tenant.NewDirectory(db)
	homeT, err := dir.ResolveTenant(ctx, home)
	if err != nil {
		t.Fatal(err)
	}
	api, err := db.GetServicePrincipal(ctx, homeT.ID, mustFindApp(t, db, homeT.ID, apiURI))
	if err != nil {
		t.Fatal(err)
	}
	fail := func(c *crashClient, format string, args ...any) {
		t.Helper()
		t.Fatalf("cycle %d, %s: %s", cycle, c.name, fmt.Sprintf(format, args...))
	}
	for _, c := range clients {
		app, err := db.GetApplication(ctx, c.appID)
		switch {
		case err == nil:
			// Present, acknowledged or not: never without its home
			// service principal.
			if _, err := db.GetServicePrincipal(ctx, homeT.ID, c.appID); err != nil {
				fail(c, "application without its home service principal: %v", err)
			}
		case c.added:
			fail(c, "acknowledged application lost: %v", err)
		default:
			continue
		}
		if c.secret != "" {
			if err := app.VerifySecret(c.secret, time.Now()); err != nil || !slices.ContainsFunc(app.PasswordCredentials, func(p tenant.PasswordCredential) bool { return p.KeyID == c.secretKeyID }) {
				fail(c, "acknowledged secret %s lost: %v", c.secretKeyID, err)
			}
		}
		if c.permission && !slices.ContainsFunc(app.RequiredResourceAccess, func(r tenant.RequiredResourceAccess) bool { return len(r.ResourceAccess) > 0 }) {
			fail(c, "acknowledged required permission lost")
		}
		if c.consented {
			sp, err := db.GetServicePrincipal(ctx, homeT.ID, c.appID)
			if err != nil {
				fail(c, "%v", err)
			}
			held, err := db.AppRoleAssignmentsOf(ctx, homeT.ID, sp.ID, api.ID)
			if err != nil || len(held) != 1 {
				fail(c, "acknowledged consent lost: %d assignments, %v", len(held), err)
			}
		}
		if c.tenantAdded {
			if _, err := db.GetTenant(ctx, c.tenantID); err != nil {
				fail(c, "acknowledged tenant lost: %v", err)
			}
		}
		if c.userDone {
			if _, err := db.GetUserByUPN(ctx, c.tenantID, "u@"+c.tenantName+".onmicrosoft.com"); err != nil {
				fail(c, "acknowledged user lost: %v", err)
			}
		}
	}
}

// mustFindApp returns the appId of the application named uri in the tenant.
func mustFindApp(t *testing.T, db *storage.DB, tenantID, uri string) string {
	t.Helper()
	_, app, err := db.FindServicePrincipal(context.Background(), tenantID, uri)
	if err != nil {
		t.Fatal(err)
	}
	return app.AppID
}

// decodeList decodes a JSON array of objects.
func decodeList(t *testing.T, s string) []map[string]any {
	t.Helper()
	var out []map[string]any
	if err := json.Unmarshal([]byte(s), &out); err != nil || len(out) == 0 {
		t.Fatalf("not a JSON list of objects: %v\n%s", err, s)
	}
	return out
}

// TestRelativeOutputOverSocket runs the CLI as a separate process, in
// another directory than the server's: the files a command sent over the
// admin socket writes (db backup, cert create) are created relative to the
// CLI's working directory, as the user meant, not the server's.
func TestRelativeOutputOverSocket(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the binary")
	}
	bin := issuerBinary(t)
	serverDir, clientDir := shortTempDir(t), t.TempDir()
	db := filepath.Join(serverDir, "issuer.db")
	startBinary(t, bin, serverDir, db)
	cli := func(args ...string) string {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"--db", db}, args...)...)
		cmd.Dir = clientDir
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("issuer %v: %v\n%s", args, err, out)
		}
		return string(out)
	}
	cli("tenant", "add", "--name", "contoso")
	app := decode(t, cli("-o", "json", "app", "add", "--tenant", "contoso.onmicrosoft.com", "--name", "Daemon"))["appId"].(string)
	cli("db", "backup", "copy.db")
	cli("app", "cert", "create", "--app", app, "--out-cert", "daemon.pem", "--out-key", "daemon.key")
	for name, mode := range map[string]os.FileMode{"copy.db": 0o600, "daemon.pem": 0o644, "daemon.key": 0o600} {
		wantFile(t, filepath.Join(clientDir, name), mode)
		if _, err := os.Stat(filepath.Join(serverDir, name)); !os.IsNotExist(err) {
			t.Errorf("%s was created in the server's directory (%v)", name, err)
		}
	}
	wantTenantIn(t, filepath.Join(clientDir, "copy.db"), "contoso.onmicrosoft.com")
}
