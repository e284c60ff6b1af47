package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/storage"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testClock is the fixed time of every golden file.
var testClock = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// fixed returns the options that make output deterministic: a fixed clock,
// sequential ids, seeded randomness and a short lock wait.
func fixed() []option {
	var n atomic.Int64
	random := rand.NewChaCha8([32]byte{})
	return []option{func(e *env) {
		e.now = func() time.Time { return testClock }
		e.newID = func() string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n.Add(1)) }
		e.random = random
		e.lockTimeout = 50 * time.Millisecond
	}}
}

// result is the outcome of one in-process run.
type result struct {
	code           int
	stdout, stderr string
}

// runCLI runs `issuer --db db args…` in-process with opts.
func runCLI(t *testing.T, db string, opts []option, args ...string) result {
	t.Helper()
	var out, errOut bytes.Buffer
	argv := append([]string{"issuer", "--db", db}, args...)
	code := run(context.Background(), argv, &out, &errOut, opts...)
	return result{code: code, stdout: out.String(), stderr: errOut.String()}
}

// transcript is the golden form of a run: the command line, exit code and
// both streams, with the temporary directory masked.
func (r result) transcript(dir string, args []string) string {
	mask := func(s string) string { return strings.ReplaceAll(s, dir, "$TMP") }
	var b strings.Builder
	fmt.Fprintf(&b, "$ issuer %s\nexit %d\n--- stdout\n%s--- stderr\n%s", strings.Join(quoteArgs(args), " "), r.code, mask(r.stdout), mask(r.stderr))
	return b.String()
}

func quoteArgs(args []string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		out[i] = shellQuote(a)
	}
	return out
}

// golden compares got with testdata/name.golden, or rewrites it with -update.
func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test ./cmd/issuer -update to create it): %v", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run with -update to accept):\n--- got\n%s\n--- want\n%s", path, got, want)
	}
}

// Fixed appIds used by the golden scenario.
const (
	ordersAPI   = "0000a001-0000-4000-8000-000000000001"
	nightlyJob  = "0000a002-0000-4000-8000-000000000002"
	publicApp   = "0000a003-0000-4000-8000-000000000003"
	fabrikamID  = "72f988bf-86f1-41af-91ab-2d7cd011db47"
	unknownGUID = "deadbeef-0000-4000-8000-000000000000"
)

