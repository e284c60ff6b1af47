package main

import (
	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/tenant"
)

// `issuer app owner` and `issuer sp owner`: the owners of an application
// or a service principal (Graph's owners relationship). Owners are users
// and service principals of the owned object's tenant; an owner holding
// Graph's Application.ReadWrite.OwnedBy manages what it owns through Graph.

// ownedObject is what an owner command acts on: how it names the object,
// the tenant its owners belong to, and the directory's calls for them.
type ownedObject struct {
	noun   string
	flags  []cli.Flag
	tenant func(c *cli.Context, dir *tenant.Directory) (string, error)
	list   func(c *cli.Context, dir *tenant.Directory) ([]tenant.Owner, error)
	add    func(c *cli.Context, dir *tenant.Directory, id string) error
	remove func(c *cli.Context, dir *tenant.Directory, id string) error
}

var ownedApplication = ownedObject{
	noun:  "an application",
	flags: []cli.Flag{appFlag("application")},
	tenant: func(c *cli.Context, dir *tenant.Directory) (string, error) {
		app, err := dir.GetApplication(c.Context, c.String("app"))
		return app.HomeTenantID, applicationError(c.String("app"), err)
	},
	list: func(c *cli.Context, dir *tenant.Directory) ([]tenant.Owner, error) {
		owners, err := dir.ApplicationOwners(c.Context, c.String("app"))
		return owners, applicationError(c.String("app"), err)
	},
	add: func(c *cli.Context, dir *tenant.Directory, id string) error {
		return dir.AddApplicationOwner(c.Context, c.String("app"), id)
	},
	remove: func(c *cli.Context, dir *tenant.Directory, id string) error {
		return dir.RemoveApplicationOwner(c.Context, c.String("app"), id)
	},
}

var ownedServicePrincipal = ownedObject{
	noun:  "a service principal",
	flags: []cli.Flag{tenantFlag("tenant of the service principal"), appFlag("its application")},
	tenant: func(c *cli.Context, dir *tenant.Directory) (string, error) {
		t, err := dir.ResolveTenant(c.Context, c.String("tenant"))
		if err == nil {
			_, _, err = dir.FindServicePrincipal(c.Context, t.ID, c.String("app"))
		}
		if err != nil {
			return "", spError(c, dir, c.String("tenant"), c.String("app"), err)
		}
		return t.ID, nil
	},
	list: func(c *cli.Context, dir *tenant.Directory) ([]tenant.Owner, error) {
		owners, err := dir.ServicePrincipalOwners(c.Context, c.String("tenant"), c.String("app"))
		if err != nil {
			return nil, spError(c, dir, c.String("tenant"), c.String("app"), err)
		}
		return owners, nil
	},
	add: func(c *cli.Context, dir *tenant.Directory, id string) error {
		return dir.AddServicePrincipalOwner(c.Context, c.String("tenant"), c.String("app"), id)
	},
	remove: func(c *cli.Context, dir *tenant.Directory, id string) error {
		return dir.RemoveServicePrincipalOwner(c.Context, c.String("tenant"), c.String("app"), id)
	},
}

func ownerCommand(o ownedObject, example string) *cli.Command {
	who := []cli.Flag{
		&cli.StringFlag{Name: "user", Usage: "the owner is this `USER` (userPrincipalName or object id) of the tenant"},
		&cli.StringFlag{Name: "client", Usage: "the owner is this `APPID`'s service principal in the tenant (an application or a managed identity's client id)"},
	}
	return &cli.Command{
		Name:  "owner",
		Usage: "manage the owners of " + o.noun,
		Description: `Owners are users and service principals of the tenant. An owner manages
the object through Microsoft Graph without an administrator role: a user
with the Application.ReadWrite.All scope, or a client holding the
Application.ReadWrite.OwnedBy app role. Owning an application does not make
one an owner of its service principals, as in Entra.

EXAMPLES
` + example,
		Subcommands: []*cli.Command{
			{
				Name:   "add",
				Usage:  "add an owner",
				Flags:  append(append([]cli.Flag{}, o.flags...), who...),
				Action: func(c *cli.Context) error { return ownerChange(c, o, o.add) },
			},
			{
				Name:   "list",
				Usage:  "list the owners",
				Flags:  o.flags,
				Action: listAction(o.list, ownerView, objectHeader, func(ow tenant.Owner) []string { return objectRow(ownerView(ow)) }),
			},
			{
				Name:   "remove",
				Usage:  "remove an owner",
				Flags:  append(append([]cli.Flag{}, o.flags...), who...),
				Action: func(c *cli.Context) error { return ownerChange(c, o, o.remove) },
			},
		},
	}
}

// ownerChange resolves --user or --client in the object's tenant and
// applies change to that object id.
func ownerChange(c *cli.Context, o ownedObject, change func(*cli.Context, *tenant.Directory, string) error) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	user, client := c.String("user"), c.String("client")
	if (user == "") == (client == "") {
		return usageError("give either --user or --client")
	}
	return withDirectory(c, func(dir *tenant.Directory) error {
		tenantID, err := o.tenant(c, dir)
		if err != nil {
			return err
		}
		// The store's errors name the user or application and the tenant.
		id, err := dir.OwnerObjectID(c.Context, tenantID, user, client)
		if err != nil {
			return err
		}
		if err := change(c, dir, id); err != nil {
			return err
		}
		return printObject(c, struct {
			OwnerID string `json:"ownerId"`
		}{id}, []field{{"owner", id}})
	})
}

// ownerView is an owner as the CLI shows it.
func ownerView(o tenant.Owner) objectView {
	if o.User != nil {
		return userObject(*o.User)
	}
	return servicePrincipalObject(*o.ServicePrincipal)
}
