// Package etcdtest runs real etcd servers for tests: one member in the test
// process (Start), or a cluster of members each in its own process
// (StartCluster), made by re-running the test binary as an etcd member, so
// that a test can kill one. Both are etcd's own server (go.etcd.io/etcd's
// embed package): no etcd binary needs installing. Members listen on free
// loopback ports and keep their data in t.TempDir().
//
// A test binary that uses StartCluster calls MaybeMember first thing in its
// TestMain, which turns the process into a member when the cluster asked
// for one.
package etcdtest

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"strings"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/server/v3/embed"
	"go.uber.org/zap"
)

// freePort returns a loopback port nobody listens on at the moment.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

func mustURL(s string) url.URL {
	u, err := url.Parse(s)
	if err != nil {
		panic(err)
	}
	return *u
}

// memberConfig is one member's configuration: name, data directory, client
// and peer URLs, and the initial cluster of all members.
func memberConfig(name, dir, client, peer, cluster string) *embed.Config {
	cfg := embed.NewConfig()
	cfg.Name = name
	cfg.Dir = dir
	cfg.ListenClientUrls = []url.URL{mustURL(client)}
	cfg.AdvertiseClientUrls = cfg.ListenClientUrls
	cfg.ListenPeerUrls = []url.URL{mustURL(peer)}
	cfg.AdvertisePeerUrls = cfg.ListenPeerUrls
	cfg.InitialCluster = cluster
	cfg.InitialClusterToken = "issuer-test"
	cfg.LogLevel = "error"
	cfg.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	// Quick elections, so that a fault test recovers in about a second.
	cfg.TickMs = 50
	cfg.ElectionMs = 500
	return cfg
}

// Start runs a one-member etcd in the test process and returns its client
// endpoint (host:port). It stops at the end of the test.
func Start(t testing.TB) string {
	t.Helper()
	return StartWith(t, nil)
}

// StartWith is Start with the member's configuration changed by configure
// (a raised --max-txn-ops, say) when it is not nil.
func StartWith(t testing.TB, configure func(*embed.Config)) string {
	t.Helper()
	client := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	peer := fmt.Sprintf("http://127.0.0.1:%d", freePort(t))
	cfg := memberConfig("solo", t.TempDir(), client, peer, "solo="+peer)
	if configure != nil {
		configure(cfg)
	}
	e, err := embed.StartEtcd(cfg)
	if err != nil {
		t.Fatalf("etcd: %v", err)
	}
	t.Cleanup(e.Close)
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		t.Fatalf("etcd: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("etcd did not start in 30s")
	}
	return strings.TrimPrefix(client, "http://")
}

// memberEnv holds a member's configuration in the environment of a
// re-run test binary: name, dir, client URL, peer URL, initial cluster.
const memberEnv = "ISSUER_ETCDTEST_MEMBER"

// MaybeMember runs this process as an etcd member, and never returns, when
// StartCluster started it as one; otherwise it returns at once. Call it
// first in TestMain.
func MaybeMember() {
	spec := os.Getenv(memberEnv)
	if spec == "" {
		return
	}
	f := strings.Split(spec, "\t")
	if len(f) != 5 {
		fmt.Fprintln(os.Stderr, "etcdtest: bad", memberEnv)
		os.Exit(2)
	}
	e, err := embed.StartEtcd(memberConfig(f[0], f[1], f[2], f[3], f[4]))
	if err != nil {
		fmt.Fprintln(os.Stderr, "etcdtest:", err)
		os.Exit(1)
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, syscall.SIGINT)
	select {
	case <-e.Server.ReadyNotify():
		fmt.Println("ready")
	case err := <-e.Err():
		fmt.Fprintln(os.Stderr, "etcdtest:", err)
		os.Exit(1)
	}
	// A member whose test died must not outlive it: stdin closes then.
	go func() {
		bufio.NewReader(os.Stdin).ReadString('\n')
		stop <- syscall.SIGTERM
	}()
	select {
	case <-stop:
	case err := <-e.Err():
		fmt.Fprintln(os.Stderr, "etcdtest:", err)
	}
	e.Close()
	os.Exit(0)
}

