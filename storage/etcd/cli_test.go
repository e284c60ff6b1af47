package etcd_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/storage/etcd/etcdtest"
)

// TestCLIRefusesBadStores: a typo in the store URL, an unreachable etcd, a
// missing or short key-encryption key, a prefix holding no directory: each
// is one clear line on stderr and its exit status, and nothing is written.
func TestCLIRefusesBadStores(t *testing.T) {
	ep := etcdtest.Start(t)
	d := newDeployment(t, []string{ep}, "/bad")
	short := filepath.Join(t.TempDir(), "short")
	os.WriteFile(short, []byte("too short"), 0o600)
	base := []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	for _, tc := range []struct {
		name string
		env  []string
		args []string
		code int
		want string
	}{
		{"typo in the scheme", []string{"ISSUER_STORE=etcd:/" + ep, "ISSUER_KEY_ENCRYPTION_KEY_FILE=" + d.kek}, []string{"tenant", "list"}, 2, "unknown kind of store"},
		{"no port", []string{"ISSUER_STORE=etcd://127.0.0.1/issuer", "ISSUER_KEY_ENCRYPTION_KEY_FILE=" + d.kek}, []string{"tenant", "list"}, 2, "is not HOST:PORT"},
		{"bolt without a path", []string{"ISSUER_STORE=bolt:"}, []string{"tenant", "list"}, 2, "no path"},
		{"store and db", []string{"ISSUER_STORE=etcd://" + ep}, []string{"--db", "x.db", "tenant", "list"}, 2, "not both"},
		{"missing key-encryption key", []string{"ISSUER_STORE=etcd://" + ep + "/bad"}, []string{"serve", "--addr", "127.0.0.1:0"}, 2, "--key-encryption-key-file is required"},
		{"short key-encryption key", []string{"ISSUER_STORE=etcd://" + ep + "/bad", "ISSUER_KEY_ENCRYPTION_KEY_FILE=" + short}, []string{"serve", "--addr", "127.0.0.1:0"}, 1, "want at least 32"},
		{"unreachable", []string{"ISSUER_STORE=etcd://127.0.0.1:1/bad", "ISSUER_KEY_ENCRYPTION_KEY_FILE=" + d.kek}, []string{"tenant", "add", "--name", "contoso"}, 1, "does not answer"},
		{"wrong prefix", []string{"ISSUER_STORE=etcd://" + ep + "/typo", "ISSUER_KEY_ENCRYPTION_KEY_FILE=" + d.kek}, []string{"tenant", "add", "--name", "contoso"}, 1, "no issuer directory there"},
		{"a transaction limit below 2", []string{"ISSUER_STORE=etcd://" + ep + "/bad", "ISSUER_KEY_ENCRYPTION_KEY_FILE=" + d.kek}, []string{"--etcd-max-txn-ops", "1", "tenant", "list"}, 2, "--etcd-max-txn-ops 1"},
		{"clock needs a server", []string{"ISSUER_STORE=etcd://" + ep + "/bad", "ISSUER_KEY_ENCRYPTION_KEY_FILE=" + d.kek}, []string{"clock", "show"}, 1, "need a running server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := d.runEnv(append(base, tc.env...), tc.args...)
			lines := strings.Split(strings.TrimSpace(r.stderr), "\n")
			if r.code != tc.code || !strings.Contains(lines[0], tc.want) {
				t.Fatalf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tc.code, tc.want)
			}
			if tc.code == 1 && len(lines) != 1 {
				t.Errorf("want one line, got %q", r.stderr)
			}
		})
	}
	for _, p := range []string{"/bad/", "/typo/"} {
		if n := countKeys(t, []string{ep}, p); n != 0 {
			t.Errorf("%d keys written under %s", n, p)
		}
	}
}

