package main

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"os"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/issuer/bench"
	"github.com/issuer-dev/issuer/signing"
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
               while the server is idle, with --cpu), before and after the
               levels: the faster counts
  per level    client-credentials requests over HTTPS keep-alive from
               CONCURRENCY workers for --duration after a warm-up: tokens/s,
               their ratio to the raw signing rate, p50/p90/p99/max latency,
               errors

With --floor, the same levels then run against the floor, a bare token
server in a child process on the same CPU: net/http and crypto/tls with
serve's settings and certificate, the same signer and key, a token of the
same claims, the client secret checked against its hash, and nothing else
(no directory reads, policy, fair gate, sign-in log or Entra headers).
issuer's tokens/s over the floor's is what issuer's own work costs on this
machine, whatever its speed at the moment.

With --etcd, the directory is then copied into a new prefix of that etcd
(a fresh key-encryption key in the temporary directory), one replica runs
on the server's CPU with the same levels, printed beside the bbolt server's,
and a second replica times a revocation: from 'sp update --enabled=false',
written to etcd by the CLI, to its first refusal of the daemon's request.

With --url, the same levels run against a server you started, with the
client you name (--tenant, --client-id, --client-secret, --scope; --ca when
its CA is not in the system roots); cold start and RSS are not measured.

--cpu N pins the server to CPU N (taskset -c N, or the same affinity set
before the child starts when taskset is missing) and the load generator to
the other CPUs, so that the two do not share a core.

EXAMPLES
   issuer bench
   issuer bench --cpu 1 --signer openssl --concurrency 1,8,64 --duration 5s
   issuer bench --cpu 1 --signer openssl --concurrency 64 --floor
   issuer bench --cpu 1 --tenants 10000 --apps 10 -o json
   issuer bench --cpu 1 --signer openssl --etcd etcd://127.0.0.1:2379/bench
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
			&cli.StringFlag{Name: "tenant", Usage: "with --URL: the tenant (id or domain)"},
			&cli.StringFlag{Name: "client-id", Usage: "with --URL: a confidential client's appId"},
			&cli.StringFlag{Name: "client-secret", Usage: "with --URL: its client secret", EnvVars: []string{"ISSUER_BENCH_CLIENT_SECRET"}},
			&cli.StringFlag{Name: "scope", Usage: "with --URL: the scope, e.g. api://orders/.default"},
			&cli.PathFlag{Name: "ca", Usage: "with --URL: trust this CA certificate (PEM `FILE`)"},
			&cli.BoolFlag{Name: "floor", Usage: "also measure the floor: a bare token server (net/http, crypto/tls, the same signer, key and token claims; no directory, policy, gate or logs) on the same CPU and levels"},
			&cli.StringFlag{Name: "etcd", Usage: "also measure replicas on the etcd at `URL` (etcd://HOST:PORT[,…][/PREFIX]): the directory is copied under a new prefix, one replica runs the same levels, a second one times a revocation", EnvVars: []string{"ISSUER_BENCH_ETCD"}},
		},
		Action: benchAction,
	}
}

// maxBenchDuration bounds --duration and --Warmup: a level always ends.
const maxBenchDuration = 10 * time.Minute

