package main

import (
	"errors"
	"fmt"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/tenant"
)

// groupCommand is `issuer group`: the groups of a tenant and their direct
// members (Graph: group, members).
func groupCommand() *cli.Command {
	return &cli.Command{
		Name:  "group",
		Usage: "manage groups (security and Microsoft 365 groups) and their members",
		Description: `A group belongs to one tenant. It is a security group (the default) or, with
--unified, a Microsoft 365 group (groupTypes Unified, mail-enabled, with the
address mailNickname@ the tenant's first domain). GROUP is the group's object
id or, when no other group of the tenant has it, its display name (any case).

Members are users, service principals and, in security groups only, other
groups; MEMBER is a UPN, an object id, or the appId of an application with a
service principal in the tenant. A membership that would make a group its
own member, directly or through others, is refused.

An app role assigned to a group (issuer role assign --group) reaches the
group's direct members, not the members of groups nested in it, as in Entra.
The groups claim lists a user's groups, nested ones included, when the
application asks for it (issuer app update APPID --group-membership-claims).`,
		Subcommands: []*cli.Command{
			groupAddCommand(),
			groupListCommand(),
			groupShowCommand(),
			groupUpdateCommand(),
			groupRemoveCommand(),
			groupMemberCommand(),
		},
	}
}

func groupAddCommand() *cli.Command {
	return &cli.Command{
		Name:  "add",
		Usage: "create a group in a tenant",
		Description: `EXAMPLES
   issuer group add --tenant contoso.com --name "Order Approvers"
   issuer group add --tenant contoso.com --name Sales --unified --mail-nickname sales --description "The sales team"`,
		Flags: []cli.Flag{
			tenantFlag("tenant"),
			nameFlag("display `NAME` (two groups may share one)", true),
			&cli.StringFlag{Name: "description", Usage: "`DESCRIPTION` (at most 1024 characters)"},
			&cli.StringFlag{Name: "mail-nickname", Usage: "mail alias (`NICKNAME`: printable ASCII without spaces or @()\\[]\";:<>,; default: made from the name)"},
			&cli.BoolFlag{Name: "unified", Usage: "make a Microsoft 365 group (groupTypes Unified, mail-enabled) instead of a security group"},
			&cli.BoolFlag{Name: "security-enabled", Usage: "with --unified: the Microsoft 365 group is also a security group (a security group always is)"},
			&cli.StringFlag{Name: "id", Usage: "object id (`GUID`; default: a new one)"},
		},
		Action: groupAdd,
	}
}

func groupAdd(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	if c.IsSet("security-enabled") && !c.Bool("unified") {
		return usageError("group add: --security-enabled goes with --unified; a security group is always security-enabled")
	}
	return withTenant(c, func(dir *tenant.Directory, t tenant.Tenant) error {
		g, err := dir.AddGroup(c.Context, t.ID, tenant.GroupSpec{
			DisplayName: c.String("name"), Description: c.String("description"), MailNickname: c.String("mail-nickname"),
			Unified: c.Bool("unified"), SecurityEnabled: c.Bool("security-enabled"), ID: c.String("id"),
		})
		if err != nil {
			return err
		}
		return printObject(c, groupView(g), groupFields(g))
	})
}

func groupListCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the groups of a tenant",
		Flags: []cli.Flag{tenantFlag("tenant")},
		Action: listAction(func(c *cli.Context, dir *tenant.Directory) ([]tenant.Group, error) {
			gs, err := dir.ListGroups(c.Context, c.String("tenant"))
			return gs, tenantError(c.String("tenant"), err)
		}, groupView, groupHeader, groupRow),
	}
}

func groupShowCommand() *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "show a group",
		ArgsUsage: "GROUP",
		Flags:     []cli.Flag{tenantFlag("tenant")},
		Action: func(c *cli.Context) error {
			return withGroup(c, func(_ *tenant.Directory, _ tenant.Tenant, g tenant.Group) error {
				return printObject(c, groupView(g), groupFields(g))
			})
		},
	}
}

