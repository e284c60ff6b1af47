// Command issuer emulates the Microsoft Entra ID token issuer for local tests:
// it keeps a directory of tenants and app registrations in one bbolt file and
// serves Entra's token, discovery and JWKS endpoints (`issuer serve`).
//
// The CLI is a tree of constructor functions, one file per command family
// (tenant.go, application.go, secret.go, serve.go, …), registered in one list
// in app.go. Actions turn flags into one library call and print the result
// with the helpers in output.go; flags.go holds the shared flags and the
// database helpers (withDirectory, withDB).
//
// While `issuer serve` holds the database, route (route.go) sends the
// command to the server instead, before any action runs (admin.go,
// admin_client.go, admin_socket.go): the server runs the same command tree
// in-process on its open database, so each operation has one
// implementation whichever way it arrives.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// Exit codes, documented in the root help and the README.
const (
	exitOK     = 0
	exitError  = 1
	exitUsage  = 2
	exitLocked = 3
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

// run runs the CLI with args (args[0] is the program name) and returns the
// process exit code. Errors are printed to stderr, once, here.
func run(ctx context.Context, args []string, stdout, stderr io.Writer, opts ...option) int {
	app := newApp(stdout, stderr, opts...)
	err := app.RunContext(ctx, interspersed(app, args))
	var fe *forwardedExit
	switch {
	case err == nil:
		return exitOK
	case errors.As(err, &fe):
		return fe.code // the server's output, printed already, said why
	}
	code := exitCode(err)
	// Errors from package issuer already begin with "issuer: ".
	if msg := strings.TrimPrefix(err.Error(), "issuer: "); msg != "" {
		fmt.Fprintln(stderr, "issuer:", msg)
	}
	if code == exitUsage {
		fmt.Fprintln(stderr, "issuer: run 'issuer --help' or 'issuer COMMAND --help' for usage")
	}
	return code
}

// exitCode maps an error to the exit code: 3 when the database is locked,
// 2 for usage errors (bad flags or arguments, or values the directory rejects
// as invalid), 1 for anything else.
func exitCode(err error) int {
	switch {
	case errors.Is(err, storage.ErrLocked):
		return exitLocked
	case errors.Is(err, tenant.ErrInvalid), errors.Is(err, errNotForwardable), isUsageError(err):
		return exitUsage
	}
	var ec cli.ExitCoder
	if errors.As(err, &ec) {
		// urfave/cli answers `issuer help nosuchcommand` with code 3, which is
		// ours for a locked database; anything it reports is a usage error.
		if c := ec.ExitCode(); c != exitOK && c != exitLocked {
			return c
		}
		return exitUsage
	}
	return exitError
}
