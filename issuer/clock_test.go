package issuer_test

import (
	"errors"
	"testing"
	"time"

	"github.com/issuer-dev/issuer/issuer"
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