func groupUpdateCommand() *cli.Command {
	return &cli.Command{
		Name:      "update",
		Usage:     "change a group",
		ArgsUsage: "GROUP",
		Description: `Flags not given are left as they are. A group's kind (security or
Microsoft 365) is fixed once created, as in Graph; --security-enabled
changes a Microsoft 365 group only. A new --mail-nickname also changes a
Microsoft 365 group's mail address.

EXAMPLES
   issuer group update --tenant contoso.com "Order Approvers" --name Approvers --description "Approve orders"
   issuer group update --tenant contoso.com Sales --security-enabled`,
		Flags: []cli.Flag{
			tenantFlag("tenant"),
			nameFlag("new display `NAME`", false),
			&cli.StringFlag{Name: "description", Usage: "new `DESCRIPTION` (\"\" clears it)"},
			&cli.StringFlag{Name: "mail-nickname", Usage: "new mail alias (`NICKNAME`)"},
			&cli.BoolFlag{Name: "security-enabled", Usage: "of a Microsoft 365 group: whether it is also a security group (--security-enabled=false)"},
		},
		Action: groupUpdate,
	}
}

func groupUpdate(c *cli.Context) error {
	u := tenant.GroupUpdate{DisplayName: stringPtr(c, "name"), Description: stringPtr(c, "description"),
		MailNickname: stringPtr(c, "mail-nickname"), SecurityEnabled: boolPtr(c, "security-enabled")}
	if u == (tenant.GroupUpdate{}) {
		if _, err := requireArgs(c, "GROUP"); err != nil {
			return err
		}
		return usageError("group update: nothing to change; give --name, --description, --mail-nickname or --security-enabled")
	}
	return withGroup(c, func(dir *tenant.Directory, t tenant.Tenant, g tenant.Group) error {
		out, err := dir.UpdateGroup(c.Context, t.ID, g.ID, u)
		if err != nil {
			return groupError(g.ID, t, err)
		}
		return printObject(c, groupView(out), groupFields(out))
	})
}

func groupRemoveCommand() *cli.Command {
	return &cli.Command{
		Name:      "remove",
		Usage:     "delete a group with its memberships and the app role assignments it holds",
		ArgsUsage: "GROUP",
		Flags:     []cli.Flag{tenantFlag("tenant")},
		Action: func(c *cli.Context) error {
			return withGroup(c, func(dir *tenant.Directory, t tenant.Tenant, g tenant.Group) error {
				if err := dir.RemoveGroup(c.Context, t.ID, g.ID); err != nil {
					return groupError(g.ID, t, err)
				}
				return printDone(c, "removed group %s (%s)", g.DisplayName, g.ID)
			})
		},
	}
}

// ---- members ----

func groupMemberCommand() *cli.Command {
	return &cli.Command{
		Name:  "member",
		Usage: "manage the direct members of a group",
		Description: `MEMBER is a user (UPN or object id), a service principal (object id, or the
appId of its application) or, in a security group, another group (object
id) of the group's tenant.

EXAMPLES
   issuer group member add --tenant contoso.com "Order Approvers" alice@contoso.com
   issuer group member add --tenant contoso.com "Order Approvers" DAEMON_APPID
   issuer group member add --tenant contoso.com "All Staff" ORDER_APPROVERS_GROUP_ID
   issuer group member list --tenant contoso.com "Order Approvers"
   issuer group member remove --tenant contoso.com "Order Approvers" alice@contoso.com`,
		Subcommands: []*cli.Command{
			{
				Name:      "add",
				Usage:     "add a direct member to a group",
				ArgsUsage: "GROUP MEMBER",
				Flags:     []cli.Flag{tenantFlag("tenant")},
				Action:    groupMemberAdd,
			},
			{
				Name:      "list",
				Usage:     "list the direct members of a group",
				ArgsUsage: "GROUP",
				Flags:     []cli.Flag{tenantFlag("tenant")},
				Action:    groupMemberList,
			},
			{
				Name:      "remove",
				Usage:     "remove a direct member from a group",
				ArgsUsage: "GROUP MEMBER",
				Flags:     []cli.Flag{tenantFlag("tenant")},
				Action:    groupMemberRemove,
			},
		},
	}
}

