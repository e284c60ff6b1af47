package bench

import (
	"bufio"
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
	"time"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/signing"
	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// Options are a bench run's settings: `issuer bench`'s flags, checked.
type Options struct {
	Levels           []int         // concurrency levels, in order
	Duration, Warmup time.Duration // of each level
	SignTime         time.Duration // how long the raw signing rate is measured
	// URL is a running server to measure, with the client of Target and
	// the CA of the PEM file CAFile (empty: the system roots). Without it,
	// Run provisions a database and spawns Exe's `serve` on it.
	URL    string
	Target Target
	CAFile string
	// Exe is the issuer binary whose `serve` a spawned run starts, with
	// Env added to its environment; Signer and TokenConcurrency are passed
	// to it, and CPU pins it (-1: no pinning).
	Exe              string
	Env              []string
	Signer           string
	TokenConcurrency int
	CPU              int
	// Tenants filler tenants of Apps applications each are seeded besides
	// the bench tenant (bulk path).
	Tenants, Apps int
	// Etcd, an etcd://HOST:PORT[,…][/PREFIX] URL, adds replicas on etcd
	// to a spawned run: the directory is copied under a new prefix of it
	// and measured there too (EtcdReport).
	Etcd string
	// Floor adds the floor server to a spawned run (floor.go): the same
	// levels against a bare token server on the same CPU.
	Floor bool
	// Keep keeps the temporary directory (database, CA, server log).
	Keep bool
	// Log receives notes for people (the kept directory, a load generator
	// that could not be pinned).
	Log io.Writer
}

// Run measures a server: a spawned one (cold start, peak RSS, then the
// levels) or, with URL, a running one (the levels). The raw signing rate of
// the server's signer is measured in this process, and each level's
// throughput is reported as a ratio of it.
func Run(ctx context.Context, o Options) (Report, error) {
	if o.Log == nil {
		o.Log = io.Discard
	}
	rep := Report{Target: "spawned", Machine: machineInfo(), LoadAvgStart: loadAverage()}
	var err error
	if o.URL != "" {
		rep.Target = o.URL
		err = measureURL(ctx, o, &rep)
	} else {
		err = spawned(ctx, o, &rep)
	}
	if err != nil {
		return rep, err
	}
	rep.LoadAvgEnd = loadAverage()
	if rep.RawSignPerSec > 0 {
		ratios := func(levels []Level) {
			for i := range levels {
				l := &levels[i]
				l.RatioToRaw = l.TokensPerSec / l.RawSignPerSec
				if l.TokensPerCPUSecond > 0 {
					l.CPUPerSign = l.RawSignPerSec / l.TokensPerCPUSecond
				}
			}
		}
		ratios(rep.Levels)
		rep.Ratio = rep.Levels[len(rep.Levels)-1].RatioToRaw
		if rep.Etcd != nil {
			ratios(rep.Etcd.Levels)
		}
		if rep.Floor != nil {
			ratios(rep.Floor.Levels)
		}
	}
	return rep, nil
}

// Report is a run's result; `issuer bench -o json` prints it as one object.
type Report struct {
	Target        string         `json:"target"` // "spawned" or the --url
	Machine       Machine        `json:"machine"`
	LoadAvgStart  [3]float64     `json:"load_average_start"`
	LoadAvgEnd    [3]float64     `json:"load_average_end"`
	Signer        string         `json:"signer"`
	SignerVersion string         `json:"signer_version"`
	ServerCPU     *int           `json:"server_cpu,omitempty"`
	Directory     *DirectorySize `json:"directory,omitempty"`
	ColdStartMs   float64        `json:"cold_start_ms,omitempty"`
	PeakRSSMiB    float64        `json:"peak_rss_mib,omitempty"`
	RawSignPerSec float64        `json:"raw_sign_per_sec"`
	// Ratio is the throughput of the highest concurrency level over the
	// raw signing rate of one core.
	Ratio  float64 `json:"ratio"`
	Levels []Level `json:"levels"`
	// Floor is the bare token server, with Options.Floor.
	Floor *FloorReport `json:"floor,omitempty"`
	// Etcd is the replica on etcd, with Options.Etcd.
	Etcd *EtcdReport `json:"etcd,omitempty"`
}

type Machine struct {
	CPUs     int    `json:"cpus"`
	CPUModel string `json:"cpu_model"`
	Go       string `json:"go"`
}

type DirectorySize struct {
	Tenants      int     `json:"tenants"`
	Applications int     `json:"applications"`
	SeedSeconds  float64 `json:"seed_seconds,omitempty"`
}

// benchURL measures a server someone else started.
func measureURL(ctx context.Context, o Options, rep *Report) error {
	var caPEM []byte
	if o.CAFile != "" {
		var err error
		if caPEM, err = os.ReadFile(o.CAFile); err != nil {
			return fmt.Errorf("--ca: %w", err)
		}
	}
	client, err := NewClient(caPEM, max(o.Levels[len(o.Levels)-1], 64))
	if err != nil {
		return err
	}
	name := o.Signer
	if reported, err := healthSigner(ctx, client, o.URL); err == nil {
		name = reported
	}
	rep.Levels, err = runLevels(ctx, TokenRequest(client, o.URL, o.Target), o, nil,
		func() (float64, error) { return measureSigner(name, -1, o.SignTime, rep) })
	return err
}

// benchSpawned provisions a temporary database, starts `issuer serve` on it
// and measures it.
func spawned(ctx context.Context, o Options, rep *Report) (err error) {
	tmp, err := os.MkdirTemp("", "issuer-bench-")
	if err != nil {
		return err
	}
	if o.Keep {
		fmt.Fprintf(o.Log, "issuer: bench: keeping %s\n", tmp)
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

	if o.CPU >= 0 {
		rep.ServerCPU = &o.CPU
		if others := otherCPUs(o.CPU); len(others) > 0 {
			if err := PinProcess(others); err != nil {
				fmt.Fprintf(o.Log, "issuer: bench: the load generator stays unpinned: %v\n", err)
			}
		}
	}
	client, err := NewClient(caPEM, max(o.Levels[len(o.Levels)-1], 64))
	if err != nil {
		return err
	}
	srv, err := startBenchServer(tmp, serveArgs([]string{"--db", dbFile}, o), o, o.CPU)
	if err != nil {
		return err
	}
	defer func() {
		if srv.stopped {
			return
		}
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
	rawRate := func() (float64, error) { return measureSigner(name, o.CPU, o.SignTime, rep) }
	if rep.Levels, err = runLevels(ctx, TokenRequest(client, base, target), o, srv.cpuTime, rawRate); err != nil {
		return err
	}
	if rss, err := peakRSS(srv.cmd.Process.Pid); err == nil {
		rep.PeakRSSMiB = rss
	}
	if !o.Floor && o.Etcd == "" {
		return nil
	}
	// The bbolt server lets go of the file before the floor reads it and
	// the directory is copied.
	if err := srv.stop(); err != nil {
		return err
	}
	srv.stopped = true
	if o.Floor {
		if err := floorPhase(ctx, o, dbFile, client, target, rep); err != nil {
			return err
		}
	}
	if o.Etcd == "" {
		return nil
	}
	return etcdPhase(ctx, o, dbFile, client, target, rep)
}

// provisionBench seeds the database before the server holds its lock: the
// filler tenants, the bench tenant, a signing key and the local TLS CA, so
// that the server starts as it does on a database in use (creating the
// first RSA key is a one-time cost of a new database, not of a start).
func provisionBench(ctx context.Context, dbFile string, o Options) (Target, []byte, *DirectorySize, error) {
	db, err := storage.Open(dbFile, storage.Options{})
	if err != nil {
		return Target{}, nil, nil, err
	}
	defer db.Close()
	dir := tenant.NewDirectory(db)
	d := &DirectorySize{Tenants: 1, Applications: 2}
	if o.Tenants > 0 {
		st, err := SeedDirectory(ctx, dir, o.Tenants, o.Apps)
		if err != nil {
			return Target{}, nil, nil, err
		}
		d.Tenants += st.Tenants
		d.Applications += st.Applications
		d.SeedSeconds = st.Seconds
	}
	target, err := Provision(ctx, dir, db)
	if err != nil {
		return Target{}, nil, nil, fmt.Errorf("provisioning the bench tenant: %w", err)
	}
	key, err := signing.NewKey(time.Now())
	if err != nil {
		return Target{}, nil, nil, err
	}
	if err := db.AddSigningKey(ctx, key); err != nil {
		return Target{}, nil, nil, err
	}
	_, caPEM, err := issuer.LocalTLS(ctx, db, []string{"127.0.0.1"}, time.Now())
	if err != nil {
		return Target{}, nil, nil, err
	}
	return target, caPEM, d, nil
}

// benchServer is the `issuer serve` child process.
type benchServer struct {
	stopped bool // by the run itself, before its end
	cmd     *exec.Cmd
	addr    string // 127.0.0.1:port
	logPath string
	started time.Time
	exited  chan error
}

// serveArgs is the command line after o.Exe of `issuer serve` on the
// store storeArgs name, listening on addr.
func serveArgs(storeArgs []string, o Options) func(addr string) []string {
	return func(addr string) []string {
		return append(append([]string{}, storeArgs...), "serve", "--addr", addr, "--signer", o.Signer,
			"--token-concurrency", strconv.Itoa(o.TokenConcurrency))
	}
}

// startBenchServer spawns o.Exe with the arguments command returns for a
// free loopback port, pinned to cpu unless it is -1. Its stderr (ready
// line, logs) goes to serve.log in dir, which it creates.
func startBenchServer(dir string, command func(addr string) []string, o Options, cpu int) (*benchServer, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	addr := ln.Addr().String()
	ln.Close()
	args := append([]string{o.Exe}, command(addr)...)
	inherit := false // pin by affinity inherited from the spawning thread
	if cpu >= 0 {
		if taskset, err := exec.LookPath("taskset"); err == nil {
			args = append([]string{taskset, "-c", strconv.Itoa(cpu)}, args...)
		} else {
			inherit = true
		}
	}
	s := &benchServer{addr: addr, logPath: filepath.Join(dir, "serve.log"), exited: make(chan error, 1)}
	logFile, err := os.Create(s.logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	s.cmd = exec.Command(args[0], args[1:]...)
	s.cmd.Stdout, s.cmd.Stderr = logFile, logFile
	s.cmd.Dir = dir // a replica on etcd writes its CA file in its working directory
	s.cmd.Env = childEnv(o)
	start := func() error {
		s.started = time.Now()
		return s.cmd.Start()
	}
	if inherit {
		err = StartPinned(cpu, start)
	} else {
		err = start()
	}
	if err != nil {
		return nil, fmt.Errorf("starting %s: %w", strings.Join(args, " "), err)
	}
	go func() { s.exited <- s.cmd.Wait() }()
	return s, nil
}

// childEnv is the environment of the processes a run starts: this one's
// and o.Env, without the variables that name a store, since each child is
// told its store by flags (ISSUER_STORE beside --db is refused).
func childEnv(o Options) []string {
	var env []string
	for _, kv := range os.Environ() {
		if name, _, _ := strings.Cut(kv, "="); name != "ISSUER_STORE" && name != "ISSUER_DB" && name != "ISSUER_KEY_ENCRYPTION_KEY_FILE" {
			env = append(env, kv)
		}
	}
	return append(env, o.Env...)
}

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
		select {
		case <-s.exited:
			return errors.New("the server did not stop within 15s and was killed")
		case <-time.After(15 * time.Second):
			// A process in uninterruptible sleep (a disk that stopped
			// answering) outlives SIGKILL; the bench reports it rather
			// than waiting with it.
			return fmt.Errorf("the server (pid %d) did not stop within 15s, and has not exited 15s after SIGKILL", s.cmd.Process.Pid)
		}
	}
}

// firstToken polls the token endpoint from the moment the server was
// spawned until a token is issued, and returns that time: the cold start.
func firstToken(ctx context.Context, client *http.Client, base string, t Target, s *benchServer) (time.Duration, error) {
	req := TokenRequest(client, base, t)
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
		var answered *StatusError
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
// process, on the server's CPU when there is one, and returns it; the
// report keeps the fastest of a run's measurements.
func measureSigner(name string, cpu int, d time.Duration, rep *Report) (float64, error) {
	b, err := signing.Select(name)
	if err != nil {
		return 0, fmt.Errorf("the server signs with %s, which this binary cannot measure: %w", name, err)
	}
	rep.Signer, rep.SignerVersion = b.Name(), b.Version()
	rate, err := SignRate(b, cpu, d)
	if err != nil {
		return 0, fmt.Errorf("measuring the raw signing rate: %w", err)
	}
	rep.RawSignPerSec = max(rep.RawSignPerSec, rate)
	return rate, nil
}

// runLevels drives each concurrency level in turn, measuring the raw
// signing rate with raw before the first level and after each. A level is
// compared with the faster of the measurements just before and just after
// it: a VM's speed drifts within a run, so a measurement of another moment
// is off by that drift, and a burst of other work during one measurement
// would lower it and flatter the level.
func runLevels(ctx context.Context, req Request, o Options, serverCPU CPUTime, raw func() (float64, error)) ([]Level, error) {
	before, err := raw()
	if err != nil {
		return nil, err
	}
	var out []Level
	for _, n := range o.Levels {
		l := Drive(ctx, req, n, o.Warmup, o.Duration, serverCPU)
		after, err := raw()
		if err != nil {
			return out, err
		}
		l.RawSignPerSec, before = max(before, after), after
		out = append(out, l)
	}
	return out, nil
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
	for _, c := range AllowedCPUs() {
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

func machineInfo() Machine {
	m := Machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
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
