package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/consent"
	"github.com/issuer-dev/issuer/storage"
	"github.com/issuer-dev/issuer/tenant"
)

// withManager runs fn with a consent.Manager over the database named by --db.
func withManager(c *cli.Context, fn func(m *consent.Manager, dir *tenant.Directory) error) error {
	return withDB(c, func(db *storage.DB, dir *tenant.Directory) error {
		e := envOf(c)
		return fn(consent.NewManager(dir, db, consent.WithClock(e.now), consent.WithIDs(e.newID)), dir)
	})
}

// withManagerFor runs fn with a consent.Manager once the tenant ref and, when
// clientID is not empty, the client application are known to exist, so that
// a missing one is reported by the name the user gave (see checkNames).
func withManagerFor(c *cli.Context, ref, clientID string, fn func(m *consent.Manager) error) error {
	return withManager(c, func(m *consent.Manager, dir *tenant.Directory) error {
		if err := checkNames(c, dir, ref, clientID); err != nil {
			return err
		}
		return fn(m)
	})
}

// clientFlag is the required --client APPID flag.
func clientFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "client", Usage: usage + " (`APPID`)", Required: true}
}

// consentCommand is `issuer consent`: delegated permission grants and the
// app role assignments admin consent creates.
func consentCommand() *cli.Command {
	return &cli.Command{
		Name:  "consent",
		Usage: "grant, list and revoke consent to applications in a tenant",
		Description: `Admin consent grants a client everything it requires (issuer app permission
add): its delegated scopes for every user (an AllPrincipals grant) and its
application permissions (app role assignments). User consent grants one
user's delegated scopes of type User, where the tenant allows it (issuer
tenant update TENANT --user-consent=allowed|disabled).`,
		Subcommands: []*cli.Command{consentGrantCommand(), consentListCommand(), consentRevokeCommand()},
	}
}

func consentGrantCommand() *cli.Command {
	return &cli.Command{
		Name:  "grant",
		Usage: "grant admin consent (--admin) or one user's consent (--user) to a client",
		Description: `--admin provisions the client's service principal in the tenant if absent
(multi-tenant applications only, outside their home tenant), and those of
the resources it requires, then grants what the client requires. Running it
again changes nothing.

--user consents for one user to scopes of type User: the --scope values of
--resource, or, without --scope, every User scope the client requires.

EXAMPLES
   issuer consent grant --tenant contoso.onmicrosoft.com --client APPID --admin
   issuer consent grant --tenant fabrikam.onmicrosoft.com --client MULTI_TENANT_APPID --admin
   issuer consent grant --tenant contoso.onmicrosoft.com --client APPID --user alice@contoso.onmicrosoft.com
   issuer consent grant --tenant contoso.onmicrosoft.com --client APPID --user alice@contoso.onmicrosoft.com --resource api://orders --scope access_as_user`,
		Flags: []cli.Flag{
			tenantFlag("tenant"),
			clientFlag("client application"),
			&cli.BoolFlag{Name: "admin", Usage: "grant admin consent: everything the client requires, for all users"},
			&cli.StringFlag{Name: "user", Usage: "consent for one user (`UPN` or object id)"},
			&cli.StringFlag{Name: "resource", Usage: "with --user: the application whose scopes are named (`RESOURCE`: appId or identifier URI)"},
			&cli.StringSliceFlag{Name: "scope", Usage: "with --user: a scope `VALUE` (repeatable; default: the User scopes the client requires)"},
		},
		Action: consentGrant,
	}
}

func consentGrant(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	admin, user := c.Bool("admin"), c.String("user")
	switch {
	case admin == (user != ""):
		return usageError("consent grant: give either --admin or --user UPN")
	case admin && (c.IsSet("scope") || c.IsSet("resource")):
		return usageError("consent grant: --scope and --resource go with --user; admin consent grants what the client requires (issuer app permission add)")
	}
	ref, clientID := c.String("tenant"), c.String("client")
	return withManagerFor(c, ref, clientID, func(m *consent.Manager) error {
		if admin {
			res, err := m.GrantAdminConsent(c.Context, ref, clientID)
			if err != nil {
				return err
			}
			if isJSON(c) {
				return writeJSON(c.App.Writer, res)
			}
			return printConsent(c.App.Writer, "admin consent", res.ProvisionedServicePrincipals, res.PermissionGrants, res.AppRoleAssignments, res.Skipped)
		}
		res, err := m.GrantUserConsent(c.Context, ref, clientID, user, c.String("resource"), nonEmpty(c.StringSlice("scope")))
		if err != nil {
			return err
		}
		if isJSON(c) {
			return writeJSON(c.App.Writer, res)
		}
		return printConsent(c.App.Writer, "consent of "+res.UserPrincipalName, res.ProvisionedServicePrincipals, res.PermissionGrants, nil, res.Skipped)
	})
}

// printConsent prints what a consent changed, one line per object.
func printConsent(w io.Writer, what string, sps []tenant.ServicePrincipal, grants []consent.GrantEntry, assignments []consent.AssignmentEntry, skipped []string) error {
	for _, sp := range sps {
		fmt.Fprintf(w, "provisioned service principal %s of %s (%s)\n", sp.ID, sp.DisplayName, sp.AppID)
	}
	for _, g := range grants {
		fmt.Fprintf(w, "granted %s\n", grantText(g))
	}
	for _, a := range assignments {
		fmt.Fprintf(w, "assigned %s\n", assignmentText(a))
	}
	for _, s := range skipped {
		fmt.Fprintf(w, "skipped %s\n", s)
	}
	if len(sps)+len(grants)+len(assignments) == 0 {
		_, err := fmt.Fprintf(w, "nothing to change: the %s is already in place\n", what)
		return err
	}
	return nil
}