func groupMemberAdd(c *cli.Context) error {
	return withGroup(c, func(dir *tenant.Directory, t tenant.Tenant, g tenant.Group) error {
		ref := c.Args().Get(1)
		m, err := dir.AddGroupMember(c.Context, t.ID, g.ID, ref)
		if err != nil {
			return memberError(ref, t, err)
		}
		names, err := objectNames(c, dir, t)
		if err != nil {
			return err
		}
		v := names.view(m)
		return printObject(c, v, []field{{"group", g.DisplayName + " (" + g.ID + ")"}, {"member", v.Name + " (" + v.ID + ")"}, {"type", v.Type}})
	}, "MEMBER")
}

func groupMemberRemove(c *cli.Context) error {
	return withGroup(c, func(dir *tenant.Directory, t tenant.Tenant, g tenant.Group) error {
		ref := c.Args().Get(1)
		if err := dir.RemoveGroupMember(c.Context, t.ID, g.ID, ref); err != nil {
			if !errors.Is(err, tenant.ErrNotFound) {
				return err
			}
			// The member or the membership is missing: say which, in
			// the words of the other commands.
			if _, merr := dir.MemberOf(c.Context, t.ID, ref, false); merr != nil {
				return memberError(ref, t, merr)
			}
			return fmt.Errorf("%q is not a direct member of group %s in tenant %s: %w", ref, g.DisplayName, t.DisplayName, tenant.ErrNotFound)
		}
		return printDone(c, "removed %s from group %s", ref, g.DisplayName)
	}, "MEMBER")
}

func groupMemberList(c *cli.Context) error {
	return withGroup(c, func(dir *tenant.Directory, t tenant.Tenant, g tenant.Group) error {
		members, err := dir.ListGroupMembers(c.Context, t.ID, g.ID)
		if err != nil {
			return err
		}
		names, err := objectNames(c, dir, t)
		if err != nil {
			return err
		}
		return printList(c, members, names.view, objectHeader, func(m tenant.GroupMember) []string { return objectRow(names.view(m)) })
	})
}

// nameIndex names a tenant's objects by id, for the member lists: a group
// stores its members' ids and types only.
type nameIndex map[string]objectView

// objectNames reads the names of the users, service principals and groups
// of t, once per command.
func objectNames(c *cli.Context, dir *tenant.Directory, t tenant.Tenant) (nameIndex, error) {
	x := nameIndex{}
	users, err := dir.ListUsers(c.Context, t.ID)
	if err != nil {
		return nil, err
	}
	for _, u := range users {
		x[u.ID] = userObject(u)
	}
	sps, err := dir.ListServicePrincipals(c.Context, t.ID)
	if err != nil {
		return nil, err
	}
	for _, sp := range sps {
		x[sp.ID] = servicePrincipalObject(sp)
	}
	groups, err := dir.ListGroups(c.Context, t.ID)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		x[g.ID] = groupObject(g)
	}
	return x, nil
}

// view is the member as the CLI shows it; one the index lacks (deleted
// under the command) keeps its id and type.
func (x nameIndex) view(m tenant.GroupMember) objectView {
	if v, ok := x[m.ID]; ok {
		return v
	}
	return objectView{ID: m.ID, Type: odataTypes[m.Type], Name: "-"}
}

// ---- a user's groups ----

