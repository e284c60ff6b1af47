package issuer

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

// TestPasswordSlots: at most as many password checks run at once as there
// are slots; a request whose context ends while it waits gives up without
// checking; every waiting check runs once a slot frees.
func TestPasswordSlots(t *testing.T) {
	slots := make(passwordSlots, 2)
	release := make(chan struct{})
	var running, peak atomic.Int64
	check := func() bool {
		n := running.Add(1)
		for p := peak.Load(); n > p && !peak.CompareAndSwap(p, n); p = peak.Load() {
		}
		<-release
		running.Add(-1)
		return true
	}
	var wg sync.WaitGroup
	started := make(chan struct{}, 8)
	for range 8 {
		wg.Go(func() {
			started <- struct{}{}
			if ok, err := slots.check(context.Background(), check); !ok || err != nil {
				t.Errorf("check = %v, %v; want true", ok, err)
			}
		})
	}
	for range 8 {
		<-started
	}
	// Both slots taken (or about to be): a request that gives up never runs.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	full := make(passwordSlots, 1)
	full <- struct{}{}
	if ok, err := full.check(ctx, func() bool { t.Error("ran without a slot"); return true }); ok || !errors.Is(err, context.Canceled) {
		t.Errorf("check with an ended context = %v, %v; want false, context.Canceled", ok, err)
	}
	close(release)
	wg.Wait()
	if p := peak.Load(); p > 2 {
		t.Errorf("%d checks ran at once; want at most 2", p)
	}
}
