package main

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/tenant"
)

// applicationCommand is `issuer app`: app registrations, each with its
// service principal in the home tenant, and their client secrets.
func applicationCommand() *cli.Command {
	return &cli.Command{
		Name:  "app",
		Usage: "manage applications (app registrations)",
		Description: `An application lives in its home tenant; registering it also creates its
service principal there. APPID is the application's appId (client id).`,
		Subcommands: []*cli.Command{
			applicationAddCommand(),
			applicationListCommand(),
			applicationShowCommand(),
			applicationUpdateCommand(),
			applicationRemoveCommand(),
			secretCommand(),
			certCommand(),
			federatedCommand(),
			appRoleCommand(),
			appScopeCommand(),
			appPermissionCommand(),
			ownerCommand(ownedApplication, `   issuer app owner add --app APPID --user ada@contoso.onmicrosoft.com
   issuer app owner add --app APPID --client PROVISIONER_APPID
   issuer app owner list --app APPID`),
		},
	}
}

func applicationAddCommand() *cli.Command {
	return &cli.Command{
		Name:  "add",
		Usage: "register an application in a tenant",
		Description: `EXAMPLES
   issuer app add --tenant contoso.onmicrosoft.com --name "Orders API" --identifier-uri api://orders --token-version 2
   issuer app add --tenant contoso.onmicrosoft.com --name "Nightly Job"
   issuer app add --tenant contoso.onmicrosoft.com --name "Web Shop" --web-redirect-uri https://localhost:5001/signin-oidc
   issuer app add --tenant contoso.onmicrosoft.com --name "CLI" --public-client --public-client-redirect-uri http://localhost`,
		Flags: append([]cli.Flag{
			tenantFlag("home tenant"),
			nameFlag("display `NAME`", true),
			identifierURIFlag("App ID `URI` naming the application as a resource, e.g. api://orders (repeatable)"),
			tokenVersionFlag(),
			&cli.BoolFlag{Name: "multi-tenant", Usage: "let other tenants use the application (signInAudience AzureADMultipleOrgs)"},
			&cli.BoolFlag{Name: "public-client", Usage: "allow public client flows (isFallbackPublicClient)"},
			&cli.StringFlag{Name: "app-id", Usage: "appId (`GUID`; default: a new one)"},
		}, redirectURIFlags("the values given make the list")...),
		Action: applicationAdd,
	}
}

func applicationAdd(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	return withDirectory(c, func(dir *tenant.Directory) error {
		app, err := dir.RegisterApplication(c.Context, c.String("tenant"), tenant.ApplicationSpec{
			DisplayName:              c.String("name"),
			IdentifierURIs:           nonEmpty(c.StringSlice("identifier-uri")),
			TokenVersion:             tokenVersion(c),
			MultiTenant:              c.Bool("multi-tenant"),
			PublicClient:             c.Bool("public-client"),
			AppID:                    c.String("app-id"),
			WebRedirectURIs:          nonEmpty(c.StringSlice("web-redirect-uri")),
			SPARedirectURIs:          nonEmpty(c.StringSlice("spa-redirect-uri")),
			PublicClientRedirectURIs: nonEmpty(c.StringSlice("public-client-redirect-uri")),
		})
		if err != nil {
			return tenantError(c.String("tenant"), err)
		}
		var sp *tenant.ServicePrincipal
		if !isJSON(c) {
			sp = homeServicePrincipal(c, dir, app)
		}
		return printObject(c, app, applicationFields(app, sp))
	})
}

func applicationListCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the applications registered in a tenant",
		Flags: []cli.Flag{tenantFlag("home tenant")},
		Action: listAction(func(c *cli.Context, dir *tenant.Directory) ([]tenant.Application, error) {
			apps, err := dir.ListApplications(c.Context, c.String("tenant"))
			return apps, tenantError(c.String("tenant"), err)
		}, same, applicationHeader, applicationRow),
	}
}

func applicationShowCommand() *cli.Command {
	return &cli.Command{Name: "show", Usage: "show an application", ArgsUsage: "APPID", Action: applicationShow}
}