// TestCommands runs every command's success path, in text and JSON, as one
// scenario on one database, and compares each run with its golden file.
// Steps may save a JSON field of their output as {name} for later steps.
func TestCommands(t *testing.T) {
	dir := t.TempDir()
	db := filepath.Join(dir, "issuer.db")
	opts := fixed()
	saved := map[string]string{}
	steps := []struct {
		name string
		args []string
		save map[string]string // placeholder name -> JSON field of stdout
	}{
		{name: "tenant_add", args: []string{"tenant", "add", "--name", "Contoso", "--domain", "contoso.com"}},
		{name: "tenant_add_json", args: []string{"-o", "json", "tenant", "add", "--name", "Fabrikam", "--id", strings.ToUpper(fabrikamID)}},
		{name: "tenant_list", args: []string{"tenant", "list"}},
		{name: "tenant_list_json", args: []string{"tenant", "list", "-o", "json"}},
		{name: "tenant_show_by_domain", args: []string{"tenant", "show", "CONTOSO.com"}},
		{name: "tenant_show_json_by_id", args: []string{"tenant", "show", strings.ToUpper(fabrikamID), "--output", "json"}},
		{name: "tenant_update", args: []string{"tenant", "update", "contoso.onmicrosoft.com", "--add-domain", "contoso.net", "--add-domain", "Contoso.org"}},
		{name: "tenant_update_json", args: []string{"-o", "json", "tenant", "update", fabrikamID, "--add-domain", "fabrikam.com"}},
		{name: "app_add", args: []string{"app", "add", "--tenant", "contoso.com", "--name", "Orders API", "--identifier-uri", "api://orders", "--token-version", "2", "--app-id", ordersAPI}},
		{name: "app_add_json", args: []string{"-o", "json", "app", "add", "--tenant", "CONTOSO.COM", "--name", "Nightly Job", "--app-id", nightlyJob}},
		{name: "app_add_public_multitenant", args: []string{"app", "add", "--tenant", "contoso.com", "--name", "CLI", "--public-client", "--multi-tenant", "--app-id", publicApp, "--identifier-uri", "https://contoso.com/cli",
			"--public-client-redirect-uri", "http://localhost", "--public-client-redirect-uri", "msalcli://auth"}},
		{name: "app_list", args: []string{"app", "list", "--tenant", "contoso.com"}},
		{name: "app_list_json", args: []string{"app", "list", "--tenant", fabrikamID, "-o", "json"}},
		{name: "app_show", args: []string{"app", "show", ordersAPI}},
		{name: "app_show_json", args: []string{"app", "show", strings.ToUpper(nightlyJob), "-o", "json"}},
		{name: "app_update", args: []string{"app", "update", ordersAPI, "--token-version", "1", "--identifier-uri", "api://orders2", "--identifier-uri", "https://contoso.net/orders"}},
		{name: "app_update_disable", args: []string{"app", "update", nightlyJob, "--enabled=false"}},
		{name: "app_update_redirect_uris", args: []string{"app", "update", nightlyJob, "--web-redirect-uri", "https://contoso.com/signin-oidc", "--web-redirect-uri", "http://localhost:5000/cb", "--spa-redirect-uri", "https://contoso.com/spa"}},
		{name: "app_update_redirect_uris_clear_json", args: []string{"-o", "json", "app", "update", nightlyJob, "--spa-redirect-uri", ""}},
		{name: "app_update_json", args: []string{"-o", "json", "app", "update", ordersAPI, "--identifier-uri", "", "--token-version", "2", "--name", "Orders"}},
		{name: "app_update_optional_claims", args: []string{"app", "update", ordersAPI, "--optional-claim", "accessToken:idtyp", "--optional-claim", "AccessToken:Email", "--optional-claim", "idToken:login_hint"}},
		{name: "app_update_optional_claims_clear_json", args: []string{"-o", "json", "app", "update", ordersAPI, "--optional-claim", ""}},
		{name: "secret_add", args: []string{"app", "secret", "add", "--app", nightlyJob, "--name", "ci", "--expires", "90d"}},
		{name: "secret_add_json", args: []string{"app", "secret", "add", "--app", nightlyJob, "--expires", "8760h", "-o", "json"}, save: map[string]string{"keyId": "keyId"}},
		{name: "secret_add_no_expiry", args: []string{"app", "secret", "add", "--app", nightlyJob}},
		{name: "secret_list", args: []string{"app", "secret", "list", "--app", nightlyJob}},
		{name: "secret_list_json", args: []string{"-o", "json", "app", "secret", "list", "--app", nightlyJob}},
		{name: "secret_remove", args: []string{"app", "secret", "remove", "--app", nightlyJob, "--key-id", "{keyId}"}},
		{name: "app_remove", args: []string{"app", "remove", publicApp}},
		{name: "app_remove_json", args: []string{"-o", "json", "app", "remove", ordersAPI}},
		{name: "tenant_remove", args: []string{"tenant", "remove", "FABRIKAM.com"}},
		{name: "tenant_list_after_remove", args: []string{"tenant", "list"}},
	}
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			args := make([]string, len(s.args))
			for i, a := range s.args {
				for k, v := range saved {
					a = strings.ReplaceAll(a, "{"+k+"}", v)
				}
				args[i] = a
			}
			r := runCLI(t, db, opts, args...)
			if r.code != exitOK {
				t.Fatalf("issuer %s: exit %d; want 0\nstderr: %s", strings.Join(args, " "), r.code, r.stderr)
			}
			for k, field := range s.save {
				var m map[string]any
				if err := json.Unmarshal([]byte(r.stdout), &m); err != nil {
					t.Fatalf("stdout is not a JSON object: %v\n%s", err, r.stdout)
				}
				saved[k], _ = m[field].(string)
			}
			golden(t, s.name, r.transcript(dir, args))
		})
	}
}

