package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/tenant"
)

// tenantCommand is `issuer tenant`: tenants (Entra directories).
func tenantCommand() *cli.Command {
	return &cli.Command{
		Name:  "tenant",
		Usage: "manage tenants",
		Description: `A tenant has a GUID and the initial domain <name>.onmicrosoft.com; more
domains may be added. TENANT is the GUID or any of the domains, in any case.`,
		Subcommands: []*cli.Command{
			tenantAddCommand(),
			tenantListCommand(),
			tenantShowCommand(),
			tenantUpdateCommand(),
			tenantRemoveCommand(),
		},
	}
}

func tenantAddCommand() *cli.Command {
	return &cli.Command{
		Name:  "add",
		Usage: "create a tenant",
		Description: `EXAMPLES
   issuer tenant add --name contoso
   issuer tenant add --name contoso --domain contoso.com --id 72f988bf-86f1-41af-91ab-2d7cd011db47`,
		Flags: []cli.Flag{
			nameFlag("tenant display `NAME`; its letters and digits form the initial domain NAME.onmicrosoft.com", true),
			&cli.StringSliceFlag{Name: "domain", Usage: "an extra `DOMAIN` (repeatable)"},
			&cli.StringFlag{Name: "id", Usage: "tenant id (`GUID`; default: a new one)"},
		},
		Action: tenantAdd,
	}
}

func tenantAdd(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	return withDirectory(c, func(dir *tenant.Directory) error {
		t, err := dir.CreateTenant(c.Context, tenant.TenantSpec{
			Name: c.String("name"), Domains: c.StringSlice("domain"), ID: c.String("id"),
		})
		if err != nil {
			return err
		}
		return printObject(c, t, tenantFields(t))
	})
}

func tenantListCommand() *cli.Command {
	return &cli.Command{Name: "list", Usage: "list tenants", Action: listAction(
		func(c *cli.Context, dir *tenant.Directory) ([]tenant.Tenant, error) {
			return dir.ListTenants(c.Context)
		},
		same, tenantHeader, tenantRow)}
}

func tenantShowCommand() *cli.Command {
	return &cli.Command{Name: "show", Usage: "show a tenant", ArgsUsage: "TENANT", Action: tenantShow}
}

func tenantShow(c *cli.Context) error {
	args, err := requireArgs(c, "TENANT")
	if err != nil {
		return err
	}
	return withDirectory(c, func(dir *tenant.Directory) error {
		t, err := dir.ResolveTenant(c.Context, args[0])
		if err != nil {
			return tenantError(args[0], err)
		}
		return printObject(c, t, tenantFields(t))
	})
}

func tenantUpdateCommand() *cli.Command {
	return &cli.Command{
		Name:      "update",
		Usage:     "change a tenant",
		ArgsUsage: "TENANT",
		Description: `--user-consent=disabled stops users from consenting to applications for
themselves; an administrator must then grant consent.

EXAMPLES
   issuer tenant update contoso.onmicrosoft.com --add-domain contoso.com --add-domain contoso.net
   issuer tenant update contoso.onmicrosoft.com --user-consent=disabled`,
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "add-domain", Usage: "add a `DOMAIN` (repeatable)"},
			&cli.GenericFlag{Name: "user-consent", Usage: "whether users may consent for themselves: `SETTING` allowed or disabled",
				Value: &choice{allowed: []string{string(tenant.UserConsentAllowed), string(tenant.UserConsentDisabled)}}},
		},
		Action: tenantUpdate,
	}
}

func tenantUpdate(c *cli.Context) error {
	args, err := requireArgs(c, "TENANT")
	if err != nil {
		return err
	}
	if !c.IsSet("add-domain") && !c.IsSet("user-consent") {
		return usageError("tenant update: nothing to change; give --add-domain or --user-consent")
	}
	return withDirectory(c, func(dir *tenant.Directory) error {
		var t tenant.Tenant
		for _, d := range c.StringSlice("add-domain") {
			if t, err = dir.AddDomain(c.Context, args[0], d); err != nil {
				return tenantError(args[0], err)
			}
		}
		if c.IsSet("user-consent") {
			v := tenant.UserConsent(c.Generic("user-consent").(*choice).value)
			if t, err = dir.UpdateTenant(c.Context, args[0], func(t *tenant.Tenant) error { t.UserConsent = v; return nil }); err != nil {
				return tenantError(args[0], err)
			}
		}
		return printObject(c, t, tenantFields(t))
	})
}

func tenantRemoveCommand() *cli.Command {
	return &cli.Command{
		Name:      "remove",
		Usage:     "delete a tenant with its applications, service principals and grants",
		ArgsUsage: "TENANT",
		Action:    tenantRemove,
	}
}

func tenantRemove(c *cli.Context) error {
	args, err := requireArgs(c, "TENANT")
	if err != nil {
		return err
	}
	return withDirectory(c, func(dir *tenant.Directory) error {
		if err := dir.RemoveTenant(c.Context, args[0]); err != nil {
			return tenantError(args[0], err)
		}
		return printDone(c, "removed tenant %s", args[0])
	})
}

// tenantError names the tenant the user asked for when the directory did not
// find it, e.g. `tenant "fabrikam.com": not found`; other errors already say
// what they are about.
func tenantError(ref string, err error) error {
	if errors.Is(err, tenant.ErrNotFound) {
		return fmt.Errorf("tenant %q: %w", ref, tenant.ErrNotFound)
	}
	return err
}
