package bench

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	neturl "net/url"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// maxSamples bounds the requests of a level, whatever the duration, split
// among its workers: a run always ends, and its samples (24 bytes each)
// fit in memory.
const maxSamples = 1 << 22

// Request is one token request; it returns nil when a token was issued.
type Request func(ctx context.Context) error

// Level is the outcome of one concurrency level: the requests that
// completed inside the measured window (after the warm-up).
type Level struct {
	Concurrency  int     `json:"concurrency"`
	Seconds      float64 `json:"seconds"`
	Requests     int     `json:"requests"`
	Errors       int     `json:"errors"`
	TokensPerSec float64 `json:"tokens_per_sec"`
	// RawSignPerSec is the raw signing rate of one core this level is
	// compared with: the faster of the measurements just before and just
	// after it, when they were made.
	RawSignPerSec float64 `json:"raw_sign_per_sec,omitempty"`
	// RatioToRaw is TokensPerSec over the raw signing rate of one core,
	// when it was measured.
	RatioToRaw float64 `json:"ratio_to_raw,omitempty"`
	// ServerCPU is the CPU time the server used over the window, in
	// cores (1.0 is one core busy all the time), when it was measured: on
	// a busy machine, throughput per CPU second is the steadier figure.
	ServerCPU float64 `json:"server_cpu,omitempty"`
	// TokensPerCPUSecond is TokensPerSec over ServerCPU: tokens per second
	// of server CPU time.
	TokensPerCPUSecond float64 `json:"tokens_per_cpu_second,omitempty"`
	// CPUPerSign is the server's CPU time per token over the time of one
	// raw RS256 signature on one core (RawSignPerSec over
	// TokensPerCPUSecond), when both were measured: 1.0 would be a server
	// that does nothing but sign. Unlike RatioToRaw it does not depend on
	// how many cores the server had or how busy the machine was.
	CPUPerSign float64 `json:"cpu_per_sign,omitempty"`
	P50ms      float64 `json:"p50_ms"`
	P90ms      float64 `json:"p90_ms"`
	P99ms      float64 `json:"p99_ms"`
	MaxMs      float64 `json:"max_ms"`
	FirstError string  `json:"first_error,omitempty"`
}

// CPUTime reports the CPU time a process has used so far.
type CPUTime func() (time.Duration, error)

