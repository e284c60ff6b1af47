package issuer

import (
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
	if c.mode == ClockReal {
		return ErrRealClock
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mode == ClockFrozen {
		c.frozen = t
	} else {
		c.offset = t.Sub(c.source())
	}
	return nil
}

// Advance moves the clock by d (backwards when d is negative). A real clock
// refuses with ErrRealClock.
func (c *Clock) Advance(d time.Duration) error {
	if c.mode == ClockReal {
		return ErrRealClock
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.mode == ClockFrozen {
		c.frozen = c.frozen.Add(d)
	} else {
		c.offset += d
	}
	return nil
}
