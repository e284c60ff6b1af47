package bench

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"
)

// EtcdReport is the etcd half of a run with Options.Etcd: one replica
// measured as the bbolt server was (same CPU, same levels), beside it a
// second replica, and the time a revocation written through the store
// takes to be refused by that second replica.
type EtcdReport struct {
	Store       string  `json:"store"` // the etcd://… prefix the directory was copied to
	ColdStartMs float64 `json:"cold_start_ms"`
	PeakRSSMiB  float64 `json:"peak_rss_mib,omitempty"`
	Levels      []Level `json:"levels"`
	// RatioToBolt is the replica's tokens/s at the highest level over the
	// bbolt server's.
	RatioToBolt float64 `json:"ratio_to_bolt"`
	// RevocationToRefusalMs is the time from the acknowledgement of
	// `sp update --enabled=false` (the CLI writing to etcd directly) to
	// the first refusal by the other replica, which polls meanwhile; the
	// time of one poll bounds its precision.
	RevocationToRefusalMs float64 `json:"revocation_to_refusal_ms"`
	// RevocationFromStartMs counts from the start of that command
	// instead: an upper bound that includes its process start, for when
	// the refusal comes before the command has returned (0 above).
	RevocationFromStartMs float64 `json:"revocation_from_start_ms"`
	RevocationPolls       int     `json:"revocation_polls"`
}

// etcdPhase copies the bench directory (dbFile, provisioned, no server
// holding it) into a new prefix under o.Etcd, starts two replicas on it,
// measures the first like the bbolt server, then times a revocation.
func etcdPhase(ctx context.Context, o Options, dbFile string, client *http.Client, target Target, rep *Report) (err error) {
	tmp := filepath.Dir(dbFile)
	store := strings.TrimSuffix(o.Etcd, "/") + fmt.Sprintf("/issuer-bench-%d", time.Now().UnixNano())
	kek := filepath.Join(tmp, "kek")
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return err
	}
	if err := os.WriteFile(kek, []byte(base64.StdEncoding.EncodeToString(key)+"\n"), 0o600); err != nil {
		return err
	}
	cli := func(args ...string) error {
		cmd := exec.CommandContext(ctx, o.Exe, append([]string{"--key-encryption-key-file", kek}, args...)...)
		cmd.Env = childEnv(o)
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("issuer %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
		}
		return nil
	}
	if err := cli("db", "copy", "--from", "bolt:"+dbFile, "--to", store); err != nil {
		return err
	}
	er := &EtcdReport{Store: store}
	rep.Etcd = er
	fmt.Fprintf(o.Log, "issuer: bench: the directory is in %s; remove it with etcdctl del --prefix\n", store)

	storeArgs := []string{"--store", store, "--key-encryption-key-file", kek}
	measured, err := startBenchServer(filepath.Join(tmp, "replica-a"), serveArgs(storeArgs, o), o, o.CPU)
	if err != nil {
		return err
	}
	defer stopAll(&err, measured)
	base := "https://" + measured.addr
	cold, err := firstToken(ctx, client, base, target, measured)
	if err != nil {
		return err
	}
	er.ColdStartMs = float64(cold) / float64(time.Millisecond)
	rawRate := func() (float64, error) { return measureSigner(rep.Signer, o.CPU, o.SignTime, rep) }
	if er.Levels, err = runLevels(ctx, TokenRequest(client, base, target), o, measured.cpuTime, rawRate); err != nil {
		return err
	}
	if rss, err := peakRSS(measured.cmd.Process.Pid); err == nil {
		er.PeakRSSMiB = rss
	}
	if bolt := rep.Levels[len(rep.Levels)-1].TokensPerSec; bolt > 0 {
		er.RatioToBolt = er.Levels[len(er.Levels)-1].TokensPerSec / bolt
	}

	// The second replica runs on the other CPUs; it only has to notice.
	other, err := startBenchServer(filepath.Join(tmp, "replica-b"), serveArgs(storeArgs, o), o, -1)
	if err != nil {
		return err
	}
	defer stopAll(&err, other)
	otherReq := TokenRequest(client, "https://"+other.addr, target)
	if _, err := firstToken(ctx, client, "https://"+other.addr, target, other); err != nil {
		return err
	}
	er.RevocationToRefusalMs, er.RevocationFromStartMs, er.RevocationPolls, err = revocationToRefusal(ctx, otherReq, revocationTimeout, func() error {
		return cli("--store", store, "sp", "update", "--tenant", target.Tenant, "--app", target.ClientID, "--enabled=false")
	})
	return err
}

// revocationTimeout is how long the bench waits for the other replica to
// refuse the revoked client: far beyond a replica's watch delay, so that
// reaching it means the revocation was not honoured, not that it was slow.
const revocationTimeout = time.Minute

// revocationToRefusal polls req without pause while revoke runs, and
// returns the time from revoke's return, and from its start, to the first
// refused request, in milliseconds. A request still answered timeout after
// the start is the error.
func revocationToRefusal(ctx context.Context, req Request, timeout time.Duration, revoke func() error) (fromAck, fromStart float64, polls int, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	refused := make(chan time.Time, 1)
	var n atomic.Int64
	go func() {
		for ctx.Err() == nil {
			err := req(ctx)
			n.Add(1)
			// A refusal of the request (the disabled application's 4xx),
			// not a server that is busy or failing, ends the wait.
			var answered *StatusError
			if errors.As(err, &answered) && answered.Status < 500 && answered.Status != http.StatusTooManyRequests {
				refused <- time.Now()
				return
			}
		}
	}()
	ms := func(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
	started := time.Now()
	if err := revoke(); err != nil {
		return 0, 0, 0, err
	}
	acked := time.Now()
	select {
	case at := <-refused:
		// A refusal seen before the writer's own return counts as zero:
		// the replica was as fast as the acknowledgement.
		return max(0, ms(at.Sub(acked))), ms(at.Sub(started)), int(n.Load()), nil
	case <-ctx.Done():
		return 0, 0, int(n.Load()), fmt.Errorf("the other replica kept issuing tokens for %v after the revocation (%d requests)", timeout, n.Load())
	}
}

// stopAll stops servers, keeping the first error in *err.
func stopAll(err *error, servers ...*benchServer) {
	for _, s := range servers {
		if serr := s.stop(); serr != nil && *err == nil {
			*err = fmt.Errorf("%w\nserver log (%s):\n%s", serr, s.logPath, tail(s.logPath, 20))
		}
	}
}