// grantText describes a grant: "access_as_user Orders.Read on Orders API
// (appId) to Web (appId) for all users [AllPrincipals, id …]".
func grantText(g consent.GrantEntry) string {
	who := "for all users"
	if g.ConsentType == consent.Principal {
		who = "for " + orDash(g.PrincipalName)
	}
	return fmt.Sprintf("%s of %s (%s) to %s (%s) %s [%s grant %s]",
		strings.Join(g.Scopes(), " "), g.ResourceDisplayName, g.ResourceAppID, g.ClientDisplayName, g.ClientAppID, who, g.ConsentType, g.ID)
}

// assignmentText describes an assignment: "app role Orders.Read of Orders
// API (appId) to Daemon [ServicePrincipal, assignment id …]".
func assignmentText(a consent.AssignmentEntry) string {
	return fmt.Sprintf("app role %s of %s (%s) to %s [%s, assignment %s]",
		orDash(a.AppRoleValue), a.ResourceDisplayName, a.ResourceAppID, a.PrincipalDisplayName, a.PrincipalType, a.ID)
}

func consentListCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list app role assignments and delegated permission grants in a tenant",
		Description: `With --client, only those naming the client: the roles and grants it holds,
and the assignments of its own app roles.`,
		Flags: []cli.Flag{
			tenantFlag("tenant"),
			&cli.StringFlag{Name: "client", Usage: "only those of this client (`APPID`)"},
		},
		Action: consentList,
	}
}

func consentList(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	ref, clientID := c.String("tenant"), c.String("client")
	return withManagerFor(c, ref, clientID, func(m *consent.Manager) error {
		l, err := m.List(c.Context, ref, clientID)
		if err != nil {
			return err
		}
		if isJSON(c) {
			return writeJSON(c.App.Writer, l)
		}
		w := c.App.Writer
		fmt.Fprintln(w, "APP ROLE ASSIGNMENTS")
		rows := make([][]string, 0, len(l.AppRoleAssignments))
		for _, a := range l.AppRoleAssignments {
			rows = append(rows, []string{a.ResourceDisplayName, orDash(a.AppRoleValue), a.PrincipalDisplayName, a.PrincipalType, a.ID})
		}
		if err := printTable(c, nil, []string{"RESOURCE", "ROLE", "PRINCIPAL", "PRINCIPAL TYPE", "ID"}, rows); err != nil {
			return err
		}
		fmt.Fprintln(w, "\nDELEGATED PERMISSION GRANTS")
		rows = make([][]string, 0, len(l.PermissionGrants))
		for _, g := range l.PermissionGrants {
			rows = append(rows, []string{g.ClientDisplayName, g.ResourceDisplayName, g.ConsentType, orDash(g.PrincipalName), g.Scope, g.ID})
		}
		return printTable(c, nil, []string{"CLIENT", "RESOURCE", "CONSENT TYPE", "USER", "SCOPE", "ID"}, rows)
	})
}

func consentRevokeCommand() *cli.Command {
	return &cli.Command{
		Name:  "revoke",
		Usage: "revoke consent given to a client in a tenant",
		Description: `Without --user: the client's admin grant (AllPrincipals) and the app roles
its service principal holds. With --user: that user's own grants to the
client. The next token request is decided without them.

EXAMPLES
   issuer consent revoke --tenant contoso.onmicrosoft.com --client APPID
   issuer consent revoke --tenant contoso.onmicrosoft.com --client APPID --user alice@contoso.onmicrosoft.com`,
		Flags: []cli.Flag{
			tenantFlag("tenant"),
			clientFlag("client application"),
			&cli.StringFlag{Name: "user", Usage: "revoke this user's consent only (`UPN` or object id)"},
		},
		Action: consentRevoke,
	}
}

func consentRevoke(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	ref, clientID := c.String("tenant"), c.String("client")
	return withManagerFor(c, ref, clientID, func(m *consent.Manager) error {
		res, err := m.Revoke(c.Context, ref, clientID, c.String("user"))
		if err != nil {
			return err
		}
		if isJSON(c) {
			return writeJSON(c.App.Writer, res)
		}
		w := c.App.Writer
		for _, g := range res.PermissionGrants {
			fmt.Fprintf(w, "revoked %s\n", grantText(g))
		}
		for _, a := range res.AppRoleAssignments {
			fmt.Fprintf(w, "revoked %s\n", assignmentText(a))
		}
		if len(res.PermissionGrants)+len(res.AppRoleAssignments) == 0 {
			fmt.Fprintln(w, "nothing to revoke")
		}
		return nil
	})
}

// checkNames reports a missing tenant or client application by the name the
// user gave, before the manager's errors, which name objects by id.
func checkNames(c *cli.Context, dir *tenant.Directory, ref, clientID string) error {
	if _, err := dir.ResolveTenant(c.Context, ref); err != nil {
		return tenantError(ref, err)
	}
	if clientID == "" {
		return nil
	}
	if _, err := dir.GetApplication(c.Context, clientID); err != nil {
		return applicationError(clientID, err)
	}
	return nil
}
