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
		Usage: "assign app roles of a resource to clients, users and groups in a tenant",
		Description: `A client (--client) may hold roles of member type Application; it must
already have a service principal in the tenant (issuer consent grant --admin
or issuer sp add). A user (--user) or a group (--group) may hold roles of
member type User. A role assigned to a group reaches the group's direct
members only: Entra does not support nested groups in group-based assignment
to applications.`,
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
		&cli.StringFlag{Name: "group", Usage: "the group receiving the role (`GROUP`: object id, or a display name no other group of the tenant has)"},
	}
}

func roleAssignCommand() *cli.Command {
	return &cli.Command{
		Name:  "assign",
		Usage: "assign an app role to a client, a user or a group",
		Description: `EXAMPLES
   issuer role assign --tenant contoso.onmicrosoft.com --resource api://orders --role Orders.Read --client DAEMON_APPID
   issuer role assign --tenant contoso.onmicrosoft.com --resource api://orders --role Orders.Approver --user alice@contoso.onmicrosoft.com
   issuer role assign --tenant contoso.onmicrosoft.com --resource api://orders --role Orders.Approver --group "Order Approvers"`,
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

// assignee reads --client, --user or --group; exactly one is a usage rule.
func assignee(c *cli.Context) (consent.Assignee, error) {
	if _, err := requireArgs(c); err != nil {
		return consent.Assignee{}, err
	}
	who := consent.Assignee{ClientAppID: c.String("client"), User: c.String("user"), Group: c.String("group")}
	n := 0
	for _, v := range []string{who.ClientAppID, who.User, who.Group} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return who, usageError("role %s: give one of --client APPID, --user UPN or --group GROUP", c.Command.Name)
	}
	return who, nil
}
