package issuer

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"runtime"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/julienschmidt/httprouter"
)

// queued reports how many requests wait at the gate.
func (g *fairGate) queued() int {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.queue.Len()
}

// waitQueued waits until n requests wait at g (bounded: the test fails
// after ten seconds).
func waitQueued(t *testing.T, g *fairGate, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); g.queued() < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d requests queued after 10s; want %d", g.queued(), n)
		}
	}
}

// TestFairGateOrder: requests waiting for a slot get it by place in line,
// whatever order they arrived at the gate in.
func TestFairGateOrder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		places []int64 // in the order the requests reach the gate
	}{
		{"reversed, as the network poller hands them over", []int64{9, 8, 7, 6, 5, 4, 3, 2, 1}},
		{"shuffled", []int64{4, 9, 1, 7, 3, 8, 2, 6, 5}},
		{"ties keep arrival order", []int64{5, 5, 1, 5}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newFairGate(1, 1)
			hold := g.enter(0) // the slot is taken while the others queue
			var (
				mu    sync.Mutex
				order []int64
				wg    sync.WaitGroup
			)
			for i, p := range tc.places {
				wg.Go(func() {
					leave := g.enter(p)
					mu.Lock()
					order = append(order, p)
					mu.Unlock()
					leave()
				})
				waitQueued(t, g, i+1) // reach the gate in this order
			}
			hold()
			wg.Wait()
			want := slices.Clone(tc.places)
			slices.Sort(want)
			if !slices.Equal(order, want) {
				t.Errorf("admitted in order %v; want %v", order, want)
			}
		})
	}
}

// TestFairGateBound: at most slots holders at once, and everyone gets in.
func TestFairGateBound(t *testing.T) {
	for _, slots := range []int{1, 2, 3} {
		t.Run(fmt.Sprintf("slots %d", slots), func(t *testing.T) {
			g := newFairGate(slots, 1)
			var in, most, done atomic.Int64
			var wg sync.WaitGroup
			for i := range 40 {
				wg.Go(func() {
					leave := g.enter(int64(i % 7))
					n := in.Add(1)
					for m := most.Load(); n > m && !most.CompareAndSwap(m, n); m = most.Load() {
					}
					runtime.Gosched()
					in.Add(-1)
					leave()
					done.Add(1)
				})
			}
			wg.Wait()
			if most.Load() > int64(slots) || done.Load() != 40 {
				t.Errorf("%d holders at once, %d done; want at most %d, 40", most.Load(), done.Load(), slots)
			}
		})
	}
}

func TestNewFairGate(t *testing.T) {
	procs := runtime.GOMAXPROCS(0)
	for _, tc := range []struct {
		name      string
		n, queued int
		wantSlots int // 0: no gate
	}{
		{"negative: no gate", -1, 1, 0},
		{"default: a slot per CPU", 0, 1, procs},
		{"default for a signer with threads: its queue per CPU", 0, 16, procs * 16},
		{"explicit", 5, 16, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := newFairGate(tc.n, tc.queued)
			switch {
			case tc.wantSlots == 0 && g != nil:
				t.Errorf("newFairGate(%d, %d) = %+v; want no gate", tc.n, tc.queued, g)
			case tc.wantSlots != 0 && (g == nil || g.slots != tc.wantSlots):
				t.Errorf("newFairGate(%d, %d) = %+v; want %d slots", tc.n, tc.queued, g, tc.wantSlots)
			}
		})
	}
}

// TestFairGateFreeSlot: a request that finds a free slot takes it without
// queueing, and one that finds none waits until a slot is given back.
func TestFairGateFreeSlot(t *testing.T) {
	g := newFairGate(2, 1)
	first, second := g.enter(5), g.enter(9) // both free: neither blocks
	if q := g.queued(); q != 0 {
		t.Fatalf("%d queued with free slots; want 0", q)
	}
	admitted := make(chan struct{})
	go func() {
		leave := g.enter(1)
		close(admitted)
		leave()
	}()
	waitQueued(t, g, 1)
	first()
	<-admitted
	second()
}

