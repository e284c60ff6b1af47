package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/issuer/bench"
	"github.com/issuer-dev/issuer/signing"
	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// benchCommand is `issuer bench`: the load test of the token endpoint.
func benchCommand() *cli.Command {
	return &cli.Command{
		Name:  "bench",
		Usage: "measure token throughput, latency, cold start and memory of issuer serve",
		Description: `Without --url, bench provisions a temporary database (a tenant with a daemon
and an API it holds an app role on, plus --tenants filler tenants of --apps
applications each), starts this binary's 'issuer serve' on it in a child
process and measures:

  cold start   process start to the first token served (the bench polls the
               token endpoint from the moment it spawns the server)
  peak RSS     the server's VmHWM, read before it is stopped
  raw RS256    signatures per second of the server's signer backend on one
               core, in a tight loop of this process (on the server's CPU
               while the server is idle, with --cpu)
  per level    client-credentials requests over HTTPS keep-alive from
               CONCURRENCY workers for --duration after a warm-up: tokens/s,
               their ratio to the raw signing rate, p50/p90/p99/max latency,
               errors

With --url, the same levels run against a server you started, with the
client you name (--tenant, --client-id, --client-secret, --scope; --ca when
its CA is not in the system roots); cold start and RSS are not measured.

--cpu N pins the server to CPU N (taskset -c N, or the same affinity set
before the child starts when taskset is missing) and the load generator to
the other CPUs, so that the two do not share a core.

EXAMPLES
   issuer bench
   issuer bench --cpu 1 --signer openssl --concurrency 1,8,64 --duration 5s
   issuer bench --cpu 1 --tenants 10000 --apps 10 -o json
   issuer bench --url https://127.0.0.1:8443 --ca issuer-ca.pem --tenant contoso.onmicrosoft.com \
     --client-id APPID --client-secret SECRET --scope api://orders/.default`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "concurrency", Usage: "comma-separated `LEVELS` of concurrent clients", Value: "1,8,64"},
			&cli.DurationFlag{Name: "duration", Usage: "measured time of each level", Value: 5 * time.Second},
			&cli.DurationFlag{Name: "warmup", Usage: "unmeasured time before each level", DefaultText: "a fifth of --duration, at most 1s"},
			&cli.GenericFlag{Name: "signer", Usage: "the server's RS256 implementation: auto, go or openssl (passed to serve)", Value: &choice{allowed: []string{signing.Auto, signing.Go, signing.OpenSSL}, value: signing.Auto}},
			&cli.IntFlag{Name: "token-concurrency", Usage: "passed to serve: token requests computed at once (0: one per CPU; -1: unbounded)"},
			&cli.IntFlag{Name: "cpu", Usage: "pin the server to `CPU` and the load generator to the others (-1: no pinning)", Value: -1},
			&cli.IntFlag{Name: "tenants", Usage: "filler tenants to seed besides the bench tenant (bulk path)"},
			&cli.IntFlag{Name: "apps", Usage: "applications per filler tenant", Value: 10},
			&cli.DurationFlag{Name: "sign-time", Usage: "how long the raw signing rate is measured", Value: time.Second},
			&cli.BoolFlag{Name: "keep", Usage: "keep the temporary directory (database, CA, server log) and print its path"},
			&cli.StringFlag{Name: "url", Usage: "measure the server at `URL` instead of starting one"},
			&cli.StringFlag{Name: "tenant", Usage: "with --url: the tenant (id or domain)"},
			&cli.StringFlag{Name: "client-id", Usage: "with --url: a confidential client's appId"},
			&cli.StringFlag{Name: "client-secret", Usage: "with --url: its client secret", EnvVars: []string{"ISSUER_BENCH_CLIENT_SECRET"}},
			&cli.StringFlag{Name: "scope", Usage: "with --url: the scope, e.g. api://orders/.default"},
			&cli.PathFlag{Name: "ca", Usage: "with --url: trust this CA certificate (PEM `FILE`)"},
		},
		Action: benchAction,
	}
}

// benchOptions are the bench flags, checked.
type benchOptions struct {
	levels           []int
	duration         time.Duration
	warmup           time.Duration
	signer           string
	tokenConcurrency int
	cpu              int
	tenants, apps    int
	signTime         time.Duration
	keep             bool
	url              string
	target           bench.Target
	caFile           string
}

// maxBenchDuration bounds --duration and --warmup: a level always ends.
const maxBenchDuration = 10 * time.Minute

