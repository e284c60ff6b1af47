package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/urfave/cli/v2"
)

// commandLineOf parses argv as run does and returns what commandLine makes
// of it for the command urfave/cli resolves: the actions are replaced, so
// nothing runs.
func commandLineOf(t *testing.T, argv []string) []string {
	t.Helper()
	app := newApp(io.Discard, io.Discard)
	var got []string
	var visit func(cmds []*cli.Command)
	visit = func(cmds []*cli.Command) {
		for _, c := range cmds {
			if len(c.Subcommands) == 0 {
				c.Action = func(c *cli.Context) error {
					var err error
					got, err = commandLine(c)
					return err
				}
			}
			visit(c.Subcommands)
		}
	}
	visit(app.Commands)
	if err := app.RunContext(context.Background(), interspersed(app, argv)); err != nil {
		t.Fatalf("%q: %v", argv, err)
	}
	return got
}

// TestCommandLine: a forwarded command line is rebuilt from what the client
// parsed: the connection flags stay behind, every flag is written
// --name=value, arguments follow "--", and the server parses it to the same
// command line again.
func TestCommandLine(t *testing.T) {
	for _, tc := range []struct{ name, in, want string }{
		{"connection flag first", "issuer --db x.db tenant list", "tenant list"},
		{"global flags after the command", "issuer tenant list --db x.db -o json", "--output=json tenant list"},
		{"every connection flag", "issuer --db=x.db --server https://h --admin-token-file t --ca-file c -o json app show A", "--output=json app show -- A"},
		{"a value that looks like a flag", "issuer --server=https://h tenant add --name --db", "tenant add --name=--db"},
		{"an input file", "issuer apply -f seed.json", "apply --file=seed.json"},
		{"standard input", "issuer apply -f -", "apply --file=-"},
		{"a lifetime", "issuer app secret add --app A --expires 90d", "app secret add --app=A --expires=2160h0m0s"},
		{"a repeated flag with a comma", "issuer app add --tenant T --name N --identifier-uri api://a,b --identifier-uri api://c --multi-tenant",
			"app add --tenant=T --name=N --identifier-uri=api://a,b --identifier-uri=api://c --multi-tenant=true"},
		{"an argument that looks like a flag", "issuer tenant show -- -x", "tenant show -- -x"},
		{"an argument named like a command", "issuer tenant show bench", "tenant show -- bench"},
		{"a command after --", "issuer -- tenant list", "tenant list"},
		{"output files", "issuer app cert create --app A --out-cert c.pem --out-key k.pem --days 2", "app cert create --app=A --out-cert=c.pem --out-key=k.pem --days=2"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := commandLineOf(t, strings.Fields(tc.in))
			if strings.Join(got, " ") != tc.want {
				t.Fatalf("commandLine(%q) = %q; want %q", tc.in, strings.Join(got, " "), tc.want)
			}
			again := commandLineOf(t, append([]string{"issuer"}, got...))
			if strings.Join(again, " ") != tc.want {
				t.Errorf("the server reads %q as %q", tc.want, strings.Join(again, " "))
			}
		})
	}
}

// TestCommandLineCoversEveryFlag: commandLine can write every flag of the
// command tree, so no command fails to forward for a flag type it does not
// know.
func TestCommandLineCoversEveryFlag(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	var visit func(path string, cmds []*cli.Command)
	visit = func(path string, cmds []*cli.Command) {
		for _, c := range cmds {
			for _, f := range c.Flags {
				switch f.(type) {
				case *cli.BoolFlag, *cli.StringSliceFlag, *cli.StringFlag, *cli.PathFlag, *inputFileFlag, *outputFileFlag,
					*cli.IntFlag, *cli.Uint64Flag, *cli.DurationFlag:
				case *cli.GenericFlag:
					if _, ok := f.(*cli.GenericFlag).Value.(interface{ String() string }); !ok {
						t.Errorf("%s%s --%s: a generic value without String", path, c.Name, f.Names()[0])
					}
				default:
					t.Errorf("%s%s --%s: commandLine cannot write a %T", path, c.Name, f.Names()[0], f)
				}
			}
			visit(path+c.Name+" ", c.Subcommands)
		}
	}
	visit("", app.Commands)
}

// TestPlacement: where each kind of command runs.
func TestPlacement(t *testing.T) {
	for _, tc := range []struct {
		in         string
		want       where
		outputArgs bool
		drives     bool
	}{
		{"issuer tenant list", onDatabase, false, false},
		{"issuer serve", here, false, false},
		{"issuer -- serve", here, false, false},
		{"issuer bench --duration 1s", here, false, false},
		{"issuer -o json -- bench", here, false, false},
		{"issuer db check", onDatabase, false, false},
		{"issuer db check backup.db", here, false, false},
		{"issuer db backup copy.db", onDatabase, true, false},
		{"issuer clock show", onServer, false, false},
		{"issuer logs", onServer, false, false},
		{"issuer logs --follow", onServer, false, true},
	} {
		t.Run(tc.in, func(t *testing.T) {
			app := newApp(io.Discard, io.Discard)
			var got placement
			var visit func(cmds []*cli.Command)
			visit = func(cmds []*cli.Command) {
				for _, c := range cmds {
					c.Action = func(c *cli.Context) error { got = placementOf(c); return nil }
					visit(c.Subcommands)
				}
			}
			visit(app.Commands)
			if err := app.RunContext(context.Background(), interspersed(app, strings.Fields(tc.in))); err != nil {
				t.Fatal(err)
			}
			if got.where != tc.want || got.outputArgs != tc.outputArgs || (got.drive != nil) != tc.drives {
				t.Errorf("placement %+v; want where %d, outputArgs %v, drives %v", got, tc.want, tc.outputArgs, tc.drives)
			}
		})
	}
}