func benchOptionsFrom(c *cli.Context) (bench.Options, error) {
	o := bench.Options{
		Duration: c.Duration("duration"), Warmup: c.Duration("warmup"),
		Signer: c.Generic("signer").(*choice).value, TokenConcurrency: c.Int("token-concurrency"),
		CPU: c.Int("cpu"), Tenants: c.Int("tenants"), Apps: c.Int("apps"),
		SignTime: c.Duration("sign-time"), Keep: c.Bool("keep"), URL: strings.TrimSuffix(c.String("url"), "/"),
		Target: bench.Target{Tenant: c.String("tenant"), ClientID: c.String("client-id"),
			ClientSecret: c.String("client-secret"), Scope: c.String("scope")},
		CAFile: c.Path("ca"), Etcd: c.String("etcd"), Floor: c.Bool("floor"),
	}
	for _, f := range strings.Split(c.String("concurrency"), ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || n > 4096 {
			return o, usageError("--concurrency %q: want comma-separated counts from 1 to 4096, e.g. 1,8,64", c.String("concurrency"))
		}
		o.Levels = append(o.Levels, n)
	}
	switch {
	case o.Duration <= 0 || o.Duration > maxBenchDuration:
		return o, usageError("--duration must be positive and at most %s", maxBenchDuration)
	case o.Warmup < 0 || o.Warmup > maxBenchDuration:
		return o, usageError("--warmup must be between 0 and %s", maxBenchDuration)
	case o.SignTime <= 0 || o.SignTime > time.Minute:
		return o, usageError("--sign-time must be positive and at most 1m")
	case o.Tenants < 0 || o.Tenants > 1_000_000 || o.Apps < 0 || o.Apps > 1000:
		return o, usageError("--tenants must be 0 to 1000000 and --apps 0 to 1000")
	case o.CPU < -1:
		return o, usageError("--cpu must be a CPU number, or -1 for no pinning")
	}
	if !c.IsSet("warmup") {
		o.Warmup = min(o.Duration/5, time.Second)
	}
	if o.Etcd != "" {
		u, err := parseStoreURL(o.Etcd)
		if err != nil {
			return o, usageError("--etcd: %v", err)
		}
		if !u.isEtcd() {
			return o, usageError("--etcd %q: want etcd://HOST:PORT[,…][/PREFIX]", o.Etcd)
		}
	}
	if o.URL == "" {
		for _, name := range []string{"tenant", "client-id", "client-secret", "scope", "ca"} {
			if c.IsSet(name) {
				return o, usageError("--%s goes with --url", name)
			}
		}
		return o, nil
	}
	for _, name := range []string{"tenants", "cpu", "signer", "token-concurrency", "keep", "etcd", "floor"} {
		if c.IsSet(name) {
			return o, usageError("--%s applies to the server bench starts, not to --url", name)
		}
	}
	if err := o.Target.Check(); err != nil {
		return o, usageError("--url needs --tenant, --client-id, --client-secret and --scope")
	}
	return o, nil
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
	if o.URL == "" {
		if o.Exe, err = os.Executable(); err != nil {
			return fmt.Errorf("finding this binary to start the server: %w", err)
		}
		o.Env = []string{childEnv + "=1"}
	}
	o.Log = c.App.ErrWriter
	rep, err := bench.Run(c.Context, o)
	if err != nil {
		return err
	}
	if isJSON(c) {
		return writeJSON(c.App.Writer, rep)
	}
	return printBench(c.App.Writer, rep)
}

// childEnv marks the bench's server process. The test binary, which is
// os.Executable() under `go test`, runs the CLI when it sees it.
const childEnv = "ISSUER_BENCH_CHILD"

// printBench prints the report for people.
func printBench(w io.Writer, r bench.Report) error {
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
	fmt.Fprintf(&b, "raw RS256 signing, one core: %.0f/s at the fastest; each level is compared with the faster of the measurements just before and after it (raw/s)\n\n", r.RawSignPerSec)
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "concurrency\ttokens/s\traw/s\tof raw\tserver CPU\tCPU/token ÷ sign\tp50 ms\tp90 ms\tp99 ms\tmax ms\terrors\t")
	for _, l := range r.Levels {
		cpu, perSign := "-", "-"
		if l.ServerCPU > 0 {
			cpu = fmt.Sprintf("%.2f", l.ServerCPU)
		}
		if l.CPUPerSign > 0 {
			perSign = fmt.Sprintf("%.2f", l.CPUPerSign)
		}
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%.0f%%\t%s\t%s\t%.2f\t%.2f\t%.2f\t%.2f\t%d\t\n",
			l.Concurrency, l.TokensPerSec, l.RawSignPerSec, 100*l.RatioToRaw, cpu, perSign, l.P50ms, l.P90ms, l.P99ms, l.MaxMs, l.Errors)
	}
	tw.Flush()
	for _, l := range r.Levels {
		if l.FirstError != "" {
			fmt.Fprintf(&b, "first error at concurrency %d: %s\n", l.Concurrency, l.FirstError)
		}
	}
	if r.Floor != nil {
		printFloor(&b, r)
	}
	if r.Etcd != nil {
		printEtcd(&b, r)
	}
	_, err := w.Write(b.Bytes())
	return err
}