func benchOptionsFrom(c *cli.Context) (benchOptions, error) {
	o := benchOptions{
		duration: c.Duration("duration"), warmup: c.Duration("warmup"),
		signer: c.Generic("signer").(*choice).value, tokenConcurrency: c.Int("token-concurrency"),
		cpu: c.Int("cpu"), tenants: c.Int("tenants"), apps: c.Int("apps"),
		signTime: c.Duration("sign-time"), keep: c.Bool("keep"), url: strings.TrimSuffix(c.String("url"), "/"),
		target: bench.Target{Tenant: c.String("tenant"), ClientID: c.String("client-id"),
			ClientSecret: c.String("client-secret"), Scope: c.String("scope")},
		caFile: c.Path("ca"),
	}
	for _, f := range strings.Split(c.String("concurrency"), ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 4096 {
			return o, usageError("--concurrency %q: want comma-separated counts from 1 to 4096, e.g. 1,8,64", c.String("concurrency"))
		}
		o.levels = append(o.levels, n)
	}
	switch {
	case o.duration <= 0 || o.duration > maxBenchDuration:
		return o, usageError("--duration must be positive and at most %s", maxBenchDuration)
	case o.warmup < 0 || o.warmup > maxBenchDuration:
		return o, usageError("--warmup must be between 0 and %s", maxBenchDuration)
	case o.signTime <= 0 || o.signTime > time.Minute:
		return o, usageError("--sign-time must be positive and at most 1m")
	case o.tenants < 0 || o.tenants > 1_000_000 || o.apps < 0 || o.apps > 1000:
		return o, usageError("--tenants must be 0 to 1000000 and --apps 0 to 1000")
	case o.cpu < -1:
		return o, usageError("--cpu must be a CPU number, or -1 for no pinning")
	}
	if !c.IsSet("warmup") {
		o.warmup = min(o.duration/5, time.Second)
	}
	if o.url == "" {
		for _, name := range []string{"tenant", "client-id", "client-secret", "scope", "ca"} {
			if c.IsSet(name) {
				return o, usageError("--%s goes with --url", name)
			}
		}
		return o, nil
	}
	for _, name := range []string{"tenants", "cpu", "signer", "token-concurrency", "keep"} {
		if c.IsSet(name) {
			return o, usageError("--%s applies to the server bench starts, not to --url", name)
		}
	}
	if err := o.target.Check(); err != nil {
		return o, usageError("--url needs --tenant, --client-id, --client-secret and --scope")
	}
	return o, nil
}

// benchReport is what bench prints; -o json prints it as one object.
type benchReport struct {
	Target        string     `json:"target"` // "spawned" or the --url
	Machine       machine    `json:"machine"`
	LoadAvgStart  [3]float64 `json:"load_average_start"`
	LoadAvgEnd    [3]float64 `json:"load_average_end"`
	Signer        string     `json:"signer"`
	SignerVersion string     `json:"signer_version"`
	ServerCPU     *int       `json:"server_cpu,omitempty"`
	Directory     *directory `json:"directory,omitempty"`
	ColdStartMs   float64    `json:"cold_start_ms,omitempty"`
	PeakRSSMiB    float64    `json:"peak_rss_mib,omitempty"`
	RawSignPerSec float64    `json:"raw_sign_per_sec"`
	// Ratio is the throughput of the highest concurrency level over the
	// raw signing rate of one core.
	Ratio  float64       `json:"ratio"`
	Levels []bench.Level `json:"levels"`
}

type machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
	Go       string `json:"go"`
}

type directory struct {
	Tenants      int     `json:"tenants"`
	Applications int     `json:"applications"`
	SeedSeconds  float64 `json:"seed_seconds,omitempty"`
}

func benchAction(c *cli.Context) error {
	if err := refuseInServer(c, "bench"); err != nil {
		return err
	}
	if _, err := requireArgs(c); err != nil {
		return err
	}
	o, err := benchOptionsFrom(c)
	if err != nil {
		return err
	}
	rep := benchReport{Target: "spawned", Machine: machineInfo(), LoadAvgStart: loadAverage()}
	if o.url != "" {
		rep.Target = o.url
		err = benchURL(c.Context, o, &rep)
	} else {
		err = benchSpawned(c, o, &rep)
	}
	if err != nil {
		return err
	}
	rep.LoadAvgEnd = loadAverage()
	if rep.RawSignPerSec > 0 {
		for i := range rep.Levels {
			rep.Levels[i].RatioToRaw = rep.Levels[i].TokensPerSec / rep.RawSignPerSec
		}
		rep.Ratio = rep.Levels[len(rep.Levels)-1].RatioToRaw
	}
	if isJSON(c) {
		return writeJSON(c.App.Writer, rep)
	}
	return printBench(c.App.Writer, rep)
}

