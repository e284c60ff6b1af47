package tenant

import (
	"fmt"
	"slices"
	"strings"
)

// Directory roles a user may hold (Graph: directoryRole, named by its
// displayName). Only the roles that matter to this issuer are known: those
// that may grant tenant-wide (admin) consent to applications.
const (
	RoleGlobalAdministrator           = "Global Administrator"
	RolePrivilegedRoleAdministrator   = "Privileged Role Administrator"
	RoleCloudApplicationAdministrator = "Cloud Application Administrator"
	RoleApplicationAdministrator      = "Application Administrator"
)

// directoryRoles lists the known roles in Entra's order of privilege.
var directoryRoles = []string{
	RoleGlobalAdministrator, RolePrivilegedRoleAdministrator,
	RoleCloudApplicationAdministrator, RoleApplicationAdministrator,
}

// DirectoryRoles returns the names of the directory roles this issuer knows.
func DirectoryRoles() []string { return slices.Clone(directoryRoles) }

// ParseDirectoryRole returns the canonical name of a directory role given
// in any letter case, with or without spaces ("global administrator",
// "GlobalAdministrator").
func ParseDirectoryRole(name string) (string, error) {
	key := func(s string) string { return strings.ToLower(strings.ReplaceAll(s, " ", "")) }
	for _, r := range directoryRoles {
		if key(r) == key(name) {
			return r, nil
		}
	}
	return "", fmt.Errorf("%w: unknown directory role %q (want one of: %s)", ErrInvalid, name, strings.Join(directoryRoles, ", "))
}

// parseDirectoryRoles canonicalises a list of role names, without
// duplicates, in the order given.
func parseDirectoryRoles(names []string) ([]string, error) {
	out := []string{}
	for _, n := range names {
		r, err := ParseDirectoryRole(strings.TrimSpace(n))
		if err != nil {
			return nil, err
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	return out, nil
}

// CanGrantAdminConsent reports whether the user may consent on behalf of
// the whole organization. In Entra, Global Administrators and Privileged
// Role Administrators may grant any permission; Cloud Application and
// Application Administrators may grant every permission except app roles
// of Microsoft Graph. This directory lets any of the four grant Graph's
// app roles too: it hosts Graph so that its tokens and API exist, and the
// finer rule is not modelled.
func (u User) CanGrantAdminConsent() bool {
	return slices.ContainsFunc(u.DirectoryRoles, func(r string) bool { return slices.Contains(directoryRoles, r) })
}