// TestJSONOutputIsGraphShaped checks property names and that no secret
// material leaks into JSON.
func TestJSONOutputIsGraphShaped(t *testing.T) {
	db := filepath.Join(t.TempDir(), "issuer.db")
	opts := fixed()
	mustRun(t, db, opts, "tenant", "add", "--name", "contoso")
	app := decode(t, mustRun(t, db, opts, "-o", "json", "app", "add", "--tenant", "contoso.onmicrosoft.com", "--name", "Job"))
	for _, k := range []string{"appId", "id", "displayName", "identifierUris", "signInAudience", "passwordCredentials", "api"} {
		if _, ok := app[k]; !ok {
			t.Errorf("app add -o json: no %q in %v", k, app)
		}
	}
	appID := app["appId"].(string)
	secret := decode(t, mustRun(t, db, opts, "-o", "json", "app", "secret", "add", "--app", appID, "--expires", "1d"))
	for _, k := range []string{"keyId", "displayName", "hint", "startDateTime", "endDateTime", "secretText"} {
		if _, ok := secret[k]; !ok {
			t.Errorf("secret add -o json: no %q in %v", k, secret)
		}
	}
	text := secret["secretText"].(string)
	if len(text) < 40 || !strings.HasPrefix(text, secret["hint"].(string)) {
		t.Errorf("secretText %q, hint %q: want a long secret starting with its hint", text, secret["hint"])
	}
	for _, args := range [][]string{
		{"-o", "json", "app", "show", appID},
		{"app", "show", appID},
		{"-o", "json", "app", "secret", "list", "--app", appID},
		{"app", "secret", "list", "--app", appID},
	} {
		out := mustRun(t, db, opts, args...)
		if strings.Contains(out, text) || strings.Contains(strings.ToLower(out), "hash") || strings.Contains(strings.ToLower(out), "salt") {
			t.Errorf("issuer %s shows secret material:\n%s", strings.Join(args, " "), out)
		}
	}
}

func mustRun(t *testing.T, db string, opts []option, args ...string) string {
	t.Helper()
	r := runCLI(t, db, opts, args...)
	if r.code != exitOK {
		t.Fatalf("issuer %s: exit %d; want 0\nstderr: %s", strings.Join(args, " "), r.code, r.stderr)
	}
	return r.stdout
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("not a JSON object: %v\n%s", err, s)
	}
	return m
}

