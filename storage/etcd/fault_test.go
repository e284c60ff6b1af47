package etcd_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/storage/etcd/etcdtest"
)

// outcome is one token request of a load: when it started and ended, and
// what it got.
type outcome struct {
	replica    int
	start, end time.Time
	status     int
	code       int // AADSTS code of a refusal, 0 for a token
	err        error
}

// load asks every replica for tokens in a loop until stop closes.
func load(replicas []*replica, dm daemon, stop <-chan struct{}) func() []outcome {
	var (
		mu  sync.Mutex
		out []outcome
		wg  sync.WaitGroup
	)
	for i, r := range replicas {
		wg.Go(func() {
			for {
				select {
				case <-stop:
					return
				default:
				}
				o := outcome{replica: i, start: time.Now()}
				ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
				o.status, o.code, o.err = r.token(ctx, dm)
				cancel()
				o.end = time.Now()
				mu.Lock()
				out = append(out, o)
				mu.Unlock()
				if o.err != nil {
					time.Sleep(20 * time.Millisecond) // a killed replica
				}
			}
		})
	}
	return func() []outcome {
		wg.Wait()
		return out
	}
}

// waitTokens polls every replica until each issues a token.
func waitTokens(t *testing.T, replicas []*replica, dm daemon, within time.Duration) time.Duration {
	t.Helper()
	start := time.Now()
	for i, r := range replicas {
		for {
			_, code, err := r.token(context.Background(), dm)
			if err == nil && code == 0 {
				break
			}
			if time.Since(start) > within {
				t.Fatalf("replica %d issues no token %v after the fault: AADSTS%d %v", i, within, code, err)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return time.Since(start)
}

// TestFaultLeaderAndReplica runs three `issuer serve` replicas on a
// three-member etcd cluster of separate processes, under token load and
// CLI writes: the etcd leader is killed, then a replica. Every write the
// CLI acknowledged is there afterwards, tokens flow again once a new
// leader is elected, and no replica issues a token after the revocation
// it should have seen.
func TestFaultLeaderAndReplica(t *testing.T) {
	cluster := etcdtest.StartCluster(t, 3)
	d := newDeployment(t, cluster.Endpoints(), "/fault")
	first := d.serve()
	dm := d.setup()
	replicas := []*replica{first, d.serve(), d.serve()}
	waitTokens(t, replicas, dm, 30*time.Second)

	stop := make(chan struct{})
	results := load(replicas, dm, stop)
	var (
		wmu   sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	writing := make(chan struct{})
	wg.Go(func() {
		for i := 0; ; i++ {
			select {
			case <-writing:
				return
			default:
			}
			name := fmt.Sprintf("app-%03d", i)
			if r := d.run("app", "add", "--tenant", dm.tenant, "--name", name); r.code == 0 {
				wmu.Lock()
				acked = append(acked, name)
				wmu.Unlock()
			}
		}
	})
	time.Sleep(time.Second)
	leader := cluster.Leader(t)
	leader.Kill()
	t.Logf("killed etcd leader %s", leader.Name)
	recovered := waitTokens(t, replicas, dm, 30*time.Second)
	t.Logf("every replica issued a token again %v after the leader was killed", recovered)
	time.Sleep(500 * time.Millisecond)

	// The revocation, acknowledged by the CLI at revokedAt.
	var revokedAt time.Time
	for range 50 {
		if r := d.run("sp", "update", "--tenant", dm.tenant, "--app", dm.appID, "--enabled=false"); r.code == 0 {
			revokedAt = time.Now()
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if revokedAt.IsZero() {
		t.Fatal("the revocation was never acknowledged")
	}
	time.Sleep(500 * time.Millisecond)
	replicas[2].kill()
	t.Log("killed replica 2")
	time.Sleep(500 * time.Millisecond)
	close(writing)
	wg.Wait()
	close(stop)
	outcomes := results()

	tokens, refusals := 0, 0
	for _, o := range outcomes {
		switch {
		case o.err != nil:
		case o.code == 0:
			tokens++
			if o.start.After(revokedAt) {
				t.Errorf("replica %d issued a token for a request that started %v after the revocation was acknowledged", o.replica, o.start.Sub(revokedAt))
			}
		default:
			refusals++
			if o.end.Sub(o.start) > 10*time.Second {
				t.Errorf("replica %d took %v to refuse", o.replica, o.end.Sub(o.start))
			}
			if o.code != 7000112 && o.code != 90033 {
				t.Errorf("replica %d: AADSTS%d (HTTP %d)", o.replica, o.code, o.status)
			}
			if o.status >= 500 && o.status != http.StatusServiceUnavailable {
				t.Errorf("replica %d: HTTP %d", o.replica, o.status)
			}
		}
	}
	t.Logf("%d requests: %d tokens, %d refusals; %d writes acknowledged", len(outcomes), tokens, refusals, len(acked))
	if tokens == 0 || refusals == 0 {
		t.Fatalf("the load saw %d tokens and %d refusals", tokens, refusals)
	}
	// Every acknowledged write is there, read through a surviving replica's
	// etcd (a fresh CLI replica).
	list := d.must("app", "list", "--tenant", dm.tenant)
	for _, name := range acked {
		if !strings.Contains(list, name) {
			t.Errorf("acknowledged application %s is missing", name)
		}
	}
	for i, r := range replicas[:2] {
		if _, code, err := r.token(context.Background(), dm); err != nil || code != 7000112 {
			t.Errorf("replica %d at the end: AADSTS%d %v, want 7000112", i, code, err)
		}
	}
}

// TestQuorumLoss: with two of three etcd members down, token requests fail
// fast with Entra's 503 (AADSTS90033) and /healthz says 503; once a member
// is back, tokens flow again by themselves.
func TestQuorumLoss(t *testing.T) {
	cluster := etcdtest.StartCluster(t, 3)
	d := newDeployment(t, cluster.Endpoints(), "/quorum")
	r := d.serve()
	dm := d.setup()
	waitTokens(t, []*replica{r}, dm, 30*time.Second)

	cluster.Members[0].Kill()
	cluster.Members[1].Kill()
	for i := range 3 {
		start := time.Now()
		status, code, err := r.token(context.Background(), dm)
		took := time.Since(start)
		if err != nil || status != http.StatusServiceUnavailable || code != 90033 {
			t.Fatalf("request %d without quorum: HTTP %d AADSTS%d %v, want 503 AADSTS90033", i, status, code, err)
		}
		if took > 5*time.Second {
			t.Errorf("request %d took %v to fail", i, took)
		}
	}
	resp, err := r.client.Get(r.url + "/healthz")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("/healthz without quorum: %d", resp.StatusCode)
	}
	cluster.Members[1].Restart(t)
	t.Logf("tokens again %v after quorum returned", waitTokens(t, []*replica{r}, dm, 60*time.Second))
}
