package main

import (
	"errors"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/issuer-dev/issuer/tenant"
)

// The exposed API of an application (Graph: appRoles,
// api.oauth2PermissionScopes) and the permissions a client requires from
// other applications (requiredResourceAccess): `issuer app role`, `issuer app
// scope` and `issuer app permission`.

// valueFlag is the required --value flag naming an app role or scope.
func valueFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "value", Usage: usage, Required: true}
}

// ---- app role ----

func appRoleCommand() *cli.Command {
	return &cli.Command{
		Name:  "role",
		Usage: "manage the app roles an application defines (application permissions and user roles)",
		Description: `An app role of member type Application is an application permission: a
client holding it gets its value in the roles claim of app-only tokens. A
role of member type User is assigned to users and appears in their
delegated tokens.`,
		Subcommands: []*cli.Command{appRoleAddCommand(), appRoleUpdateCommand(), appRoleRemoveCommand()},
	}
}

func appRoleAddCommand() *cli.Command {
	return &cli.Command{
		Name:  "add",
		Usage: "define an app role",
		Description: `VALUE is what the roles claim carries: 1 to 120 letters, digits or
!#$%&'()*+,-./:;<=>?@[]^_` + "`" + `{|}~, not starting with a dot.

EXAMPLES
   issuer app role add --app APPID --value Orders.Read
   issuer app role add --app APPID --value Orders.Approver --member-types User --description "Approve orders"
   issuer app role add --app APPID --value Orders.All --member-types Application,User`,
		Flags: []cli.Flag{
			appFlag("application defining the role"),
			valueFlag("role `VALUE`, as it appears in the roles claim"),
			&cli.StringSliceFlag{Name: "member-types", Usage: "who may hold the role: `TYPES` Application and/or User, comma-separated or repeated (default: Application)"},
			&cli.StringFlag{Name: "display-name", Usage: "display `NAME` (default: the value)"},
			&cli.StringFlag{Name: "description", Usage: "description `TEXT` (default: the display name)"},
			&cli.BoolFlag{Name: "disabled", Usage: "define the role disabled (isEnabled false)"},
			&cli.StringFlag{Name: "id", Usage: "role id (`GUID`; default: a new one)"},
		},
		Action: appRoleAdd,
	}
}

func appRoleAdd(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	appID := c.String("app")
	return withApplication(c, appID, func(dir *tenant.Directory) error {
		r, err := dir.AddAppRole(c.Context, appID, tenant.AppRoleSpec{
			Value: c.String("value"), DisplayName: c.String("display-name"), Description: c.String("description"),
			AllowedMemberTypes: splitCommas(c.StringSlice("member-types")), Disabled: c.Bool("disabled"), ID: c.String("id"),
		})
		if err != nil {
			return err
		}
		return printObject(c, r, appRoleFields(r))
	})
}

func appRoleUpdateCommand() *cli.Command {
	return &cli.Command{
		Name:  "update",
		Usage: "enable or disable an app role",
		Description: `A disabled role is no longer issued in tokens; Entra requires a role to be
disabled before it is removed.

EXAMPLES
   issuer app role update --app APPID --value Orders.Read --enabled=false`,
		Flags: []cli.Flag{
			appFlag("application defining the role"),
			valueFlag("role `VALUE`"),
			&cli.BoolFlag{Name: "enabled", Usage: "enable (--enabled) or disable (--enabled=false) the role", Required: true},
		},
		Action: appRoleUpdate,
	}
}

func appRoleUpdate(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	appID := c.String("app")
	return withApplication(c, appID, func(dir *tenant.Directory) error {
		r, err := dir.SetAppRoleEnabled(c.Context, appID, c.String("value"), c.Bool("enabled"))
		if err != nil {
			return err
		}
		return printObject(c, r, appRoleFields(r))
	})
}

func appRoleRemoveCommand() *cli.Command {
	return &cli.Command{
		Name:  "remove",
		Usage: "delete a disabled app role",
		Flags: []cli.Flag{appFlag("application defining the role"), valueFlag("role `VALUE`")},
		Action: func(c *cli.Context) error {
			if _, err := requireArgs(c); err != nil {
				return err
			}
			appID, value := c.String("app"), c.String("value")
			return withApplication(c, appID, func(dir *tenant.Directory) error {
				if err := dir.RemoveAppRole(c.Context, appID, value); err != nil {
					return err
				}
				return printDone(c, "removed app role %s of application %s", value, appID)
			})
		},
	}
}

