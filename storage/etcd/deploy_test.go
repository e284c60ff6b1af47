package etcd_test

// Tests of a deployment on etcd with the real binary: `issuer serve`
// replicas and CLI commands as separate processes sharing one directory.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// issuerBinary builds cmd/issuer once per test run.
func issuerBinary(t *testing.T) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "issuer-etcd-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "issuer")
		out, err := exec.Command("go", "build", "-o", binPath, "github.com/issuer-dev/issuer/cmd/issuer").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// deployment is a directory in etcd and the files its processes share.
type deployment struct {
	t     *testing.T
	bin   string
	store string // --store URL
	kek   string // key-encryption key file
	dir   string // working directory of the CLI
}

func newDeployment(t *testing.T, endpoints []string, prefix string) *deployment {
	dir := t.TempDir()
	kek := filepath.Join(dir, "kek")
	if err := os.WriteFile(kek, []byte("a-key-encryption-key-of-the-deployment-test\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return &deployment{t: t, bin: issuerBinary(t), store: "etcd://" + strings.Join(endpoints, ",") + prefix, kek: kek, dir: dir}
}

// env is the environment of the deployment's processes.
func (d *deployment) env() []string {
	return append(os.Environ(), "ISSUER_STORE="+d.store, "ISSUER_KEY_ENCRYPTION_KEY_FILE="+d.kek)
}

type result struct {
	stdout, stderr string
	code           int
}

// run runs a CLI command with the deployment's environment plus env.
func (d *deployment) runEnv(env []string, args ...string) result {
	cmd := exec.Command(d.bin, args...)
	cmd.Dir = d.dir
	cmd.Env = env
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	r := result{stdout: out.String(), stderr: errb.String()}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		r.code = ee.ExitCode()
	case err != nil:
		d.t.Fatalf("issuer %v: %v", args, err)
	}
	return r
}

func (d *deployment) run(args ...string) result { return d.runEnv(d.env(), args...) }

// must runs a command that has to succeed and returns its stdout.
func (d *deployment) must(args ...string) string {
	d.t.Helper()
	r := d.run(args...)
	if r.code != 0 {
		d.t.Fatalf("issuer %s: exit %d: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

// mustJSON runs a command with -o json and returns the member name of its
// output object.
func (d *deployment) mustJSON(member string, args ...string) string {
	d.t.Helper()
	out := d.must(append([]string{"-o", "json"}, args...)...)
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		d.t.Fatalf("issuer %v: %v: %s", args, err, out)
	}
	s, _ := m[member].(string)
	return s
}

// replica is one `issuer serve` process.
type replica struct {
	url    string
	ca     string // the CA file its ready line names
	client *http.Client
	cmd    *exec.Cmd
	done   chan struct{}
}

var readyLine = regexp.MustCompile(`listening on (https://127\.0\.0\.1:\d+) \(ca: ([^,]+),`)

// serve starts a replica on a free port and waits for its ready line.
func (d *deployment) serve(extra ...string) *replica {
	d.t.Helper()
	wd := d.t.TempDir()
	cmd := exec.Command(d.bin, append([]string{"serve", "--addr", "127.0.0.1:0"}, extra...)...)
	cmd.Dir = wd
	cmd.Env = d.env()
	stderr, err := cmd.StderrPipe()
	if err != nil {
		d.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		d.t.Fatal(err)
	}
	r := &replica{cmd: cmd, done: make(chan struct{})}
	d.t.Cleanup(r.kill)
	lines := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sent := false
		for sc.Scan() {
			if !sent && readyLine.MatchString(sc.Text()) {
				lines <- sc.Text()
				sent = true
			}
		}
		close(r.done)
	}()
	select {
	case line := <-lines:
		m := readyLine.FindStringSubmatch(line)
		r.url, r.ca = m[1], m[2]
		pem, err := os.ReadFile(m[2])
		if err != nil {
			d.t.Fatal(err)
		}
		pool := x509.NewCertPool()
		pool.AppendCertsFromPEM(pem)
		r.client = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	case <-r.done:
		d.t.Fatal("issuer serve exited before it was ready")
	case <-time.After(60 * time.Second):
		d.t.Fatal("issuer serve was not ready in 60s")
	}
	return r
}

// kill stops the replica at once (SIGKILL).
func (r *replica) kill() {
	if r.cmd.Process != nil {
		r.cmd.Process.Kill()
		r.cmd.Wait()
	}
}

// daemon is a client with a secret, and the resource it asks a token for.
type daemon struct {
	tenant, appID, secret, scope string
}

// token asks r for a client-credentials token; it returns the HTTP status
// and the AADSTS code of a refusal (0 for a token).
func (r *replica) token(ctx context.Context, dm daemon) (int, int, error) {
	form := url.Values{"grant_type": {"client_credentials"}, "client_id": {dm.appID}, "client_secret": {dm.secret}, "scope": {dm.scope}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, r.url+"/"+dm.tenant+"/oauth2/v2.0/token", strings.NewReader(form.Encode()))
	if err != nil {
		return 0, 0, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := r.client.Do(req)
	if err != nil {
		return 0, 0, err
	}
	defer resp.Body.Close()
	var body struct {
		AccessToken string `json:"access_token"`
		ErrorCodes  []int  `json:"error_codes"`
	}
	b, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(b, &body); err != nil {
		return resp.StatusCode, 0, fmt.Errorf("%d %s", resp.StatusCode, b)
	}
	if resp.StatusCode == http.StatusOK && body.AccessToken != "" {
		return resp.StatusCode, 0, nil
	}
	if len(body.ErrorCodes) == 0 {
		return resp.StatusCode, 0, fmt.Errorf("%d without error_codes: %s", resp.StatusCode, b)
	}
	return resp.StatusCode, body.ErrorCodes[0], nil
}

// setup registers an API and a daemon with a secret through the CLI.
func (d *deployment) setup() daemon {
	d.t.Helper()
	tid := d.mustJSON("id", "tenant", "add", "--name", "contoso")
	d.must("app", "add", "--tenant", tid, "--name", "Orders API", "--identifier-uri", "api://orders", "--token-version", "2")
	app := d.mustJSON("appId", "app", "add", "--tenant", tid, "--name", "Nightly Job")
	secret := d.mustJSON("secretText", "app", "secret", "add", "--app", app)
	return daemon{tenant: tid, appID: app, secret: secret, scope: "api://orders/.default"}
}

// countKeys counts etcd's keys under prefix.
func countKeys(t *testing.T, endpoints []string, prefix string) int64 {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	resp, err := cli.Get(context.Background(), prefix, clientv3.WithPrefix(), clientv3.WithCountOnly())
	if err != nil {
		t.Fatal(err)
	}
	return resp.Count
}

// jsonOf returns the string member name of a JSON object.
func (d *deployment) jsonOf(member, out string) string {
	d.t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(out), &m); err != nil {
		d.t.Fatalf("%v: %s", err, out)
	}
	s, _ := m[member].(string)
	return s
}