// benchURL measures a server someone else started.
func benchURL(ctx context.Context, o benchOptions, rep *benchReport) error {
	var caPEM []byte
	if o.caFile != "" {
		var err error
		if caPEM, err = os.ReadFile(o.caFile); err != nil {
			return fmt.Errorf("--ca: %w", err)
		}
	}
	client, err := bench.NewClient(caPEM, max(o.levels[len(o.levels)-1], 64))
	if err != nil {
		return err
	}
	name := o.signer
	if reported, err := healthSigner(ctx, client, o.url); err == nil {
		name = reported
	}
	if err := measureSigner(name, -1, o.signTime, rep); err != nil {
		return err
	}
	rep.Levels = runLevels(ctx, bench.TokenRequest(client, o.url, o.target), o, nil)
	return nil
}

// benchSpawned provisions a temporary database, starts `issuer serve` on it
// and measures it.
func benchSpawned(c *cli.Context, o benchOptions, rep *benchReport) (err error) {
	ctx := c.Context
	tmp, err := os.MkdirTemp("", "issuer-bench-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintf(c.App.ErrWriter, "issuer: bench: keeping %s\n", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}
	dbFile := filepath.Join(tmp, "issuer.db")
	target, caPEM, dir, err := provisionBench(ctx, dbFile, o)
	if err != nil {
		return err
	}
	rep.Directory = dir
	// Seeding a large directory leaves garbage in this process, the load
	// generator; collecting it now keeps its collections out of the
	// latencies measured.
	debug.FreeOSMemory()

	if o.cpu >= 0 {
		rep.ServerCPU = &o.cpu
		if others := otherCPUs(o.cpu); len(others) > 0 {
			if err := bench.PinProcess(others); err != nil {
				fmt.Fprintf(c.App.ErrWriter, "issuer: bench: the load generator stays unpinned: %v\n", err)
			}
		}
	}
	client, err := bench.NewClient(caPEM, max(o.levels[len(o.levels)-1], 64))
	if err != nil {
		return err
	}
	srv, err := startBenchServer(dbFile, o)
	if err != nil {
		return err
	}
	defer func() {
		if serr := srv.stop(); serr != nil && err == nil {
			err = serr
		}
		if err != nil {
			err = fmt.Errorf("%w\nserver log (%s):\n%s", err, srv.logPath, tail(srv.logPath, 20))
		}
	}()
	base := "https://" + srv.addr
	cold, err := firstToken(ctx, client, base, target, srv)
	if err != nil {
		return err
	}
	rep.ColdStartMs = float64(cold) / float64(time.Millisecond)
	name, err := healthSigner(ctx, client, base)
	if err != nil {
		return err
	}
	if err := measureSigner(name, o.cpu, o.signTime, rep); err != nil {
		return err
	}
	rep.Levels = runLevels(ctx, bench.TokenRequest(client, base, target), o, srv.cpuTime)
	if rss, err := peakRSS(srv.cmd.Process.Pid); err == nil {
		rep.PeakRSSMiB = rss
	}
	return nil
}

// provisionBench seeds the database before the server holds its lock: the
// filler tenants, the bench tenant, a signing key and the local TLS CA, so
// that the server starts as it does on a database in use (creating the
// first RSA key is a one-time cost of a new database, not of a start).
func provisionBench(ctx context.Context, dbFile string, o benchOptions) (bench.Target, []byte, *directory, error) {
	db, err := storage.Open(dbFile, storage.Options{})
	if err != nil {
		return bench.Target{}, nil, nil, err
	}
	defer db.Close()
	dir := tenant.NewDirectory(db)
	d := &directory{Tenants: 1, Applications: 2}
	if o.tenants > 0 {
		st, err := bench.SeedDirectory(ctx, dir, o.tenants, o.apps)
		if err != nil {
			return bench.Target{}, nil, nil, err
		}
		d.Tenants += st.Tenants
		d.Applications += st.Applications
		d.SeedSeconds = st.Seconds
	}
	target, err := bench.Provision(ctx, dir, db)
	if err != nil {
		return bench.Target{}, nil, nil, fmt.Errorf("provisioning the bench tenant: %w", err)
	}
	key, err := signing.NewKey(time.Now())
	if err != nil {
		return bench.Target{}, nil, nil, err
	}
	if err := db.AddSigningKey(ctx, key); err != nil {
		return bench.Target{}, nil, nil, err
	}
	_, caPEM, err := issuer.LocalTLS(ctx, db, []string{"127.0.0.1"}, time.Now())
	if err != nil {
		return bench.Target{}, nil, nil, err
	}
	return target, caPEM, d, nil
}

// benchServer is the `issuer serve` child process.
type benchServer struct {
	cmd     *exec.Cmd
	addr    string // 127.0.0.1:port
	logPath string
	started time.Time
	exited  chan error
}

// startBenchServer spawns this binary's `serve` on a free loopback port,
// pinned to o.cpu when it is set. Its stderr (ready line, logs) goes to a
// file beside the database.
func startBenchServer(dbFile string, o benchOptions) (*benchServer, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("finding this binary to start the server: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	args := []string{exe, "--db", dbFile, "serve", "--addr", addr, "--signer", o.signer,
		"--token-concurrency", strconv.Itoa(o.tokenConcurrency)}
	inherit := false // pin by affinity inherited from the spawning thread
	if o.cpu >= 0 {
		if taskset, err := exec.LookPath("taskset"); err == nil {
			args = append([]string{taskset, "-c", strconv.Itoa(o.cpu)}, args...)
		} else {
			inherit = true
		}
	}
	s := &benchServer{addr: addr, logPath: filepath.Join(filepath.Dir(dbFile), "serve.log"), exited: make(chan error, 1)}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	s.cmd = exec.Command(args[0], args[1:]...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.Env = append(os.Environ(), childEnv+"=1")
	start := func() error {
		s.started = time.Now()
		return s.cmd.Start()
	}
	if inherit {
		err = bench.StartPinned(o.cpu, start)
	} else {
		err = start()
	}
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", strings.Join(args, " "), err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	return s, nil
}

// childEnv marks the bench's server process. The test binary, which is
// os.Executable() under `go test`, runs the CLI when it sees it.
const childEnv = "ISSUER_BENCH_CHILD"

// stop sends SIGTERM (requests in flight finish) and waits; a server that
// does not stop within 15 s is killed.
func (s *benchServer) stop() error {
	select {
	case err := <-s.exited:
		return fmt.Errorf("the server exited early: %v", err)
	default:
	}
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-s.exited:
		if err != nil {
			return fmt.Errorf("the server did not stop cleanly: %w", err)
		}
		return nil
	case <-time.After(15 * time.Second):
		s.cmd.Process.Kill()
		<-s.exited
		return errors.New("the server did not stop within 15s and was killed")
	}
}

// firstToken polls the token endpoint from the moment the server was
// spawned until a token is issued, and returns that time: the cold start.
func firstToken(ctx context.Context, client *http.Client, base string, t bench.Target, s *benchServer) (time.Duration, error) {
	req := bench.TokenRequest(client, base, t)
	deadline := s.started.Add(30 * time.Second)
	for {
		err := req(ctx)
		if err == nil {
			return time.Since(s.started), nil
		}
		select {
		case werr := <-s.exited:
			s.exited <- werr
			return 0, fmt.Errorf("the server exited before issuing a token: %v", werr)
		default:
		}
		var answered *bench.StatusError
		if errors.As(err, &answered) || time.Now().After(deadline) {
			// A refusal is an answer: the server is up and the bench's
			// request is wrong, which waiting will not fix.
			return 0, fmt.Errorf("no token from the server: %w", err)
		}
		time.Sleep(time.Millisecond)
	}
}

// healthSigner reads the signer a server reports on /healthz.
func healthSigner(ctx context.Context, client *http.Client, base string) (string, error) {
	r, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/healthz", nil)
	if err != nil {
		return "", err
	}
	resp, err := client.Do(r)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	var h struct {
		Status string `json:"status"`
		Signer string `json:"signer"`
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<16)).Decode(&h); err != nil || h.Signer == "" {
		return "", fmt.Errorf("/healthz names no signer (status %d)", resp.StatusCode)
	}
	return h.Signer, nil
}