func appRoleFields(r tenant.AppRole) []field {
	return []field{
		{"id", r.ID},
		{"value", r.Value},
		{"displayName", r.DisplayName},
		{"description", orDash(r.Description)},
		{"allowedMemberTypes", list(r.AllowedMemberTypes)},
		{"isEnabled", strconv.FormatBool(r.IsEnabled)},
	}
}

// ---- app scope ----

func appScopeCommand() *cli.Command {
	return &cli.Command{
		Name:  "scope",
		Usage: "manage the delegated permissions (scopes) an application exposes",
		Description: `A scope of type User may be consented to by users (where the tenant allows
it) and by administrators; a scope of type Admin only by administrators.`,
		Subcommands: []*cli.Command{appScopeAddCommand(), appScopeUpdateCommand(), appScopeRemoveCommand()},
	}
}

func appScopeAddCommand() *cli.Command {
	return &cli.Command{
		Name:  "add",
		Usage: "expose a delegated permission",
		Description: `EXAMPLES
   issuer app scope add --app APPID --value access_as_user --user-consent-name "Access Orders as you"
   issuer app scope add --app APPID --value Orders.ReadWrite.All --type Admin --admin-consent-name "Read and write all orders"`,
		Flags: []cli.Flag{
			appFlag("application exposing the scope"),
			valueFlag("scope `VALUE`, as it appears in the scp claim"),
			&cli.GenericFlag{Name: "type", Usage: "who may consent: `TYPE` User (admins and users) or Admin (admins only) (default: User)",
				Value: &choice{allowed: []string{tenant.ScopeTypeUser, tenant.ScopeTypeAdmin}}},
			&cli.StringFlag{Name: "admin-consent-name", Usage: "display `NAME` in the admin consent prompt (default: the value)"},
			&cli.StringFlag{Name: "admin-consent-description", Usage: "description `TEXT` in the admin consent prompt"},
			&cli.StringFlag{Name: "user-consent-name", Usage: "display `NAME` in the user consent prompt"},
			&cli.StringFlag{Name: "user-consent-description", Usage: "description `TEXT` in the user consent prompt"},
			&cli.BoolFlag{Name: "disabled", Usage: "expose the scope disabled (isEnabled false)"},
			&cli.StringFlag{Name: "id", Usage: "scope id (`GUID`; default: a new one)"},
		},
		Action: appScopeAdd,
	}
}

func appScopeAdd(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	appID := c.String("app")
	typ := ""
	if v, ok := c.Generic("type").(*choice); ok {
		typ = v.value
	}
	return withApplication(c, appID, func(dir *tenant.Directory) error {
		s, err := dir.AddScope(c.Context, appID, tenant.ScopeSpec{
			Value: c.String("value"), Type: typ,
			AdminConsentDisplayName: c.String("admin-consent-name"), AdminConsentDescription: c.String("admin-consent-description"),
			UserConsentDisplayName: c.String("user-consent-name"), UserConsentDescription: c.String("user-consent-description"),
			Disabled: c.Bool("disabled"), ID: c.String("id"),
		})
		if err != nil {
			return err
		}
		return printObject(c, s, scopeFields(s))
	})
}

func appScopeUpdateCommand() *cli.Command {
	return &cli.Command{
		Name:  "update",
		Usage: "enable or disable a delegated permission",
		Description: `A disabled scope is neither issued nor requestable (AADSTS70011); Entra
requires a scope to be disabled before it is removed.`,
		Flags: []cli.Flag{
			appFlag("application exposing the scope"),
			valueFlag("scope `VALUE`"),
			&cli.BoolFlag{Name: "enabled", Usage: "enable (--enabled) or disable (--enabled=false) the scope", Required: true},
		},
		Action: func(c *cli.Context) error {
			if _, err := requireArgs(c); err != nil {
				return err
			}
			appID := c.String("app")
			return withApplication(c, appID, func(dir *tenant.Directory) error {
				s, err := dir.SetScopeEnabled(c.Context, appID, c.String("value"), c.Bool("enabled"))
				if err != nil {
					return err
				}
				return printObject(c, s, scopeFields(s))
			})
		},
	}
}