// TestPlaceInLine: a connection's place is its last response; without
// ConnContext, the time of the request.
func TestPlaceInLine(t *testing.T) {
	s := &Server{}
	ctx := s.ConnContext(context.Background(), nil)
	r := httptest.NewRequest(http.MethodPost, "/", nil).WithContext(ctx)
	accepted := placeInLine(r)
	time.Sleep(2 * time.Millisecond)
	if got := placeInLine(r); got != accepted {
		t.Errorf("place changed to %d without a response; want %d", got, accepted)
	}
	markDone(r)
	if got := placeInLine(r); got <= accepted {
		t.Errorf("place after a response = %d; want later than %d", got, accepted)
	}
	bare := httptest.NewRequest(http.MethodPost, "/", nil)
	before := time.Now().UnixNano()
	if got := placeInLine(bare); got < before {
		t.Errorf("place without ConnContext = %d; want now (>= %d)", got, before)
	}
}

// TestFairlyBody: the gate reads the body first and the handler sees the
// same bytes and the same end, error included.
func TestFairlyBody(t *testing.T) {
	errBroken := errors.New("connection reset")
	for _, tc := range []struct {
		name    string
		body    io.Reader
		want    string
		wantErr error
	}{
		{"form", strings.NewReader("grant_type=client_credentials&scope=x"), "grant_type=client_credentials&scope=x", nil},
		{"empty", strings.NewReader(""), "", nil},
		{"broken mid-way", io.MultiReader(strings.NewReader("grant_type=cl"), iotestErrReader{errBroken}), "grant_type=cl", errBroken},
		{"oversized is cut one byte past the limit", strings.NewReader(strings.Repeat("a", maxTokenRequestBytes+100)), strings.Repeat("a", maxTokenRequestBytes+1), nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := &Server{gate: newFairGate(1, 1)}
			var got []byte
			var gotErr error
			h := s.fairly(func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
				got, gotErr = io.ReadAll(r.Body)
			})
			r := httptest.NewRequest(http.MethodPost, "/", io.NopCloser(tc.body))
			h(httptest.NewRecorder(), r, nil)
			if string(got) != tc.want || !errors.Is(gotErr, tc.wantErr) {
				t.Errorf("handler read %d bytes, %v; want %d bytes, %v", len(got), gotErr, len(tc.want), tc.wantErr)
			}
			if s.gate.busy != 0 {
				t.Errorf("%d slots still taken after the request", s.gate.busy)
			}
		})
	}
}

type iotestErrReader struct{ err error }

func (r iotestErrReader) Read([]byte) (int, error) { return 0, r.err }

// TestFairlyTokenForm: the token endpoint's form is the same, refusals
// included, whether the gate read the body first or not; the gate's bytes
// are used as they are, not read a second time.
func TestFairlyTokenForm(t *testing.T) {
	form := "grant_type=client_credentials&scope=api%3A%2F%2Fx%2F.default"
	for _, tc := range []struct {
		name string
		body func() io.Reader
	}{
		{"form", func() io.Reader { return strings.NewReader(form) }},
		{"empty", func() io.Reader { return strings.NewReader("") }},
		{"bad escape", func() io.Reader { return strings.NewReader("grant_type=%zz") }},
		{"broken mid-way", func() io.Reader {
			return io.MultiReader(strings.NewReader("grant_type=cl"), iotestErrReader{errors.New("connection reset")})
		}},
		{"over the size limit", func() io.Reader { return strings.NewReader(strings.Repeat("a", maxTokenRequestBytes+1)) }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			read := func(gated bool) (url.Values, error, *http.Request) {
				r := httptest.NewRequest(http.MethodPost, "/", io.NopCloser(tc.body()))
				r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				var (
					v   url.Values
					err error
					in  *http.Request
				)
				h := func(w http.ResponseWriter, r *http.Request, _ httprouter.Params) {
					v, err = readTokenForm(w, r)
					in = r
				}
				if gated {
					s := &Server{gate: newFairGate(1, 1)}
					h = s.fairly(h)
				}
				h(httptest.NewRecorder(), r, nil)
				return v, err, in
			}
			want, wantErr, _ := read(false)
			got, gotErr, r := read(true)
			if !reflect.DeepEqual(got, want) || fmt.Sprint(gotErr) != fmt.Sprint(wantErr) {
				t.Errorf("through the gate: %v, %v; without: %v, %v", got, gotErr, want, wantErr)
			}
			if e, ok := wantErr.(*Error); ok && gotErr.(*Error).status != e.status {
				t.Errorf("through the gate: status %d, without: %d", gotErr.(*Error).status, e.status)
			}
			if p := r.Body.(*prereadBody); wantErr == nil && p.Len() != len(p.body) {
				t.Errorf("the gate's body was read again (%d of %d bytes left)", p.Len(), len(p.body))
			}
		})
	}
}