func userGroupsCommand() *cli.Command {
	return &cli.Command{
		Name:      "groups",
		Usage:     "list the groups a user is a member of (Graph memberOf; --transitive: transitiveMemberOf)",
		ArgsUsage: "USER",
		Description: `Without --transitive, the groups the user is a direct member of; with it,
also the groups those groups are in, as the groups claim lists them.

EXAMPLES
   issuer user groups --tenant contoso.com alice@contoso.com
   issuer user groups --tenant contoso.com alice@contoso.com --transitive`,
		Flags: []cli.Flag{
			tenantFlag("tenant"),
			&cli.BoolFlag{Name: "transitive", Usage: "also the groups of the user's groups, through every level of nesting"},
		},
		Action: userGroups,
	}
}

func userGroups(c *cli.Context) error {
	args, err := requireArgs(c, "USER")
	if err != nil {
		return err
	}
	return withTenant(c, func(dir *tenant.Directory, t tenant.Tenant) error {
		u, err := dir.FindUser(c.Context, t.ID, args[0])
		if err != nil {
			return userError(args[0], t, err)
		}
		groups, err := dir.MemberOf(c.Context, t.ID, u.ID, c.Bool("transitive"))
		if err != nil {
			return err
		}
		return printList(c, groups, groupView, groupHeader, groupRow)
	})
}

// ---- shared ----

// withGroup runs fn with the tenant named by --tenant and the group named
// by the first argument; more names the arguments that follow it.
func withGroup(c *cli.Context, fn func(dir *tenant.Directory, t tenant.Tenant, g tenant.Group) error, more ...string) error {
	args, err := requireArgs(c, append([]string{"GROUP"}, more...)...)
	if err != nil {
		return err
	}
	return withTenant(c, func(dir *tenant.Directory, t tenant.Tenant) error {
		g, err := dir.FindGroup(c.Context, t.ID, args[0])
		if err != nil {
			return groupError(args[0], t, err)
		}
		return fn(dir, t, g)
	})
}

// groupError names the group the caller asked for when the tenant has no
// such group, e.g. `group "Sales" in tenant Contoso: not found`.
// memberError names a member the tenant does not have as the other
// commands name what they cannot find, with the forms MEMBER may take.
func memberError(ref string, t tenant.Tenant, err error) error {
	if errors.Is(err, tenant.ErrNotFound) {
		return fmt.Errorf("member %q in tenant %s: %w (a user's UPN or object id, a service principal's object id or appId, or a group's object id)", ref, t.DisplayName, tenant.ErrNotFound)
	}
	return err
}

func groupError(ref string, t tenant.Tenant, err error) error {
	if errors.Is(err, tenant.ErrNotFound) {
		return fmt.Errorf("group %q in tenant %s: %w", ref, t.DisplayName, tenant.ErrNotFound)
	}
	return err
}

// groupView is a group as Graph serialises it: groupTypes is a list,
// empty for a security group, never null.
func groupView(g tenant.Group) tenant.Group {
	if g.GroupTypes == nil {
		g.GroupTypes = []string{}
	}
	return g
}

// groupKind names the kind of group as the Entra portal's "Group type"
// column does.
func groupKind(g tenant.Group) string {
	if g.IsUnified() {
		return "Microsoft 365"
	}
	return "Security"
}

func groupFields(g tenant.Group) []field {
	return []field{
		{"id", g.ID},
		{"displayName", g.DisplayName},
		{"description", orDash(g.Description)},
		{"groupType", groupKind(g)},
		{"mailNickname", g.MailNickname},
		{"mail", orDash(g.Mail)},
		{"securityEnabled", strconv.FormatBool(g.SecurityEnabled)},
		{"mailEnabled", strconv.FormatBool(g.MailEnabled)},
		{"tenantId", g.TenantID},
		{"createdDateTime", timeText(g.CreatedDateTime)},
	}
}

var groupHeader = []string{"ID", "DISPLAY NAME", "TYPE", "MAIL NICKNAME", "SECURITY ENABLED"}

func groupRow(g tenant.Group) []string {
	return []string{g.ID, g.DisplayName, groupKind(g), g.MailNickname, strconv.FormatBool(g.SecurityEnabled)}
}
