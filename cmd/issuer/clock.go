package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/tenant"
)

// clockCommand is `issuer clock`: the running server's clock (serve
// --clock). It exists only on a server, so these commands always go through
// the admin channel.
func clockCommand() *cli.Command {
	return &cli.Command{
		Name:  "clock",
		Usage: "show or move the running server's clock (serve --clock frozen|offset)",
		Description: `A server started with --clock frozen stands still until it is set or
advanced; with --clock offset it runs with real time plus an offset that set
and advance change. Tokens, secrets and signing keys then expire when the
test says so, without waiting. These commands need a running server: they go
over the admin socket beside --db, or to --server.

EXAMPLES
   issuer clock show
   issuer clock advance 2h
   issuer clock advance 90d
   issuer clock set 2030-01-01T00:00:00Z`,
		Subcommands: []*cli.Command{
			{Name: "show", Usage: "show the clock's mode and time", Action: clockShow},
			{Name: "set", Usage: "set the clock to an RFC 3339 time", ArgsUsage: "TIME", Action: clockSet},
			{Name: "advance", Usage: "move the clock by a duration (90d, 2h30m; negative goes back)", ArgsUsage: "DURATION", Action: clockAdvance},
		},
	}
}

// clockView is the JSON of the clock commands.
type clockView struct {
	Mode issuer.ClockMode `json:"mode"`
	Now  time.Time        `json:"now"`
}

func printClock(c *cli.Context, clock *issuer.Clock) error {
	v := clockView{Mode: clock.Mode(), Now: clock.Now().UTC()}
	return printObject(c, v, []field{{"mode", string(v.Mode)}, {"now", v.Now.Format(time.RFC3339Nano)}})
}

func clockShow(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	st := serverOf(c)
	return printClock(c, st.clock)
}

func clockSet(c *cli.Context) error {
	args, err := requireArgs(c, "TIME")
	if err != nil {
		return err
	}
	t, err := time.Parse(time.RFC3339, args[0])
	if err != nil {
		return usageError("clock set: %q is not an RFC 3339 time (e.g. 2030-01-01T00:00:00Z)", args[0])
	}
	st := serverOf(c)
	if err := st.clock.Set(t); err != nil {
		return err
	}
	return printClock(c, st.clock)
}

func clockAdvance(c *cli.Context) error {
	args, err := requireArgs(c, "DURATION")
	if err != nil {
		return err
	}
	s := strings.TrimSpace(args[0])
	back := strings.HasPrefix(s, "-")
	d, err := tenant.ParseLifetime(strings.TrimPrefix(s, "-"))
	if err != nil {
		return usageError("clock advance: %v", err)
	}
	if back {
		d = -d
	}
	st := serverOf(c)
	if err := st.clock.Advance(d); err != nil {
		return fmt.Errorf("clock advance: %w", err)
	}
	return printClock(c, st.clock)
}
