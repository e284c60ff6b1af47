package graph

import (
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"github.com/issuer-dev/issuer/tenant"
)

// operation is one method on one path: what it needs and what it does.
type operation struct {
	need need
	run  func(h *Handler, rq *request, k key) (result, *apiError)
}

// key is what a path names: its collection (lowercased), the object (id,
// or appId in the alternate key form "applications(appId='…')") and a
// sub-object.
type key struct {
	coll, id, appID, sub string
	// count: the path ends in /$count, which asks for the size of the
	// collection before it.
	count bool
	// cast is a type-cast segment ending the path, lowercased
	// ("microsoft.graph.user"): the type a directoryObject collection
	// is narrowed to.
	cast string
}

// routes maps a path pattern (collections lowercased, ids as {id} and
// {sub}) to its operations. Graph's collection names are matched without
// case: some clients write oAuth2PermissionGrants, others
// oauth2PermissionGrants.
var routes map[string]map[string]operation

func init() {
	routes = map[string]map[string]operation{
		"applications": {
			http.MethodGet:  {readApplications, listApplications},
			http.MethodPost: {createApplications, createApplication},
		},
		"applications/{id}": {
			http.MethodGet:    {readApplications, getApplication},
			http.MethodPatch:  {manageApplications, updateApplication},
			http.MethodDelete: {manageApplications, deleteApplication},
		},
		"applications/{id}/addpassword":                        {http.MethodPost: {manageApplications, addPassword}},
		"applications/{id}/removepassword":                     {http.MethodPost: {manageApplications, removePassword}},
		"applications/{id}/federatedidentitycredentials":       {http.MethodGet: {readApplications, listFederated}, http.MethodPost: {manageApplications, addFederated}},
		"applications/{id}/federatedidentitycredentials/{sub}": {http.MethodGet: {readApplications, getFederated}, http.MethodDelete: {manageApplications, deleteFederated}},
		"applications/{id}/owners":                             {http.MethodGet: {readApplications, listOwners}},
		"applications/{id}/owners/$ref":                        {http.MethodPost: {addApplicationOwners, addOwner}},
		"applications/{id}/owners/{sub}/$ref":                  {http.MethodDelete: {manageApplications, removeOwner}},
		"serviceprincipals": {
			http.MethodGet:  {readApplications, listServicePrincipals},
			http.MethodPost: {createServicePrincipals, createServicePrincipal},
		},
		"serviceprincipals/{id}": {
			http.MethodGet:    {readApplications, getServicePrincipal},
			http.MethodPatch:  {manageApplications, updateServicePrincipal},
			http.MethodDelete: {manageApplications, deleteServicePrincipal},
		},
		"serviceprincipals/{id}/owners":                   {http.MethodGet: {readApplications, listOwners}},
		"serviceprincipals/{id}/owners/$ref":              {http.MethodPost: {manageApplications, addOwner}},
		"serviceprincipals/{id}/owners/{sub}/$ref":        {http.MethodDelete: {manageApplications, removeOwner}},
		"serviceprincipals/{id}/approleassignedto":        {http.MethodGet: {readApplications, listAssignedTo}, http.MethodPost: {assignRoles, createAssignment}},
		"serviceprincipals/{id}/approleassignedto/{sub}":  {http.MethodDelete: {assignRoles, deleteAssignedTo}},
		"serviceprincipals/{id}/approleassignments":       {http.MethodGet: {readApplications, listAssignments}, http.MethodPost: {assignRoles, createAssignment}},
		"serviceprincipals/{id}/approleassignments/{sub}": {http.MethodDelete: {assignRoles, deleteAssignment}},
		"oauth2permissiongrants": {
			http.MethodGet:  {readGrants, listGrants},
			http.MethodPost: {writeGrants, createGrant},
		},
		"oauth2permissiongrants/{id}": {
			http.MethodGet:    {readGrants, getGrant},
			http.MethodPatch:  {writeGrants, updateGrant},
			http.MethodDelete: {writeGrants, deleteGrant},
		},
		"users": {
			http.MethodGet:  {readUsers, listUsers},
			http.MethodPost: {writeUsers, createUser},
		},
		"users/{id}": {
			http.MethodGet:    {readUsers, getUser},
			http.MethodPatch:  {writeUsers, updateUser},
			http.MethodDelete: {writeUsers, deleteUser},
		},
		"groups": {
			http.MethodGet:  {readGroups, listGroups},
			http.MethodPost: {createGroups, createGroup},
		},
		"groups/{id}": {
			http.MethodGet:    {readGroups, getGroup},
			http.MethodPatch:  {writeGroups, updateGroup},
			http.MethodDelete: {writeGroups, deleteGroup},
		},
		"groups/{id}/members":                       {http.MethodGet: {readGroups, listMembers(false)}},
		"groups/{id}/transitivemembers":             {http.MethodGet: {readGroups, listMembers(true)}},
		"groups/{id}/members/$ref":                  {http.MethodPost: {writeMembers, addMember}},
		"groups/{id}/members/{sub}/$ref":            {http.MethodDelete: {writeMembers, removeMember}},
		"groups/{id}/memberof":                      {http.MethodGet: {readGroups, listMemberOf(false)}},
		"groups/{id}/transitivememberof":            {http.MethodGet: {readGroups, listMemberOf(true)}},
		"groups/{id}/approleassignments":            {http.MethodGet: {readGroupAssignments, listGroupAssignments}, http.MethodPost: {assignRoles, createGroupAssignment}},
		"groups/{id}/approleassignments/{sub}":      {http.MethodDelete: {assignRoles, deleteGroupAssignment}},
		"users/{id}/memberof":                       {http.MethodGet: {readUserGroups, listMemberOf(false)}},
		"users/{id}/transitivememberof":             {http.MethodGet: {readUserGroups, listMemberOf(true)}},
		"me/memberof":                               {http.MethodGet: {readMe, listMemberOf(false)}},
		"me/transitivememberof":                     {http.MethodGet: {readMe, listMemberOf(true)}},
		"serviceprincipals/{id}/memberof":           {http.MethodGet: {readApplications, listMemberOf(false)}},
		"serviceprincipals/{id}/transitivememberof": {http.MethodGet: {readApplications, listMemberOf(true)}},
		"organization":                              {http.MethodGet: {readOrganization, listOrganization}},
		"organization/{id}":                         {http.MethodGet: {readOrganization, getOrganization}},
		"me":                                        {http.MethodGet: {readMe, getMe}},
		"me/ownedobjects":                           {http.MethodGet: {readMe, listOwnedObjects}},
		"users/{id}/ownedobjects":                   {http.MethodGet: {readUsersDelegated, listOwnedObjects}},
		"serviceprincipals/{id}/ownedobjects":       {http.MethodGet: {readApplications, listOwnedObjects}},
	}
}