// TestCopyRoundTrip moves a directory from a bolt file into etcd and back:
// the exports are the same, the copies pass db check, and the secret
// copied as a hash still authenticates (explain finds the client).
func TestCopyRoundTrip(t *testing.T) {
	ep := etcdtest.Start(t)
	d := newDeployment(t, []string{ep}, "/copy")
	file := filepath.Join(d.dir, "a.db")
	bolt := func(args ...string) string {
		return d.mustEnv([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + d.dir, "ISSUER_KEY_ENCRYPTION_KEY_FILE=" + d.kek}, args...)
	}
	tid := d.jsonOf("id", bolt("-o", "json", "--db", file, "tenant", "add", "--name", "contoso"))
	bolt("--db", file, "app", "add", "--tenant", tid, "--name", "Orders API", "--identifier-uri", "api://orders")
	app := d.jsonOf("appId", bolt("-o", "json", "--db", file, "app", "add", "--tenant", tid, "--name", "Job"))
	bolt("--db", file, "app", "secret", "add", "--app", app)
	bolt("--db", file, "user", "add", "--tenant", tid, "--upn", "alice@contoso.onmicrosoft.com", "--password", "S3cret!pass")
	bolt("--db", file, "keys", "rotate")
	want := bolt("--db", file, "export")

	bolt("db", "copy", "--from", "bolt:"+file, "--to", "etcd://"+ep+"/copy")
	if got := d.must("export"); got != want {
		t.Fatalf("export from etcd differs:\n%s\nwant\n%s", got, want)
	}
	if got, want := d.must("keys", "list"), bolt("--db", file, "keys", "list"); got != want {
		t.Fatalf("keys in etcd:\n%s\nwant\n%s", got, want)
	}
	back := filepath.Join(d.dir, "back.db")
	bolt("db", "copy", "--from", "etcd://"+ep+"/copy", "--to", "bolt:"+back)
	if got := bolt("--db", back, "export"); got != want {
		t.Fatalf("export of the copy back differs:\n%s", got)
	}
	bolt("db", "check", back)
	if a, b := bolt("--db", back, "app", "secret", "list", "--app", app), bolt("--db", file, "app", "secret", "list", "--app", app); a != b {
		t.Fatalf("secrets: %s, want %s", a, b)
	}
	// Refusals: a target that is not new.
	for _, tc := range []struct{ name, from, to, want string }{
		{"etcd prefix not empty", "bolt:" + file, "etcd://" + ep + "/copy", "is not empty"},
		{"file exists", "etcd://" + ep + "/copy", "bolt:" + back, "exists"},
		{"same store", "bolt:" + file, "bolt:" + file, "same store"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := d.runEnv([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + d.dir, "ISSUER_KEY_ENCRYPTION_KEY_FILE=" + d.kek}, "db", "copy", "--from", tc.from, "--to", tc.to)
			if r.code == 0 || !strings.Contains(r.stderr, tc.want) {
				t.Fatalf("exit %d, %q; want a refusal with %q", r.code, r.stderr, tc.want)
			}
		})
	}
}