// TestRefusals checks exit codes and messages of commands that must fail.
func TestRefusals(t *testing.T) {
	db := filepath.Join(t.TempDir(), "issuer.db")
	opts := fixed()
	mustRun(t, db, opts, "tenant", "add", "--name", "contoso")
	mustRun(t, db, opts, "app", "add", "--tenant", "contoso.onmicrosoft.com", "--name", "API", "--app-id", ordersAPI, "--identifier-uri", "api://orders")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		wantErr  string // substring of stderr
	}{
		{"unknown tenant", []string{"tenant", "show", "nosuch.com"}, exitError, `tenant "nosuch.com": not found`},
		{"unknown tenant id", []string{"tenant", "remove", unknownGUID}, exitError, `tenant "` + unknownGUID + `": not found`},
		{"app in unknown tenant", []string{"app", "add", "--tenant", "nosuch.com", "--name", "x"}, exitError, `tenant "nosuch.com": not found`},
		{"apps of unknown tenant", []string{"app", "list", "--tenant", "nosuch.com"}, exitError, `tenant "nosuch.com": not found`},
		{"domain of unknown tenant", []string{"tenant", "update", "nosuch.com", "--add-domain", "x.com"}, exitError, `tenant "nosuch.com": not found`},
		{"unknown app", []string{"app", "show", unknownGUID}, exitError, `application "` + unknownGUID + `": not found`},
		{"secret of unknown app", []string{"app", "secret", "add", "--app", unknownGUID}, exitError, `application "` + unknownGUID + `": not found`},
		{"unknown secret", []string{"app", "secret", "remove", "--app", ordersAPI, "--key-id", unknownGUID}, exitError, "not found"},
		{"duplicate tenant", []string{"tenant", "add", "--name", "contoso"}, exitError, "already exists"},
		{"duplicate identifier URI", []string{"app", "add", "--tenant", "contoso.onmicrosoft.com", "--name", "y", "--identifier-uri", "API://orders"}, exitError, "already exists"},
		{"app id not a GUID", []string{"app", "show", "orders"}, exitUsage, "not a GUID"},
		{"access token lifetime too short", []string{"app", "update", ordersAPI, "--access-token-lifetime", "5m"}, exitUsage, "10 minutes to 1 day"},
		{"access token lifetime too long", []string{"app", "update", ordersAPI, "--access-token-lifetime", "2d"}, exitUsage, "10 minutes to 1 day"},
		{"access token lifetime not a duration", []string{"app", "update", ordersAPI, "--access-token-lifetime", "soon"}, exitUsage, "--access-token-lifetime: invalid duration"},
		{"invalid domain", []string{"tenant", "update", "contoso.onmicrosoft.com", "--add-domain", "no_dots"}, exitUsage, "not a valid domain"},
		{"invalid tenant name", []string{"tenant", "add", "--name", "!!!"}, exitUsage, "tenant name"},
		{"unknown flag", []string{"tenant", "add", "--nme", "x"}, exitUsage, "flag provided but not defined: --nme"},
		{"unknown global flag", []string{"--verbose", "tenant", "list"}, exitUsage, "flag provided but not defined: --verbose"},
		{"invalid flag value", []string{"serve", "--read-timeout", "soon"}, exitUsage, `invalid value "soon" for flag --read-timeout`},
		{"invalid value of a one-letter alias", []string{"-o", "yaml", "tenant", "list"}, exitUsage, `for flag -o:`},
		{"boolean word that is not one", []string{"app", "update", ordersAPI, "--enabled", "maybe"}, exitUsage, "want APPID, got 2 arguments"},
		{"missing required flag", []string{"tenant", "add"}, exitUsage, `Required flag "name" not set`},
		{"missing argument", []string{"tenant", "show"}, exitUsage, "missing TENANT"},
		{"extra argument", []string{"tenant", "show", "a.com", "b.com"}, exitUsage, "want TENANT, got 2 arguments"},
		{"argument to list", []string{"tenant", "list", "x"}, exitUsage, "takes no arguments"},
		{"invalid output", []string{"-o", "yaml", "tenant", "list"}, exitUsage, `must be text or json, not "yaml"`},
		{"invalid output after command", []string{"tenant", "list", "--output", "xml"}, exitUsage, `must be text or json, not "xml"`},
		{"invalid token version", []string{"app", "add", "--tenant", "contoso.onmicrosoft.com", "--name", "x", "--token-version", "3"}, exitUsage, `must be 1 or 2, not "3"`},
		{"invalid expiry", []string{"app", "secret", "add", "--app", ordersAPI, "--expires", "10x"}, exitUsage, "invalid duration"},
		{"negative expiry", []string{"app", "secret", "add", "--app", ordersAPI, "--expires", "-1h"}, exitUsage, "must be positive"},
		{"invalid bool", []string{"app", "update", ordersAPI, "--enabled=maybe"}, exitUsage, "invalid"},
		{"update without changes", []string{"app", "update", ordersAPI}, exitUsage, "nothing to change"},
		{"optional claim we do not issue", []string{"app", "update", ordersAPI, "--optional-claim", "accessToken:ipaddr"}, exitUsage, "is not one this issuer issues"},
		{"optional claim without its token type", []string{"app", "update", ordersAPI, "--optional-claim", "email"}, exitUsage, "want TOKENTYPE:NAME"},
		{"optional claim of an unknown token type", []string{"app", "update", ordersAPI, "--optional-claim", "refreshToken:email"}, exitUsage, "want accessToken, idToken or saml2Token"},
		{"web redirect over http", []string{"app", "update", ordersAPI, "--web-redirect-uri", "http://contoso.com/cb"}, exitUsage, "must be https"},
		{"redirect with a fragment", []string{"app", "update", ordersAPI, "--spa-redirect-uri", "https://contoso.com/#x"}, exitUsage, "fragment"},
		{"relative redirect", []string{"app", "add", "--tenant", "contoso.onmicrosoft.com", "--name", "x", "--public-client-redirect-uri", "/cb"}, exitUsage, "not an absolute URI"},
		{"unknown command", []string{"frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"unknown subcommand", []string{"tenant", "frobnicate"}, exitUsage, `unknown command "frobnicate"`},
		{"help for unknown command", []string{"help", "frobnicate"}, exitUsage, "frobnicate"},
		{"tls cert without key", []string{"serve", "--tls-cert", "cert.pem"}, exitUsage, "--tls-cert and --tls-key go together"},
		{"bad listen address", []string{"serve", "--addr", "8443"}, exitUsage, "want HOST:PORT"},
		{"base URL with a path", []string{"serve", "--base-url", "https://x/path"}, exitUsage, "no path"},
		{"http base URL", []string{"serve", "--base-url", "http://x"}, exitUsage, "want https://host[:port]"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := runCLI(t, db, opts, tc.args...)
			if r.code != tc.wantCode {
				t.Errorf("issuer %s: exit %d; want %d\nstderr: %s", strings.Join(tc.args, " "), r.code, tc.wantCode, r.stderr)
			}
			if !strings.Contains(r.stderr, tc.wantErr) {
				t.Errorf("issuer %s: stderr = %q; want it to contain %q", strings.Join(tc.args, " "), r.stderr, tc.wantErr)
			}
		})
	}
}

