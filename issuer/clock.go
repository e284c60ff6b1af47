package issuer

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"
)

// ClockMode says how a Clock moves.
type ClockMode string

// Clock modes. Real follows the wall clock and cannot be moved; frozen stands
// still until it is set or advanced; offset is the wall clock plus an offset
// that Set and Advance change. Tests use frozen or offset to expire tokens,
// secrets and assertions at once instead of sleeping.
const (
	ClockReal   ClockMode = "real"
	ClockFrozen ClockMode = "frozen"
	ClockOffset ClockMode = "offset"
)

// ErrRealClock is returned by Set and Advance on a real clock.
var ErrRealClock = errors.New("the clock is real and cannot be moved; start the server with --clock frozen or --clock offset")

// ParseClockMode accepts "real", "frozen" or "offset", in any case.
func ParseClockMode(s string) (ClockMode, error) {
	switch m := ClockMode(strings.ToLower(strings.TrimSpace(s))); m {
	case ClockReal, ClockFrozen, ClockOffset:
		return m, nil
	}
	return "", fmt.Errorf("clock mode must be real, frozen or offset, not %q", s)
}

// Clock is a server's time source: Config.Clock, and the clock of the
// directory and the consent manager beside it, so that a secret created
// "now" and the token request checking it agree on what now is. It is safe
// for concurrent use.
type Clock struct {
	mode   ClockMode
	source func() time.Time

	mu     sync.Mutex
	frozen time.Time     // ClockFrozen: the current time
	offset time.Duration // ClockOffset: added to source()
	// shared, once Share was called, is the store of the state the
	// servers sharing it agree on; gen is its generation when the state
	// was last read.
	shared ClockStore
	gen    uint64
}

// NewClock returns a clock in mode over source (the wall clock when nil). A
// frozen clock starts at source()'s current time.
func NewClock(mode ClockMode, source func() time.Time) (*Clock, error) {
	if _, err := ParseClockMode(string(mode)); err != nil {
		return nil, err
	}
	if source == nil {
		source = time.Now
	}
	c := &Clock{mode: mode, source: source}
	if mode == ClockFrozen {
		c.frozen = source()
	}
	return c, nil
}

// Mode returns the clock's mode; it never changes.
func (c *Clock) Mode() ClockMode { return c.mode }

// Now returns the clock's current time.
func (c *Clock) Now() time.Time {
	if c.mode == ClockReal {
		return c.source()
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mode == ClockFrozen {
		return c.frozen
	}
	return c.source().Add(c.offset)
}

// Set moves the clock to t: a frozen clock stands at t, an offset clock runs
// on from t. A real clock refuses with ErrRealClock.
func (c *Clock) Set(t time.Time) error {
	return c.move(func(st *clockState) {
		if c.mode == ClockFrozen {
			st.Frozen = t
		} else {
			st.Offset = t.Sub(c.source())
		}
	})
}

// Advance moves the clock by d (backwards when d is negative). A real clock
// refuses with ErrRealClock.
func (c *Clock) Advance(d time.Duration) error {
	return c.move(func(st *clockState) {
		if c.mode == ClockFrozen {
			st.Frozen = st.Frozen.Add(d)
		} else {
			st.Offset += d
		}
	})
}

// move applies change to the clock's state: the shared one, in one
// compare-and-swap of the store, when the clock is shared.
func (c *Clock) move(change func(*clockState)) error {
	if c.mode == ClockReal {
		return ErrRealClock
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.state()
	if c.shared == nil {
		change(&st)
		c.adopt(st)
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), clockStoreTimeout)
	defer cancel()
	err := c.shared.UpdateSetting(ctx, clockSetting, func(old []byte) ([]byte, error) {
		// Another server may have moved the clock since this one read it:
		// move what is stored, so that two advances add up.
		next := st
		if stored, ok := c.decode(old); ok {
			next = stored
		}
		change(&next)
		st = next
		return json.Marshal(next)
	})
	if err != nil {
		return fmt.Errorf("issuer: moving the shared clock: %w", err)
	}
	c.adopt(st)
	return nil
}

// ---- a clock shared by the replicas of a directory ----

// ClockStore keeps a shared clock's state: the settings of a directory that
// several servers share (replicas on etcd), which every one of them reads
// after catching up with the others' writes. storage.DB is one.
type ClockStore interface {
	Setting(ctx context.Context, name string) ([]byte, error)
	UpdateSetting(ctx context.Context, name string, update func(old []byte) ([]byte, error)) error
	// Generation moves with every write of the store (storage.DB's).
	Generation(ctx context.Context) (uint64, bool)
}

// clockSetting names the setting a shared clock's state is stored in.
const clockSetting = "clock"

// clockStoreTimeout bounds the store write of a Set or Advance, which
// have no context of their own.
const clockStoreTimeout = 10 * time.Second

// clockState is a frozen or offset clock's state, as stored for the
// servers that share it.
type clockState struct {
	Mode   ClockMode     `json:"mode"`
	Frozen time.Time     `json:"frozen,omitzero"`
	Offset time.Duration `json:"offset,omitempty"` // nanoseconds
}

// state returns the clock's state; c.mu is held.
func (c *Clock) state() clockState {
	return clockState{Mode: c.mode, Frozen: c.frozen, Offset: c.offset}
}

// adopt makes st the clock's state; c.mu is held.
func (c *Clock) adopt(st clockState) { c.frozen, c.offset = st.Frozen, st.Offset }

// decode reads a stored state of the clock's own mode.
func (c *Clock) decode(v []byte) (clockState, bool) {
	var st clockState
	if v == nil || json.Unmarshal(v, &st) != nil || st.Mode != c.mode {
		return clockState{}, false
	}
	return st, true
}

// Share makes the clock the one of every server sharing s, so that moving
// it on one server moves it on all of them: the state stored in s (the
// frozen time, or the offset) is adopted, or, when there is none or it is
// of another mode (the cluster restarted with another --clock), the
// clock's own is stored. From then on Set and Advance change the stored
// state, and Reload adopts what another server stored. A real clock has
// nothing to share.
func (c *Clock) Share(ctx context.Context, s ClockStore) error {
	if c.mode == ClockReal {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	gen, _ := s.Generation(ctx)
	st := c.state()
	err := s.UpdateSetting(ctx, clockSetting, func(old []byte) ([]byte, error) {
		if stored, ok := c.decode(old); ok {
			st = stored
		}
		return json.Marshal(st)
	})
	if err != nil {
		return fmt.Errorf("issuer: sharing the clock: %w", err)
	}
	c.adopt(st)
	c.shared, c.gen = s, gen
	return nil
}

// Reload adopts the shared state when the store changed since the clock
// last read it. A server calls it before it serves a request, once its
// store has caught up with the shared one, so that a request that starts
// after another server moved the clock sees the move. It does nothing for
// a clock that is not shared.
func (c *Clock) Reload(ctx context.Context) error {
	if c.mode == ClockReal {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.shared == nil {
		return nil
	}
	gen, ok := c.shared.Generation(ctx)
	if ok && gen == c.gen {
		return nil
	}
	v, err := c.shared.Setting(ctx, clockSetting)
	if err != nil {
		return fmt.Errorf("issuer: reading the shared clock: %w", err)
	}
	// A state of another mode is a server started with another --clock;
	// this one keeps its own.
	if st, ok := c.decode(v); ok {
		c.adopt(st)
	}
	c.gen = gen
	return nil
}
