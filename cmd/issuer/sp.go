package main

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/tenant"
)

// spCommand is `issuer sp`: service principals, the instances of
// applications in tenants.
func spCommand() *cli.Command {
	return &cli.Command{
		Name:  "sp",
		Usage: "manage service principals (an application's instance in a tenant)",
		Description: `Token requests find clients and resources through their service principal
in the tenant of the request. An application gets one in its home tenant when
it is registered; another tenant gets one through consent (issuer consent
grant) or sp add, and only for multi-tenant applications.`,
		Subcommands: []*cli.Command{spAddCommand(), spListCommand(), spUpdateCommand(), spRemoveCommand(),
			ownerCommand(ownedServicePrincipal, `   issuer sp owner add --tenant contoso.com --app APPID --client PROVISIONER_APPID
   issuer sp owner remove --tenant contoso.com --app APPID --user ada@contoso.com`)},
	}
}

func spAddCommand() *cli.Command {
	return &cli.Command{
		Name:  "add",
		Usage: "create an application's service principal in a tenant",
		Description: `EXAMPLES
   issuer sp add --tenant fabrikam.onmicrosoft.com --app MULTI_TENANT_APPID`,
		Flags:  []cli.Flag{tenantFlag("tenant"), appFlag("application")},
		Action: spAdd,
	}
}

func spAdd(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	ref, appID := c.String("tenant"), c.String("app")
	return withDirectory(c, func(dir *tenant.Directory) error {
		sp, err := dir.AddServicePrincipal(c.Context, ref, appID)
		if err != nil {
			return spError(c, dir, ref, appID, err)
		}
		return printObject(c, sp, spFields(sp))
	})
}

func spListCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the service principals in a tenant",
		Flags: []cli.Flag{tenantFlag("tenant")},
		Action: listAction(func(c *cli.Context, dir *tenant.Directory) ([]tenant.ServicePrincipal, error) {
			sps, err := dir.ListServicePrincipals(c.Context, c.String("tenant"))
			return sps, tenantError(c.String("tenant"), err)
		}, same, []string{"APP ID", "ID", "DISPLAY NAME", "ENABLED", "ASSIGNMENT REQUIRED", "OWNER TENANT"}, func(sp tenant.ServicePrincipal) []string {
			return []string{sp.AppID, sp.ID, sp.DisplayName,
				strconv.FormatBool(sp.AccountEnabled), strconv.FormatBool(sp.AppRoleAssignmentRequired), sp.AppOwnerOrganizationID}
		}),
	}
}

func spUpdateCommand() *cli.Command {
	return &cli.Command{
		Name:  "update",
		Usage: "change an application's service principal in a tenant",
		Description: `--assignment-required=true makes Entra refuse tokens for this application as
a resource to clients holding none of its app roles (AADSTS501051) and to
unassigned users (AADSTS50105). --enabled=false disables the application in
this tenant: as a client it gets AADSTS7000112, as a resource AADSTS500014.

EXAMPLES
   issuer sp update --tenant contoso.onmicrosoft.com --app APPID --assignment-required=true
   issuer sp update --tenant contoso.onmicrosoft.com --app APPID --enabled=false`,
		Flags: []cli.Flag{
			tenantFlag("tenant"),
			appFlag("application"),
			&cli.BoolFlag{Name: "assignment-required", Usage: "require an app role assignment (appRoleAssignmentRequired; --assignment-required=false to stop)"},
			&cli.BoolFlag{Name: "enabled", Usage: "enable or disable the service principal (accountEnabled; --enabled=false)"},
		},
		Action: spUpdate,
	}
}

func spUpdate(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	u := tenant.ServicePrincipalUpdate{
		AccountEnabled:            boolPtr(c, "enabled"),
		AppRoleAssignmentRequired: boolPtr(c, "assignment-required"),
	}
	if u == (tenant.ServicePrincipalUpdate{}) {
		return usageError("sp update: nothing to change; give --assignment-required or --enabled")
	}
	ref, appID := c.String("tenant"), c.String("app")
	return withDirectory(c, func(dir *tenant.Directory) error {
		sp, err := dir.UpdateServicePrincipal(c.Context, ref, appID, u)
		if err != nil {
			return spError(c, dir, ref, appID, err)
		}
		return printObject(c, sp, spFields(sp))
	})
}

func spRemoveCommand() *cli.Command {
	return &cli.Command{
		Name:   "remove",
		Usage:  "delete an application's service principal in a tenant, with its grants, assignments and group memberships",
		Flags:  []cli.Flag{tenantFlag("tenant"), appFlag("application")},
		Action: spRemove,
	}
}

func spRemove(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	ref, appID := c.String("tenant"), c.String("app")
	return withDirectory(c, func(dir *tenant.Directory) error {
		if err := dir.RemoveServicePrincipal(c.Context, ref, appID); err != nil {
			return spError(c, dir, ref, appID, err)
		}
		return printDone(c, "removed the service principal of application %s in tenant %s", appID, ref)
	})
}

// spError says which of the tenant, the application or its service
// principal in the tenant is missing.
func spError(c *cli.Context, dir *tenant.Directory, ref, appID string, err error) error {
	if !errors.Is(err, tenant.ErrNotFound) {
		return err
	}
	t, terr := dir.ResolveTenant(c.Context, ref)
	if terr != nil {
		return tenantError(ref, terr)
	}
	if _, aerr := dir.GetApplication(c.Context, appID); aerr != nil {
		return applicationError(appID, aerr)
	}
	return fmt.Errorf("service principal of application %s in tenant %s: %w", appID, t.DisplayName, tenant.ErrNotFound)
}

func spFields(sp tenant.ServicePrincipal) []field {
	return []field{
		{"id", sp.ID},
		{"appId", sp.AppID},
		{"displayName", sp.DisplayName},
		{"tenantId", sp.TenantID},
		{"appOwnerOrganizationId", sp.AppOwnerOrganizationID},
		{"accountEnabled", strconv.FormatBool(sp.AccountEnabled)},
		{"appRoleAssignmentRequired", strconv.FormatBool(sp.AppRoleAssignmentRequired)},
	}
}