// TestLockedDatabase: while another process (here, this one) holds the
// database, every command exits with 3 and says what to do.
func TestLockedDatabase(t *testing.T) {
	path := filepath.Join(t.TempDir(), "issuer.db")
	held, err := storage.Open(path, storage.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	for _, args := range [][]string{
		{"tenant", "list"},
		{"tenant", "add", "--name", "contoso"},
		{"app", "show", ordersAPI},
		{"serve", "--addr", "127.0.0.1:0"},
	} {
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runCLI(t, path, fixed(), args...)
			if r.code != exitLocked {
				t.Errorf("exit %d; want %d\nstderr: %s", r.code, exitLocked, r.stderr)
			}
			if !strings.Contains(r.stderr, "issuer serve") || !strings.Contains(r.stderr, path) {
				t.Errorf("stderr = %q; want the database path and a hint about `issuer serve`", r.stderr)
			}
		})
	}
}

// TestHelp: the root and every command answer --help with exit 0.
func TestHelp(t *testing.T) {
	var paths [][]string
	var walk func(prefix []string, cmds []*cli.Command)
	walk = func(prefix []string, cmds []*cli.Command) {
		for _, c := range cmds {
			p := append(append([]string{}, prefix...), c.Name)
			paths = append(paths, p)
			walk(p, c.Subcommands)
		}
	}
	walk(nil, newApp(io.Discard, io.Discard).Commands)
	paths = append(paths, nil)
	db := filepath.Join(t.TempDir(), "issuer.db")
	for _, p := range paths {
		args := append(p, "--help")
		t.Run(strings.Join(args, " "), func(t *testing.T) {
			r := runCLI(t, db, fixed(), args...)
			if r.code != exitOK || !strings.Contains(r.stdout, "USAGE") {
				t.Errorf("exit %d, stdout %q; want 0 and a usage text\nstderr: %s", r.code, r.stdout, r.stderr)
			}
			for _, line := range strings.Split(r.stdout, "\n") {
				if strings.Count(line, "(default:") > 1 {
					t.Errorf("a flag with two defaults: %s", line)
				}
			}
		})
	}
	r := runCLI(t, db, fixed())
	if r.code != exitOK || !strings.Contains(r.stdout, "EXIT CODES") {
		t.Errorf("issuer with no command: exit %d, stdout %q; want 0 and the root help", r.code, r.stdout)
	}
	if r := runCLI(t, db, fixed(), "--version"); r.code != exitOK || !strings.HasPrefix(r.stdout, "issuer version ") {
		t.Errorf("issuer --version: exit %d, stdout %q; want 0 and the version", r.code, r.stdout)
	}
}

