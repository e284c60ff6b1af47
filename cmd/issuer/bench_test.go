package main

import (
	"context"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"github.com/issuer-dev/issuer/issuer/bench"
	"github.com/issuer-dev/issuer/issuer/issuertest"
	"github.com/issuer-dev/issuer/signing"
)

// TestBench runs `issuer bench` end to end with short levels, starting a
// real server process, and checks the report's shape and that no request
// failed. Timing figures are only checked for being measured at all.
func TestBench(t *testing.T) {
	if testing.Short() {
		t.Skip("starts server processes")
	}
	// Windows of a second: a loaded machine running this suite under
	// -race must still complete tokens in each (200 ms once saw none).
	for _, tc := range []struct {
		name           string
		args           []string
		signer         string // "" : whatever auto picks
		tenants, apps  int    // directory size in the report
		wantSeedFigure bool
		wantFloor      bool
	}{
		{name: "defaults", args: []string{"--duration", "1s", "--concurrency", "1,2"}, tenants: 1, apps: 2},
		{name: "go signer pinned", args: []string{"--duration", "1s", "--concurrency", "1,2", "--signer", "go", "--cpu", "0"}, signer: "go", tenants: 1, apps: 2},
		{name: "floor", args: []string{"--duration", "1s", "--concurrency", "1,2", "--floor"}, tenants: 1, apps: 2, wantFloor: true},
		{name: "bulk-seeded directory", args: []string{"--duration", "1s", "--concurrency", "1,2", "--tenants", "30", "--apps", "3"}, tenants: 31, apps: 92, wantSeedFigure: true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, filepath.Join(t.TempDir(), "unused.db"), nil, append([]string{"bench", "-o", "json", "--sign-time", "100ms"}, tc.args...)...)
			if r.code != exitOK {
				t.Fatalf("exit %d\nstderr: %s", r.code, r.stderr)
			}
			var rep bench.Report
			if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
				t.Fatalf("-o json printed %q: %v", r.stdout, err)
			}
			checkReport(t, rep, []int{1, 2})
			if tc.signer != "" && rep.Signer != tc.signer {
				t.Errorf("signer = %q; want %q", rep.Signer, tc.signer)
			}
			if rep.ColdStartMs <= 0 {
				t.Errorf("cold_start_ms = %v; want a measurement", rep.ColdStartMs)
			}
			if runtime.GOOS == "linux" && rep.PeakRSSMiB <= 0 {
				t.Errorf("peak_rss_mib = %v; want a measurement", rep.PeakRSSMiB)
			}
			checkFloor(t, rep, tc.wantFloor)
			d := rep.Directory
			if d == nil || d.Tenants != tc.tenants || d.Applications != tc.apps || (d.SeedSeconds > 0) != tc.wantSeedFigure {
				t.Errorf("directory = %+v; want %d tenants, %d applications, seed time %v", d, tc.tenants, tc.apps, tc.wantSeedFigure)
			}
		})
	}
}

// checkFloor checks the floor's levels: measured like issuer's, when asked
// for, and absent otherwise.
func checkFloor(t *testing.T, rep bench.Report, want bool) {
	t.Helper()
	if !want {
		if rep.Floor != nil {
			t.Errorf("floor = %+v; want none without --floor", rep.Floor)
		}
		return
	}
	if rep.Floor == nil || rep.Floor.IssuerRatio <= 0 {
		t.Fatalf("floor = %+v; want levels and issuer's ratio to them", rep.Floor)
	}
	floorRep := rep
	floorRep.Levels = rep.Floor.Levels
	checkReport(t, floorRep, []int{1, 2})
	last := len(rep.Levels) - 1
	if got, want := rep.Floor.IssuerRatio, rep.Levels[last].TokensPerSec/rep.Floor.Levels[last].TokensPerSec; math.Abs(got-want) > 1e-9 {
		t.Errorf("issuer_ratio = %v; want issuer's tokens/s over the floor's, %v", got, want)
	}
}

// checkReport checks what every report carries.
func checkReport(t *testing.T, rep bench.Report, levels []int) {
	t.Helper()
	if rep.Signer != signing.Go && rep.Signer != signing.OpenSSL {
		t.Errorf("signer = %q; want go or openssl", rep.Signer)
	}
	if rep.SignerVersion == "" || rep.RawSignPerSec <= 0 || rep.Ratio <= 0 {
		t.Errorf("signer_version %q, raw_sign_per_sec %v, ratio %v; want all measured", rep.SignerVersion, rep.RawSignPerSec, rep.Ratio)
	}
	if rep.Machine.CPUs < 1 || rep.Machine.Go == "" {
		t.Errorf("machine = %+v", rep.Machine)
	}
	if len(rep.Levels) != len(levels) {
		t.Fatalf("%d levels; want %d", len(rep.Levels), len(levels))
	}
	for i, l := range rep.Levels {
		if l.Concurrency != levels[i] {
			t.Errorf("level %d: concurrency %d; want %d", i, l.Concurrency, levels[i])
		}
		if l.Errors != 0 || l.FirstError != "" {
			t.Errorf("level %d: %d errors (%s); want none", l.Concurrency, l.Errors, l.FirstError)
		}
		if l.Requests <= 0 || l.TokensPerSec <= 0 || l.RatioToRaw <= 0 {
			t.Errorf("level %d: %d requests, %v tokens/s, ratio %v; want tokens", l.Concurrency, l.Requests, l.TokensPerSec, l.RatioToRaw)
		}
		// Each level is compared with the raw rate measured around it,
		// which the run's fastest measurement bounds.
		if l.RawSignPerSec <= 0 || l.RawSignPerSec > rep.RawSignPerSec || math.Abs(l.RatioToRaw-l.TokensPerSec/l.RawSignPerSec) > 1e-9 {
			t.Errorf("level %d: raw %v/s (run's fastest %v), ratio %v for %v tokens/s; want the ratio to the level's own raw rate",
				l.Concurrency, l.RawSignPerSec, rep.RawSignPerSec, l.RatioToRaw, l.TokensPerSec)
		}
		if !(0 < l.P50ms && l.P50ms <= l.P90ms && l.P90ms <= l.P99ms && l.P99ms <= l.MaxMs) {
			t.Errorf("level %d: p50 %v, p90 %v, p99 %v, max %v; want 0 < p50 <= p90 <= p99 <= max", l.Concurrency, l.P50ms, l.P90ms, l.P99ms, l.MaxMs)
		}
	}
}

