package main

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"regexp"
	"runtime/debug"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/tenant"
)

// env holds what differs between a real run and a test: the sources of time,
// object ids and randomness the directory uses, and how long to wait for the
// database lock. newApp keeps it in the app's Metadata; envOf reads it back.
type env struct {
	now         func() time.Time
	newID       func() string
	random      io.Reader
	lockTimeout time.Duration
	stdin       io.Reader
	// listen opens serve's listeners (net.Listen on TCP); a test keeps
	// the listener to close it under the server, making serving fail.
	listen func(addr string) (net.Listener, error)

	// admin is set when the command runs inside `issuer serve` for a
	// client of the admin channel (admin.go).
	admin *adminRun
}

// option changes the env; tests use it to fix the clock and ids so that
// golden files are stable. main passes none.
type option func(*env)

const envKey = "issuer.env"

// newApp builds the command tree. Every command family has its constructor
// in its own file; register new families in the Commands list below.
func newApp(stdout, stderr io.Writer, opts ...option) *cli.App {
	e := defaultEnv()
	for _, o := range opts {
		o(e)
	}
	app := &cli.App{
		Name:      "issuer",
		Usage:     "emulate the Microsoft Entra ID token issuer for local tests",
		UsageText: "issuer [--db PATH | --store URL | --server URL --admin-token-file FILE [--ca-file FILE]] [--output text|json] COMMAND [flags] [args]",
		Description: `issuer keeps a directory of tenants, app registrations, client secrets and
users in one database file and serves Entra ID's token, discovery and JWKS
endpoints (issuer serve).

While issuer serve runs, every command still works on its database: it is
sent to the server over the admin socket beside the database (PATH.sock)
and runs there, with the same output. --server sends it to a remote server
started with --admin-token-file.

EXAMPLES
   issuer serve --demo
   issuer tenant add --name contoso --domain contoso.com
   issuer app add --tenant contoso.com --name "Orders API" --identifier-uri api://orders --token-version 2
   issuer app secret add --app APPID --expires 90d
   issuer user add --tenant contoso.com --upn alice@contoso.com --password 'S3cret!'

EXIT CODES
   0  success
   1  error (e.g. unknown tenant or application)
   2  usage error: bad flags or arguments, or values the directory rejects
   3  database locked: another process holds it and no server answers on its
      admin socket`,
		Writer:                    stdout,
		ErrWriter:                 stderr,
		Flags:                     append([]cli.Flag{dbFlag(), outputFlag(), serverFlag(), adminTokenFileFlag(), caFileFlag()}, storeFlags()...),
		Version:                   version(),
		DisableSliceFlagSeparator: true,
		Metadata:                  map[string]any{envKey: e},
		Commands: []*cli.Command{
			tenantCommand(),
			applicationCommand(),
			spCommand(),
			consentCommand(),
			roleCommand(),
			userCommand(),
			groupCommand(),
			identityCommand(),
			tokenCommand(),
			authorizeURLCommand(),
			explainCommand(),
			keysCommand(),
			serveCommand(),
			applyCommand(),
			exportCommand(),
			clockCommand(),
			logsCommand(),
			benchCommand(),
			benchFloorCommand(),
			dbCommand(),
		},
		// Errors are printed once by run; the default handler would call
		// os.Exit from inside the library.
		ExitErrHandler: func(*cli.Context, error) {},
	}
	app.Action = groupAction
	app.OnUsageError = onUsageError
	for _, c := range app.Commands {
		setHandlers(c, app.Name)
	}
	return app
}

// version is the module version the binary was built from (a tagged
// release with go install, else "devel" and the VCS revision when known).
func version() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	v := bi.Main.Version
	if v == "" || v == "(devel)" {
		v = "devel"
		for _, s := range bi.Settings {
			if s.Key == "vcs.revision" && len(s.Value) >= 12 {
				v += " " + s.Value[:12]
			}
		}
	}
	return v
}

// defaultEnv is the env of a real run.
func defaultEnv() *env {
	return &env{now: time.Now, newID: tenant.NewGUID, random: rand.Reader, lockTimeout: time.Second,
		stdin: os.Stdin, listen: func(addr string) (net.Listener, error) { return net.Listen("tcp", addr) }}
}

// envOf returns the env newApp stored in the app.
func envOf(c *cli.Context) *env { return envOfApp(c.App) }

func envOfApp(app *cli.App) *env {
	if e, ok := app.Metadata[envKey].(*env); ok {
		return e
	}
	return defaultEnv()
}

// setHandlers makes every command in the tree report flag errors as usage
// errors (exit code 2), answer an unknown subcommand with one, and run its
// action where route says (route.go). It also settles two things of the
// help every command shares: a group's usage line names its COMMAND, and an
// update command shows no defaults, because a flag left out leaves the
// value as it is.
func setHandlers(c *cli.Command, parent string) {
	if c.OnUsageError == nil {
		c.OnUsageError = onUsageError
	}
	switch {
	case len(c.Subcommands) > 0 && c.Action == nil:
		c.Action = groupAction
	case c.Action != nil:
		c.Action = route(c.Action)
	}
	if len(c.Subcommands) > 0 && c.UsageText == "" {
		c.UsageText = parent + " " + c.Name + " COMMAND [command options] [arguments...]"
	}
	if c.Name == "update" {
		for _, f := range c.Flags {
			hideDefault(f)
		}
	}
	for _, s := range c.Subcommands {
		setHandlers(s, parent+" "+c.Name)
	}
}

// hideDefault keeps the help of f from showing a default value.
func hideDefault(f cli.Flag) {
	switch f := f.(type) {
	case *cli.BoolFlag:
		f.DisableDefaultText = true
	case *cli.GenericFlag:
		f.Usage = defaultSuffix.ReplaceAllString(f.Usage, "")
	}
}

// defaultSuffix is a default written into a usage text.
var defaultSuffix = regexp.MustCompile(` \(default: [^)]*\)`)

// flagDashes finds the flag names Go's flag package quotes with one dash
// ("flag provided but not defined: -bogus"); ours take two, and only
// one-letter aliases (-o, -h) take one.
var flagDashes = regexp.MustCompile(`(^|[\s:])-([a-zA-Z][a-zA-Z0-9-]+)`)

func onUsageError(_ *cli.Context, err error, _ bool) error {
	return usageError("%s", flagDashes.ReplaceAllString(err.Error(), "$1--$2"))
}

// groupAction runs when a command that only groups subcommands is called
// without one (shows help) or with an unknown one (usage error).
func groupAction(c *cli.Context) error {
	if c.Args().Present() {
		return usageError("unknown command %q", c.Args().First())
	}
	if c.Command != nil && c.Command.Name != "" && c.Command.Name != c.App.Name {
		return cli.ShowSubcommandHelp(c)
	}
	return cli.ShowAppHelp(c)
}

// usageErr is a usage error: bad flags or arguments. It maps to exit code 2.
type usageErr struct{ msg string }

func (e *usageErr) Error() string { return e.msg }

// usageError returns a usage error (exit code 2).
func usageError(format string, args ...any) error {
	return &usageErr{msg: fmt.Sprintf(format, args...)}
}

// isUsageError reports whether err is a usage error: ours, or urfave/cli's
// "Required flag(s) … not set", whose type the library does not export.
func isUsageError(err error) bool {
	var u *usageErr
	if errors.As(err, &u) {
		return true
	}
	return strings.HasPrefix(err.Error(), "Required flag")
}
