package main

import (
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"
)

// Where a command runs is decided once, by route, after urfave/cli has
// parsed the command line and before any action runs: newApp puts route in
// front of every command's action. A command runs here, or is sent whole to
// the server that holds the database, or is refused; actions never learn
// which, except through the database or server state they are handed.
//
// The decision is made on the command urfave/cli resolved, never on a
// second reading of the words, so no spelling (`--`, flags before the
// command, aliases) reaches a command that must not run inside a server.
// What a forwarded command sends is rebuilt from the parsed flags
// (commandLine); the files it reads and writes are known by their flags'
// types (inputFileFlag, outputFileFlag), so the client reads and checks
// them before anything is sent.

// where says where a command runs.
type where int

const (
	// onDatabase: the command opens --db, here, or in the server that
	// holds it (found on the admin socket beside the database, or named
	// by --server). The default.
	onDatabase where = iota
	// onServer: the command needs a running server's own state (its
	// clock, its sign-in log) and is always sent to one.
	onServer
	// here: the command runs in the process that parsed it and is refused
	// inside a server: it starts servers and opens connections of its own
	// (serve, bench), or opens a file the user names (db check FILE).
	here
)

// placement is what route needs to know of a command.
type placement struct {
	where where
	// what names the command in the error of an onServer command that
	// finds no server, e.g. "clock commands need a running server".
	what string
	// outputArgs: the positional arguments name files the command writes
	// (db backup FILE), as outputFileFlag values do.
	outputArgs bool
	// drive, for an onServer command, runs on the client in place of
	// sending the command once: logs --follow asks again and again.
	drive func(c *cli.Context, t *adminTarget) error
	// onEtcd, for an onServer command, runs it here when the store is
	// etcd and no server is named: logs reads the replicas' shared log.
	onEtcd func(c *cli.Context, u storeURL) error
}

// placementOf says where the command c is about to run belongs. Commands
// not named here use the database (onDatabase).
func placementOf(c *cli.Context) placement {
	switch path := strings.Join(commandNames(c), " "); {
	case path == "serve" || path == "bench":
		return placement{where: here}
	case path == "user hash-password": // touches no directory; its password stays in this process
		return placement{where: here}
	case path == "db check" && c.NArg() > 0:
		return placement{where: here}
	case path == "db copy": // names its stores itself, and reaches them from here
		return placement{where: here}
	case path == "db backup":
		return placement{where: onDatabase, outputArgs: true}
	case path == "identity env": // the listener and its secret are the server's
		return placement{where: onServer, what: "identity env"}
	case strings.HasPrefix(path, "clock "):
		return placement{where: onServer, what: "clock commands"}
	case path == "logs":
		p := placement{where: onServer, what: "logs", onEtcd: clusterLogs}
		if c.Bool("follow") {
			p.drive = followLogs
		}
		return p
	}
	return placement{where: onDatabase}
}

// errNotForwardable refuses, inside a server, a command that runs only
// where it was typed. It is a usage error (exit code 2).
var errNotForwardable = errors.New("cannot run through the admin channel of a running server")

// route puts the decision in front of action.
func route(action cli.ActionFunc) cli.ActionFunc {
	return func(c *cli.Context) error {
		p, e := placementOf(c), envOf(c)
		if e.admin != nil { // inside a server, for a client
			e.admin.command = strings.Join(commandNames(c), " ")
			if p.where == here {
				return fmt.Errorf("%s %w", e.admin.command, errNotForwardable)
			}
		} else if p.where != here {
			t, err := serverFor(c)
			if err != nil {
				return err
			}
			switch {
			case t != nil && p.drive != nil:
				return p.drive(c, t)
			case t != nil:
				return forward(c, t, p)
			case p.where == onServer:
				u, _ := storeTarget(c) // serverFor checked it
				if u.isEtcd() && p.onEtcd != nil {
					return p.onEtcd(c, u)
				}
				if u.isEtcd() {
					return fmt.Errorf("%s need a running server: with %s, give --server URL (each replica keeps its own)", p.what, u)
				}
				path := u.bolt
				return fmt.Errorf("%s need a running server: none answers on %s (start `issuer --db %s serve`, or give --server URL)",
					p.what, path+socketSuffix, shellQuote(path))
			}
		}
		if err := checkOutputs(c, outputFiles(c, p)); err != nil {
			return err
		}
		return action(c)
	}
}

// refuseInServer is the refusal of a command that runs only where it was
// typed, for the commands that keep it themselves whatever routes them
// (serve, bench, db check FILE): a server never starts servers or load
// generators, nor opens a file a client names, for a client.
func refuseInServer(c *cli.Context, name string) error {
	if envOf(c).admin != nil {
		return fmt.Errorf("%s %w", name, errNotForwardable)
	}
	return nil
}