// The membership actions (members.go), on each object Graph serves them
// for: what a client calls on a groups-claim overage.
func init() {
	actions := map[string]func(h *Handler, rq *request, k key) (result, *apiError){
		"getmembergroups":   getMemberGroups,
		"getmemberobjects":  getMemberGroups,
		"checkmembergroups": checkMemberGroups,
	}
	subjects := map[string]need{
		"users/{id}":             userMemberships,
		"me":                     readMe,
		"groups/{id}":            readGroups,
		"serviceprincipals/{id}": readApplications,
		"directoryobjects/{id}":  readDirectory,
	}
	for subject, n := range subjects {
		for action, run := range actions {
			routes[subject+"/"+action] = map[string]operation{http.MethodPost: {n, run}}
		}
	}
}

// castable are the paths that end in a type cast: the directoryObject
// collections of memberships.
var castable = map[string]bool{
	"groups/{id}/members": true, "groups/{id}/transitivemembers": true,
	"groups/{id}/memberof": true, "groups/{id}/transitivememberof": true,
	"users/{id}/memberof": true, "users/{id}/transitivememberof": true,
	"me/memberof": true, "me/transitivememberof": true,
	"serviceprincipals/{id}/memberof": true, "serviceprincipals/{id}/transitivememberof": true,
}

// castOf reads a type-cast segment: a qualified type name,
// "microsoft.graph.user", or with Graph's namespace alias, "graph.user",
// which the Graph SDKs send.
func castOf(seg string) (string, bool) {
	seg = strings.ToLower(seg)
	if rest, ok := strings.CutPrefix(seg, "graph."); ok {
		return "microsoft.graph." + rest, true
	}
	return seg, strings.HasPrefix(seg, "microsoft.graph.")
}

// errSegment is Graph's answer to a path segment it does not know.
func errSegment(seg string) *apiError {
	return &apiError{status: http.StatusBadRequest, code: codeSegment, message: "Resource not found for the segment '" + seg + "'."}
}