// measureSigner measures the raw signing rate of the named backend in this
// process, on the server's CPU when there is one.
func measureSigner(name string, cpu int, d time.Duration, rep *benchReport) error {
	b, err := signing.Select(name)
	if err != nil {
		return fmt.Errorf("the server signs with %s, which this binary cannot measure: %w", name, err)
	}
	rep.Signer, rep.SignerVersion = b.Name(), b.Version()
	rate, err := bench.SignRate(b, cpu, d)
	if err != nil {
		return fmt.Errorf("measuring the raw signing rate: %w", err)
	}
	rep.RawSignPerSec = rate
	return nil
}

// runLevels drives each concurrency level in turn.
func runLevels(ctx context.Context, req bench.Request, o benchOptions, serverCPU bench.CPUTime) []bench.Level {
	var out []bench.Level
	for _, n := range o.levels {
		out = append(out, bench.Drive(ctx, req, n, o.warmup, o.duration, serverCPU))
	}
	return out
}

// cpuTime is the server's user and system time so far, from
// /proc/<pid>/stat (in USER_HZ ticks, 100 a second on Linux).
func (s *benchServer) cpuTime() (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", s.cmd.Process.Pid))
	if err != nil {
		return 0, err
	}
	// The command name (field 2) may hold spaces; fields after it follow ")".
	_, rest, ok := strings.Cut(string(b), ") ")
	f := strings.Fields(rest)
	if !ok || len(f) < 13 {
		return 0, errors.New("unexpected /proc stat format")
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, errors.New("unexpected /proc stat format")
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// otherCPUs are the CPUs this process may use besides cpu.
func otherCPUs(cpu int) []int {
	var out []int
	for _, c := range bench.AllowedCPUs() {
		if c != cpu {
			out = append(out, c)
		}
	}
	return out
}

// peakRSS is VmHWM of /proc/<pid>/status, in MiB.
func peakRSS(pid int) (float64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			if err != nil {
				return 0, err
			}
			return kb / 1024, nil
		}
	}
	return 0, errors.New("no VmHWM in /proc status")
}