// serverFor returns the server that takes the command: the one --server
// names, else the one answering on the admin socket beside --db; nil when
// there is none and the command runs here.
func serverFor(c *cli.Context) (*adminTarget, error) {
	if t, err := remoteTarget(c); t != nil || err != nil {
		return t, err
	}
	u, err := storeTarget(c)
	if err != nil || u.isEtcd() { // etcd is shared directly: no socket
		return nil, err
	}
	return socketTarget(u.bolt), nil
}

// forward sends the command to t with the files it reads, prints what it
// printed there, writes the files it returned (only those the command line
// names), and ends with its exit code.
func forward(c *cli.Context, t *adminTarget, p placement) error {
	e := envOf(c)
	outputs := outputFiles(c, p)
	if err := checkOutputs(c, outputs); err != nil {
		return err
	}
	args, err := commandLine(c)
	if err != nil {
		return err
	}
	req := adminRequest{Args: args}
	for _, name := range inputFiles(c) {
		data, err := readClientFile(e, name)
		if err != nil {
			return err
		}
		if req.Files == nil {
			req.Files = map[string][]byte{}
		}
		req.Files[name] = data
	}
	if t.socket != "" {
		// Same machine, same user: files the command writes are created
		// where this user's relative names point (outfile.go).
		if wd, err := os.Getwd(); err == nil {
			req.Dir = wd
		}
	}
	res, err := t.send(c.Context, req)
	if err != nil {
		return err
	}
	ferr := writeReturnedFiles(outputs, res.Files)
	fmt.Fprint(c.App.Writer, res.Stdout)
	fmt.Fprint(c.App.ErrWriter, res.Stderr)
	if ferr != nil {
		return ferr
	}
	if res.ExitCode != exitOK {
		return &forwardedExit{res.ExitCode}
	}
	return nil
}

// forwardedExit carries the exit code of a command run on a server, whose
// output has been printed already.
type forwardedExit struct{ code int }

func (e *forwardedExit) Error() string { return "" }

// commandNames returns the names of the commands c runs under, from the
// top, e.g. ["app", "secret", "add"].
func commandNames(c *cli.Context) []string {
	levels := commandLevels(c)
	names := make([]string, 0, len(levels))
	for _, l := range levels[1:] {
		names = append(names, l.Command.Name)
	}
	return names
}

// commandLevels returns the contexts of the app and of each command c runs
// under, from the top: levels[0] holds the global flags.
func commandLevels(c *cli.Context) []*cli.Context {
	var levels []*cli.Context
	for _, l := range c.Lineage() {
		if l.Command != nil {
			levels = append([]*cli.Context{l}, levels...)
		}
	}
	return levels
}

// connectionFlags are the global flags that say where a command runs; they
// stay with the client.
var connectionFlags = []string{"db", "server", "admin-token-file", "ca-file"}

// commandLine is the command line a server runs for c: the global flags
// but the connection flags, each command's name and the flags set at its
// level, then "--" and the arguments. Every flag is written --name=value,
// from the value parsed here, so the server parses what the client parsed
// (flags set from the client's environment included), and no argument can
// be read as a command or a flag. Flags named in except are left out.
func commandLine(c *cli.Context, except ...string) ([]string, error) {
	var out []string
	for i, l := range commandLevels(c) {
		flags := c.App.Flags
		if i > 0 {
			out = append(out, l.Command.Name)
			flags = l.Command.Flags
		}
		for _, f := range flags {
			name := f.Names()[0]
			if name == "help" || i == 0 && slices.Contains(connectionFlags, name) || slices.Contains(except, name) || !l.IsSet(name) {
				continue
			}
			values, err := flagValues(l, f)
			if err != nil {
				return nil, err
			}
			for _, v := range values {
				out = append(out, "--"+name+"="+v)
			}
		}
	}
	if args := c.Args().Slice(); len(args) > 0 {
		out = append(append(out, "--"), args...)
	}
	return out, nil
}

// flagValues returns the values of a set flag as they are written on a
// command line: one per occurrence for a repeatable flag. Every flag type
// the command tree uses is here; TestCommandLineCoversEveryFlag fails for
// one that is not.
func flagValues(c *cli.Context, f cli.Flag) ([]string, error) {
	name := f.Names()[0]
	switch f.(type) {
	case *cli.BoolFlag:
		return []string{strconv.FormatBool(c.Bool(name))}, nil
	case *cli.StringSliceFlag:
		return c.StringSlice(name), nil
	case *cli.StringFlag:
		return []string{c.String(name)}, nil
	case *cli.PathFlag, *inputFileFlag, *outputFileFlag:
		return []string{c.Path(name)}, nil
	case *cli.IntFlag:
		return []string{strconv.Itoa(c.Int(name))}, nil
	case *cli.Uint64Flag:
		return []string{strconv.FormatUint(c.Uint64(name), 10)}, nil
	case *cli.DurationFlag:
		return []string{c.Duration(name).String()}, nil
	case *cli.GenericFlag:
		if v, ok := c.Generic(name).(fmt.Stringer); ok {
			return []string{v.String()}, nil
		}
	}
	return nil, fmt.Errorf("--%s (%T) cannot be sent to a server", name, f)
}