func applicationShow(c *cli.Context) error {
	args, err := requireArgs(c, "APPID")
	if err != nil {
		return err
	}
	return withDirectory(c, func(dir *tenant.Directory) error {
		app, sp, err := homeApplication(c, dir, args[0])
		if err != nil {
			return err
		}
		return printObject(c, app, applicationFields(app, sp))
	})
}

// homeApplication returns the application with its service principal in
// the home tenant (nil if that was removed).
func homeApplication(c *cli.Context, dir *tenant.Directory, appID string) (tenant.Application, *tenant.ServicePrincipal, error) {
	app, err := dir.GetApplication(c.Context, appID)
	if err != nil {
		return tenant.Application{}, nil, applicationError(appID, err)
	}
	return app, homeServicePrincipal(c, dir, app), nil
}

// homeServicePrincipal returns the application's service principal in its
// home tenant, for the accountEnabled line of the text output; nil if it
// cannot be read (it may have been removed).
func homeServicePrincipal(c *cli.Context, dir *tenant.Directory, app tenant.Application) *tenant.ServicePrincipal {
	sp, _, err := dir.FindServicePrincipal(c.Context, app.HomeTenantID, app.AppID)
	if err != nil {
		return nil
	}
	return &sp
}

func applicationUpdateCommand() *cli.Command {
	return &cli.Command{
		Name:      "update",
		Usage:     "change an application",
		ArgsUsage: "APPID",
		Description: `Flags not given are left as they are. --identifier-uri replaces the list
(--identifier-uri "" clears it). --enabled sets accountEnabled of the
application's service principal in its home tenant: a disabled client gets
AADSTS7000112, as in Entra.

--optional-claim TOKENTYPE:NAME sets the application's optionalClaims (the
manifest's): accessToken claims go in the access tokens issued for it as a
resource, idToken claims in the id_tokens it receives as a client. The
values given replace the set (--optional-claim "" clears it). Claims:
idtyp (access tokens: "app" or "user"), email, given_name, family_name,
upn, acct, ctry, login_hint (id tokens).

--access-token-lifetime sets the application's token lifetime policy, as
Entra's AccessTokenLifetime: the lifetime of the access tokens issued for
the application as a resource and of the id_tokens issued to it, 10m to
24h (0 removes the policy: tokens get the server's defaults).

--group-membership-claims sets the application's groupMembershipClaims:
which groups the groups claim of its tokens lists (the access tokens issued
for it as a resource, the id_tokens issued to it). None (or ""), SecurityGroup
(the user's security groups, nested ones included), All (every group, and
the wids claim of directory roles), DirectoryRole (wids only) or
ApplicationGroup (only the groups assigned to the application); a
comma-separated list combines them, as the Entra portal's checkboxes do.

EXAMPLES
   issuer app update APPID --token-version 2
   issuer app update APPID --identifier-uri api://orders --identifier-uri https://contoso.com/orders
   issuer app update APPID --enabled=false
   issuer app update APPID --optional-claim accessToken:idtyp --optional-claim idToken:email
   issuer app update APPID --access-token-lifetime 4h
   issuer app update APPID --group-membership-claims SecurityGroup`,
		Flags: append([]cli.Flag{
			tokenVersionFlag(),
			identifierURIFlag("App ID `URI`; the values given replace the list (repeatable)"),
			&cli.BoolFlag{Name: "enabled", Usage: "enable or disable sign-in of the application in its home tenant (--enabled=false)"},
			nameFlag("new display `NAME`", false),
			&cli.BoolFlag{Name: "multi-tenant", Usage: "let other tenants use the application (--multi-tenant=false to stop)"},
			&cli.BoolFlag{Name: "public-client", Usage: "allow public client flows (--public-client=false to stop)"},
			&cli.StringSliceFlag{Name: "optional-claim", Usage: "optional claim `TOKENTYPE:NAME`, e.g. accessToken:idtyp; the values given replace the set (repeatable)"},
			&cli.StringFlag{Name: "access-token-lifetime", Usage: "token lifetime policy: the `LIFETIME` (10m to 24h) of access tokens for the application and id_tokens to it; 0 removes it"},
			&cli.StringFlag{Name: "group-membership-claims", Usage: "the groups claim (groupMembershipClaims): `VALUE` None, SecurityGroup, All, DirectoryRole, ApplicationGroup, or a comma-separated list"},
		}, redirectURIFlags(`the values given replace the list ("" clears it)`)...),
		Action: applicationUpdate,
	}
}

