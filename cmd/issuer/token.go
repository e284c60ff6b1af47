package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/issuer"
	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// defaultBaseURL is where `issuer serve` listens when given no flags.
const defaultBaseURL = "https://127.0.0.1:8443"

// servedSetting names the setting in which `issuer serve` records the issuer
// strings it publishes, so that tokens minted offline by `issuer token user`
// carry the iss the running server's discovery documents announce.
const servedSetting = "serve"

// served is the value of servedSetting.
type served struct {
	BaseURL      string `json:"baseUrl"`
	EntraIssuers bool   `json:"entraIssuers"`
}

// recordServed stores how serve publishes its issuers.
func recordServed(ctx context.Context, db *storage.DB, s served) error {
	b, err := json.Marshal(s)
	if err != nil {
		return err
	}
	if err := db.PutSetting(ctx, servedSetting, b); err != nil {
		return fmt.Errorf("recording the base URL: %w", err)
	}
	return nil
}

// lastServed returns what the last `issuer serve` on the database
// published, or the default base URL if it never ran.
func lastServed(ctx context.Context, db *storage.DB) (served, error) {
	b, err := db.Setting(ctx, servedSetting)
	switch {
	case errors.Is(err, tenant.ErrNotFound):
		return served{BaseURL: defaultBaseURL}, nil
	case err != nil:
		return served{}, err
	}
	var s served
	if err := json.Unmarshal(b, &s); err != nil || s.BaseURL == "" {
		return served{BaseURL: defaultBaseURL}, nil
	}
	return s, nil
}

// tokenCommand is `issuer token`: tokens minted without HTTP.
func tokenCommand() *cli.Command {
	return &cli.Command{
		Name:        "token",
		Usage:       "mint tokens without the HTTP endpoints",
		Subcommands: []*cli.Command{tokenUserCommand()},
	}
}

func tokenUserCommand() *cli.Command {
	return &cli.Command{
		Name:  "user",
		Usage: "print a delegated access token, as if the user had signed in to the client",
		Description: `Prints the access token a user would get after signing in to the client
interactively and asking for the resource's scopes (none: RESOURCE/.default).
No password is checked, but every rule of the token endpoint applies: the
client and the resource must have service principals in the tenant, the
client needs consent for the scopes (AADSTS65001), an assignment-required
resource needs the user assigned (AADSTS50105), a disabled user is refused
(AADSTS50057). A refusal prints the AADSTS error and exits with 1.

The token is signed with the server's key and names the issuer the last
issuer serve on this database published (--base-url and --entra-issuers
override it), so that the running server's JWKS verifies it. Use it as the
assertion of an on-behalf-of request, or to call an API under test.

EXAMPLES
   issuer token user --tenant contoso.onmicrosoft.com --upn alice@contoso.onmicrosoft.com --client NATIVE_APPID --resource api://middle --scope access_as_user
   TOKEN=$(issuer token user --tenant contoso.com --upn alice@contoso.com --client NATIVE_APPID --resource api://middle)`,
		Flags: []cli.Flag{
			tenantFlag("tenant of the user"),
			&cli.StringFlag{Name: "upn", Usage: "the user (`UPN` or object id)", Required: true},
			clientFlag("the application the user signs in to"),
			resourceFlag("the resource the token is for"),
			&cli.StringSliceFlag{Name: "scope", Usage: "a delegated scope `VALUE` of the resource (repeatable; default: /.default)"},
			&cli.StringFlag{Name: "base-url", Usage: "the server's public `URL`, which forms iss (default: the last issuer serve's, else " + defaultBaseURL + ")"},
			&cli.BoolFlag{Name: "entra-issuers", Usage: "use Microsoft's production issuer strings", DefaultText: "as the last issuer serve"},
		},
		Action: tokenUser,
	}
}

func tokenUser(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	if v := c.String("base-url"); c.IsSet("base-url") {
		if u, err := url.Parse(v); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || strings.Trim(u.Path, "/") != "" {
			return usageError("--base-url %q: want https://host[:port], with no path", v)
		}
	}
	return withDB(c, func(db *storage.DB, _ *tenant.Directory) error {
		pub, err := lastServed(c.Context, db)
		if err != nil {
			return err
		}
		if c.IsSet("base-url") {
			pub.BaseURL = c.String("base-url")
		}
		if c.IsSet("entra-issuers") {
			pub.EntraIssuers = c.Bool("entra-issuers")
		}
		// The server `issuer serve` would assemble, on this command's
		// clock (the server's, when the command runs in one), IDs and
		// random source.
		e := envOf(c)
		clock, err := issuer.NewClock(issuer.ClockReal, e.now)
		if err != nil {
			return err
		}
		iss, err := issuer.New(c.Context, db, issuer.Config{
			BaseURL: pub.BaseURL, AllowHTTP: strings.HasPrefix(pub.BaseURL, "http://"), EntraIssuers: pub.EntraIssuers,
			Clock: clock, NewID: e.newID, Random: e.random,
		})
		if err != nil {
			return err
		}
		tok, err := iss.IssueUserToken(c.Context, issuer.UserTokenRequest{
			Tenant: c.String("tenant"), User: c.String("upn"), ClientAppID: c.String("client"),
			Resource: c.String("resource"), Scopes: nonEmpty(c.StringSlice("scope")),
		})
		if err != nil {
			return err
		}
		if isJSON(c) {
			return writeJSON(c.App.Writer, struct {
				TokenType   string `json:"token_type"`
				AccessToken string `json:"access_token"`
			}{"Bearer", tok})
		}
		_, err = fmt.Fprintln(c.App.Writer, tok)
		return err
	})
}