// Drive runs concurrency workers, each sending req back to back, for
// warmup + duration. Requests that complete inside the window after the
// warm-up count: tokens per second are their successes over the window,
// latencies are theirs. Workers stop starting requests when the window
// ends (or ctx is done), or after their share of maxSamples requests.
// serverCPU, when not nil, is read at both ends of the window.
//
// A window in which no request completed would say nothing (a server
// stalled longer than the window by a busy machine): the level then runs
// on until a request completes, the window ends with it, and the server's
// CPU, read over the planned window, is not reported.
func Drive(ctx context.Context, req Request, concurrency int, warmup, duration time.Duration, serverCPU CPUTime) Level {
	type sample struct {
		end     time.Time
		latency time.Duration
		err     error
	}
	start := time.Now()
	from, to := start.Add(warmup), start.Add(warmup+duration)
	samples := make([][]sample, concurrency)
	perWorker := max(1, maxSamples/concurrency)
	var (
		wg       sync.WaitGroup
		cpu      float64
		finished atomic.Int64 // requests completed after the warm-up
	)
	if serverCPU != nil {
		wg.Go(func() {
			sleepUntil(ctx, from)
			before, err1 := serverCPU()
			sleepUntil(ctx, to)
			after, err2 := serverCPU()
			if err1 == nil && err2 == nil && ctx.Err() == nil {
				cpu = (after - before).Seconds() / duration.Seconds()
			}
		})
	}
	for w := range concurrency {
		wg.Go(func() {
			for range perWorker {
				t0 := time.Now()
				if ctx.Err() != nil || !t0.Before(to) && finished.Load() > 0 {
					return
				}
				err := req(ctx)
				t1 := time.Now()
				if t1.Before(from) {
					continue
				}
				finished.Add(1)
				samples[w] = append(samples[w], sample{t1, t1.Sub(t0), err})
			}
		})
	}
	wg.Wait()

	// The window's samples; none, the first one after it, which ends it.
	var window []sample
	var first *sample
	for _, ss := range samples {
		for i, s := range ss {
			if !s.end.After(to) {
				window = append(window, s)
			} else if first == nil || s.end.Before(first.end) {
				first = &ss[i]
			}
		}
	}
	lv := Level{Concurrency: concurrency, Seconds: duration.Seconds(), ServerCPU: cpu}
	if len(window) == 0 && first != nil {
		window = []sample{*first}
		lv.Seconds = first.end.Sub(from).Seconds()
		lv.ServerCPU = 0
	}
	var lat []time.Duration
	for _, s := range window {
		lv.Requests++
		if s.err != nil {
			lv.Errors++
			if lv.FirstError == "" {
				lv.FirstError = s.err.Error()
			}
			continue
		}
		lat = append(lat, s.latency)
	}
	lv.TokensPerSec = float64(len(lat)) / lv.Seconds
	if lv.ServerCPU > 0 {
		lv.TokensPerCPUSecond = lv.TokensPerSec / lv.ServerCPU
	}
	slices.Sort(lat)
	lv.P50ms, lv.P90ms, lv.P99ms = quantile(lat, 0.50), quantile(lat, 0.90), quantile(lat, 0.99)
	if len(lat) > 0 {
		lv.MaxMs = ms(lat[len(lat)-1])
	}
	return lv
}

func sleepUntil(ctx context.Context, t time.Time) {
	timer := time.NewTimer(time.Until(t))
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}

// quantile is the nearest-rank q-quantile of sorted latencies, in ms.
func quantile(sorted []time.Duration, q float64) float64 {
	if len(sorted) == 0 {
		return 0
	}
	i := int(math.Ceil(q*float64(len(sorted)))) - 1
	return ms(sorted[max(i, 0)])
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// NewClient is the load generator's HTTP client: one transport with an
// idle connection per worker, so that every request after the first of a
// worker reuses its TLS connection (HTTP/1.1 keep-alive). caPEM, when not
// empty, is the only CA trusted; otherwise the system roots are.
func NewClient(caPEM []byte, conns int) (*http.Client, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if len(caPEM) > 0 {
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(caPEM) {
			return nil, errors.New("bench: the CA file holds no PEM certificate")
		}
		cfg.RootCAs = pool
	}
	return &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			TLSClientConfig:     cfg,
			MaxIdleConns:        conns,
			MaxIdleConnsPerHost: conns,
			IdleConnTimeout:     time.Minute,
			DisableCompression:  true,
		},
	}, nil
}

// TokenRequest returns a Request posting t's client-credentials form to
// the v2.0 token endpoint of the server at baseURL. It reads the whole
// answer (so that the connection is reused) and fails unless it is 200
// with an access token.
func TokenRequest(client *http.Client, baseURL string, t Target) Request {
	endpoint := strings.TrimSuffix(baseURL, "/") + "/" + neturl.PathEscape(t.Tenant) + "/oauth2/v2.0/token"
	body := []byte(t.Form())
	return func(ctx context.Context) error {
		r, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(body))
		if err != nil {
			return err
		}
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := client.Do(r)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		if err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK || !bytes.Contains(b, []byte(`"access_token":"`)) {
			return &StatusError{Status: resp.StatusCode, Body: string(b[:min(len(b), 300)])}
		}
		return nil
	}
}

// StatusError is an answer of the token endpoint without a token.
type StatusError struct {
	Status int
	Body   string // the start of the body
}

func (e *StatusError) Error() string {
	return fmt.Sprintf("token endpoint answered %d: %s", e.Status, e.Body)
}
