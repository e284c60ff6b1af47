package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/issuer"
)

// followInterval is how often `logs --follow` asks the server for new
// sign-ins.
const followInterval = 500 * time.Millisecond

// logsCommand is `issuer logs`: the running server's sign-in log.
func logsCommand() *cli.Command {
	return &cli.Command{
		Name:  "logs",
		Usage: "show the token requests the running server answered, and why it refused any",
		Description: `Every token request's outcome is kept in the server's memory (the last
10,000): time, tenant, client, resource, user, flow, result, and for a
refusal the AADSTS code, the OAuth error and the reason: the policy rule and
the directory facts behind it (as issuer explain shows them), or the error
message. Secrets, assertions, passwords and tokens are never recorded. The
log needs a running server: the command goes over the admin socket beside
--db, or to --server. -o json prints one JSON object per line.

On an etcd store (--store etcd://…) without --server, logs reads the log
the replicas share: each replica adds what it recorded once a second, so
the newest second may be missing. The cluster keeps its last 40 such
batches of all replicas together (about 40 seconds of a busy replica,
20 of each of two; at most 20,000 entries), none older than a day, and
each entry names its replica. A server's own log (--server) keeps more.

EXAMPLES
   issuer logs --failed
   issuer logs --client APPID -n 20
   issuer logs --follow --tenant contoso.onmicrosoft.com
   issuer -o json logs --failed | jq .reason`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "tenant", Usage: "only requests to this tenant (`TENANT` id or domain)"},
			&cli.StringFlag{Name: "client", Usage: "only requests of this client (`APPID`)"},
			&cli.BoolFlag{Name: "failed", Usage: "only refused requests"},
			&cli.BoolFlag{Name: "follow", Aliases: []string{"f"}, Usage: "keep printing new requests until interrupted"},
			&cli.IntFlag{Name: "n", Usage: "show the last `N` requests (0: all kept)", Value: 50},
			// after is the cursor --follow passes: entries after this
			// sequence number, however many.
			&cli.Uint64Flag{Name: "after", Hidden: true},
		},
		Action: logs,
	}
}

// checkLogsArgs checks what logs and logs --follow (on the client) take.
func checkLogsArgs(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	if c.Int("n") < 0 {
		return usageError("logs: -n must not be negative")
	}
	return nil
}

func logs(c *cli.Context) error {
	if err := checkLogsArgs(c); err != nil {
		return err
	}
	st := serverOf(c)
	if c.Bool("follow") {
		return usageError("logs: --follow is driven by the client; send the command without it, with --after")
	}
	f := signInFilter(c, func(ctx context.Context, ref string) (string, error) {
		t, err := newDirectory(c, st.db).ResolveTenant(ctx, ref)
		return t.ID, err
	})
	f.After, f.Last = c.Uint64("after"), c.Int("n")
	if c.IsSet("after") && !c.IsSet("n") {
		f.Last = 0
	}
	entries, cursor := st.iss.ReadSignIns(f)
	envOf(c).admin.cursor = cursor
	return printSignIns(c, entries, !c.IsSet("after"))
}

// signInFilter is the filter of logs' flags, whichever log it reads;
// tenantID resolves --tenant, so that a tenant named by domain matches
// requests that named it by id (a name it cannot resolve matches the
// requests that sent that name).
func signInFilter(c *cli.Context, tenantID func(ctx context.Context, ref string) (string, error)) issuer.SignInFilter {
	f := issuer.SignInFilter{ClientID: c.String("client"), Failed: c.Bool("failed")}
	if ref := c.String("tenant"); ref != "" {
		f.Tenant = ref
		if id, err := tenantID(c.Context, ref); err == nil {
			f.Tenant = id
		}
	}
	return f
}

// printSignIns prints entries; on the first read of a log, that none
// matched is said on stderr (not in JSON output, which stays lines of
// entries).
func printSignIns(c *cli.Context, entries []issuer.SignIn, first bool) error {
	if len(entries) == 0 && first && !isJSON(c) {
		fmt.Fprintln(c.App.ErrWriter, "issuer: no token requests match")
	}
	for _, e := range entries {
		if err := printSignIn(c.App.Writer, e, isJSON(c)); err != nil {
			return err
		}
	}
	return nil
}

// printSignIn prints one entry: a JSON line, or for people one line with
// the outcome and the request, and for a refusal an indented line with the
// reason.
func printSignIn(w io.Writer, e issuer.SignIn, asJSON bool) error {
	if asJSON {
		b, err := json.Marshal(e)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(w, "%s\n", b)
		return err
	}
	var b strings.Builder
	b.WriteString(e.Time.UTC().Format(time.RFC3339))
	if e.Failed() {
		fmt.Fprintf(&b, " FAILED AADSTS%d %s", e.ErrorCode, e.Error)
	} else {
		b.WriteString(" OK")
	}
	kv := func(k, v string) {
		if v != "" {
			b.WriteString(" " + k + "=" + quoteIfSpaced(v))
		}
	}
	kv("flow", e.Flow)
	kv("tenant", e.Tenant)
	kv("client", e.ClientID)
	kv("resource", e.Resource)
	kv("user", e.User)
	kv("trace", e.TraceID)
	kv("replica", e.Replica)
	b.WriteString("\n")
	if e.Failed() {
		b.WriteString("    ")
		if e.Reason != "" {
			b.WriteString(e.Reason + ": ")
		}
		b.WriteString(e.Detail + "\n")
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func quoteIfSpaced(s string) string {
	if strings.ContainsAny(s, " \t\"") {
		return strconv.Quote(s)
	}
	return s
}

// followLogs is `logs --follow` on a client: it asks the server for the
// last entries (the command line without --follow), then, every
// followInterval, for those after the cursor of the previous answer, until
// interrupted.
func followLogs(c *cli.Context, target *adminTarget) error {
	if err := checkLogsArgs(c); err != nil {
		return err
	}
	base, err := commandLine(c, "follow", "n", "after")
	if err != nil {
		return err
	}
	args := append(slices.Clip(base), "--n="+strconv.Itoa(c.Int("n")))
	return followEvery(c, func(bool) error {
		res, err := target.send(c.Context, adminRequest{Args: args})
		if err != nil {
			return err
		}
		io.WriteString(c.App.Writer, res.Stdout)
		io.WriteString(c.App.ErrWriter, res.Stderr)
		if res.ExitCode != exitOK {
			return &forwardedExit{res.ExitCode}
		}
		args = append(slices.Clip(base), "--after="+strconv.FormatUint(res.Cursor, 10))
		return nil
	})
}

// followEvery is logs' loop over either log: read runs once, and with
// --follow again every followInterval (first false), until interrupted,
// which is the normal end of --follow rather than an error.
func followEvery(c *cli.Context, read func(first bool) error) error {
	for first := true; ; first = false {
		if err := read(first); err != nil {
			if c.Context.Err() != nil {
				return nil
			}
			return err
		}
		if !c.Bool("follow") {
			return nil
		}
		select {
		case <-c.Context.Done():
			return nil
		case <-time.After(followInterval):
		}
	}
}