// TestHelpTexts: what the help says, in the places new users found it
// wrong: a group's usage line names COMMAND, an update command shows no
// default for flags left unchanged when omitted, and no flag shows two
// defaults.
func TestHelpTexts(t *testing.T) {
	db := filepath.Join(t.TempDir(), "issuer.db")
	for _, tc := range []struct {
		args        []string
		want, avoid []string
	}{
		{[]string{"sp", "--help"}, []string{"issuer sp COMMAND [command options]"}, nil},
		{[]string{"app", "secret", "--help"}, []string{"issuer app secret COMMAND [command options]"}, nil},
		{[]string{"app", "update", "--help"}, []string{"--enabled", "--token-version VERSION"}, []string{"(default:"}},
		{[]string{"sp", "update", "--help"}, []string{"--assignment-required"}, []string{"(default:"}},
		{[]string{"user", "update", "--help"}, []string{"--enabled"}, []string{"(default:"}},
		{[]string{"group", "--help"}, []string{"issuer group COMMAND [command options]"}, nil},
		{[]string{"group", "update", "--help"}, []string{"--security-enabled", "--mail-nickname NICKNAME"}, []string{"(default:"}},
		{[]string{"group", "member", "add", "--help"}, []string{"GROUP MEMBER"}, nil},
		{[]string{"app", "add", "--help"}, []string{"(default: 1)", "(default: false)"}, nil},
		{[]string{"serve", "--help"}, []string{"every DURATION (default: never)"}, nil},
	} {
		t.Run(strings.Join(tc.args, " "), func(t *testing.T) {
			r := runCLI(t, db, fixed(), tc.args...)
			for _, w := range tc.want {
				if !strings.Contains(r.stdout, w) {
					t.Errorf("help lacks %q:\n%s", w, r.stdout)
				}
			}
			for _, a := range tc.avoid {
				if strings.Contains(r.stdout, a) {
					t.Errorf("help has %q:\n%s", a, r.stdout)
				}
			}
		})
	}
}

func TestInterspersed(t *testing.T) {
	app := newApp(io.Discard, io.Discard)
	tests := []struct {
		name string
		in   string
		want string
	}{
		{"flags before args", "issuer --db x tenant show contoso", "issuer --db x tenant show -- contoso"},
		{"flag after arg", "issuer app update A --token-version 2", "issuer app update --token-version 2 -- A"},
		{"bool flag does not take the next word", "issuer app update A --enabled=false --multi-tenant B", "issuer app update --enabled=false --multi-tenant -- A B"},
		{"bool flag takes a following true or false", "issuer app update A --enabled false --multi-tenant TRUE", "issuer app update --enabled=false --multi-tenant=TRUE -- A"},
		{"global flag after command", "issuer tenant list -o json", "issuer -o json tenant list"},
		{"global flag with = after command", "issuer tenant show x --output=json", "issuer --output=json tenant show -- x"},
		{"global flag between commands", "issuer app -o json secret list --app A", "issuer -o json app secret list --app A"},
		{"double dash keeps flags as args", "issuer tenant show -- -o", "issuer tenant show -- -o"},
		{"unknown flag stays with its command", "issuer tenant add --nme x", "issuer tenant add --nme -- x"},
		{"repeated flags keep order", "issuer app add --identifier-uri a --identifier-uri b", "issuer app add --identifier-uri a --identifier-uri b"},
		{"flag value that looks like a command", "issuer tenant add --name tenant", "issuer tenant add --name tenant"},
		{"help", "issuer help tenant", "issuer -- help tenant"},
		{"negative duration is an argument", "issuer clock advance -30m", "issuer clock advance -- -30m"},
		{"program only", "issuer", "issuer"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := strings.Join(interspersed(app, strings.Fields(tc.in)), " ")
			if got != tc.want {
				t.Errorf("interspersed(%q) = %q; want %q", tc.in, got, tc.want)
			}
		})
	}
}
