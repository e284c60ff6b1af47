package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/tenant"
)

// The demo directory `issuer serve --demo` creates in an empty database.
const (
	demoTenantName   = "demo"
	demoTenantDomain = "demo.onmicrosoft.com"
	demoAPIName      = "Demo API"
	demoAPIURI       = "api://demo-api"
	demoDaemonName   = "Demo Daemon"
	demoSecretName   = "demo"
)

// errNotEmpty: the database already holds tenants, so --demo creates nothing.
var errNotEmpty = errors.New("the database is not empty")

// demoTarget is where the demo's server is: what the curl command needs.
type demoTarget struct {
	dbPath  string
	baseURL string
	caPath  string // empty when the client need not be told which CA to trust
}

// demoObjects are the demo's tenant and applications; SecretText is set only
// when the daemon's secret was just created.
type demoObjects struct {
	Tenant     tenant.Tenant
	API        tenant.Application
	Daemon     tenant.Application
	SecretText string
}

// demoSummary is what --demo prints (as JSON with --output json).
type demoSummary struct {
	Created       bool   `json:"created"`
	TenantID      string `json:"tenantId"`
	TenantDomain  string `json:"tenantDomain"`
	APIAppID      string `json:"apiAppId"`
	Scope         string `json:"scope"`
	DaemonAppID   string `json:"daemonAppId"`
	ClientSecret  string `json:"clientSecret,omitempty"`
	TokenEndpoint string `json:"tokenEndpoint"`
	Curl          string `json:"curl"`
}

// demo creates the demo directory in an empty database and prints how to get
// a token; in a database that already has the demo, it prints how to get a
// new secret, since the first one was shown only once.
func demo(c *cli.Context, dir *tenant.Directory, target demoTarget) error {
	objs, err := createDemo(c.Context, dir)
	created := err == nil
	if errors.Is(err, errNotEmpty) {
		objs, err = findDemo(c.Context, dir)
		if errors.Is(err, tenant.ErrNotFound) {
			fmt.Fprintf(c.App.ErrWriter, "issuer: --demo: %s holds tenants but no demo tenant; the demo is created only in an empty database\n", target.dbPath)
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("--demo: %w", err)
	}
	s := summarize(objs, target, created)
	if isJSON(c) {
		return writeJSON(c.App.Writer, s)
	}
	w := c.App.Writer
	if created {
		fmt.Fprintf(w, "Demo directory created in %s:\n", target.dbPath)
	} else {
		fmt.Fprintf(w, "The demo directory already exists in %s:\n", target.dbPath)
	}
	fmt.Fprintf(w, "  tenant  %s  id %s\n", s.TenantDomain, s.TenantID)
	fmt.Fprintf(w, "  API     %q  appId %s  identifier URI %s (v2 tokens)\n", demoAPIName, s.APIAppID, demoAPIURI)
	fmt.Fprintf(w, "  daemon  %q  appId %s\n", demoDaemonName, s.DaemonAppID)
	if created {
		fmt.Fprintf(w, "\nThe daemon's client secret, shown this once: %s\n", s.ClientSecret)
	} else {
		fmt.Fprintf(w, "\nIts client secret was shown once, when it was created. To get a new one, run in\nanother terminal (the server runs the command):\n\n  issuer --db %s app secret add --app %s\n\nand put the secret in place of <SECRET> below.\n",
			shellQuote(target.dbPath), s.DaemonAppID)
	}
	fmt.Fprintf(w, "\nGet a token for the API as the daemon (tenant id %s):\n\n%s\n\n", s.TenantID, s.Curl)
	return nil
}

// createDemo creates the demo tenant, an API application (api://demo-api,
// v2 tokens) and a daemon application with a client secret, through the
// directory like any other registration. It creates nothing, and returns
// errNotEmpty, if the database holds any tenant.
func createDemo(ctx context.Context, dir *tenant.Directory) (demoObjects, error) {
	ts, err := dir.ListTenants(ctx)
	if err != nil {
		return demoObjects{}, err
	}
	if len(ts) > 0 {
		return demoObjects{}, errNotEmpty
	}
	var o demoObjects
	if o.Tenant, err = dir.CreateTenant(ctx, tenant.TenantSpec{Name: demoTenantName}); err != nil {
		return demoObjects{}, err
	}
	o.API, err = dir.RegisterApplication(ctx, o.Tenant.ID, tenant.ApplicationSpec{
		DisplayName: demoAPIName, IdentifierURIs: []string{demoAPIURI}, TokenVersion: 2,
	})
	if err != nil {
		return demoObjects{}, err
	}
	if o.Daemon, err = dir.RegisterApplication(ctx, o.Tenant.ID, tenant.ApplicationSpec{DisplayName: demoDaemonName}); err != nil {
		return demoObjects{}, err
	}
	if _, o.SecretText, err = dir.AddPassword(ctx, o.Daemon.AppID, tenant.PasswordSpec{DisplayName: demoSecretName}); err != nil {
		return demoObjects{}, err
	}
	return o, nil
}

// findDemo finds the demo's tenant and applications in a database created
// earlier with --demo; tenant.ErrNotFound if they are not all there.
func findDemo(ctx context.Context, dir *tenant.Directory) (demoObjects, error) {
	t, err := dir.ResolveTenant(ctx, demoTenantDomain)
	if err != nil {
		return demoObjects{}, err
	}
	apps, err := dir.ListApplications(ctx, t.ID)
	if err != nil {
		return demoObjects{}, err
	}
	o := demoObjects{Tenant: t}
	for _, a := range apps {
		switch a.DisplayName {
		case demoAPIName:
			o.API = a
		case demoDaemonName:
			o.Daemon = a
		}
	}
	if o.API.AppID == "" || o.Daemon.AppID == "" {
		return demoObjects{}, fmt.Errorf("demo applications: %w", tenant.ErrNotFound)
	}
	return o, nil
}

func summarize(o demoObjects, target demoTarget, created bool) demoSummary {
	s := demoSummary{
		Created:       created,
		TenantID:      o.Tenant.ID,
		TenantDomain:  demoTenantDomain,
		APIAppID:      o.API.AppID,
		Scope:         demoAPIURI + "/.default",
		DaemonAppID:   o.Daemon.AppID,
		ClientSecret:  o.SecretText,
		TokenEndpoint: target.baseURL + "/" + o.Tenant.ID + "/oauth2/v2.0/token",
	}
	secret := s.ClientSecret
	if secret == "" {
		secret = "<SECRET>"
	}
	s.Curl = curlCommand(target.caPath, s.TokenEndpoint, s.DaemonAppID, secret, s.Scope)
	return s
}

// curlCommand is a client-credentials token request, ready to paste into a
// POSIX shell.
func curlCommand(caPath, endpoint, clientID, secret, scope string) string {
	var b strings.Builder
	b.WriteString("curl")
	if caPath != "" {
		b.WriteString(" --cacert " + shellQuote(caPath))
	}
	b.WriteString(" \\\n  -d grant_type=client_credentials")
	b.WriteString(" \\\n  -d client_id=" + clientID)
	b.WriteString(" \\\n  --data-urlencode " + shellQuote("client_secret="+secret))
	b.WriteString(" \\\n  --data-urlencode " + shellQuote("scope="+scope))
	b.WriteString(" \\\n  " + shellQuote(endpoint))
	return b.String()
}

// shellQuote quotes s for a POSIX shell when it holds anything but safe
// characters.
func shellQuote(s string) string {
	safe := s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-_./:=@%+,", r))
	}) < 0
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