func applicationUpdate(c *cli.Context) error {
	args, err := requireArgs(c, "APPID")
	if err != nil {
		return err
	}
	u := tenant.ApplicationUpdate{
		DisplayName:              stringPtr(c, "name"),
		MultiTenant:              boolPtr(c, "multi-tenant"),
		PublicClient:             boolPtr(c, "public-client"),
		WebRedirectURIs:          listPtr(c, "web-redirect-uri"),
		SPARedirectURIs:          listPtr(c, "spa-redirect-uri"),
		PublicClientRedirectURIs: listPtr(c, "public-client-redirect-uri"),
		GroupMembershipClaims:    stringPtr(c, "group-membership-claims"),
	}
	if c.IsSet("token-version") {
		v := tokenVersion(c)
		u.TokenVersion = &v
	}
	if c.IsSet("identifier-uri") {
		uris := nonEmpty(c.StringSlice("identifier-uri"))
		u.IdentifierURIs = &uris
	}
	if c.IsSet("optional-claim") {
		var oc tenant.OptionalClaims
		for _, v := range nonEmpty(c.StringSlice("optional-claim")) {
			kind, claim, err := tenant.ParseOptionalClaim(v)
			if err != nil {
				return err
			}
			oc.Add(kind, claim)
		}
		u.OptionalClaims = &oc
	}
	if c.IsSet("access-token-lifetime") {
		var d time.Duration
		if v := strings.TrimSpace(c.String("access-token-lifetime")); v != "0" {
			if d, err = tenant.ParseLifetime(v); err != nil {
				return usageError("--access-token-lifetime: %v", err)
			}
		}
		u.AccessTokenLifetime = &d
	}
	enabled := boolPtr(c, "enabled")
	if u == (tenant.ApplicationUpdate{}) && enabled == nil {
		return usageError("app update: nothing to change; give --token-version, --identifier-uri, --enabled, --name, --multi-tenant, --public-client, --optional-claim, --access-token-lifetime, --group-membership-claims or a --*-redirect-uri")
	}
	return withDirectory(c, func(dir *tenant.Directory) error {
		var app tenant.Application
		var err error
		if u == (tenant.ApplicationUpdate{}) {
			app, err = dir.GetApplication(c.Context, args[0])
		} else {
			app, err = dir.UpdateApplication(c.Context, args[0], u)
		}
		if err != nil {
			return applicationError(args[0], err)
		}
		var sp *tenant.ServicePrincipal
		if enabled != nil {
			s, err := dir.UpdateServicePrincipal(c.Context, app.HomeTenantID, app.AppID,
				tenant.ServicePrincipalUpdate{AccountEnabled: enabled})
			if err != nil {
				return err
			}
			sp = &s
		} else if !isJSON(c) {
			sp = homeServicePrincipal(c, dir, app)
		}
		return printObject(c, app, applicationFields(app, sp))
	})
}

func applicationRemoveCommand() *cli.Command {
	return &cli.Command{
		Name:      "remove",
		Usage:     "delete an application with its service principals and grants",
		ArgsUsage: "APPID",
		Action:    applicationRemove,
	}
}

func applicationRemove(c *cli.Context) error {
	args, err := requireArgs(c, "APPID")
	if err != nil {
		return err
	}
	return withDirectory(c, func(dir *tenant.Directory) error {
		if err := dir.RemoveApplication(c.Context, args[0]); err != nil {
			return applicationError(args[0], err)
		}
		return printDone(c, "removed application %s", args[0])
	})
}

// applicationError names the application the user asked for when the
// directory did not find it, e.g. `application "…": not found`; other errors
// already say what they are about.
func applicationError(appID string, err error) error {
	if errors.Is(err, tenant.ErrNotFound) {
		return fmt.Errorf("application %q: %w", appID, tenant.ErrNotFound)
	}
	return err
}