// printFloor prints the floor server beside issuer.
func printFloor(b *bytes.Buffer, r bench.Report) {
	fmt.Fprintf(b, "\nfloor (a bare token server: net/http, crypto/tls, the same signer and key; nothing else), on the same CPU and levels:\n")
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "concurrency\tfloor tokens/s\tof raw\tCPU/token ÷ sign\tissuer tokens/s\tissuer ÷ floor\tp50 ms\tp99 ms\terrors\t")
	for i, l := range r.Floor.Levels {
		il := r.Levels[i]
		ratio := "-"
		if l.TokensPerSec > 0 {
			ratio = fmt.Sprintf("%.0f%%", 100*il.TokensPerSec/l.TokensPerSec)
		}
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f%%\t%s\t%.0f\t%s\t%.2f\t%.2f\t%d\t\n", l.Concurrency, l.TokensPerSec, 100*l.RatioToRaw,
			perSignText(l.CPUPerSign), il.TokensPerSec, ratio, l.P50ms, l.P99ms, l.Errors)
	}
	tw.Flush()
}

// printEtcd prints the replica on etcd beside the bbolt server.
func printEtcd(b *bytes.Buffer, r bench.Report) {
	e := r.Etcd
	fmt.Fprintf(b, "\nreplica on etcd (%s), on the same CPU and levels:\n", e.Store)
	fmt.Fprintf(b, "cold start: %.1f ms (bbolt %.1f); peak RSS: %.1f MiB (bbolt %.1f)\n", e.ColdStartMs, r.ColdStartMs, e.PeakRSSMiB, r.PeakRSSMiB)
	tw := tabwriter.NewWriter(b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "concurrency\tetcd tokens/s\tbbolt tokens/s\tetcd ÷ bbolt\tCPU/token ÷ sign\tbbolt\tp50 ms\tp99 ms\terrors\t")
	for i, l := range e.Levels {
		bl := r.Levels[i]
		ratio := "-"
		if bl.TokensPerSec > 0 {
			ratio = fmt.Sprintf("%.0f%%", 100*l.TokensPerSec/bl.TokensPerSec)
		}
		fmt.Fprintf(tw, "%d\t%.0f\t%.0f\t%s\t%s\t%s\t%.2f\t%.2f\t%d\t\n", l.Concurrency, l.TokensPerSec, bl.TokensPerSec, ratio,
			perSignText(l.CPUPerSign), perSignText(bl.CPUPerSign), l.P50ms, l.P99ms, l.Errors)
	}
	tw.Flush()
	fmt.Fprintf(b, "revocation (sp update --enabled=false through etcd) to the first refusal by another replica: %.1f ms after the command returned, %.1f ms after it started (%d polls)\n",
		e.RevocationToRefusalMs, e.RevocationFromStartMs, e.RevocationPolls)
}

func perSignText(v float64) string {
	if v <= 0 {
		return "-"
	}
	return fmt.Sprintf("%.2f", v)
}

// benchFloorCommand serves the floor that `issuer bench --floor` measures;
// bench starts it, nobody else needs to.
func benchFloorCommand() *cli.Command {
	return &cli.Command{
		Name:   bench.FloorCommand,
		Hidden: true,
		Usage:  "serve the bare token server of issuer bench --floor (bench starts it)",
		Flags: []cli.Flag{
			&cli.PathFlag{Name: "database", Usage: "the bench's provisioned database `FILE` (read at start, then closed)", Required: true},
			&cli.StringFlag{Name: "addr", Usage: "loopback `HOST:PORT` to listen on", Required: true},
			&cli.StringFlag{Name: "client-id", Usage: "the bench daemon's appId", Required: true},
			&cli.StringFlag{Name: "signer", Usage: "RS256 implementation: go or openssl", Value: signing.Auto},
		},
		Action: func(c *cli.Context) error {
			if _, err := requireArgs(c); err != nil {
				return err
			}
			host, _, err := net.SplitHostPort(c.String("addr"))
			if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
				return usageError("--addr %q: the floor listens on a loopback address only", c.String("addr"))
			}
			ln, err := net.Listen("tcp", c.String("addr"))
			if err != nil {
				return err
			}
			return bench.ServeFloor(c.Context, ln, c.Path("database"), c.String("client-id"), c.String("signer"))
		},
	}
}
