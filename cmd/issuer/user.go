package main

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/tenant"
)

// userCommand is `issuer user`: the members of a tenant, who sign in with
// the password grant and are the subjects of delegated tokens.
func userCommand() *cli.Command {
	return &cli.Command{
		Name:  "user",
		Usage: "manage users (the subjects of delegated tokens)",
		Description: `A user belongs to one tenant; the domain of the user principal name (UPN)
must be one of the tenant's domains. USER is the UPN (any case) or the object
id. Passwords are stored as argon2id hashes and never shown; a user without a
password cannot use the password grant (AADSTS50056). A disabled user gets
AADSTS50057. Give users app roles with issuer role assign --user.`,
		Subcommands: []*cli.Command{
			userAddCommand(),
			userListCommand(),
			userShowCommand(),
			userUpdateCommand(),
			userRemoveCommand(),
			userGroupsCommand(),
			userHashPasswordCommand(),
		},
	}
}

func userHashPasswordCommand() *cli.Command {
	return &cli.Command{
		Name:  "hash-password",
		Usage: "print the argon2id hash of a password, for a seed file's passwordHash",
		Description: `Reads one password from standard input (the first line, without its line
break) and prints its argon2id PHC string with a new salt. A seed file that
gives users passwordHash instead of password applies without hashing, which
is what a seed of thousands of users needs (one hash takes tens of
milliseconds). The password never appears on the command line.

EXAMPLES
   printf '%s' 'S3cret!' | issuer user hash-password`,
		Action: userHashPassword,
	}
}

func userHashPassword(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	data, err := readClientFile(envOf(c), "-")
	if err != nil {
		return err
	}
	password, _, _ := strings.Cut(string(data), "\n")
	h, err := tenant.HashPassword(strings.TrimSuffix(password, "\r"))
	if err != nil {
		return usageError("user hash-password: give the password on standard input")
	}
	_, err = fmt.Fprintln(c.App.Writer, h)
	return err
}

func userAddCommand() *cli.Command {
	return &cli.Command{
		Name:  "add",
		Usage: "add a user to a tenant",
		Description: `EXAMPLES
   issuer user add --tenant contoso.onmicrosoft.com --upn alice@contoso.onmicrosoft.com --name "Alice Smith" --password 'S3cret!'
   issuer user add --tenant contoso.com --upn bob@contoso.com --enabled=false
   issuer user add --tenant contoso.com --upn admin@contoso.com --password 'S3cret!' --directory-role "Global Administrator"`,
		Flags: append([]cli.Flag{
			tenantFlag("tenant"),
			&cli.StringFlag{Name: "upn", Usage: "user principal name (`UPN`), user@domain with a domain of the tenant", Required: true},
			nameFlag("display `NAME` (default: the part of the UPN before @)", false),
			&cli.StringFlag{Name: "password", Usage: "the user's `PASSWORD` (default: none)"},
			&cli.BoolFlag{Name: "enabled", Usage: "whether the user may sign in (--enabled=false to create a disabled user)", Value: true},
			&cli.StringFlag{Name: "id", Usage: "object id (`GUID`; default: a new one)"},
			directoryRoleFlag("who may grant admin consent"),
		}, userAttributeFlags("")...),
		Action: userAdd,
	}
}

func userAdd(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	ref := c.String("tenant")
	return withDirectory(c, func(dir *tenant.Directory) error {
		u, err := dir.AddUser(c.Context, ref, tenant.UserSpec{
			UserPrincipalName: c.String("upn"), DisplayName: c.String("name"), Password: c.String("password"),
			Disabled: !c.Bool("enabled"), ID: c.String("id"), DirectoryRoles: nonEmpty(c.StringSlice("directory-role")),
			UserAttributes: userAttributes(c),
		})
		if err != nil {
			return tenantError(ref, err)
		}
		return printObject(c, u, userFields(u))
	})
}

func userListCommand() *cli.Command {
	return &cli.Command{
		Name:  "list",
		Usage: "list the users of a tenant",
		Flags: []cli.Flag{tenantFlag("tenant")},
		Action: listAction(func(c *cli.Context, dir *tenant.Directory) ([]tenant.User, error) {
			us, err := dir.ListUsers(c.Context, c.String("tenant"))
			return us, tenantError(c.String("tenant"), err)
		}, same, []string{"ID", "USER PRINCIPAL NAME", "DISPLAY NAME", "ENABLED", "PASSWORD"}, func(u tenant.User) []string {
			return []string{u.ID, u.UserPrincipalName, u.DisplayName, strconv.FormatBool(u.AccountEnabled), passwordText(u)}
		}),
	}
}

func userShowCommand() *cli.Command {
	return &cli.Command{
		Name:      "show",
		Usage:     "show a user",
		ArgsUsage: "USER",
		Flags:     []cli.Flag{tenantFlag("tenant")},
		Action:    userShow,
	}
}

func userShow(c *cli.Context) error {
	args, err := requireArgs(c, "USER")
	if err != nil {
		return err
	}
	return withTenant(c, func(dir *tenant.Directory, t tenant.Tenant) error {
		u, err := dir.FindUser(c.Context, t.ID, args[0])
		if err != nil {
			return userError(args[0], t, err)
		}
		return printObject(c, u, userFields(u))
	})
}

