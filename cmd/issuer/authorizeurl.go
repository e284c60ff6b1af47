package main

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// authorizeURLCommand is `issuer authorize-url`: it prints the URL that
// starts an interactive sign-in (or admin consent) for an application, to
// open in a browser, with a PKCE verifier for the code redemption.
func authorizeURLCommand() *cli.Command {
	return &cli.Command{
		Name:  "authorize-url",
		Usage: "print the URL that signs a user in to an application in a browser (or asks for admin consent)",
		Description: `Prints the authorization request for CLIENT_APPID on the server the last
issuer serve on this database published (--base-url overrides it). Open it
in a browser, sign in as a user of the tenant, consent, and the browser
goes to the redirect URI with ?code=…; redeem the code at the token
endpoint with grant_type=authorization_code, the same redirect_uri and
code_verifier (printed with --pkce), and the client's secret for a web
redirect URI. The grant the consent page writes shows in issuer consent
list.

--admin-consent prints the admin consent URL instead: an administrator of
the tenant consents for the organization to everything the application
requires, which provisions a multi-tenant application there.

EXAMPLES
   issuer authorize-url --tenant contoso.com --client APPID --scope api://orders/Orders.Read --scope offline_access --pkce
   issuer authorize-url --tenant fabrikam.com --client APPID --admin-consent
   issuer authorize-url --tenant contoso.com --client APPID --resource api://orders   # the v1 endpoint`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "tenant", Usage: "the authority: a `TENANT` id or domain, organizations or common", Value: "organizations"},
			&cli.StringFlag{Name: "client", Usage: "the application (`APPID`)", Required: true},
			&cli.StringFlag{Name: "redirect-uri", Usage: "a registered redirect `URI` (default: the application's, when it has exactly one)"},
			&cli.StringSliceFlag{Name: "scope", Usage: "a `SCOPE` of the v2 request (repeatable; default: openid profile offline_access)"},
			&cli.StringFlag{Name: "resource", Usage: "ask the v1 endpoint for `RESOURCE` instead of v2 scopes"},
			&cli.StringFlag{Name: "state", Usage: "the `STATE` the redirect carries back"},
			&cli.StringFlag{Name: "prompt", Usage: "none, login, consent or select_account"},
			&cli.StringFlag{Name: "login-hint", Usage: "the user's `UPN`, filled in on the sign-in page"},
			&cli.BoolFlag{Name: "pkce", Usage: "add an S256 code_challenge and print its code_verifier"},
			&cli.BoolFlag{Name: "admin-consent", Usage: "print the admin consent URL (/{tenant}/v2.0/adminconsent)"},
			&cli.StringFlag{Name: "base-url", Usage: "the server's public `URL` (default: the last issuer serve's, else " + defaultBaseURL + ")"},
		},
		Action: authorizeURL,
	}
}

// authorizeURLView is the -o json output.
type authorizeURLView struct {
	URL          string `json:"url"`
	RedirectURI  string `json:"redirectUri"`
	CodeVerifier string `json:"codeVerifier,omitempty"`
}

func authorizeURL(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	if c.IsSet("scope") && c.IsSet("resource") {
		return usageError("authorize-url: give --scope (v2) or --resource (v1), not both")
	}
	return withDB(c, func(db *storage.DB, dir *tenant.Directory) error {
		base := c.String("base-url")
		if base == "" {
			pub, err := lastServed(c.Context, db)
			if err != nil {
				return err
			}
			base = pub.BaseURL
		}
		app, err := dir.GetApplication(c.Context, c.String("client"))
		if err != nil {
			return applicationError(c.String("client"), err)
		}
		redirect := c.String("redirect-uri")
		all := append(append(append([]string{}, app.Web.RedirectURIs...), app.SPA.RedirectURIs...), app.PublicClient.RedirectURIs...)
		switch {
		case redirect == "" && len(all) == 1:
			redirect = all[0]
		case redirect == "":
			return usageError("authorize-url: application %s has %d redirect URIs; name one with --redirect-uri (register one with app update --web-redirect-uri)", app.AppID, len(all))
		}
		if _, _, ok := app.MatchRedirectURI(redirect); !ok {
			return usageError("authorize-url: %s is not a redirect URI of application %s (registered: %s)", redirect, app.AppID, list(all))
		}
		view := authorizeURLView{RedirectURI: redirect}
		q := url.Values{"client_id": {app.AppID}, "redirect_uri": {redirect}}
		seg := url.PathEscape(c.String("tenant"))
		path := "/" + seg + "/oauth2/v2.0/authorize"
		switch {
		case c.Bool("admin-consent"):
			path = "/" + seg + "/v2.0/adminconsent"
		case c.IsSet("resource"):
			path = "/" + seg + "/oauth2/authorize"
			q.Set("response_type", "code")
			q.Set("resource", c.String("resource"))
		default:
			q.Set("response_type", "code")
			scopes := nonEmpty(c.StringSlice("scope"))
			if len(scopes) == 0 {
				scopes = []string{"openid", "profile", "offline_access"}
			}
			q.Set("scope", strings.Join(scopes, " "))
		}
		for _, name := range []string{"state", "prompt", "login-hint"} {
			if v := c.String(name); v != "" {
				q.Set(strings.ReplaceAll(name, "-", "_"), v)
			}
		}
		if c.Bool("pkce") && !c.Bool("admin-consent") {
			b := make([]byte, 32)
			if _, err := io.ReadFull(envOf(c).random, b); err != nil {
				return err
			}
			view.CodeVerifier = base64.RawURLEncoding.EncodeToString(b)
			sum := sha256.Sum256([]byte(view.CodeVerifier))
			q.Set("code_challenge", base64.RawURLEncoding.EncodeToString(sum[:]))
			q.Set("code_challenge_method", "S256")
		}
		view.URL = strings.TrimSuffix(base, "/") + path + "?" + q.Encode()
		if isJSON(c) {
			return writeJSON(c.App.Writer, view)
		}
		fmt.Fprintln(c.App.Writer, view.URL)
		if view.CodeVerifier != "" {
			fmt.Fprintf(c.App.ErrWriter, "code_verifier: %s\n", view.CodeVerifier)
		}
		return nil
	})
}
