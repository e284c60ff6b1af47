package issuer

import (
	"github.com/issuer-dev/issuer/tenant"
)

// maxGroupsInJWT is Entra's groups overage limit for JWTs: a token whose
// subject has more groups than this carries none of them, but the overage
// claims in their place (access token claims reference, "Groups overage
// claim": 150 for SAML tokens, 200 for JWT tokens).
const maxGroupsInJWT = 200

// claimNames is _claim_names, an OpenID Connect distributed claim (Core
// §5.6.2): the groups claim is to be read from source src1.
type claimNames struct {
	Groups string `json:"groups"`
}

// claimSources is _claim_sources: where src1's claims are found.
type claimSources struct {
	Src1 claimSource `json:"src1"`
}

type claimSource struct {
	Endpoint string `json:"endpoint"`
}

// groupsClaims is what a token says of its subject's groups: the ids
// inline, or past the overage limit the distributed claim that points to
// Graph instead, as Entra does. All three are empty when there are no
// groups to list.
type groupsClaims struct {
	groups  []string
	names   *claimNames
	sources *claimSources
}

// Kinds of the subject of an overage endpoint: Graph's collection of it.
const (
	userObjects             = "users"
	servicePrincipalObjects = "servicePrincipals"
)

// newGroupsClaims returns the groups claims of a token of version for a
// subject (objects: userObjects or servicePrincipalObjects) whose groups
// are ids: ids themselves when there are at most maxGroupsInJWT, else the
// overage claims.
func newGroupsClaims(ids []string, version int, tenantID, objects, subjectID string) groupsClaims {
	if len(ids) <= maxGroupsInJWT {
		return groupsClaims{groups: ids}
	}
	return groupsClaims{
		names:   &claimNames{Groups: "src1"},
		sources: &claimSources{Src1: claimSource{Endpoint: overageEndpoint(version, tenantID, objects, subjectID)}},
	}
}

// overageEndpoint is the endpoint of an overage claim, as Entra writes it:
//
//   - v1.0 tokens name Azure AD Graph,
//     https://graph.windows.net/{tid}/users/{oid}/getMemberObjects: the
//     access token claims reference says "The URL returned will be an
//     Azure AD Graph URL (i.e., graph.windows.net)", its earlier editions
//     gave this value as the example, and captured v1.0 tokens carry it;
//   - v2.0 tokens name Microsoft Graph,
//     https://graph.microsoft.com/v1.0/users/{oid}/getMemberObjects, the
//     example JWT value of the current access and ID token claims
//     references.
//
// The hosts stay Microsoft's, as everywhere issuer names Graph in what it
// issues: the discovery documents keep msgraph_host graph.microsoft.com
// and userinfo at Graph's host, and a token asked for through issuer's
// Graph alias keeps Graph's audience. issuer's own Graph answers the same
// call (POST {base URL}/graph/v1.0/users/{id}/getMemberObjects); Microsoft
// tells applications to build that Microsoft Graph URL themselves rather
// than follow the claim, which is what a client configured with issuer's
// Graph base URL does. A service principal's overage (an app-only token of
// a client in more than 200 groups) is not documented; its endpoint is the
// same call on the servicePrincipals collection, where Microsoft Graph
// serves it too (directoryObject: getMemberObjects).
func overageEndpoint(version int, tenantID, objects, subjectID string) string {
	if version == 1 {
		return "https://graph.windows.net/" + tenantID + "/" + objects + "/" + subjectID + "/getMemberObjects"
	}
	return "https://graph.microsoft.com/v1.0/" + objects + "/" + subjectID + "/getMemberObjects"
}

// groupsAsRoles reports whether app's tokens of kind list their groups in
// roles instead of groups: the groups optional claim of that token type
// says emit_as_roles, and groupMembershipClaims selects groups.
func groupsAsRoles(app *tenant.Application, kind string) bool {
	return app != nil && app.GroupsFormat(kind).AsRoles && app.GroupClaims().SelectsGroups()
}

// asRoles returns the roles and groups claims of a token that lists its
// groups as roles: the groups in roles, and the app roles gone (Entra: "If
// emit_as_roles is used, any application roles configured that the user is
// assigned to won't appear in the role claim"). Past the overage limit
// roles is empty and the groups stay, for their overage claims to point
// to Graph.
func asRoles(groups []string) (roles, rest []string) {
	if len(groups) > maxGroupsInJWT {
		return nil, groups
	}
	return groups, nil
}

// wids is the wids claim of a user's token for app: the template ids of
// the user's directory roles, when app's groupMembershipClaims is
// DirectoryRole or All (access token claims reference: "Set the claim to
// All or DirectoryRole"); nil otherwise. Service principals hold no
// directory roles here, so app-only tokens never carry it.
func wids(app *tenant.Application, u tenant.User) []string {
	if app == nil || !app.GroupClaims().DirectoryRoles {
		return nil
	}
	return u.DirectoryRoleTemplateIDs()
}
