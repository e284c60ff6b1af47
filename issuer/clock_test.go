package issuer_test

import (
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/storage"
)

func TestClock(t *testing.T) {
	wall := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	source := func() time.Time { return wall }
	target := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		mode    issuer.ClockMode
		move    func(c *issuer.Clock) error
		wall    time.Duration // how far the wall clock runs after the move
		want    time.Time
		wantErr error
	}{
		{"real follows the wall clock", issuer.ClockReal, nil, time.Hour, wall.Add(time.Hour), nil},
		{"real refuses set", issuer.ClockReal, func(c *issuer.Clock) error { return c.Set(target) }, 0, wall, issuer.ErrRealClock},
		{"real refuses advance", issuer.ClockReal, func(c *issuer.Clock) error { return c.Advance(time.Hour) }, 0, wall, issuer.ErrRealClock},
		{"frozen stands still", issuer.ClockFrozen, nil, time.Hour, wall, nil},
		{"frozen advances", issuer.ClockFrozen, func(c *issuer.Clock) error { return c.Advance(90 * time.Minute) }, time.Hour, wall.Add(90 * time.Minute), nil},
		{"frozen goes back", issuer.ClockFrozen, func(c *issuer.Clock) error { return c.Advance(-time.Hour) }, 0, wall.Add(-time.Hour), nil},
		{"frozen is set", issuer.ClockFrozen, func(c *issuer.Clock) error { return c.Set(target) }, time.Hour, target, nil},
		{"offset runs with the wall clock", issuer.ClockOffset, func(c *issuer.Clock) error { return c.Advance(24 * time.Hour) }, time.Hour, wall.Add(25 * time.Hour), nil},
		{"offset is set and runs on", issuer.ClockOffset, func(c *issuer.Clock) error { return c.Set(target) }, time.Hour, target.Add(time.Hour), nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			wall = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
			c, err := issuer.NewClock(tc.mode, source)
			if err != nil {
				t.Fatal(err)
			}
			if tc.move != nil {
				if err := tc.move(c); !errors.Is(err, tc.wantErr) {
					t.Fatalf("move: %v; want %v", err, tc.wantErr)
				}
			}
			wall = wall.Add(tc.wall)
			if got := c.Now(); !got.Equal(tc.want) {
				t.Errorf("Now() = %v; want %v", got, tc.want)
			}
			if c.Mode() != tc.mode {
				t.Errorf("Mode() = %q; want %q", c.Mode(), tc.mode)
			}
		})
	}
}

func TestParseClockMode(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want issuer.ClockMode
		ok   bool
	}{
		{"real", issuer.ClockReal, true}, {"FROZEN", issuer.ClockFrozen, true}, {" offset ", issuer.ClockOffset, true},
		{"", "", false}, {"fixed", "", false},
	} {
		got, err := issuer.ParseClockMode(tc.in)
		if got != tc.want || (err == nil) != tc.ok {
			t.Errorf("ParseClockMode(%q) = %q, %v; want %q, ok %v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	if _, err := issuer.NewClock("sometimes", nil); err == nil {
		t.Error("NewClock(sometimes) = nil error; want a refusal")
	}
}

// TestSharedClock: clocks sharing a store (two replicas of a directory,
// here two clocks over one file) agree on their state. The first stores
// its own; the next adopts it; a move on either is seen by the other at
// its next Reload, and two advances add up. A clock of another mode keeps
// its own time and takes over the stored state; a real clock shares
// nothing.
func TestSharedClock(t *testing.T) {
	ctx := t.Context()
	wall := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	source := func() time.Time { return wall }
	db, err := storage.Open(filepath.Join(t.TempDir(), "issuer.db"), storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	shared := func(mode issuer.ClockMode) *issuer.Clock {
		t.Helper()
		c, err := issuer.NewClock(mode, source)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Share(ctx, db); err != nil {
			t.Fatalf("Share: %v", err)
		}
		return c
	}
	reload := func(cs ...*issuer.Clock) {
		t.Helper()
		for _, c := range cs {
			if err := c.Reload(ctx); err != nil {
				t.Fatalf("Reload: %v", err)
			}
		}
	}
	want := func(what string, c *issuer.Clock, at time.Time) {
		t.Helper()
		if got := c.Now(); !got.Equal(at) {
			t.Errorf("%s: Now() = %v; want %v", what, got, at)
		}
	}

	a := shared(issuer.ClockFrozen)
	wall = wall.Add(time.Hour) // b starts an hour later, and adopts a's time
	b := shared(issuer.ClockFrozen)
	want("b at its start", b, wall.Add(-time.Hour))
	if err := a.Advance(2 * time.Hour); err != nil {
		t.Fatal(err)
	}
	want("b before a reload", b, wall.Add(-time.Hour))
	reload(b)
	want("b after a's advance", b, wall.Add(time.Hour))
	// Two advances, one on each, add up, although b's last reload is
	// older than a's move.
	if err := a.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	if err := b.Advance(time.Hour); err != nil {
		t.Fatal(err)
	}
	reload(a, b)
	want("a after both advances", a, wall.Add(3*time.Hour))
	want("b after both advances", b, wall.Add(3*time.Hour))
	target := time.Date(2030, 6, 1, 12, 0, 0, 0, time.UTC)
	if err := b.Set(target); err != nil {
		t.Fatal(err)
	}
	reload(a)
	want("a after b's set", a, target)

	// A replica started with --clock offset keeps its own time and stores
	// its state; the frozen clocks keep theirs.
	o := shared(issuer.ClockOffset)
	want("an offset clock over a frozen state", o, wall)
	if err := o.Advance(24 * time.Hour); err != nil {
		t.Fatal(err)
	}
	reload(a)
	want("a frozen clock over an offset state", a, target)
	o2 := shared(issuer.ClockOffset)
	wall = wall.Add(time.Minute)
	want("a second offset clock", o2, wall.Add(24*time.Hour))

	r := shared(issuer.ClockReal)
	reload(r)
	want("a real clock", r, wall)
	if err := r.Advance(time.Hour); !errors.Is(err, issuer.ErrRealClock) {
		t.Errorf("a shared real clock's Advance = %v; want ErrRealClock", err)
	}
}