// Member is one etcd process of a cluster.
type Member struct {
	Name     string
	Endpoint string // host:port of its client URL
	exe      string
	env      string // its memberEnv value
	cmd      *exec.Cmd
	stdin    io.Closer
}

// start runs the member's process and returns a channel that receives nil
// once it is ready, or why it is not.
func (m *Member) start(t testing.TB) <-chan error {
	t.Helper()
	cmd := exec.Command(m.exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), memberEnv+"="+m.env)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	m.cmd, m.stdin = cmd, stdin
	ready := make(chan error, 1)
	go func() {
		line, err := bufio.NewReader(stdout).ReadString('\n')
		if err == nil && strings.TrimSpace(line) != "ready" {
			err = fmt.Errorf("member %s said %q", m.Name, line)
		}
		ready <- err
	}()
	return ready
}

// Kill stops the member at once (SIGKILL), as a crash would.
func (m *Member) Kill() {
	if m.cmd != nil && m.cmd.Process != nil {
		m.stdin.Close()
		m.cmd.Process.Kill()
		m.cmd.Wait()
	}
}

// Restart starts a killed member again on its data, and waits until it
// has joined the cluster (which needs a quorum of members up).
func (m *Member) Restart(t testing.TB) {
	t.Helper()
	select {
	case err := <-m.start(t):
		if err != nil {
			t.Fatalf("etcdtest: %v", err)
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("etcdtest: member %s did not restart in 60s", m.Name)
	}
}

// Cluster is a running cluster of member processes.
type Cluster struct {
	Members []*Member
}

// Endpoints lists the members' client endpoints.
func (c *Cluster) Endpoints() []string {
	out := make([]string, len(c.Members))
	for i, m := range c.Members {
		out[i] = m.Endpoint
	}
	return out
}

// Leader returns the member that leads the cluster now.
func (c *Cluster) Leader(t testing.TB) *Member {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: c.Endpoints(), DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	for _, m := range c.Members {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		st, err := cli.Status(ctx, m.Endpoint)
		cancel()
		if err != nil {
			continue
		}
		for _, o := range c.Members {
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			ost, err := cli.Status(ctx, o.Endpoint)
			cancel()
			if err == nil && ost.Header.MemberId == st.Leader {
				return o
			}
		}
	}
	t.Fatal("etcdtest: no leader")
	return nil
}

// StartCluster starts n members, each a process running this test binary
// (see MaybeMember), and waits until all are ready. They are killed at the
// end of the test.
func StartCluster(t testing.TB, n int) *Cluster {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	type spec struct{ name, client, peer string }
	specs := make([]spec, n)
	var cluster []string
	for i := range specs {
		specs[i] = spec{
			name:   fmt.Sprintf("m%d", i),
			client: fmt.Sprintf("http://127.0.0.1:%d", freePort(t)),
			peer:   fmt.Sprintf("http://127.0.0.1:%d", freePort(t)),
		}
		cluster = append(cluster, specs[i].name+"="+specs[i].peer)
	}
	c := &Cluster{}
	var ready []<-chan error
	for _, sp := range specs {
		m := &Member{
			Name: sp.name, Endpoint: strings.TrimPrefix(sp.client, "http://"), exe: exe,
			env: strings.Join([]string{sp.name, t.TempDir(), sp.client, sp.peer, strings.Join(cluster, ",")}, "\t"),
		}
		c.Members = append(c.Members, m)
		t.Cleanup(m.Kill)
		ready = append(ready, m.start(t))
	}
	timeout := time.After(60 * time.Second)
	for _, r := range ready {
		select {
		case err := <-r:
			if err != nil {
				t.Fatalf("etcdtest: %v", err)
			}
		case <-timeout:
			t.Fatal("etcdtest: the cluster did not start in 60s")
		}
	}
	return c
}