// loadAverage is /proc/loadavg's three figures (zeros where unknown): the
// machine's business next to every measurement.
func loadAverage() [3]float64 {
	var la [3]float64
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return la
	}
	for i, f := range strings.Fields(string(b)) {
		if i == 3 {
			break
		}
		la[i], _ = strconv.ParseFloat(f, 64)
	}
	return la
}

func machineInfo() machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, line := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	return m
}

// tail returns the last n lines of a file, for error reports.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// printBench prints the report for people.
func printBench(w io.Writer, r benchReport) error {
	var b bytes.Buffer
	fmt.Fprintf(&b, "machine: %d CPUs (%s), %s; load average %.2f %.2f %.2f at start, %.2f %.2f %.2f at end\n",
		r.Machine.CPUs, orDash(r.Machine.CPUModel), r.Machine.Go,
		r.LoadAvgStart[0], r.LoadAvgStart[1], r.LoadAvgStart[2], r.LoadAvgEnd[0], r.LoadAvgEnd[1], r.LoadAvgEnd[2])
	where := "server: " + r.Target
	if r.ServerCPU != nil {
		where += fmt.Sprintf(", pinned to CPU %d", *r.ServerCPU)
	}
	fmt.Fprintf(&b, "%s; signer %s (%s)\n", where, r.Signer, r.SignerVersion)
	if d := r.Directory; d != nil {
		fmt.Fprintf(&b, "directory: %d tenants, %d applications", d.Tenants, d.Applications)
		if d.SeedSeconds > 0 {
			fmt.Fprintf(&b, " (bulk seed %.2f s)", d.SeedSeconds)
		}
		b.WriteString("\n")
	}
	if r.ColdStartMs > 0 {
		fmt.Fprintf(&b, "cold start: %.1f ms (process start to first token); peak RSS: %.1f MiB\n", r.ColdStartMs, r.PeakRSSMiB)
	}
	fmt.Fprintf(&b, "raw RS256 signing, one core: %.0f/s\n\n", r.RawSignPerSec)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "concurrency\ttokens/s\tof raw\tserver CPU\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\t")
	for _, l := range r.Levels {
		cpu := "-"
		if l.ServerCPU > 0 {
			cpu = fmt.Sprintf("%.2f", l.ServerCPU)
		}
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f%%\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t\n",
			l.Concurrency, l.TokensPerSec, 100*l.RatioToRaw, cpu, l.P50ms, l.P90ms, l.P99ms, l.MaxMs, l.Errors)
	}
	tw.Flush()
	for _, l := range r.Levels {
		if l.FirstError != "" {
			fmt.Fprintf(&b, "first error at concurrency %d: %s\n", l.Concurrency, l.FirstError)
		}
	}
	_, err := w.Write(b.Bytes())
	return err
}