func appScopeRemoveCommand() *cli.Command {
	return &cli.Command{
		Name:  "remove",
		Usage: "delete a disabled delegated permission",
		Flags: []cli.Flag{appFlag("application exposing the scope"), valueFlag("scope `VALUE`")},
		Action: func(c *cli.Context) error {
			if _, err := requireArgs(c); err != nil {
				return err
			}
			appID, value := c.String("app"), c.String("value")
			return withApplication(c, appID, func(dir *tenant.Directory) error {
				if err := dir.RemoveScope(c.Context, appID, value); err != nil {
					return err
				}
				return printDone(c, "removed scope %s of application %s", value, appID)
			})
		},
	}
}

func scopeFields(s tenant.PermissionScope) []field {
	return []field{
		{"id", s.ID},
		{"value", s.Value},
		{"type", s.Type},
		{"adminConsentDisplayName", orDash(s.AdminConsentDisplayName)},
		{"adminConsentDescription", orDash(s.AdminConsentDescription)},
		{"userConsentDisplayName", orDash(s.UserConsentDisplayName)},
		{"userConsentDescription", orDash(s.UserConsentDescription)},
		{"isEnabled", strconv.FormatBool(s.IsEnabled)},
	}
}

// ---- app permission ----

func appPermissionCommand() *cli.Command {
	return &cli.Command{
		Name:  "permission",
		Usage: "manage the permissions a client requires from other applications (requiredResourceAccess)",
		Description: `What a client requires is what admin consent grants: its delegated scopes
in an AllPrincipals grant, its app roles as app role assignments
(issuer consent grant --admin).`,
		Subcommands: []*cli.Command{appPermissionAddCommand(), appPermissionListCommand(), appPermissionRemoveCommand()},
	}
}

// resourceFlag is the required --resource flag: an application named by
// appId or identifier URI.
func resourceFlag(usage string) cli.Flag {
	return &cli.StringFlag{Name: "resource", Usage: usage + " (`RESOURCE`: appId or identifier URI)", Required: true}
}

// permissionFlags are the flags of app permission add and remove: the
// client, the resource and the values of its permissions.
func permissionFlags() []cli.Flag {
	return []cli.Flag{
		appFlag("client application"),
		resourceFlag("application exposing the permissions"),
		&cli.StringSliceFlag{Name: "scope", Usage: "a delegated permission `VALUE` (repeatable)"},
		&cli.StringSliceFlag{Name: "role", Usage: "an application permission (app role) `VALUE` (repeatable)"},
	}
}

func appPermissionAddCommand() *cli.Command {
	return &cli.Command{
		Name:  "add",
		Usage: "require delegated scopes and application permissions of a resource",
		Description: `The resource is found by identifier URI in the client's home tenant, or by
appId anywhere. Each value must be defined and enabled on the resource, and a
role must allow member type Application.

EXAMPLES
   issuer app permission add --app CLIENT_APPID --resource api://orders --role Orders.Read
   issuer app permission add --app CLIENT_APPID --resource api://orders --scope access_as_user --scope Orders.ReadWrite.All`,
		Flags:  permissionFlags(),
		Action: appPermissionAdd,
	}
}

func appPermissionAdd(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	scopes, roles := nonEmpty(c.StringSlice("scope")), nonEmpty(c.StringSlice("role"))
	if len(scopes) == 0 && len(roles) == 0 {
		return usageError("app permission add: name at least one --scope or --role")
	}
	appID := c.String("app")
	return withApplication(c, appID, func(dir *tenant.Directory) error {
		rra, err := dir.AddRequiredResourceAccess(c.Context, appID, c.String("resource"), scopes, roles)
		if err != nil {
			return err
		}
		views, err := permissionViews(c, dir, []tenant.RequiredResourceAccess{rra})
		if err != nil {
			return err
		}
		return printPermissions(c, views)
	})
}

func appPermissionListCommand() *cli.Command {
	return &cli.Command{
		Name:   "list",
		Usage:  "list the permissions a client requires",
		Flags:  []cli.Flag{appFlag("client application")},
		Action: appPermissionList,
	}
}