// TestBenchURL measures a server the bench did not start (an in-process
// issuertest server) and prints the text report.
func TestBenchURL(t *testing.T) {
	s := issuertest.NewServer(t)
	target, err := bench.Provision(context.Background(), s.Directory, s.DB)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, s.CACertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"bench", "--url", s.URL, "--ca", ca, "--tenant", bench.TenantName + ".onmicrosoft.com",
		"--client-id", target.ClientID, "--client-secret", target.ClientSecret, "--scope", target.Scope,
		"--duration", "1s", "--concurrency", "1,3", "--sign-time", "100ms"}
	r := runCLI(t, filepath.Join(t.TempDir(), "unused.db"), nil, append(args, "-o", "json")...)
	if r.code != exitOK {
		t.Fatalf("exit %d\nstderr: %s", r.code, r.stderr)
	}
	var rep bench.Report
	if err := json.Unmarshal([]byte(r.stdout), &rep); err != nil {
		t.Fatalf("-o json printed %q: %v", r.stdout, err)
	}
	checkReport(t, rep, []int{1, 3})
	if rep.Target != s.URL || rep.ColdStartMs != 0 || rep.PeakRSSMiB != 0 || rep.Directory != nil {
		t.Errorf("target %q, cold start %v, RSS %v, directory %v; want the URL and no server figures", rep.Target, rep.ColdStartMs, rep.PeakRSSMiB, rep.Directory)
	}

	r = runCLI(t, filepath.Join(t.TempDir(), "unused.db"), nil, args...)
	if r.code != exitOK {
		t.Fatalf("exit %d\nstderr: %s", r.code, r.stderr)
	}
	for _, want := range []string{"raw RS256 signing, one core:", "concurrency", "tokens/s", "p99 ms", "load average"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("text report lacks %q:\n%s", want, r.stdout)
		}
	}
}

// TestBenchUsage checks the flag combinations bench refuses (exit 2).
func TestBenchUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
	}{
		{"zero concurrency", []string{"--concurrency", "1,0"}},
		{"not a number", []string{"--concurrency", "many"}},
		{"negative duration", []string{"--duration", "-1s"}},
		{"too long", []string{"--duration", "2h"}},
		{"url without a client", []string{"--url", "https://127.0.0.1:1"}},
		{"client without url", []string{"--tenant", "contoso.com"}},
		{"spawn flags with url", []string{"--url", "https://127.0.0.1:1", "--tenant", "t", "--client-id", "c", "--client-secret", "s", "--scope", "x", "--cpu", "0"}},
		{"unknown signer", []string{"--signer", "boringssl"}},
		{"arguments", []string{"extra"}},
		{"negative tenants", []string{"--tenants", "-1"}},
		{"--etcd not an etcd URL", []string{"--etcd", "bolt:x.db"}},
		{"--etcd without a port", []string{"--etcd", "etcd://127.0.0.1/bench"}},
		{"--floor with url", []string{"--url", "https://127.0.0.1:1", "--tenant", "t", "--client-id", "c", "--client-secret", "s", "--scope", "x", "--floor"}},
		{"--etcd with url", []string{"--url", "https://127.0.0.1:1", "--tenant", "t", "--client-id", "c", "--client-secret", "s", "--scope", "x", "--etcd", "etcd://127.0.0.1:2379/b"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, filepath.Join(t.TempDir(), "unused.db"), nil, append([]string{"bench"}, tc.args...)...)
			if r.code != exitUsage {
				t.Errorf("exit %d; want %d\nstderr: %s", r.code, exitUsage, r.stderr)
			}
		})
	}
}

// TestBenchFloorCommand checks what the floor's hidden command refuses
// before serving: it is started by bench, but a person may type it.
func TestBenchFloorCommand(t *testing.T) {
	dbFile := filepath.Join(t.TempDir(), "issuer.db")
	for _, tc := range []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string
	}{
		{"missing flags", []string{"--addr", "127.0.0.1:0"}, exitUsage, "Required flag"},
		{"not loopback", []string{"--database", dbFile, "--addr", "0.0.0.0:0", "--client-id", "c"}, exitUsage, "loopback address only"},
		{"no port", []string{"--database", dbFile, "--addr", "127.0.0.1", "--client-id", "c"}, exitUsage, "loopback address only"},
		{"unknown signer", []string{"--database", dbFile, "--addr", "127.0.0.1:0", "--client-id", "c", "--signer", "boringssl"}, exitError, "boringssl"},
		{"no database", []string{"--database", dbFile, "--addr", "127.0.0.1:0", "--client-id", "c"}, exitError, "floor"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, filepath.Join(t.TempDir(), "unused.db"), nil, append([]string{bench.FloorCommand}, tc.args...)...)
			if r.code != tc.wantCode || !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("exit %d, stderr %q; want exit %d and %q", r.code, r.stderr, tc.wantCode, tc.wantErr)
			}
		})
	}
}