// connectionTrap is a loopback listener that counts the connections it
// gets: a refused bench must not open any.
func connectionTrap(t testing.TB) (url string, hits *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	hits = new(atomic.Int64)
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			hits.Add(1)
			c.Close()
		}
	}()
	return "https://" + ln.Addr().String(), hits
}

// TestRefusedHoweverSpelled: a command that runs only where it was typed
// (serve, bench, db check FILE) is refused inside a server however the
// command line spells it, over the admin socket and over remote admin: no
// `--`, global flag or repetition reaches it. bench would read the file the
// client names and connect to the address it chooses; the trap sees no
// connection.
func TestRefusedHoweverSpelled(t *testing.T) {
	dir := shortTempDir(t)
	db := filepath.Join(dir, "issuer.db")
	tokenFile := filepath.Join(dir, "admin-token")
	const token = "0123456789abcdef0123456789abcdef"
	if err := os.WriteFile(tokenFile, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	srv := startServe(t, db, "serve", "--addr", "127.0.0.1:0", "--admin-token-file", tokenFile)
	trap, hits := connectionTrap(t)
	bench := []string{"bench", "--url", trap, "--ca", "/etc/hostname", "--tenant", "t", "--client-id", "c", "--client-secret", "s", "--scope", "x/.default", "--duration", "1s"}
	channels := []struct {
		name   string
		client *http.Client
		url    string
		auth   string
	}{
		{"socket", socketClient(db + socketSuffix), "http://issuer-admin" + adminPath, ""},
		{"remote admin", trusting(t, filepath.Join(dir, caFileName)), srv.url + adminPath, "Bearer " + token},
	}
	for _, tc := range []struct {
		name string
		args []string
		want string // in stderr
	}{
		{"bench", bench, "bench cannot run through the admin channel"},
		{"-- bench", append([]string{"--"}, bench...), "bench cannot run through the admin channel"},
		{"global flag -- bench", append([]string{"-o", "json", "--"}, bench...), "bench cannot run through the admin channel"},
		{"--db then -- bench", append([]string{"--db", "/tmp/other.db", "--"}, bench...), "bench cannot run through the admin channel"},
		{"--output=json bench", append([]string{"--output=json"}, bench...), "bench cannot run through the admin channel"},
		{"-- -- bench", append([]string{"--", "--"}, bench...), `unknown command "--"`},
		{"-- serve", []string{"--", "serve", "--addr", "127.0.0.1:0"}, "serve cannot run through the admin channel"},
		{"serve after its flags", []string{"serve", "--addr=127.0.0.1:0", "--insecure-http"}, "serve cannot run through the admin channel"},
		{"-- db check FILE", []string{"--", "db", "check", "/etc/passwd"}, "db check cannot run through the admin channel"},
		{"db check -- FILE", []string{"db", "check", "--", "/etc/passwd"}, "db check cannot run through the admin channel"},
	} {
		for _, ch := range channels {
			t.Run(ch.name+" "+tc.name, func(t *testing.T) {
				body, _ := json.Marshal(adminRequest{Args: tc.args})
				req, _ := http.NewRequest(http.MethodPost, ch.url, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				if ch.auth != "" {
					req.Header.Set("Authorization", ch.auth)
				}
				resp, err := ch.client.Do(req)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				var res adminResponse
				if err := json.NewDecoder(resp.Body).Decode(&res); err != nil || resp.StatusCode != http.StatusOK {
					t.Fatalf("status %d (%v); want 200 with an admin response", resp.StatusCode, err)
				}
				if res.ExitCode != exitUsage || !strings.Contains(res.Stderr, tc.want) {
					t.Errorf("exit %d, stderr %q; want %d containing %q", res.ExitCode, res.Stderr, exitUsage, tc.want)
				}
			})
		}
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("a refused bench opened %d connections", n)
	}
	if !strings.Contains(srv.stderr.String(), `command=bench`) {
		t.Errorf("the server's log does not show the refused bench:\n%s", srv.stderr)
	}
}

// TestBenchRefusesInsideServer: bench refuses to run for a client of the
// admin channel by itself, whatever routed it there.
func TestBenchRefusesInsideServer(t *testing.T) {
	trap, hits := connectionTrap(t)
	app := newApp(io.Discard, io.Discard, func(e *env) { e.admin = &adminRun{} })
	for _, c := range app.Commands {
		if c.Name == "bench" {
			c.Action = benchAction // without route in front
		}
	}
	err := app.RunContext(context.Background(), []string{"issuer", "bench", "--url", trap, "--tenant", "t", "--client-id", "c",
		"--client-secret", "s", "--scope", "x/.default", "--duration", "1s"})
	if err == nil || !strings.Contains(err.Error(), "bench cannot run through the admin channel") || exitCode(err) != exitUsage {
		t.Errorf("bench inside a server: %v (exit %d); want a refusal, exit 2", err, exitCode(err))
	}
	if n := hits.Load(); n != 0 {
		t.Errorf("bench opened %d connections", n)
	}
}
