package main

import (
	"errors"
	"fmt"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// ---- flags shared by several commands ----

// dbFlag is the global --db flag (env ISSUER_DB).
func dbFlag() cli.Flag {
	return &cli.PathFlag{
		Name:    "db",
		Usage:   "database `PATH`",
		Value:   "./issuer.db",
		EnvVars: []string{"ISSUER_DB"},
	}
}

// outputFlag is the global --output/-o flag: text for people, json for
// scripts (Microsoft Graph property names).
func outputFlag() cli.Flag {
	return &cli.GenericFlag{
		Name:    "output",
		Aliases: []string{"o"},
		Usage:   "output `FORMAT`: text or json",
		Value:   &choice{allowed: []string{"text", "json"}, value: "text"},
	}
}

// tenantFlag is a required --tenant TENANT flag (a tenant id or any of its
// domains, in any letter case).
func tenantFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "tenant", Usage: usage + " (`TENANT` id or domain)", Required: true}
}

// appFlag is a required --app APPID flag naming an application by appId.
func appFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "app", Usage: usage + " (`APPID`)", Required: true}
}

// nameFlag is a --name flag.
func nameFlag(usage string, required bool) cli.Flag {
	return &cli.StringFlag{Name: "name", Usage: usage, Required: required}
}

// identifierURIFlag is a repeatable --identifier-uri flag (App ID URIs).
func identifierURIFlag(usage string) cli.Flag {
	return &cli.StringSliceFlag{Name: "identifier-uri", Usage: usage}
}

// redirectURIFlags are --web-redirect-uri, --spa-redirect-uri and
// --public-client-redirect-uri, repeatable: the redirect URIs of each
// platform (Graph: web, spa, publicClient).
func redirectURIFlags(verb string) []cli.Flag {
	return []cli.Flag{
		&cli.StringSliceFlag{Name: "web-redirect-uri", Usage: "redirect `URI` of the web platform (a confidential client); " + verb + " (repeatable)"},
		&cli.StringSliceFlag{Name: "spa-redirect-uri", Usage: "redirect `URI` of the single-page application platform; " + verb + " (repeatable)"},
		&cli.StringSliceFlag{Name: "public-client-redirect-uri", Usage: "redirect `URI` of the mobile and desktop platform, e.g. http://localhost (any port matches); " + verb + " (repeatable)"},
	}
}

// listPtr returns the values of the repeatable flag name, or nil
// when it was not given; "" clears the list.
func listPtr(c *cli.Context, name string) *[]string {
	if !c.IsSet(name) {
		return nil
	}
	v := nonEmpty(c.StringSlice(name))
	return &v
}

// directoryRoleFlag is --directory-role NAME, repeatable.
func directoryRoleFlag(verb string) cli.Flag {
	return &cli.StringSliceFlag{Name: "directory-role", Usage: "directory role `NAME` (" + strings.Join(tenant.DirectoryRoles(), ", ") + "); " + verb + " (repeatable)"}
}

// tokenVersionFlag is --token-version 1|2: the access token version the
// application accepts as a resource (requestedAccessTokenVersion).
func tokenVersionFlag() cli.Flag {
	return &cli.GenericFlag{
		Name:  "token-version",
		Usage: "access token `VERSION` issued for this application as a resource: 1 or 2 (default: 1)",
		Value: &choice{allowed: []string{"1", "2"}},
	}
}

// lifetimeFlag is a duration flag that also accepts days ("90d", "1d12h").
func lifetimeFlag(name, usage string) cli.Flag {
	return &cli.GenericFlag{Name: name, Usage: usage, Value: new(lifetime)}
}

// ---- reading flag values ----

// outputFormat returns the value of --output: "text" or "json".
func outputFormat(c *cli.Context) string {
	if v, ok := c.Generic("output").(*choice); ok && v.value != "" {
		return v.value
	}
	return "text"
}

// tokenVersion returns the value of --token-version, or 0 when not given.
func tokenVersion(c *cli.Context) int {
	if v, ok := c.Generic("token-version").(*choice); ok && v.value != "" {
		n, _ := strconv.Atoi(v.value) // choice admits only "1" and "2"
		return n
	}
	return 0
}

// lifetimeValue returns the value of a lifetimeFlag, or 0 when not given.
func lifetimeValue(c *cli.Context, name string) time.Duration {
	if v, ok := c.Generic(name).(*lifetime); ok {
		return time.Duration(*v)
	}
	return 0
}

// boolPtr returns &value of a boolean flag when it was given, else nil: the
// shape of the optional fields of tenant's update structs.
func boolPtr(c *cli.Context, name string) *bool {
	if !c.IsSet(name) {
		return nil
	}
	v := c.Bool(name)
	return &v
}

// stringPtr returns &value of a string flag when it was given, else nil.
func stringPtr(c *cli.Context, name string) *string {
	if !c.IsSet(name) {
		return nil
	}
	v := c.String(name)
	return &v
}

// nonEmpty drops empty values, so that `--identifier-uri ""` means none.
func nonEmpty(values []string) []string {
	out := []string{}
	for _, v := range values {
		if strings.TrimSpace(v) != "" {
			out = append(out, v)
		}
	}
	return out
}