// route finds the operations of a path.
func route(segs []string) (map[string]operation, key, *apiError) {
	var k key
	if len(segs) > 1 && segs[len(segs)-1] == "$count" {
		k.count, segs = true, segs[:len(segs)-1]
	}
	if cast, ok := castOf(segs[len(segs)-1]); ok && len(segs) > 2 {
		if _, ok := casts[cast]; !ok {
			return nil, k, errSegment(segs[len(segs)-1])
		}
		k.cast, segs = cast, segs[:len(segs)-1]
	}
	pattern := make([]string, 0, len(segs))
	for i, s := range segs {
		switch {
		case i == 0:
			coll, alt, ok := alternateKey(s)
			if !ok {
				return nil, k, badRequest("Invalid alternate key in '%s'.", s)
			}
			k.coll = strings.ToLower(coll)
			pattern = append(pattern, k.coll)
			if alt != "" {
				k.appID = alt
				pattern = append(pattern, "{id}")
			}
		case i == 1 && k.appID == "" && k.coll != "me": // /me names its object
			k.id = s
			pattern = append(pattern, "{id}")
		case len(pattern) == 3 && s != "$ref":
			k.sub = s
			pattern = append(pattern, "{sub}")
		default:
			pattern = append(pattern, strings.ToLower(s))
		}
	}
	p := strings.Join(pattern, "/")
	ops, ok := routes[p]
	switch {
	case !ok:
		return nil, k, errSegment(segs[len(segs)-1])
	case k.cast != "" && !castable[p]:
		return nil, k, errSegment(k.cast)
	}
	return ops, k, nil
}

