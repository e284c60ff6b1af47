package main

import (
	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/tenant"
)

// federatedCommand is `issuer app federated`: federated identity
// credentials (workload identity federation).
func federatedCommand() *cli.Command {
	return &cli.Command{
		Name:  "federated",
		Usage: "manage an application's federated identity credentials",
		Description: `A federated credential lets a token of an external OpenID issuer (a
Kubernetes service account, a CI job, another tenant of this or another
issuer) be the application's client assertion: its iss must equal --issuer,
its sub --subject (case-sensitive), its aud --audience. The server reads the
issuer's /.well-known/openid-configuration and keys over HTTPS, trusting the
system roots, its own CA and serve --federation-ca.`,
		Subcommands: []*cli.Command{
			federatedAddCommand(),
			federatedListCommand(),
			federatedRemoveCommand(),
		},
	}
}

func federatedAddCommand() *cli.Command {
	return &cli.Command{
		Name:  "add",
		Usage: "add a federated identity credential",
		Description: `EXAMPLES
   issuer app federated add --app APPID --name main-branch \
     --issuer https://token.actions.githubusercontent.com --subject repo:contoso/app:ref:refs/heads/main
   # tokens of tenant A of this server (v1 issuer) for a workload's service principal:
   issuer app federated add --app APPID --name from-a --issuer https://127.0.0.1:8443/TENANT_A_ID/ --subject SP_OBJECT_ID`,
		Flags: []cli.Flag{
			appFlag("application"),
			&cli.StringFlag{Name: "name", Usage: "`NAME` of the credential: 3 to 120 letters, digits, '-' or '_'", Required: true},
			&cli.StringFlag{Name: "issuer", Usage: "the external issuer's https `URL`, exactly as in its tokens' iss", Required: true},
			&cli.StringFlag{Name: "subject", Usage: "the `SUBJECT` (sub) of the tokens, exactly", Required: true},
			&cli.StringFlag{Name: "audience", Usage: "the `AUDIENCE` the tokens carry", Value: tenant.DefaultFederationAudience},
			&cli.StringFlag{Name: "description", Usage: "`TEXT` describing the credential"},
		},
		Action: federatedAdd,
	}
}

func federatedAdd(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	appID := c.String("app")
	return withDirectory(c, func(dir *tenant.Directory) error {
		f, err := dir.AddFederatedIdentityCredential(c.Context, appID, tenant.FederatedIdentityCredential{
			Name: c.String("name"), Issuer: c.String("issuer"), Subject: c.String("subject"),
			Audiences: []string{c.String("audience")}, Description: c.String("description"),
		})
		if err != nil {
			return applicationError(appID, err)
		}
		return printObject(c, f, federatedFields(f))
	})
}

func federatedListCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list an application's federated identity credentials",
		Flags: []cli.Flag{appFlag("application")},
		Action: listAction(func(c *cli.Context, dir *tenant.Directory) ([]tenant.FederatedIdentityCredential, error) {
			fics, err := dir.ListFederatedIdentityCredentials(c.Context, c.String("app"))
			return fics, applicationError(c.String("app"), err)
		}, same, []string{"NAME", "ISSUER", "SUBJECT", "AUDIENCES"}, func(f tenant.FederatedIdentityCredential) []string {
			return []string{f.Name, f.Issuer, f.Subject, list(f.Audiences)}
		}),
	}
}

func federatedRemoveCommand() *cli.Command {
	return credentialRemoveCommand("remove a federated identity credential", "federated credential",
		&cli.StringFlag{Name: "name", Usage: "`NAME` of the credential", Required: true},
		(*tenant.Directory).RemoveFederatedIdentityCredential)
}

func federatedFields(f tenant.FederatedIdentityCredential) []field {
	return []field{
		{"id", f.ID},
		{"name", f.Name},
		{"issuer", f.Issuer},
		{"subject", f.Subject},
		{"audiences", list(f.Audiences)},
		{"description", orDash(f.Description)},
	}
}