// ---- arguments ----

// requireArgs checks that the command got exactly the named positional
// arguments and returns them; a wrong count is a usage error.
func requireArgs(c *cli.Context, names ...string) ([]string, error) {
	got := c.Args().Slice()
	if len(got) == len(names) {
		return got, nil
	}
	cmd := strings.TrimPrefix(c.Command.HelpName, c.App.Name+" ")
	switch {
	case len(names) == 0:
		return nil, usageError("%s takes no arguments, got %q", cmd, strings.Join(got, " "))
	case len(got) < len(names):
		return nil, usageError("%s: missing %s", cmd, strings.Join(names[len(got):], " "))
	default:
		return nil, usageError("%s: want %s, got %d arguments: %q", cmd,
			strings.Join(names, " "), len(got), strings.Join(got, " "))
	}
}

// ---- the database ----

// dbPath returns the absolute path of the database named by --db.
func dbPath(c *cli.Context) (string, error) {
	p := c.Path("db")
	if p == "" {
		return "", usageError("--db must name a file")
	}
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", fmt.Errorf("database path %q: %w", p, err)
	}
	return abs, nil
}

// openDB returns the database the command runs on: inside `issuer serve`
// (admin channel), the server's open database; elsewhere the file --db
// names, which route found no server holding.
func openDB(c *cli.Context) (*storage.DB, error) {
	if a := envOf(c).admin; a != nil {
		return a.server.db, nil
	}
	u, err := storeTarget(c)
	if err != nil {
		return nil, err
	}
	if u.isEtcd() {
		return openStore(c, u) // shared directly: no lock, no socket
	}
	path := u.bolt
	db, err := openLocalDB(c, path)
	if errors.Is(err, storage.ErrLocked) {
		return nil, fmt.Errorf("%w: no server answers on its admin socket %s; stop the process that holds it and run the command again",
			err, path+socketSuffix)
	}
	return db, err
}

// openLocalDB opens the database file at path, waiting briefly for the file
// lock. When another process holds it, the error wraps storage.ErrLocked
// and run exits with code 3.
func openLocalDB(c *cli.Context, path string) (*storage.DB, error) {
	db, err := storage.Open(path, storage.Options{Timeout: envOf(c).lockTimeout})
	if errors.Is(err, storage.ErrLocked) {
		return nil, err
	}
	if isDamaged(err) && c.Command.Name != "check" {
		return nil, fmt.Errorf("opening database %s: %w (issuer db check %s lists the problems)", path, err, shellQuote(path))
	}
	if err != nil {
		return nil, fmt.Errorf("opening database %s: %w", path, err)
	}
	return db, nil
}

// isDamaged reports whether err says the database file is damaged: cut
// short, or pages bbolt cannot read.
func isDamaged(err error) bool {
	return errors.Is(err, storage.ErrTruncated) || errors.Is(err, storage.ErrDamaged)
}

// newDirectory returns the tenant.Directory over s with the app's clock, id
// and randomness sources.
func newDirectory(c *cli.Context, s tenant.Store) *tenant.Directory {
	e := envOf(c)
	return tenant.NewDirectory(s, tenant.WithClock(e.now), tenant.WithIDs(e.newID), tenant.WithRandom(e.random))
}

// withDB opens the database, runs fn with it and the directory over it, and
// closes the database. Commands that need more than the directory (consent
// grants, signing keys) use this; db also implements consent.Store.
func withDB(c *cli.Context, fn func(db *storage.DB, dir *tenant.Directory) error) (err error) {
	db, err := openDB(c)
	if err != nil {
		return err
	}
	if envOf(c).admin != nil {
		return fn(db, newDirectory(c, db)) // the server's database stays open
	}
	defer func() {
		if cerr := db.Close(); cerr != nil && err == nil {
			err = fmt.Errorf("closing database: %w", cerr)
		}
	}()
	return fn(db, newDirectory(c, db))
}

// withDirectory runs fn with the directory over the database named by --db.
func withDirectory(c *cli.Context, fn func(dir *tenant.Directory) error) error {
	return withDB(c, func(_ *storage.DB, dir *tenant.Directory) error { return fn(dir) })
}

// ---- flag value types ----

// choice is a flag value restricted to a fixed set; any other value is a
// usage error.
type choice struct {
	allowed []string
	value   string
}

func (v *choice) Set(s string) error {
	for _, a := range v.allowed {
		if strings.EqualFold(s, a) {
			v.value = a
			return nil
		}
	}
	return fmt.Errorf("must be %s, not %q", strings.Join(v.allowed, " or "), s)
}

func (v *choice) String() string { return v.value }

// lifetime is a positive duration as tenant.ParseLifetime reads it, the
// same as seed files: "8760h", "90d", "1d12h".
type lifetime time.Duration

func (v *lifetime) Set(s string) error {
	d, err := tenant.ParseLifetime(s)
	if err != nil {
		return err
	}
	*v = lifetime(d)
	return nil
}

func (v *lifetime) String() string {
	if *v == 0 {
		return ""
	}
	return time.Duration(*v).String()
}
