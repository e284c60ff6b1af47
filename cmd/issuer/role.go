package main

import (
	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/consent"
)

// roleCommand is `issuer role`: direct app role assignments, as an
// administrator makes them in the portal.
func roleCommand() *cli.Command {
	return &cli.Command{
		Name:  "role",
		Usage: "assign app roles of a resource to clients and users in a tenant",
		Description: `A client (--client) may hold roles of member type Application; it must
already have a service principal in the tenant (issuer consent grant --admin
or issuer sp add). A user (--user) may hold roles of member type User.`,
		Subcommands: []*cli.Command{roleAssignCommand(), roleUnassignCommand()},
	}
}

func roleFlags() []cli.Flag {
	return []cli.Flag{
		tenantFlag("tenant"),
		resourceFlag("application defining the role"),
		&cli.StringFlag{Name: "role", Usage: "app role `VALUE`", Required: true},
		&cli.StringFlag{Name: "client", Usage: "the client application receiving the role (`APPID`)"},
		&cli.StringFlag{Name: "user", Usage: "the user receiving the role (`UPN` or object id)"},
	}
}

func roleAssignCommand() *cli.Command {
	return &cli.Command{
		Name:  "assign",
		Usage: "assign an app role to a client or a user",
		Description: `EXAMPLES
   issuer role assign --tenant contoso.onmicrosoft.com --resource api://orders --role Orders.Read --client DAEMON_APPID
   issuer role assign --tenant contoso.onmicrosoft.com --resource api://orders --role Orders.Approver --user alice@contoso.onmicrosoft.com`,
		Flags:  roleFlags(),
		Action: roleAssign,
	}
}

func roleUnassignCommand() *cli.Command {
	return &cli.Command{
		Name:  "unassign",
		Usage: "remove an app role assignment; the next token request no longer carries the role",
		Flags: roleFlags(),
		Action: func(c *cli.Context) error {
			who, err := assignee(c)
			if err != nil {
				return err
			}
			ref := c.String("tenant")
			return withManagerFor(c, ref, who.ClientAppID, func(m *consent.Manager) error {
				a, err := m.UnassignRole(c.Context, ref, c.String("resource"), c.String("role"), who)
				if err != nil {
					return err
				}
				return printDone(c, "removed assignment %s: app role %s of %s from %s", a.ID, c.String("role"), a.ResourceDisplayName, a.PrincipalDisplayName)
			})
		},
	}
}

func roleAssign(c *cli.Context) error {
	who, err := assignee(c)
	if err != nil {
		return err
	}
	ref := c.String("tenant")
	return withManagerFor(c, ref, who.ClientAppID, func(m *consent.Manager) error {
		a, err := m.AssignRole(c.Context, ref, c.String("resource"), c.String("role"), who)
		if err != nil {
			return err
		}
		return printObject(c, a, []field{
			{"id", a.ID},
			{"appRoleId", a.AppRoleID},
			{"appRole", c.String("role")},
			{"principalType", a.PrincipalType},
			{"principalId", a.PrincipalID},
			{"principalDisplayName", a.PrincipalDisplayName},
			{"resourceId", a.ResourceID},
			{"resourceDisplayName", a.ResourceDisplayName},
			{"createdDateTime", timeText(a.CreatedDateTime)},
		})
	})
}

// assignee reads --client or --user; exactly one is a usage rule.
func assignee(c *cli.Context) (consent.Assignee, error) {
	if _, err := requireArgs(c); err != nil {
		return consent.Assignee{}, err
	}
	who := consent.Assignee{ClientAppID: c.String("client"), User: c.String("user")}
	if (who.ClientAppID == "") == (who.User == "") {
		return who, usageError("role %s: give either --client APPID or --user UPN", c.Command.Name)
	}
	return who, nil
}