func appPermissionList(c *cli.Context) error {
	if _, err := requireArgs(c); err != nil {
		return err
	}
	appID := c.String("app")
	return withApplication(c, appID, func(dir *tenant.Directory) error {
		app, err := dir.GetApplication(c.Context, appID)
		if err != nil {
			return err
		}
		views, err := permissionViews(c, dir, app.RequiredResourceAccess)
		if err != nil {
			return err
		}
		return printPermissions(c, views)
	})
}

func appPermissionRemoveCommand() *cli.Command {
	return &cli.Command{
		Name:  "remove",
		Usage: "stop requiring permissions of a resource",
		Description: `Without --scope and --role, every permission of the resource is withdrawn.
Grants already made stay until revoked (issuer consent revoke).`,
		Flags: permissionFlags(),
		Action: func(c *cli.Context) error {
			if _, err := requireArgs(c); err != nil {
				return err
			}
			appID, resource := c.String("app"), c.String("resource")
			return withApplication(c, appID, func(dir *tenant.Directory) error {
				err := dir.RemoveRequiredResourceAccess(c.Context, appID, resource,
					nonEmpty(c.StringSlice("scope")), nonEmpty(c.StringSlice("role")))
				if err != nil {
					return err
				}
				return printDone(c, "application %s no longer requires those permissions of %s", appID, resource)
			})
		},
	}
}

// permissionView is one required permission with its value, as `app
// permission` prints it; the JSON keeps Graph's resourceAppId and
// resourceAccess id/type and adds the value and the resource's name.
type permissionView struct {
	ResourceAppID       string `json:"resourceAppId"`
	ResourceDisplayName string `json:"resourceDisplayName"`
	ID                  string `json:"id"`
	Type                string `json:"type"` // Scope or Role
	Value               string `json:"value"`
}

// permissionViews resolves the ids of requiredResourceAccess entries to
// values. A permission the resource no longer defines shows without a value.
func permissionViews(c *cli.Context, dir *tenant.Directory, rras []tenant.RequiredResourceAccess) ([]permissionView, error) {
	views := []permissionView{}
	for _, rra := range rras {
		res, err := dir.GetApplication(c.Context, rra.ResourceAppID)
		switch {
		case errors.Is(err, tenant.ErrNotFound):
			// The resource was removed; the entry stays, as in Entra,
			// shown without a name or values.
			res = tenant.Application{AppID: rra.ResourceAppID}
		case err != nil:
			return nil, err
		}
		for _, ra := range rra.ResourceAccess {
			v := permissionView{ResourceAppID: rra.ResourceAppID, ResourceDisplayName: res.DisplayName, ID: ra.ID, Type: ra.Type}
			for _, r := range res.AppRoles {
				if ra.Type == tenant.AccessRole && r.ID == ra.ID {
					v.Value = r.Value
				}
			}
			for _, s := range res.API.OAuth2PermissionScopes {
				if ra.Type == tenant.AccessScope && s.ID == ra.ID {
					v.Value = s.Value
				}
			}
			views = append(views, v)
		}
	}
	return views, nil
}

func printPermissions(c *cli.Context, views []permissionView) error {
	return printList(c, views, same, []string{"RESOURCE", "RESOURCE APP ID", "TYPE", "VALUE"}, func(v permissionView) []string {
		return []string{v.ResourceDisplayName, v.ResourceAppID, v.Type, orDash(v.Value)}
	})
}

// splitCommas splits comma-separated values of a repeatable flag
// ("Application,User"), as the CLI does not split slice flags itself.
func splitCommas(values []string) []string {
	var out []string
	for _, v := range values {
		for _, p := range strings.Split(v, ",") {
			if p = strings.TrimSpace(p); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

// withApplication runs fn with the directory once the application appID is
// known to exist, so that a missing application is reported by name and the
// errors of fn (a missing role, scope or resource) keep their own words.
func withApplication(c *cli.Context, appID string, fn func(dir *tenant.Directory) error) error {
	return withDirectory(c, func(dir *tenant.Directory) error {
		if _, err := dir.GetApplication(c.Context, appID); err != nil {
			return applicationError(appID, err)
		}
		return fn(dir)
	})
}