// alternateKey splits "applications(appId='…')" (Graph's alternate key of
// applications and service principals) into the collection and the appId.
func alternateKey(s string) (coll, appID string, ok bool) {
	coll, arg, found := strings.Cut(s, "(")
	if !found {
		return s, "", true
	}
	arg, ok = strings.CutSuffix(arg, ")")
	if !ok {
		return "", "", false
	}
	name, v, _ := strings.Cut(arg, "=")
	v, okq := strings.CutPrefix(v, "'")
	v, okq2 := strings.CutSuffix(v, "'")
	if !strings.EqualFold(name, "appId") || !okq || !okq2 || v == "" {
		return "", "", false
	}
	return coll, v, true
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func base64RawURL(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

// The permissions each family of calls needs (Microsoft Graph permissions
// reference, the least-privileged and higher ones of each call). A
// delegated change also needs the user to hold an administrator role:
// Graph lets a member read the directory, but changes to others'
// applications, consent and users are administrators' work. Registering an
// application is open to every member, as in a tenant with Entra's
// default "users can register applications".
var (
	adminRoles = []string{"Global Administrator", "Privileged Role Administrator", "Cloud Application Administrator", "Application Administrator"}

	readApplications = need{
		roles:  []string{"Application.Read.All", "Application.ReadWrite.All", "Application.ReadWrite.OwnedBy", "Directory.Read.All", "Directory.ReadWrite.All"},
		scopes: []string{"Application.Read.All", "Application.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	}
	createApplications = need{
		roles:  []string{"Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"},
		scopes: []string{"Application.ReadWrite.All"},
	}
	writeApplications = need{
		roles:      []string{"Application.ReadWrite.All"},
		scopes:     []string{"Application.ReadWrite.All"},
		adminRoles: adminRoles,
	}
	// manageApplications is writeApplications on the application or
	// service principal the path names, which its owners may also do: a
	// service principal holding Application.ReadWrite.OwnedBy ("the same
	// operations as Application.ReadWrite.All but only on applications
	// and service principals that the calling app is an owner of"), or a
	// user with the scope and no administrator role. (Graph lists
	// Directory.Read.All beside OwnedBy for the owners' $ref calls; this
	// server asks OwnedBy alone.)
	manageApplications = need{
		roles:      writeApplications.roles,
		scopes:     writeApplications.scopes,
		adminRoles: adminRoles,
		ownerRoles: []string{"Application.ReadWrite.OwnedBy"},
		ownerUsers: true,
	}
	// addApplicationOwners is manageApplications but for
	// Application.ReadWrite.OwnedBy, which Graph's application-post-owners
	// says "isn't sufficient to add another owner": a daemon that owns an
	// application may remove its owners, not add any. An owning user may.
	addApplicationOwners = func() need {
		n := manageApplications
		n.ownerRoles = nil
		return n
	}()
	// createServicePrincipals is writeApplications, or an owner of the
	// application the body names (createServicePrincipal checks which).
	createServicePrincipals = need{
		roles:  []string{"Application.ReadWrite.All", "Application.ReadWrite.OwnedBy"},
		scopes: writeApplications.scopes,
	}
	assignRoles = need{
		roles:      []string{"AppRoleAssignment.ReadWrite.All"},
		scopes:     []string{"AppRoleAssignment.ReadWrite.All"},
		adminRoles: adminRoles,
	}
	readGrants = need{
		roles:  []string{"DelegatedPermissionGrant.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
		scopes: []string{"DelegatedPermissionGrant.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	}
	writeGrants = need{
		roles:      []string{"DelegatedPermissionGrant.ReadWrite.All"},
		scopes:     []string{"DelegatedPermissionGrant.ReadWrite.All"},
		adminRoles: adminRoles,
	}
	readUsers = need{
		roles:  []string{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
		scopes: []string{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	}
	// Changing users is a User Administrator's work in Entra; of the
	// roles this directory knows, only the Global Administrator holds it.
	writeUsers = need{
		roles:      []string{"User.ReadWrite.All", "Directory.ReadWrite.All"},
		scopes:     []string{"User.ReadWrite.All", "Directory.ReadWrite.All"},
		adminRoles: []string{"Global Administrator"},
	}
	readOrganization = need{
		roles:  []string{"Organization.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"},
		scopes: []string{"User.Read", "Organization.Read.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	}
	// Groups (Graph's group-list, group-get, group-list-members,
	// group-list-memberof: GroupMember.Read.All is the least, the
	// Group.*, GroupMember.ReadWrite.All and Directory.* permissions
	// higher).
	readGroups = need{
		roles:  []string{"GroupMember.Read.All", "Group.Read.All", "GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
		scopes: []string{"GroupMember.Read.All", "Group.Read.All", "GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	}
	// createGroups: Group.Create is an app's least (group-post-groups).
	// A delegated caller needs no administrator role: Entra's default
	// lets every member create security and Microsoft 365 groups.
	createGroups = need{
		roles:  []string{"Group.Create", "Group.ReadWrite.All", "Directory.ReadWrite.All"},
		scopes: []string{"Group.ReadWrite.All", "Directory.ReadWrite.All"},
	}
	// Changing a group or its members is a Groups or User
	// Administrator's work in Entra (or the group's owners', which this
	// directory does not model); of the roles it knows, only the Global
	// Administrator holds it.
	writeGroups = need{
		roles:      []string{"Group.ReadWrite.All", "Directory.ReadWrite.All"},
		scopes:     []string{"Group.ReadWrite.All", "Directory.ReadWrite.All"},
		adminRoles: []string{tenant.RoleGlobalAdministrator},
	}
	writeMembers = need{
		roles:      []string{"GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"},
		scopes:     []string{"GroupMember.ReadWrite.All", "Group.ReadWrite.All", "Directory.ReadWrite.All"},
		adminRoles: writeGroups.adminRoles,
	}
	// addServicePrincipalMembers is what a service principal member
	// needs besides writeMembers (group-post-members: "GroupMember.
	// ReadWrite.All and Application.ReadWrite.All").
	addServicePrincipalMembers = need{
		roles:  []string{"Application.ReadWrite.All", "Directory.ReadWrite.All"},
		scopes: []string{"Application.ReadWrite.All", "Directory.ReadWrite.All"},
	}
	// readUserGroups reads another user's memberOf and
	// transitiveMemberOf (user-list-memberof: User.Read.All and higher,
	// the group permissions among them); the groups themselves show only
	// to a caller that may read groups (objectReader).
	readUserGroups = need{
		roles:  append(slices.Clone(readUsers.roles), "GroupMember.Read.All", "Group.Read.All"),
		scopes: append(slices.Clone(readUsers.scopes), "GroupMember.Read.All", "Group.Read.All"),
	}
	// userMemberships is getMemberGroups, getMemberObjects and
	// checkMemberGroups of a user: Graph's user-getmembergroups asks a
	// user permission and a group one ("User.Read.All and
	// GroupMember.Read.All"), or Directory.Read.All, which is both.
	userMemberships = need{roles: readUsers.roles, scopes: readUsers.scopes, also: &readGroups}
	// readDirectory is the directoryObjects calls' (directoryobject-
	// getmembergroups: Directory.Read.All).
	readDirectory = need{
		roles:  []string{"Directory.Read.All", "Directory.ReadWrite.All"},
		scopes: []string{"Directory.Read.All", "Directory.ReadWrite.All"},
	}
	// readGroupAssignments lists a group's app role assignments
	// (group-list-approleassignments: the group permissions, or
	// AppRoleAssignment.ReadWrite.All).
	readGroupAssignments = need{
		roles:  append(slices.Clone(readGroups.roles), "AppRoleAssignment.ReadWrite.All"),
		scopes: append(slices.Clone(readGroups.scopes), "AppRoleAssignment.ReadWrite.All"),
	}
	// readUsersDelegated is readUsers for calls Graph serves delegated
	// only (user-list-ownedobjects: "Application: Not supported").
	readUsersDelegated = need{scopes: readUsers.scopes}
	// /me is delegated only; getMe answers app-only tokens itself.
	readMe = need{
		roles:  []string{"User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
		scopes: []string{"User.Read", "User.Read.All", "User.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"},
	}
)
