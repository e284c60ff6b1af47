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

// directoryRoleTemplateIDs are the roleTemplateId of each known role, as
// Microsoft's built-in roles reference lists them: the wids claim names a
// user's roles by them.
var directoryRoleTemplateIDs = map[string]string{
	RoleGlobalAdministrator:           "62e90394-69f5-4237-9190-012177145e10",
	RolePrivilegedRoleAdministrator:   "e8611ab8-c189-46e8-94e1-60213ab1f814",
	RoleCloudApplicationAdministrator: "158c047a-c907-4556-b7ef-446551a6b5f7",
	RoleApplicationAdministrator:      "9b895d92-2cd3-44c7-9d02-a6ac2d5ea5c3",
}

// UserRoleTemplateID is the roleTemplateId of User, the directory role
// every member of a tenant holds without an assignment; Entra's wids claim
// lists it, after the user's other roles.
const UserRoleTemplateID = "b79fbf4d-3ef9-4689-8143-76b194e85509"

// DirectoryRoleTemplateIDs returns what the wids claim lists for the user:
// the roleTemplateIds of its directory roles, in the order of privilege,
// then User's (every user here is a member of its tenant).
func (u User) DirectoryRoleTemplateIDs() []string {
	out := make([]string, 0, len(u.DirectoryRoles)+1)
	for _, r := range directoryRoles {
		if slices.Contains(u.DirectoryRoles, r) {
			out = append(out, directoryRoleTemplateIDs[r])
		}
	}
	return append(out, UserRoleTemplateID)
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