func userUpdateCommand() *cli.Command {
	return &cli.Command{
		Name:      "update",
		Usage:     "change a user",
		ArgsUsage: "USER",
		Description: `Flags not given are left as they are. --password "" removes the password.
--enabled=false blocks sign-in: the password grant, on-behalf-of and refresh
tokens of the user are refused with AADSTS50057 until --enabled=true.

EXAMPLES
   issuer user update --tenant contoso.onmicrosoft.com alice@contoso.onmicrosoft.com --enabled=false
   issuer user update --tenant contoso.onmicrosoft.com alice@contoso.onmicrosoft.com --password 'N3w!' --name "Alice B. Smith"`,
		Flags: append([]cli.Flag{
			tenantFlag("tenant"),
			nameFlag("new display `NAME`", false),
			&cli.StringFlag{Name: "password", Usage: "new `PASSWORD` (\"\" removes it)"},
			&cli.BoolFlag{Name: "enabled", Usage: "enable or disable sign-in (--enabled=false)"},
			directoryRoleFlag(`the values given replace the user's roles ("" removes them)`),
		}, userAttributeFlags(` ("" clears it)`)...),
		Action: userUpdate,
	}
}

func userUpdate(c *cli.Context) error {
	args, err := requireArgs(c, "USER")
	if err != nil {
		return err
	}
	u := tenant.UserUpdate{DisplayName: stringPtr(c, "name"), Password: stringPtr(c, "password"), AccountEnabled: boolPtr(c, "enabled"),
		DirectoryRoles: listPtr(c, "directory-role"), UserAttributes: userAttributes(c)}
	if u == (tenant.UserUpdate{}) {
		return usageError("user update: nothing to change; give --name, --password, --enabled, --directory-role, --mail, --given-name, --surname or --country")
	}
	return withTenant(c, func(dir *tenant.Directory, t tenant.Tenant) error {
		out, err := dir.UpdateUser(c.Context, t.ID, args[0], u)
		if err != nil {
			return userError(args[0], t, err)
		}
		return printObject(c, out, userFields(out))
	})
}

func userRemoveCommand() *cli.Command {
	return &cli.Command{
		Name:      "remove",
		Usage:     "delete a user with the user's consents, app role assignments and group memberships",
		ArgsUsage: "USER",
		Flags:     []cli.Flag{tenantFlag("tenant")},
		Action:    userRemove,
	}
}

func userRemove(c *cli.Context) error {
	args, err := requireArgs(c, "USER")
	if err != nil {
		return err
	}
	return withTenant(c, func(dir *tenant.Directory, t tenant.Tenant) error {
		if err := dir.RemoveUser(c.Context, t.ID, args[0]); err != nil {
			return userError(args[0], t, err)
		}
		return printDone(c, "removed user %s", args[0])
	})
}

// withTenant runs fn with the directory and the tenant named by --tenant; a
// missing tenant is reported by that name.
func withTenant(c *cli.Context, fn func(dir *tenant.Directory, t tenant.Tenant) error) error {
	ref := c.String("tenant")
	return withDirectory(c, func(dir *tenant.Directory) error {
		t, err := dir.ResolveTenant(c.Context, ref)
		if err != nil {
			return tenantError(ref, err)
		}
		return fn(dir, t)
	})
}

// userFields is the text view of a user. The password shows as set or
// none; the hash never shows.
func userFields(u tenant.User) []field {
	fields := []field{
		{"id", u.ID},
		{"userPrincipalName", u.UserPrincipalName},
		{"displayName", u.DisplayName},
		{"tenantId", u.TenantID},
		{"accountEnabled", strconv.FormatBool(u.AccountEnabled)},
		{"password", passwordText(u)},
		{"directoryRoles", list(u.DirectoryRoles)},
		{"createdDateTime", timeText(u.CreatedDateTime)},
	}
	// The attributes optional claims carry show when set.
	for _, a := range []field{{"mail", u.Mail}, {"givenName", u.GivenName}, {"surname", u.Surname}, {"country", u.Country}} {
		if a.value != "" {
			fields = append(fields, a)
		}
	}
	return fields
}

// userAttributeFlags are --mail, --given-name, --surname and --country:
// the user properties the optional claims email, given_name, family_name
// and ctry carry.
func userAttributeFlags(suffix string) []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "mail", Usage: "email `ADDRESS` (Graph mail; the email claim)" + suffix},
		&cli.StringFlag{Name: "given-name", Usage: "given `NAME` (the given_name claim)" + suffix},
		&cli.StringFlag{Name: "surname", Usage: "`SURNAME` (the family_name claim)" + suffix},
		&cli.StringFlag{Name: "country", Usage: "two-letter `COUNTRY` code, e.g. FR (the ctry claim)" + suffix},
	}
}

// userAttributes reads userAttributeFlags: nil for a flag not given.
func userAttributes(c *cli.Context) tenant.UserAttributes {
	return tenant.UserAttributes{Mail: stringPtr(c, "mail"), GivenName: stringPtr(c, "given-name"),
		Surname: stringPtr(c, "surname"), Country: stringPtr(c, "country")}
}

func passwordText(u tenant.User) string {
	if u.PasswordHash == "" {
		return "none"
	}
	return "set"
}

// userError names the user the caller asked for when the tenant has no
// such user, e.g. `user "zed@contoso.com" in tenant Contoso: not found`.
func userError(ref string, t tenant.Tenant, err error) error {
	if errors.Is(err, tenant.ErrNotFound) {
		return fmt.Errorf("user %q in tenant %s: %w", ref, t.DisplayName, tenant.ErrNotFound)
	}
	return err
}
