package main

import (
	"context"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/tenant"
)

// secretCommand is `issuer app secret`: client secrets (Graph:
// passwordCredentials). A secret's text is shown once, when it is added.
func secretCommand() *cli.Command {
	return &cli.Command{
		Name:  "secret",
		Usage: "manage an application's client secrets",
		Subcommands: []*cli.Command{
			secretAddCommand(),
			secretListCommand(),
			secretRemoveCommand(),
		},
	}
}

func secretAddCommand() *cli.Command {
	return &cli.Command{
		Name:  "add",
		Usage: "add a client secret and print it, this once",
		Description: `The secret text is printed once and only a salted hash is kept; copy it
now. Without --expires the secret never expires.

EXAMPLES
   issuer app secret add --app APPID --name ci --expires 90d
   issuer -o json app secret add --app APPID | jq -r .secretText`,
		Flags: []cli.Flag{
			appFlag("application"),
			&cli.StringFlag{Name: "name", Usage: "description of the secret (displayName)"},
			lifetimeFlag("expires", "expire after `DURATION`, e.g. 90d, 8760h or 1d12h (default: never)"),
		},
		Action: secretAdd,
	}
}

func secretAdd(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	appID := c.String("app")
	return withDirectory(c, func(dir *tenant.Directory) error {
		cred, secret, err := dir.AddPassword(c.Context, appID, tenant.PasswordSpec{
			DisplayName: c.String("name"), Lifetime: lifetimeValue(c, "expires"),
		})
		if err != nil {
			return applicationError(appID, err)
		}
		v := newSecretView(cred, secret)
		if err := printObject(c, v, secretFields(v)); err != nil {
			return err
		}
		if !isJSON(c) {
			fmt.Fprintln(c.App.ErrWriter, "issuer: copy the secretText now: it is not stored and will not be shown again")
		}
		return nil
	})
}

func secretListCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list an application's client secrets (key ids and hints, never the secrets)",
		Flags: []cli.Flag{appFlag("application")},
		Action: listAction(func(c *cli.Context, dir *tenant.Directory) ([]tenant.PasswordCredential, error) {
			app, err := dir.GetApplication(c.Context, c.String("app"))
			return app.PasswordCredentials, applicationError(c.String("app"), err)
		}, func(p tenant.PasswordCredential) secretView { return newSecretView(p, "") }, secretHeader,
			func(p tenant.PasswordCredential) []string { return secretRow(newSecretView(p, "")) }),
	}
}

func secretRemoveCommand() *cli.Command {
	return credentialRemoveCommand("remove a client secret", "secret",
		&cli.StringFlag{Name: "key-id", Usage: "keyId of the secret (`ID`, see app secret list)", Required: true},
		(*tenant.Directory).RemovePassword)
}

// credentialRemoveCommand is the remove subcommand of app secret, app cert
// and app federated: idFlag names the credential, remove deletes it, and the
// confirmation calls it what.
func credentialRemoveCommand(usage, what string, idFlag *cli.StringFlag, remove func(*tenant.Directory, context.Context, string, string) error) *cli.Command {
	return &cli.Command{
		Name:  "remove",
		Usage: usage,
		Flags: []cli.Flag{appFlag("application"), idFlag},
		Action: func(c *cli.Context) error {
			if _, err := requireArgs(c); err != nil {
				return err
			}
			appID, id := c.String("app"), c.String(idFlag.Name)
			return withDirectory(c, func(dir *tenant.Directory) error {
				if err := remove(dir, c.Context, appID, id); err != nil {
					return err // names the application or the credential that is missing
				}
				return printDone(c, "removed %s %s of application %s", what, id, appID)
			})
		},
	}
}