func (d *deployment) mustEnv(env []string, args ...string) string {
	d.t.Helper()
	r := d.runEnv(env, args...)
	if r.code != 0 {
		d.t.Fatalf("issuer %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// TestReplicasHonourRevocation runs three replicas on one etcd: each issues
// tokens; a service principal disabled by a CLI command is refused by
// every replica's next request. It logs how long after the command
// returned each replica first refused (the figure README's section
// quotes).
func TestReplicasHonourRevocation(t *testing.T) {
	ep := etcdtest.Start(t)
	d := newDeployment(t, []string{ep}, "/replicas")
	first := d.serve() // creates the directory, its key and CA
	dm := d.setup()
	replicas := []*replica{first, d.serve(), d.serve()}
	waitTokens(t, replicas, dm, 30*time.Second)
	// Requests race the revocation on every replica; none that starts
	// after the command returned may get a token.
	stop := make(chan struct{})
	results := load(replicas, dm, stop)
	time.Sleep(200 * time.Millisecond)
	d.must("sp", "update", "--tenant", dm.tenant, "--app", dm.appID, "--enabled=false")
	revokedAt := time.Now()
	time.Sleep(300 * time.Millisecond)
	close(stop)
	firstRefusal := make([]time.Duration, len(replicas))
	for _, o := range results() {
		switch {
		case o.err != nil:
			t.Errorf("replica %d: %v", o.replica, o.err)
		case o.code == 0 && o.start.After(revokedAt):
			t.Errorf("replica %d issued a token for a request that started %v after the revocation was acknowledged", o.replica, o.start.Sub(revokedAt))
		case o.code != 0 && o.code != 7000112:
			t.Errorf("replica %d: AADSTS%d", o.replica, o.code)
		case o.code == 7000112 && firstRefusal[o.replica] == 0:
			firstRefusal[o.replica] = o.end.Sub(revokedAt)
		}
	}
	t.Logf("first refusal per replica, relative to the revoking command's exit (negative: refused before the CLI process had exited): %v", firstRefusal)
	for i, r := range replicas {
		if status, code, err := r.token(context.Background(), dm); err != nil || code != 7000112 {
			t.Errorf("replica %d after the revocation: %d AADSTS%d %v, want AADSTS7000112", i, status, code, err)
		}
	}
}

// TestRotationOncePerCluster runs two replicas that both rotate the signing
// key every second: between them the cluster rotates about once a second,
// not twice, and every replica publishes every key another one signs with.
func TestRotationOncePerCluster(t *testing.T) {
	ep := etcdtest.Start(t)
	d := newDeployment(t, []string{ep}, "/rotate")
	a := d.serve("--rotate-every", "1s")
	time.Sleep(300 * time.Millisecond) // out of phase with a
	b := d.serve("--rotate-every", "1s")
	start := time.Now()
	time.Sleep(4500 * time.Millisecond)
	a.kill()
	b.kill()
	elapsed := time.Since(start)
	var keys []any
	if err := json.Unmarshal([]byte(d.must("-o", "json", "keys", "list")), &keys); err != nil {
		t.Fatal(err)
	}
	// The first key, then one per second of the run at most (a late timer
	// may skip one); two replicas rotating each would make twice as many.
	rotations := len(keys) - 1
	if max := int(elapsed/time.Second) + 1; rotations < 2 || rotations > max {
		t.Fatalf("%d rotations in %v by two replicas rotating every second; want 2 to %d", rotations, elapsed, max)
	}
	t.Logf("%d rotations in %v", rotations, elapsed)
}

// TestClockSharedByReplicas: replicas started with --clock frozen share
// one clock. One started later adopts the cluster's time; `issuer clock`
// sent to one replica moves every replica's, which a command sent to
// another right after the first returned already sees.
func TestClockSharedByReplicas(t *testing.T) {
	ep := etcdtest.Start(t)
	d := newDeployment(t, []string{ep}, "/clock")
	token := filepath.Join(d.dir, "admin-token")
	if err := os.WriteFile(token, []byte("an-admin-token-for-the-clock-test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	flags := []string{"--clock", "frozen", "--admin-token-file", token}
	a := d.serve(flags...)
	time.Sleep(1100 * time.Millisecond) // b's own start time would differ
	b := d.serve(flags...)
	clock := func(r *replica, args ...string) time.Time {
		t.Helper()
		out := d.mustJSON("now", append([]string{"--server", r.url, "--admin-token-file", token, "--ca-file", r.ca, "clock"}, args...)...)
		at, err := time.Parse(time.RFC3339Nano, out)
		if err != nil {
			t.Fatalf("clock %v: now %q: %v", args, out, err)
		}
		return at
	}
	start := clock(a, "show")
	if got := clock(b, "show"); !got.Equal(start) {
		t.Fatalf("b started at %v; want the cluster's %v", got, start)
	}
	for _, step := range []struct {
		name   string
		on, at *replica
		args   []string
		want   time.Time
	}{
		{"advance on a, seen on b", a, b, []string{"advance", "2h"}, start.Add(2 * time.Hour)},
		{"advance on b, seen on a", b, a, []string{"advance", "90d"}, start.Add(2*time.Hour + 90*24*time.Hour)},
		{"set on a, seen on b", a, b, []string{"set", "2030-01-01T00:00:00Z"}, time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)},
	} {
		// One test: the deployment's helpers fail the test that made it.
		if got := clock(step.on, step.args...); !got.Equal(step.want) {
			t.Fatalf("%s: clock %v = %v; want %v", step.name, step.args, got, step.want)
		}
		if got := clock(step.at, "show"); !got.Equal(step.want) {
			t.Errorf("%s: the other replica's clock = %v; want %v", step.name, got, step.want)
		}
	}
}
